"""The planner interface: a goal in plain words + the checkpoint + datasets → a validated plan or a question.

Two planners stand behind it: the LLM planner (any OpenAI-compatible server, with tool calls)
and the offline planner (deterministic, English and Russian). `make_plan` picks the LLM when
one is configured and falls back to the offline planner, saying why, when the LLM fails.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from pydantic import BaseModel, Field

from agent.plan import Plan
from agent.validate import PlanReport
from tools.errors import GraftCancelled, GraftError


class PlanRequest(BaseModel):
    """What the person asked for and what they pointed at."""

    goal: str = Field(description="The goal in the person's own words (English or Russian).")
    model: str = Field(description="Path of the base checkpoint.")
    data: list[str] = Field(default_factory=list, description="Dataset files the person named.")
    output: str | None = Field(None, description="Where the final model goes; assumed when absent.")
    feedback: list[str] = Field(default_factory=list, description="Why earlier plans were rejected, in order.")


class PlanOutcome(BaseModel):
    """A plan ready for approval, or the one question that must be answered first."""

    plan: Plan | None = None
    question: str | None = None
    notes: list[str] = Field(default_factory=list, description="Assumptions and warnings to show the person.")
    not_understood: list[str] = Field(default_factory=list, description="Words the planner could not place.")
    planner: str = Field("offline", description="Who made the plan: 'offline' or 'llm:MODEL'.")
    planner_note: str | None = Field(None, description="Why the LLM was not used, when one was configured.")
    report: PlanReport | None = Field(None, description="The validation of `plan`, so no face validates it twice.")
    facts: list[str] = Field(
        default_factory=list,
        description="The facts the goal stated, each with what the plan does with it ('rank 16 (you said 64, then 16)').",
    )


def _env_number(name: str, default: float, kind: type = float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise GraftError(f"{name} must be a number, not {raw!r}.") from None
    if value <= 0:
        raise GraftError(f"{name} must be above 0, not {raw!r}.")
    return value


def _temperature(raw: str | None) -> float | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        raise GraftError(f"GRAFT_LLM_TEMPERATURE must be a number, not {raw!r}.") from None
    if not 0 <= value <= 2:
        raise GraftError(f"GRAFT_LLM_TEMPERATURE must be between 0 and 2, not {raw!r}.")
    return value


class LLMSettings(BaseModel):
    """Where the OpenAI-compatible server is and how long it may take; from the environment.

    `timeout` bounds a whole plan (all turns together), `idle_timeout` a silence within one
    reply; `max_tokens` and `max_bytes` bound a reply's length. `temperature` is sent only when
    set, since some servers and reasoning models refuse it.
    """

    api_key: str | None = None
    base_url: str | None = None
    model: str = "gpt-4o-mini"
    timeout: float = 120.0
    idle_timeout: float = 30.0
    max_tokens: int = 1024
    max_bytes: int = 2 * 1024 * 1024
    temperature: float | None = None
    max_repairs: int = 2

    @classmethod
    def from_env(cls) -> LLMSettings | None:
        """Settings when an LLM is configured (`OPENAI_API_KEY` or `OPENAI_BASE_URL`), else None.

        With a base URL (a local or self-hosted server) `GRAFT_LLM_MODEL` must name the model:
        a silent default would be a hosted model's name that the server does not have.
        """
        key, url = os.environ.get("OPENAI_API_KEY"), os.environ.get("OPENAI_BASE_URL")
        if not key and not url:
            return None
        model = os.environ.get("GRAFT_LLM_MODEL") or os.environ.get("OPENAI_MODEL")
        if url and not model:
            raise GraftError(
                f"OPENAI_BASE_URL is set ({url}) but GRAFT_LLM_MODEL is not: set it to the model name the "
                "server serves, or run with --offline."
            )
        temperature = os.environ.get("GRAFT_LLM_TEMPERATURE")
        timeout = _env_number("GRAFT_LLM_TIMEOUT", 120.0)
        return cls(
            api_key=key or "not-needed",
            base_url=url,
            model=model or "gpt-4o-mini",
            timeout=timeout,
            idle_timeout=min(timeout, _env_number("GRAFT_LLM_IDLE_TIMEOUT", 30.0)),
            max_tokens=int(_env_number("GRAFT_LLM_MAX_TOKENS", 1024, int)),
            temperature=_temperature(temperature),
        )


def make_plan(
    request: PlanRequest,
    llm: LLMSettings | None = None,
    use_llm: bool = True,
    progress: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> PlanOutcome:
    """Plan with the LLM when configured; on any LLM failure say why and plan offline.

    Bad input (a missing checkpoint) is the person's to fix and raises GraftError either way;
    everything else that goes wrong on the LLM path, even a fault of Graft's own reading of a
    reply, becomes the offline plan with the reason in `planner_note`.
    """
    from agent.offline_planner import plan_offline

    settings = llm if llm is not None else (LLMSettings.from_env() if use_llm else None)
    if settings is None:
        return plan_offline(request)
    from agent.llm_planner import LLMUnavailable, plan_with_llm

    cancel = cancel or threading.Event()  # set by the face, or by llm_planner.cancel_open_requests()
    try:
        return plan_with_llm(request, settings, progress=progress, cancel=cancel)
    except GraftError:
        raise
    except LLMUnavailable as exc:
        reason = str(exc)
    except Exception as exc:  # a reply Graft could not handle must not end the session
        reason = f"Graft could not use the LLM's reply ({type(exc).__name__}: {exc})"
    if cancel.is_set():
        raise GraftCancelled("planning was cancelled.")
    outcome = plan_offline(request)
    outcome.planner_note = f"the LLM planner ({settings.model}) was not used: {reason}"
    outcome.notes.insert(0, f"{outcome.planner_note}; this plan is from the offline planner.")
    return outcome

"""The planner interface: a goal in plain words + the checkpoint + datasets → a validated plan or a question.

Two planners stand behind it: the LLM planner (any OpenAI-compatible server, with tool calls)
and the offline planner (deterministic, English and Russian). `make_plan` picks the LLM when
one is configured and falls back to the offline planner, saying why, when the LLM fails.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, Field

from agent.plan import Plan
from agent.validate import PlanReport


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
    planner: Literal["offline", "llm"] = "offline"
    report: PlanReport | None = Field(None, description="The validation of `plan`, so no face validates it twice.")


class LLMSettings(BaseModel):
    """Where the OpenAI-compatible server is; from the usual environment variables."""

    api_key: str | None = None
    base_url: str | None = None
    model: str = "gpt-4o-mini"
    timeout: float = 60.0
    max_repairs: int = 2

    @classmethod
    def from_env(cls) -> LLMSettings | None:
        """Settings when an LLM is configured (`OPENAI_API_KEY` or `OPENAI_BASE_URL`), else None."""
        key, url = os.environ.get("OPENAI_API_KEY"), os.environ.get("OPENAI_BASE_URL")
        if not key and not url:
            return None
        return cls(
            api_key=key or "not-needed",
            base_url=url,
            model=os.environ.get("GRAFT_LLM_MODEL") or os.environ.get("OPENAI_MODEL") or "gpt-4o-mini",
            timeout=float(os.environ.get("GRAFT_LLM_TIMEOUT", "60")),
        )


def make_plan(request: PlanRequest, llm: LLMSettings | None = None, use_llm: bool = True) -> PlanOutcome:
    """Plan with the LLM when configured; on any LLM failure say so and plan offline."""
    from agent.offline_planner import plan_offline

    settings = llm if llm is not None else (LLMSettings.from_env() if use_llm else None)
    if settings is None:
        return plan_offline(request)
    from agent.llm_planner import LLMUnavailable, plan_with_llm

    try:
        return plan_with_llm(request, settings)
    except LLMUnavailable as exc:
        outcome = plan_offline(request)
        outcome.notes.insert(0, f"the LLM planner failed ({exc}); this plan is from the offline planner.")
        return outcome

"""The LLM planner: any OpenAI-compatible server, tool calls grounded in the checkpoint's files.

The model may call `inspect_checkpoint`, `diff_checkpoints` and `list_modules` (JSON schemas
from the tools' own pydantic models) and then `propose_plan`. Each proposed plan is validated
against the files; the error goes back to the model for a bounded number of repairs. Anything
that goes wrong with the server or the replies raises `LLMUnavailable` with a sentence for the
person, and `make_plan` falls back to the offline planner.

What the model says is data: it becomes a plan (validated like any other) or a question, and
nothing it returns can approve or run a stage.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from agent.plan import Plan, plan_from_data
from agent.planner import LLMSettings, PlanOutcome, PlanRequest
from prompts.loader import load_prompt
from tools.errors import GraftError

MAX_TURNS = 10
MAX_TOOL_RESULT = 12_000


class LLMUnavailable(Exception):
    """The LLM could not produce a usable plan; the message says why, in one sentence."""


class ListModulesArgs(BaseModel):
    path: str = Field(description="Checkpoint file or folder.")


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    return schema


def tool_specs() -> list[dict[str, Any]]:
    """The tools offered to the model, with schemas taken from the tools' argument models."""
    from tools.diff import DiffArgs
    from tools.inspect import InspectArgs

    def spec(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
        return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}

    return [
        spec("inspect_checkpoint", "What a checkpoint contains: parameters per layer and component, dtypes, adapter.", _schema(InspectArgs)),
        spec("diff_checkpoints", "Which tensors differ between two checkpoints, per layer and component.", _schema(DiffArgs)),
        spec("list_modules", "The trainable module names of a checkpoint, grouped by role (attention, mlp).", _schema(ListModulesArgs)),
        spec("propose_plan", "Propose the plan; it is validated against the files before the person sees it.", _schema(Plan)),
    ]  # fmt: skip


def run_tool(name: str, arguments: dict[str, Any]) -> str:
    """Run one read-only tool for the model; errors come back as text the model can act on."""
    from tools.diff import DiffArgs, diff_checkpoints
    from tools.inspect import InspectArgs, inspect_checkpoint

    try:
        if name == "inspect_checkpoint":
            result = inspect_checkpoint(InspectArgs.model_validate(arguments)).model_dump(mode="json")
            result.get("metadata", {}).pop("graft.provenance", None)
            text = json.dumps(result)
        elif name == "diff_checkpoints":
            diff = diff_checkpoints(DiffArgs.model_validate(arguments)).model_dump(mode="json")
            diff["changed"] = sorted(diff["changed"], key=lambda c: -c["relative_change"])[:40]
            text = json.dumps(diff)
        elif name == "list_modules":
            path = ListModulesArgs.model_validate(arguments).path
            text = json.dumps(inspect_checkpoint(InspectArgs(path=path)).modules)
        else:
            return f"error: there is no tool named {name!r}; the tools are inspect_checkpoint, diff_checkpoints, list_modules, propose_plan."
    except GraftError as exc:
        return f"error: {exc}"
    except ValueError as exc:
        return f"error: invalid arguments for {name}: {exc}"
    return text[:MAX_TOOL_RESULT]


def _client(settings: LLMSettings) -> Any:
    from openai import OpenAI

    return OpenAI(api_key=settings.api_key, base_url=settings.base_url, timeout=settings.timeout, max_retries=0)


def _complete(client: Any, settings: LLMSettings, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Any:
    import openai

    try:
        response = client.chat.completions.create(
            model=settings.model, messages=messages, tools=tools, tool_choice="auto", temperature=0
        )
    except openai.APITimeoutError:
        raise LLMUnavailable(f"the LLM server did not answer within {settings.timeout:g} s") from None
    except openai.APIStatusError as exc:
        raise LLMUnavailable(f"the LLM server answered HTTP {exc.status_code}") from None
    except openai.APIConnectionError:
        raise LLMUnavailable(f"cannot reach the LLM server at {settings.base_url or 'api.openai.com'}") from None
    except (openai.OpenAIError, ValueError) as exc:
        raise LLMUnavailable(f"the LLM server's reply could not be read ({type(exc).__name__})") from None
    if not getattr(response, "choices", None):
        raise LLMUnavailable("the LLM server's reply had no choices")
    return response.choices[0].message


def _user_message(request: PlanRequest) -> str:
    lines = [f"Goal: {request.goal}", f"Base model: {request.model}"]
    lines.append("Datasets: " + (", ".join(request.data) if request.data else "none given"))
    if request.output:
        lines.append(f"Final output folder: {request.output}")
    for reason in request.feedback:
        lines.append(f"The person rejected the previous plan: {reason}")
    return "\n".join(lines)


def _check_plan(arguments: dict[str, Any], request: PlanRequest) -> tuple[Plan, Any]:
    from agent.validate import validate_plan

    arguments = dict(arguments)
    arguments.setdefault("goal", request.goal)
    arguments.setdefault("base_model", request.model)
    if request.output:
        arguments.setdefault("output", request.output)
    plan = plan_from_data(arguments, "the proposed plan")
    if plan.base_model != request.model:
        raise GraftError(f"base_model must be {request.model}, the checkpoint the person named.")
    return plan, validate_plan(plan)


def plan_with_llm(request: PlanRequest, settings: LLMSettings) -> PlanOutcome:
    """Ask the LLM for a plan; raise LLMUnavailable when it cannot give a valid one."""
    if not request.goal.strip():
        return PlanOutcome(question="What should the model become?", planner="llm")
    client = _client(settings)
    tools = tool_specs()
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": load_prompt("planner_system")},
        {"role": "user", "content": _user_message(request)},
    ]
    repairs = 0
    nudged = False
    for _ in range(MAX_TURNS):
        message = _complete(client, settings, messages, tools)
        calls = message.tool_calls or []
        if not calls:
            text = (message.content or "").strip()
            if text.endswith("?"):
                return PlanOutcome(question=text, planner="llm")
            if nudged:
                raise LLMUnavailable("the LLM answered without proposing a plan")
            nudged = True
            messages.append({"role": "assistant", "content": text})
            messages.append(
                {"role": "user", "content": "Propose the plan by calling propose_plan, or ask one question."}
            )
            continue
        messages.append(
            {
                "role": "assistant",
                "content": message.content or "",
                "tool_calls": [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.function.name, "arguments": c.function.arguments},
                    }
                    for c in calls
                ],
            }
        )
        for call in calls:
            name = call.function.name
            try:
                arguments = json.loads(call.function.arguments or "{}")
                if not isinstance(arguments, dict):
                    raise ValueError("not an object")
            except ValueError:
                repairs += 1
                if repairs > settings.max_repairs:
                    raise LLMUnavailable(f"the LLM kept sending arguments that are not valid JSON ({name})") from None
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": "error: the arguments are not valid JSON."}
                )
                continue
            if name != "propose_plan":
                messages.append({"role": "tool", "tool_call_id": call.id, "content": run_tool(name, arguments)})
                continue
            try:
                plan, report = _check_plan(arguments, request)
            except GraftError as exc:
                repairs += 1
                if repairs > settings.max_repairs:
                    raise LLMUnavailable(
                        f"the LLM's plan was still invalid after {settings.max_repairs} repairs: {exc}"
                    ) from None
                messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": call.id,
                        "content": f"the plan is invalid: {exc} Fix it and call propose_plan again.",
                    }
                )
                continue
            return PlanOutcome(plan=plan, notes=list(plan.notes), planner="llm", report=report)
    raise LLMUnavailable(f"the LLM did not settle on a plan within {MAX_TURNS} turns")

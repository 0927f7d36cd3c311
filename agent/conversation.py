"""The conversation graph: intake → plan, answer or a question back → approval → the executor's stages → write.

One LangGraph graph per conversation thread, persisted by the SQLite checkpointer, so the TUI
can close mid-plan and `graft --resume` goes on. Each person's message enters as
`{"input": {"text": …, "model": …, "data": [...]}}`; the graph answers questions from the
files, plans goals, and then stops at the executor's interrupts. Only a face's `Command(resume=…)`
built from the person's own input moves past an interrupt: nothing the planner or an LLM returns
is ever read as an approval.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Annotated, Any

from agent.graph import RESET, RunState, accumulate, add_executor, data_dir, initial_state
from tools.errors import GraftError


class ConversationState(RunState, total=False):
    input: dict[str, Any]
    messages: Annotated[list[dict[str, Any]], accumulate]
    model: str | None
    data: list[str]
    output: str | None
    goal: str
    route: str
    offline: bool
    feedback: Annotated[list[str], accumulate]


# "continue from the last result" — the only way a plan starts from an earlier run's output.
CONTINUE_WORDS = re.compile(
    r"\b(continue|carry on|keep going|build on)\b.{0,30}\b(last|previous|latest|that)\s+(result|run|output|model)\b"
    r"|продолж\w*.{0,30}\b(последн|прошл|предыдущ)\w*\s+(результат|запуск|модел)\w*",
    re.IGNORECASE,
)


def _say(text: str, **extra: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": text, **extra}


def build_conversation(checkpointer: Any = None, runner_hook: Any = None, llm: Any = None) -> Any:
    """Compile the conversation graph. `llm`: LLMSettings, or None for the environment's choice."""
    from langgraph.graph import END, START, StateGraph

    def intake(state: ConversationState) -> dict[str, Any]:
        given = state.get("input") or {}
        text = str(given.get("text", "")).strip()
        update: dict[str, Any] = {"messages": [{"role": "user", "content": text}], "review_error": None}
        for key in ("model", "data", "output", "offline"):
            if given.get(key) is not None:
                update[key] = given[key]
        from agent.intent import classify

        intent = classify(text) if text else None
        if intent is not None and intent.route == "ambiguous":
            # Both a question and a request to act: ask which, rather than guess (agent/intent.py).
            update["route"] = "clarify"
            update["messages"].append(_say(intent.question_back(text), kind="question"))
            update["status"] = "idle"
            return update
        update["route"] = "answer" if intent is not None and intent.route == "question" else "plan"
        if update["route"] == "plan":
            update["goal"] = text
            update["feedback"] = [RESET]
        return update

    def plan_node(state: ConversationState) -> dict[str, Any]:
        from langgraph.config import get_config

        from agent.planner import PlanRequest, make_plan

        config = get_config()
        model = state.get("model")
        continued = None
        if CONTINUE_WORDS.search(state.get("goal", "")):
            previous = (state.get("final") or {}).get("output")
            if not previous or not Path(previous).exists():
                return {
                    "messages": [
                        _say("There is no earlier result in this conversation to continue from.", kind="question")
                    ],
                    "status": "idle",
                }
            model = continued = previous  # named as the plan's base, visibly: nothing carries over silently
        if not model:
            return {
                "messages": [_say("Open a model first (/open PATH), then tell me what it should become.")],
                "status": "idle",
            }
        request = PlanRequest(
            goal=state.get("goal", ""),
            model=model,
            data=state.get("data", []),
            output=state.get("output"),
            feedback=state.get("feedback", []),
        )
        from langgraph.config import get_stream_writer

        writer = get_stream_writer()
        try:
            outcome = make_plan(
                request,
                llm,
                use_llm=not state.get("offline", False),
                progress=lambda line: writer({"stage": "planner", "kind": "status", "message": line}),
            )
        except GraftError as exc:
            return {"messages": [_say(str(exc), kind="error")], "status": "idle"}
        if outcome.plan is None:
            return {"messages": [_say(outcome.question or "I could not plan that.", kind="question")], "status": "idle"}
        thread = str(config.get("configurable", {}).get("thread_id", "conversation"))
        run_dir = data_dir() / "runs" / f"{thread}-{int(time.time())}"
        lines = [
            f"Proposed plan ({outcome.planner} planner): "
            + " → ".join(f"{s.id} ({s.kind})" for s in outcome.plan.stages)
        ]
        if continued:
            lines.append(f"- continuing from the last result: {continued} is this plan's base model")
        if outcome.facts:  # what the person stated, next to what the plan does with it
            lines.append("- from your goal: " + "; ".join(outcome.facts))
        lines += [f"- {note}" for note in outcome.notes]
        if outcome.not_understood:
            lines.append("- not placed in the plan: " + ", ".join(outcome.not_understood))
        return {**initial_state(outcome.plan, run_dir), "messages": [_say("\n".join(lines), kind="plan")]}

    def replan(state: ConversationState) -> dict[str, Any]:
        reason = (state.get("reason") or "").strip()
        if not reason:
            return {"messages": [_say("Plan dropped. Tell me what to do instead.")], "status": "idle", "route": "done"}
        return {"feedback": [reason], "messages": [_say(f"Re-planning with: {reason}")], "route": "plan"}

    def answer(state: ConversationState) -> dict[str, Any]:
        from agent.answers import answer_offline, answer_with_llm
        from agent.planner import LLMSettings

        text = state["messages"][-1]["content"] if state.get("messages") else ""
        settings = llm if llm is not None else (None if state.get("offline") else LLMSettings.from_env())
        other = (state.get("input") or {}).get("other")
        run_dir = state.get("run_dir")
        try:
            if settings is not None:
                result = answer_with_llm(text, state.get("model"), settings, other, run_dir)
            else:
                result = answer_offline(text, state.get("model"), other, run_dir)
        except GraftError as exc:
            return {"messages": [_say(str(exc), kind="error")]}
        label = "from the files" if result.source == "offline" else f"by {result.source}, citing the tool results"
        return {
            "messages": [
                _say(
                    f"{result.text}\n— answered {label}",
                    kind="answer",
                    shows=result.shows,
                    facts=result.facts,
                    source=result.source,
                    note=result.note,
                )
            ]
        }

    graph = StateGraph(ConversationState)
    graph.add_node("intake", intake)
    graph.add_node("plan", plan_node)
    graph.add_node("replan", replan)
    graph.add_node("answer", answer)
    add_executor(graph, runner_hook, on_reject="replan")
    graph.add_edge(START, "intake")
    graph.add_conditional_edges("intake", lambda s: s["route"], {"answer": "answer", "plan": "plan", "clarify": END})
    graph.add_conditional_edges(
        "plan",
        lambda s: "approve_plan" if s.get("status") == "awaiting_approval" else "end",
        {"approve_plan": "approve_plan", "end": END},
    )
    graph.add_conditional_edges(
        "replan", lambda s: "plan" if s.get("route") == "plan" else "end", {"plan": "plan", "end": END}
    )
    graph.add_edge("answer", END)
    return graph.compile(checkpointer=checkpointer)


def message_input(text: str, **fields: Any) -> dict[str, Any]:
    """The graph input for one message from the person."""
    return {"input": {"text": text, **{k: v for k, v in fields.items() if v is not None}}}


def last_thread_id() -> str | None:
    """The most recent conversation thread, for `graft --resume`."""
    marker = data_dir() / "last_thread"
    return marker.read_text().strip() or None if marker.is_file() else None


def remember_thread(thread_id: str) -> None:
    (data_dir() / "last_thread").write_text(thread_id)


def new_thread_id() -> str:
    import uuid

    return f"chat-{uuid.uuid4().hex[:12]}"


__all__ = ["ConversationState", "Path", "build_conversation", "last_thread_id", "message_input", "new_thread_id"]

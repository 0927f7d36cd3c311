"""The LLM path through the real `openai` client against a scripted server on loopback.

Each shape a real server sends (object arguments, tool calls in the text, `function: null`, a
trickle, a huge body, a cut reply, a stray question, HTTP 400 on `tool_choice`) ends in a plan
or in a fallback that says why, within the deadline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agent.llm_planner import (
    LLMUnavailable,
    acceptable_question,
    plan_schema,
    plan_with_llm,
    text_tool_calls,
)
from agent.planner import LLMSettings, PlanRequest, make_plan
from tests.llm_stub import ScriptedLLM
from tools.errors import GraftCancelled, GraftError
from tools.tiny_data import dpo_rows, sft_rows, write_jsonl

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def world(tiny, tmp_path):  # type: ignore[no-untyped-def]
    return {
        "model": str(tiny("llama")),
        "sft": str(write_jsonl(tmp_path / "chat.jsonl", sft_rows(12))),
        "dpo": str(write_jsonl(tmp_path / "prefs.jsonl", dpo_rows(12))),
        "out": str(tmp_path / "final"),
    }


def good_plan(world: dict, targets: list[str] | None = None) -> dict:
    return {
        "stages": [
            {"kind": "sft", "id": "sft", "dataset": world["sft"], "target_modules": targets or ["q_proj", "v_proj"]},
            {"kind": "merge_adapter", "id": "sft-merged"},
            {"kind": "dpo", "id": "dpo", "dataset": world["dpo"], "beta": 0.2},
            {"kind": "write", "id": "write"},
        ],
        "notes": ["assumed r=16 because the goal named no rank"],
    }


def request(world: dict, output: bool = True) -> PlanRequest:
    return PlanRequest(
        goal="teach it our answers, then DPO",
        model=world["model"],
        data=[world["sft"], world["dpo"]],
        output=world["out"] if output else None,
    )


def settings(server: ScriptedLLM, timeout: float = 20, **extra) -> LLMSettings:  # type: ignore[no-untyped-def]
    return LLMSettings(api_key="test", base_url=server.base_url, model="scripted", timeout=timeout, **extra)


def user_texts(req: dict) -> list[str]:
    return [m["content"] for m in req["messages"] if m["role"] == "user"]


def assert_plan(outcome) -> None:  # type: ignore[no-untyped-def]
    assert outcome.planner == "llm:scripted" and outcome.plan is not None, outcome.notes
    assert outcome.plan.stages[0].kind == "sft" and outcome.plan.stages[-1].kind == "write"


def test_grounded_forced_plan(world) -> None:  # type: ignore[no-untyped-def]
    plan = {**good_plan(world), "goal": "something else", "base_model": "/elsewhere", "output": "/tmp/not-this"}
    with ScriptedLLM([{"call": [("propose_plan", plan)]}]) as server:
        outcome = plan_with_llm(request(world), settings(server))
    assert_plan(outcome)
    # Graft, not the model, fills the goal, the base and the output.
    assert outcome.plan.goal == "teach it our answers, then DPO"
    assert outcome.plan.base_model == world["model"] and outcome.plan.output == world["out"]
    assert outcome.plan.stages[2].beta == 0.2 and "assumed r=16" in outcome.notes[0]
    (sent,) = server.requests
    assert sent["model"] == "scripted" and sent["stream"] is True and sent["max_tokens"] == 1024
    assert "temperature" not in sent  # only when configured
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "propose_plan"}}
    assert [t["function"]["name"] for t in sent["tools"]] == ["propose_plan"]
    schema = sent["tools"][0]["function"]["parameters"]
    assert schema["required"] == ["stages"] and "goal" not in schema["properties"]
    facts = sent["messages"][1]["content"]
    assert "q_proj" in facts and "2 layers" in facts  # module names and layers, read by Graft
    assert f"{world['sft']}: 12 rows" in facts and "preference pairs" in facts


def test_compact_schema_is_small() -> None:
    text = json.dumps(plan_schema())
    assert len(text) < 7500, len(text)  # the full Plan schema is ~15k characters
    assert '"title"' not in text and '"default"' not in text


def test_object_arguments(world) -> None:  # type: ignore[no-untyped-def]
    with ScriptedLLM([{"call": [("propose_plan", good_plan(world))], "object_args": True}]) as server:
        assert_plan(plan_with_llm(request(world), settings(server)))
    with ScriptedLLM([{"call": [("propose_plan", good_plan(world))], "object_args": True, "json_body": True}]) as s2:
        assert_plan(plan_with_llm(request(world), settings(s2)))


@pytest.mark.parametrize(
    "text",
    [
        "<tool_call>\n{json}\n</tool_call>",
        "Here is the plan:\n```json\n{json}\n```",
        "{json}",
    ],
    ids=["tool-call-block", "fenced", "bare"],
)
def test_tool_calls_in_the_text(world, text) -> None:  # type: ignore[no-untyped-def]
    call = json.dumps({"name": "propose_plan", "arguments": {"plan": good_plan(world)}})
    if text == "{json}":
        call = json.dumps({"plan": good_plan(world)})
    with ScriptedLLM([{"say": text.replace("{json}", call)}]) as server:
        assert_plan(plan_with_llm(request(world), settings(server)))
    assert len(server.requests) == 1


def completion(message: dict) -> dict:
    return {
        "id": "x",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }


@pytest.mark.parametrize(
    "message",
    [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function", "function": None}]},
        {"role": "assistant", "content": None, "tool_calls": "x"},
        {"role": "assistant", "content": None, "tool_calls": [None, 3]},
    ],
    ids=["function-null", "tool-calls-a-string", "tool-calls-junk"],
)
def test_broken_tool_call_shapes_are_repaired(world, message) -> None:  # type: ignore[no-untyped-def]
    script = [{"body": completion(message)}, {"call": [("propose_plan", good_plan(world))]}]
    with ScriptedLLM(script) as server:
        assert_plan(plan_with_llm(request(world), settings(server)))
    assert "Propose the plan now" in user_texts(server.requests[1])[-1]


def test_broken_shapes_end_in_a_fallback_not_a_crash(world) -> None:  # type: ignore[no-untyped-def]
    script = [{"body": {"choices": "nope"}}, {"body": completion({"tool_calls": "x"})}] * 3
    with ScriptedLLM(script) as server:
        outcome = make_plan(request(world), settings(server))
    assert outcome.planner == "offline" and outcome.plan is not None
    assert "no choices" in outcome.planner_note


def test_trickle_is_cut_at_the_deadline_and_the_stream_closed(world) -> None:  # type: ignore[no-untyped-def]
    with ScriptedLLM([{"trickle": 0.3}]) as server:
        start = time.monotonic()
        with pytest.raises(LLMUnavailable, match="did not finish the plan within 2 s"):
            plan_with_llm(request(world), settings(server, timeout=2, idle_timeout=1))
        elapsed = time.monotonic() - start
        assert elapsed < 3.5, elapsed
        time.sleep(0.8)
        assert server.closed_at, "the server was never told to stop"
        assert server.closed_at[0] - start < 4


def test_huge_body_is_capped(world) -> None:  # type: ignore[no-untyped-def]
    with ScriptedLLM([{"huge": 500_000_000}]) as server:
        start = time.monotonic()
        outcome = make_plan(request(world), settings(server, timeout=10, max_bytes=300_000))
        assert time.monotonic() - start < 8
        time.sleep(0.5)
        assert server.closed_at
    assert outcome.planner == "offline" and "passed 300,000 bytes" in outcome.planner_note


def test_silence_hits_the_idle_timeout(world) -> None:  # type: ignore[no-untyped-def]
    with ScriptedLLM([{"sleep": 3, "say": "late"}]) as server:
        start = time.monotonic()
        outcome = make_plan(request(world), settings(server, timeout=10, idle_timeout=0.5))
    assert time.monotonic() - start < 2.5
    assert "sent nothing for 0.5 s" in outcome.planner_note


def test_truncated_reply_is_a_repair(world) -> None:  # type: ignore[no-untyped-def]
    cut = {"say": '{"stages": [{"kind": "sft", "dataset": ', "finish": "length"}
    with ScriptedLLM([cut, {"call": [("propose_plan", good_plan(world))]}]) as server:
        assert_plan(plan_with_llm(request(world), settings(server)))
    assert "cut off at the 1024-token limit" in user_texts(server.requests[1])[-1]
    # A plan cut at the limit is never taken, even when its JSON happens to parse.
    cut_call = {"call": [("propose_plan", good_plan(world))], "finish": "length"}
    with ScriptedLLM([cut_call] * 3) as server:
        outcome = make_plan(request(world), settings(server))
    assert outcome.planner == "offline" and "cut off at the 1024-token limit" in outcome.planner_note


def test_stray_question_is_not_passed_on_and_json_mode_is_learned(world) -> None:  # type: ignore[no-untyped-def]
    stray = {"say": "The plan is saved to a file named sft.jsonl. Do you want to know more?"}
    with ScriptedLLM([stray, {"say": json.dumps(good_plan(world))}, {"say": json.dumps(good_plan(world))}]) as server:
        assert_plan(plan_with_llm(request(world), settings(server)))
        # The server ignored the tools, so the repair asked under a JSON schema...
        assert "tools" in server.requests[0] and "response_format" not in server.requests[0]
        assert server.requests[1]["response_format"]["type"] == "json_schema"
        # ...and the next plan on this server asks that way from the start.
        assert_plan(plan_with_llm(request(world), settings(server)))
        assert server.requests[2]["response_format"]["type"] == "json_schema"


def test_a_real_question_is_passed_on(world) -> None:  # type: ignore[no-untyped-def]
    with ScriptedLLM([{"call": [("propose_plan", {"question": "Which dataset holds the preference pairs?"})]}]) as s:
        outcome = plan_with_llm(request(world), settings(s))
    assert outcome.plan is None and outcome.question == "Which dataset holds the preference pairs?"
    assert acceptable_question("Which layers should be trained?")
    for bad in [
        "The plan is saved to a file named sft.jsonl. Do you want to know more?",
        'Shall I call <tool_call>{"name": "propose_plan"}</tool_call>?',
        "Which dataset " + "really " * 60 + "?",
        "Which dataset",
    ]:
        assert acceptable_question(bad) is None, bad


def test_http_400_on_tool_choice_retries_without_it(world) -> None:  # type: ignore[no-untyped-def]
    step = {"refuse": ["tool_choice"], "call": [("propose_plan", good_plan(world))]}
    with ScriptedLLM([step]) as server:
        outcome = plan_with_llm(request(world), settings(server, temperature=0.2))
    assert_plan(outcome)
    first, second = server.requests
    assert first["tool_choice"] and first["temperature"] == 0.2
    assert "tool_choice" not in second and "temperature" not in second and second["tools"]


def test_http_400_twice_falls_back_with_the_servers_words(world) -> None:  # type: ignore[no-untyped-def]
    refusal = {"status": 400, "error": "The model `scripted` does not exist."}
    with ScriptedLLM([refusal, refusal]) as server:
        outcome = make_plan(request(world), settings(server))
    assert outcome.planner == "offline" and outcome.plan is not None
    assert "HTTP 400: The model `scripted` does not exist." in outcome.planner_note
    assert "offline planner" in outcome.notes[0]


def test_missing_v1_gets_a_hint(world) -> None:  # type: ignore[no-untyped-def]
    with ScriptedLLM([]) as server:
        llm = LLMSettings(api_key="k", base_url=server.base_url.removesuffix("/v1"), model="m", timeout=5)
        outcome = make_plan(request(world), llm)
    assert "HTTP 404: Not Found" in outcome.planner_note and "/v1 missing" in outcome.planner_note


@pytest.mark.parametrize(
    ("script", "said"),
    [
        ([{"status": 500}], "HTTP 500: scripted failure"),
        ([{"raw": "<html>bad gateway</html>"}], "not JSON"),
        ([{"call": [("propose_plan", good_plan({"sft": "/nope.jsonl", "dpo": "y"}))]}] * 3, "did not give"),
        ([{"say": "Sure, sounds good."}] * 3, "without proposing a plan"),
    ],
    ids=["http-500", "not-json", "repairs-exhausted", "no-plan"],
)
def test_failures_fall_back_to_the_offline_planner(world, script, said) -> None:  # type: ignore[no-untyped-def]
    with ScriptedLLM(script) as server:
        outcome = make_plan(request(world), settings(server))
    assert outcome.planner == "offline" and outcome.plan is not None
    assert said in outcome.planner_note and "offline planner" in outcome.notes[0]


def test_unreachable_server_falls_back(world) -> None:  # type: ignore[no-untyped-def]
    outcome = make_plan(request(world), LLMSettings(api_key="k", base_url="http://127.0.0.1:9/v1", timeout=2))
    assert outcome.planner == "offline" and "cannot reach" in outcome.planner_note


def test_cancel_closes_the_stream_at_once(world) -> None:  # type: ignore[no-untyped-def]
    cancel = threading.Event()
    with ScriptedLLM([{"trickle": 5}]) as server:
        threading.Timer(0.5, cancel.set).start()
        start = time.monotonic()
        with pytest.raises(GraftCancelled):
            make_plan(request(world), settings(server, timeout=30, idle_timeout=20), cancel=cancel)
        assert time.monotonic() - start < 2


def test_progress_lines(world) -> None:  # type: ignore[no-untyped-def]
    lines: list[str] = []
    script = [{"say": "no"}, {"call": [("propose_plan", good_plan(world))]}]
    with ScriptedLLM(script) as server:
        plan_with_llm(request(world), settings(server), progress=lines.append)
    assert lines == ["planning with scripted… turn 1/4", "planning with scripted… turn 2/4"]


def test_text_tool_calls_parser() -> None:
    (call,) = text_tool_calls('<tool_call>{"name": "list_modules", "arguments": "{\\"path\\": \\"m\\"}"}</tool_call>')
    assert call.name == "list_modules" and call.arguments == '{"path": "m"}'
    assert text_tool_calls("no json here") == []


def test_model_is_required_with_a_base_url(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.delenv("GRAFT_LLM_MODEL", raising=False)
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    with pytest.raises(GraftError, match="GRAFT_LLM_MODEL is not"):
        LLMSettings.from_env()
    monkeypatch.setenv("GRAFT_LLM_MODEL", "m")
    monkeypatch.setenv("GRAFT_LLM_TIMEOUT", "30")
    monkeypatch.setenv("GRAFT_LLM_MAX_TOKENS", "256")
    s = LLMSettings.from_env()
    assert s is not None and (s.model, s.timeout, s.max_tokens, s.temperature) == ("m", 30, 256, None)
    monkeypatch.setenv("GRAFT_LLM_MAX_TOKENS", "many")
    with pytest.raises(GraftError, match="GRAFT_LLM_MAX_TOKENS must be a number"):
        LLMSettings.from_env()


def graft(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        timeout=timeout,
    )


def test_graft_plan_says_who_planned(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    goal = ["plan", "teach it, then DPO", "--model", world["model"], "--data", world["sft"], world["dpo"]]
    with ScriptedLLM([{"call": [("propose_plan", good_plan(world))]}] * 2) as server:
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "test", "GRAFT_LLM_MODEL": "scripted"}
        proc = graft(*goal, "--json", env=env)
        assert proc.returncode == 0, proc.stderr
        assert "planning with scripted… turn 1/4" in proc.stderr
        data = json.loads(proc.stdout)
        assert list(data)[:3] == ["goal", "base_model", "output"]
        assert [s["kind"] for s in data["stages"]][::3] == ["sft", "write"]
        assert data["planner"] == "llm:scripted" and data["planner_note"] is None
        # The JSON, saved, still loads as the plan it holds.
        from agent.plan import plan_from_yaml

        assert plan_from_yaml(proc.stdout).stages[0].kind == "sft"
        saved = tmp_path / "p.yaml"
        proc = graft(*goal, "-o", str(saved), env=env)
        assert proc.returncode == 0, proc.stderr
        assert "planned by llm:scripted" in proc.stdout and "planner" not in saved.read_text()
    # A refusing server: the plan is the offline planner's, and the person reads why.
    with ScriptedLLM([{"status": 400, "error": "unknown model 'scripted'"}] * 4) as server:
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "test", "GRAFT_LLM_MODEL": "scripted"}
        text = graft(*goal, env=env)
        data = json.loads(graft(*goal, "--json", env=env).stdout)
    assert text.returncode == 0, text.stderr
    assert "planned by the offline planner" in text.stdout
    assert "HTTP 400: unknown model 'scripted'" in " ".join(text.stdout.split())
    assert data["planner"] == "offline" and "unknown model 'scripted'" in data["planner_note"]
    # A base URL without a model name is one clear sentence and exit 2.
    proc = graft(*goal, env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "GRAFT_LLM_MODEL": ""})
    assert proc.returncode == 2 and "GRAFT_LLM_MODEL" in proc.stderr and "Traceback" not in proc.stderr


# ---------------------------------------------------------------- answers


def test_an_answer_citing_no_tool_result_is_replaced(world) -> None:  # type: ignore[no-untyped-def]
    from agent.answers import answer_offline, answer_with_llm

    truth = answer_offline("what does this checkpoint contain?", world["model"])
    made_up = {"say": "This checkpoint is a friendly assistant trained on many books."}
    with ScriptedLLM([made_up]) as server:
        answer = answer_with_llm("what does this checkpoint contain?", world["model"], settings(server))
    assert answer.source == "offline" and answer.text.startswith(truth.text)
    assert answer.note == "the LLM's answer cites no tool result" and answer.note in answer.text


def test_answer_checks(world) -> None:  # type: ignore[no-untyped-def]
    from agent.answers import answer_offline, answer_with_llm

    truth = answer_offline("how many parameters?", world["model"])
    total = f"{truth.facts[0]['total_params']:,}"
    cases = [
        ({"say": f"It has {total} parameters [1]."}, "llm:scripted", None),
        ({"say": "It has 123,456,789 parameters [1]."}, "offline", "states numbers that no tool result holds"),
        ({"say": f"It has {total} parameters [1] and", "finish": "length"}, "offline", "cut off"),
        ({"say": f"It has {total} parameters [7]."}, "offline", "cites no tool result"),
    ]
    for step, source, note in cases:
        with ScriptedLLM([step]) as server:
            answer = answer_with_llm("how many parameters?", world["model"], settings(server))
        assert answer.source == source and (note is None or note in (answer.note or "")), (step, answer)
    assert "[1]" in server.requests[0]["messages"][1]["content"]  # Graft's own result, numbered


def test_conversation_labels_answers_and_streams_planning_progress(world, offline_home) -> None:  # type: ignore[no-untyped-def]
    from agent.conversation import build_conversation, message_input
    from agent.graph import open_checkpointer

    script = [
        {"say": "A friendly assistant."},
        {"call": [("propose_plan", good_plan(world))]},
    ]
    with ScriptedLLM(script) as server:
        graph = build_conversation(open_checkpointer(offline_home / "graft.sqlite"), llm=settings(server))
        config = {"configurable": {"thread_id": "labels"}}
        question = message_input("what does this checkpoint contain?", model=world["model"])
        graph.invoke(question, config)
        answer = graph.get_state(config).values["messages"][-1]
        assert answer["source"] == "offline" and answer["note"] == "the LLM's answer cites no tool result"
        assert answer["content"].endswith("— answered from the files")
        goal = message_input("teach it, then DPO", model=world["model"], data=[world["sft"], world["dpo"]])
        events = [c for mode, c in graph.stream(goal, config, stream_mode=["custom", "updates"]) if mode == "custom"]
    assert {"stage": "planner", "kind": "status", "message": "planning with scripted… turn 1/4"} in events
    plan_message = graph.get_state(config).values["messages"][-1]["content"]
    assert plan_message.startswith("Proposed plan (llm:scripted planner)")


def test_only_datasets_the_person_gave(world) -> None:  # type: ignore[no-untyped-def]
    other = str(Path(world["sft"]).with_name("other.jsonl"))
    write_jsonl(Path(other), sft_rows(4))
    sneaky = good_plan(world)
    sneaky["stages"][0]["dataset"] = other
    named = PlanRequest(goal=f"fine-tune on {world['sft']} then DPO on {world['dpo']}", model=world["model"])
    with ScriptedLLM([{"call": [("propose_plan", sneaky)]}, {"call": [("propose_plan", good_plan(world))]}]) as s:
        assert_plan(plan_with_llm(named, settings(s)))
    assert f"names dataset {other}, which the person did not give" in user_texts(s.requests[1])[-1]
    assert f"{world['dpo']}: 12 rows" in s.requests[0]["messages"][1]["content"]  # named in the goal


def test_a_face_can_cancel_every_open_request(world) -> None:  # type: ignore[no-untyped-def]
    from agent.llm_planner import cancel_open_requests

    with ScriptedLLM([{"trickle": 5}]) as server:
        threading.Timer(0.7, cancel_open_requests).start()
        start = time.monotonic()
        with pytest.raises(GraftCancelled):
            make_plan(request(world), settings(server, timeout=30, idle_timeout=20))
        assert time.monotonic() - start < 2.5  # the next byte comes at 5 s: the blocked read was woken


def test_a_server_refusing_json_schema_gets_one_plain_retry(world) -> None:  # type: ignore[no-untyped-def]
    script = [{"say": "I would train it."}, {"refuse": ["response_format"], "say": json.dumps(good_plan(world))}]
    with ScriptedLLM(script) as server:
        assert_plan(plan_with_llm(request(world), settings(server)))
    first, second, third = server.requests
    assert "tool_choice" in first and "response_format" in second
    assert not {"tool_choice", "response_format", "temperature"} & set(third)


def test_the_llm_can_check_an_adapter(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The model's tool list carries the LoRA check, and its result names what the adapter touches."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from agent.llm_planner import run_tool, tool_specs

    assert "check_adapter" in [spec["function"]["name"] for spec in tool_specs()]
    base = tiny("llama")
    model = AutoModelForCausalLM.from_pretrained(str(base))
    lora = LoraConfig(r=2, target_modules=["q_proj"], layers_to_transform=[1])
    get_peft_model(model, lora).save_pretrained(str(tmp_path / "adapter"))
    result = json.loads(run_tool("check_adapter", {"adapter": str(tmp_path / "adapter"), "base": str(base)}))
    assert "q_proj" in json.dumps(result["adapters"][0]) and result["fits"][0]["fits"] is True
    assert run_tool("check_adapter", {"adapter": str(tmp_path / "nowhere")}).startswith("error:")

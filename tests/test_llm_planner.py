"""The LLM planner through the real `openai` client against a scripted server on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.llm_planner import LLMUnavailable, plan_with_llm
from agent.planner import LLMSettings, PlanRequest, make_plan
from tests.llm_stub import ScriptedLLM
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
        "goal": "teach it, then prefer short answers",
        "base_model": world["model"],
        "output": world["out"],
        "stages": [
            {"kind": "sft", "id": "sft", "dataset": world["sft"], "target_modules": targets or ["q_proj", "v_proj"]},
            {"kind": "merge_adapter", "id": "sft-merged"},
            {"kind": "dpo", "id": "dpo", "dataset": world["dpo"], "beta": 0.2},
            {"kind": "write", "id": "write"},
        ],
        "notes": ["assumed r=16 because the goal named no rank"],
    }


def request(world: dict) -> PlanRequest:
    return PlanRequest(goal="teach it our answers, then DPO", model=world["model"], data=[world["sft"], world["dpo"]])


def settings(server: ScriptedLLM, timeout: float = 20) -> LLMSettings:
    return LLMSettings(api_key="test", base_url=server.base_url, model="scripted", timeout=timeout)


def tool_messages(req: dict) -> list[str]:
    return [m["content"] for m in req["messages"] if m["role"] == "tool"]


def test_straight_plan(world) -> None:  # type: ignore[no-untyped-def]
    with ScriptedLLM([{"call": [("propose_plan", good_plan(world))]}]) as server:
        outcome = plan_with_llm(request(world), settings(server))
    assert outcome.planner == "llm" and outcome.plan is not None
    assert [s.kind for s in outcome.plan.stages] == ["sft", "merge_adapter", "dpo", "write"]
    assert outcome.plan.stages[2].beta == 0.2
    assert "assumed r=16" in outcome.notes[0]
    sent = server.requests[0]
    assert sent["model"] == "scripted"
    assert {t["function"]["name"] for t in sent["tools"]} == {
        "inspect_checkpoint",
        "diff_checkpoints",
        "list_modules",
        "propose_plan",
    }
    assert "stages" in json.dumps(next(t for t in sent["tools"] if t["function"]["name"] == "propose_plan"))
    assert sent["messages"][0]["role"] == "system" and "propose_plan" in sent["messages"][0]["content"]
    assert world["model"] in sent["messages"][1]["content"]


def test_tool_calls_first_are_answered_from_the_files(world) -> None:  # type: ignore[no-untyped-def]
    script = [
        {"call": [("inspect_checkpoint", {"path": world["model"]}), ("list_modules", {"path": world["model"]})]},
        {"call": [("propose_plan", good_plan(world))]},
    ]
    with ScriptedLLM(script) as server:
        outcome = plan_with_llm(request(world), settings(server))
    assert outcome.plan is not None
    inspected, modules = tool_messages(server.requests[1])
    from tools.inspect import InspectArgs, inspect_checkpoint

    truth = inspect_checkpoint(InspectArgs(path=world["model"]))
    assert json.loads(inspected)["total_params"] == truth.total_params
    assert json.loads(modules)["attention"] == ["k_proj", "o_proj", "q_proj", "v_proj"]


def test_invalid_plan_then_repair(world) -> None:  # type: ignore[no-untyped-def]
    script = [
        {"call": [("propose_plan", good_plan(world, targets=["c_attn"]))]},
        {"call": [("propose_plan", good_plan(world))]},
    ]
    with ScriptedLLM(script) as server:
        outcome = plan_with_llm(request(world), settings(server))
    assert outcome.plan is not None
    (feedback,) = tool_messages(server.requests[1])
    assert "c_attn is not a module of LlamaForCausalLM" in feedback


def test_malformed_json_arguments_then_repair(world) -> None:  # type: ignore[no-untyped-def]
    script = [{"call": [("propose_plan", '{"goal": "x", "stages": [')]}, {"call": [("propose_plan", good_plan(world))]}]
    with ScriptedLLM(script) as server:
        outcome = plan_with_llm(request(world), settings(server))
    assert outcome.plan is not None
    assert "not valid JSON" in tool_messages(server.requests[1])[0]


def test_unknown_tool_is_told_so(world) -> None:  # type: ignore[no-untyped-def]
    script = [{"call": [("rm_rf", {"path": "/"})]}, {"call": [("propose_plan", good_plan(world))]}]
    with ScriptedLLM(script) as server:
        outcome = plan_with_llm(request(world), settings(server))
    assert outcome.plan is not None
    assert "no tool named 'rm_rf'" in tool_messages(server.requests[1])[0]


def test_a_question_back(world) -> None:  # type: ignore[no-untyped-def]
    with ScriptedLLM([{"say": "Which dataset holds the preference pairs?"}]) as server:
        outcome = plan_with_llm(request(world), settings(server))
    assert outcome.plan is None and outcome.question == "Which dataset holds the preference pairs?"


@pytest.mark.parametrize(
    ("script", "timeout", "said"),
    [
        ([{"status": 500}], 20, "HTTP 500"),
        ([{"sleep": 3, "say": "late"}], 0.5, "did not answer within 0.5 s"),
        ([{"raw": "<html>bad gateway</html>"}], 20, "could not be read"),
        (
            [{"call": [("propose_plan", good_plan({"model": "/nope", "sft": "x", "dpo": "y", "out": "z"}))]}] * 3,
            20,
            "still invalid after 2 repairs",
        ),
        ([{"say": "Sure, sounds good."}, {"say": "Done."}], 20, "without proposing a plan"),
    ],
    ids=["http-500", "timeout", "not-json", "repairs-exhausted", "no-plan"],
)
def test_failures_fall_back_to_the_offline_planner(world, script, timeout, said) -> None:  # type: ignore[no-untyped-def]
    with ScriptedLLM(script) as server:
        with pytest.raises(LLMUnavailable, match=said):
            plan_with_llm(request(world), settings(server, timeout))
    with ScriptedLLM(script) as server:
        outcome = make_plan(request(world), settings(server, timeout))
    assert outcome.planner == "offline" and outcome.plan is not None
    assert said in outcome.notes[0] and "offline planner" in outcome.notes[0]


def test_unreachable_server_falls_back(world) -> None:  # type: ignore[no-untyped-def]
    outcome = make_plan(request(world), LLMSettings(api_key="k", base_url="http://127.0.0.1:9/v1", timeout=2))
    assert outcome.planner == "offline" and "cannot reach" in outcome.notes[0]


def test_graft_plan_uses_the_configured_llm(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with ScriptedLLM([{"call": [("propose_plan", good_plan(world))]}]) as server:
        env = {
            **os.environ,
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "test",
            "GRAFT_LLM_MODEL": "scripted",
            "PYTHONPATH": str(ROOT),
        }
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "tui.cli",
                "plan",
                "teach it, then DPO",
                "--model",
                world["model"],
                "--data",
                world["sft"],
                world["dpo"],
                "--json",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert list(data)[:3] == ["goal", "base_model", "output"]
    assert [s["kind"] for s in data["stages"]] == ["sft", "merge_adapter", "dpo", "write"]
    assert server.requests, "the planner never called the server"

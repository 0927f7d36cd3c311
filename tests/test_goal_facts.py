"""Stated facts: read from the goal, kept by the plan, or asked about — never silently dropped or changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.goal_facts import check_plan_against_goal, corrected_text, fact_echo, goal_facts
from agent.offline_planner import plan_offline
from agent.plan import plan_from_data
from agent.planner import PlanRequest
from tools.tiny_data import dpo_rows, sft_rows, write_jsonl


def _facts(goal: str, n: int | None = 12) -> dict[str, object]:
    out: dict[str, object] = {}
    for f in goal_facts(goal, n):
        out.setdefault(f.slot, f.value) if f.slot not in out else None
    return out


@pytest.mark.parametrize(
    ("goal", "expected"),
    [
        ("LoRA rank 64, scratch that, 16", {"r": 16}),
        ("rank 64... actually make it 16", {"r": 16}),
        ("ранг 64, нет, лучше 16", {"r": 16}),
        ("ранг 32, вернее 8", {"r": 8}),
        ("alpha thirty-two, rank sixteen", {"alpha": 32, "r": 16}),
        ("ранг шестнадцать, с альфой восемь", {"r": 16, "alpha": 8}),
        ("lora_r=8 lora_alpha=16 lora_dropout=0.05 num_train_epochs=3 learning_rate=2e-5",
         {"r": 8, "alpha": 16, "dropout": 0.05, "epochs": 3, "learning_rate": 2e-5}),
        ("2 ep, batch size 8, max length 512", {"epochs": 2, "batch_size": 8, "max_length": 512}),
        ("DPO с бетой 0.3 за 5 шагов", {"method": "dpo", "beta": 0.3, "max_steps": 5}),
        ("full-parameter, not LoRA", {"adapter": "none"}),
        ("дообучи без LoRA", {"adapter": "none"}),
        ("train layers 4 through 7", {"layers": [4, 5, 6, 7]}),
        ("save to Out/MyModel in bf16", {"path": "Out/MyModel", "dtype": "bfloat16"}),
        ("SFT then PPO with a reward model", {"stage": "sft", "unsupported": "ppo"}),
        ("KTO with thumbs up/down data", {"method": "kto"}),
        ("LoRA r/alpha 16/32", {"r": 16, "alpha": 32}),
        ("SFT with a 2k context, 1k steps", {"max_length": 2048, "max_steps": 1000}),
        ("LoRA, context 4k", {"max_length": 4096}),
        ("SFT with 512-token context", {"max_length": 512}),
    ],
)  # fmt: skip
def test_facts_are_read(goal: str, expected: dict[str, object]) -> None:
    got = _facts(goal)
    for slot, value in expected.items():
        assert got.get(slot) == pytest.approx(value) if isinstance(value, float) else got.get(slot) == value, (
            slot,
            got,
        )
    assert "path" not in got or "path" in expected  # up/down is no path


def test_corrections_keep_what_was_replaced() -> None:
    (fact,) = [f for f in goal_facts("rank 64, scratch that, 16") if f.slot == "r"]
    assert fact.value == 16 and fact.replaced == [64]
    text, notes = corrected_text("сделай IPO… нет, обычный DPO")
    assert "ipo" not in text and "dpo" in text
    assert notes and "ipo, then dpo" in notes[0]
    # without a marker both values stay stated: nothing is dropped
    assert [f.value for f in goal_facts("rank 8 and rank 16") if f.slot == "r"] == [8, 16]


def _plan(base: str, **stage: object):  # type: ignore[no-untyped-def]
    sft = {"kind": "sft", "dataset": "chat.jsonl", **stage}
    return plan_from_data({"goal": "g", "base_model": base, "stages": [sft, {"kind": "write"}]})


def test_check_names_every_drift() -> None:
    plan = _plan("base", r=64, alpha=16)
    misses = check_plan_against_goal("LoRA rank 64, scratch that, 16, alpha thirty-two on chat.jsonl", plan, 12)
    assert sorted(m.fact.slot for m in misses if m.fact) == ["alpha", "r"]
    assert check_plan_against_goal("LoRA rank 16, alpha 32 on chat.jsonl", _plan("base", r=16, alpha=32), 12) == []
    layers = check_plan_against_goal("LoRA on the bottom third", _plan("base"), 12)
    assert layers and "bottom third" in layers[0].message
    assert check_plan_against_goal("LoRA on the bottom third", _plan("base", layers=[0, 1, 2, 3]), 12) == []
    ppo = check_plan_against_goal("PPO please", _plan("base"), 12)
    assert any("PPO" in m.message for m in ppo)
    # a path case-folded by a planner is a miss, not the same place
    folded = plan_from_data(
        {"goal": "g", "base_model": "base", "output": "out/mymodel", "stages": [{"kind": "sft", "dataset": "d.jsonl"}]}
    )
    assert check_plan_against_goal("SFT, save to Out/MyModel", folded, 12)


def test_echo_says_what_was_said() -> None:
    plan = _plan("base", r=16, alpha=32)
    echo = fact_echo("LoRA rank 64, scratch that, 16, alpha 32 on chat.jsonl", plan, 12)
    assert "rank 16 (you said 64, then 16)" in echo
    assert "alpha 32" in echo


# ---- the offline planner, end to end on a real tiny checkpoint ----


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tools.tiny import TinyModelArgs, build_tiny_model

    root = tmp_path_factory.mktemp("facts")
    model = root / "base"
    build_tiny_model(TinyModelArgs(architecture="llama", output=str(model), num_layers=6))
    return {
        "model": str(model),
        "sft": str(write_jsonl(root / "chat.jsonl", sft_rows(12))),
        "dpo": str(write_jsonl(root / "prefs.jsonl", dpo_rows(12))),
        "other": str(write_jsonl(root / "Other.jsonl", sft_rows(12, seed=4))),
        "root": str(root),
    }


def _outcome(world, goal: str):  # type: ignore[no-untyped-def]
    goal = goal.format(**world)
    return plan_offline(PlanRequest(goal=goal, model=world["model"], data=[world["sft"], world["dpo"]]))


@pytest.mark.parametrize(
    ("goal", "checks"),
    [
        ("LoRA rank 64, scratch that, 16, alpha thirty-two", {0: {"r": 16, "alpha": 32}}),
        ("дообучи с рангом шестнадцать, с альфой восемь", {0: {"r": 16, "alpha": 8}}),
        ("ранг 64, нет, лучше 16, дообучи LoRA", {0: {"r": 16}}),
        ("сделай IPO… нет, обычный DPO", {0: {"method": "dpo", "loss_type": "sigmoid"}}),
        ("full-parameter fine-tune, not LoRA", {0: {"adapter": "none"}}),
        ("дообучи без LoRA", {0: {"adapter": "none"}}),
        ("lora_r=8, lora_alpha=16, lora_dropout=0.05, num_train_epochs=3", {0: {"r": 8, "alpha": 16, "dropout": 0.05, "epochs": 3}}),
        ("LoRA with dropout 0.05 for 2 ep", {0: {"dropout": 0.05, "epochs": 2}}),
        ("DPO с бетой 0.3", {0: {"beta": 0.3}}),
        ("LoRA on layers 1 through 3; r=12, train on chat", {0: {"layers": [1, 2, 3], "r": 12}}),
        ("LoRA on the bottom third", {0: {"layers": [0, 1]}}),
        ("LoRA on every other layer", {0: {"layers": [0, 2, 4]}}),
        ("LoRA on all but the first two layers", {0: {"layers": [2, 3, 4, 5]}}),
        ("дообучи со второго по пятый слой", {0: {"layers": [1, 2, 3, 4]}}),
        ("дообучи все слои кроме первого", {0: {"layers": [1, 2, 3, 4, 5]}}),
        ("SFT on the last 2 layers, then DPO", {0: {"layers": [4, 5]}, 1: {"layers": [4, 5]}}),
        ("SFT, then blend it back with the starting model", {2: {"models": ["@sft-merged", "@base"]}}),
        ("SFT, then merge it with the original using SLERP", {2: {"models": ["@sft-merged", "@base"]}}),
        ("SFT on {sft}; SFT on {other}", {0: {"dataset": "{sft}"}, 1: {"dataset": "{other}"}}),
        ("fine-tune and save it to {root}/Out/MyModel", {"plan": {"output": "{root}/Out/MyModel"}}),
    ],
)  # fmt: skip
def test_planner_keeps_stated_facts(world, goal: str, checks: dict) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, goal)
    assert outcome.question is None, outcome.question
    plan = outcome.plan
    assert plan is not None
    for where, fields in checks.items():
        target = plan if where == "plan" else plan.stages[where]
        for key, want in fields.items():
            want = want.format(**world) if isinstance(want, str) else want
            got = getattr(target, key)
            assert got == (pytest.approx(want) if isinstance(want, float) else want), (goal, key, got)
    assert outcome.facts and not any("NOT in the plan" in line for line in outcome.facts)


@pytest.mark.parametrize(
    ("goal", "asked"),
    [
        ("SFT then PPO", "PPO"),
        ("сначала SFT, потом GRPO", "GRPO"),
        ("RLHF with a reward model", "does not run"),
        ("SFT with rank 8 and rank 16", "rank 8"),
        ("дообучи с рангом 8 и рангом 16", "rank 8"),
    ],
)
def test_planner_asks_instead_of_drifting(world, goal: str, asked: str) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, goal)
    assert outcome.plan is None and outcome.question  # a Russian goal is asked in Russian
    assert asked in outcome.question or asked.replace("rank", "ранг") in outcome.question


def test_instead_of_an_unsupported_method_is_no_refusal(world) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, "DPO instead of PPO")
    assert outcome.plan is not None and outcome.plan.stages[0].kind == "preference"


def test_echo_in_the_outcome(world) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, "LoRA rank 64, scratch that, 16 on the last 2 layers")
    assert outcome.plan is not None
    assert "rank 16 (you said 64, then 16)" in outcome.facts
    assert any(line.startswith("layers 4, 5") for line in outcome.facts)
    assert any("you said 64, then 16" in n for n in outcome.notes)


def test_feedback_replaces_the_goal_value(world) -> None:  # type: ignore[no-untyped-def]
    request = PlanRequest(goal="LoRA rank 8", model=world["model"], data=[world["sft"]], feedback=["rank 4"])
    outcome = plan_offline(request)
    assert outcome.plan is not None and outcome.plan.stages[0].r == 4
    assert Path(world["model"]).exists()


def test_graft_plan_prints_the_echo(world) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "tui.cli", "plan", "LoRA rank 64, scratch that, 16", "--model", world["model"],
         "--data", world["sft"], "--offline"],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "from your goal: rank 16 (you said 64, then 16)" in proc.stdout


def test_the_plan_message_shows_the_echo(world, offline_home) -> None:  # type: ignore[no-untyped-def]
    from agent.conversation import build_conversation, message_input
    from agent.graph import open_checkpointer

    graph = build_conversation(open_checkpointer(offline_home / "graft.sqlite"))
    config = {"configurable": {"thread_id": "echo"}}
    value = message_input("дообучи с рангом шестнадцать", model=world["model"], data=[world["sft"]], offline=True)
    for _ in graph.stream(value, config, stream_mode=["updates"]):
        pass
    messages = graph.get_state(config).values["messages"]
    plan_message = next(m for m in messages if m.get("kind") == "plan")
    assert "from your goal: ранг 16" in plan_message["content"]  # the echo in the goal's language


@pytest.fixture(scope="module")
def bin_model(world) -> str:  # type: ignore[no-untyped-def]
    """The tiny model as a pickle checkpoint (pytorch_model.bin), config and tokenizer beside it."""
    import shutil

    import torch
    from safetensors.torch import load_file

    src, dst = Path(world["model"]), Path(world["root"]) / "bin-model"
    dst.mkdir()
    state = {}
    for f in src.iterdir():
        if f.suffix == ".safetensors":
            state.update(load_file(f))
        elif f.is_file():
            shutil.copy(f, dst / f.name)
    torch.save(state, dst / "pytorch_model.bin")
    return str(dst)


def test_a_pickle_base_plans_convert_first_and_validates(world, bin_model) -> None:  # type: ignore[no-untyped-def]
    request = PlanRequest(goal="LoRA rank 8, then merge with the base using TIES", model=bin_model, data=[world["sft"]])
    outcome = plan_offline(request)
    assert outcome.plan is not None, outcome.question
    kinds = [s.kind for s in outcome.plan.stages]
    assert kinds == ["convert", "sft", "merge_adapter", "merge_models", "write"]
    merge = outcome.plan.stages[3]
    assert "@base" not in merge.models and merge.base == "@convert"  # the merge reads the converted model
    assert outcome.report is not None and any("pickle checkpoint" in n for n in outcome.report.notes)
    # roles need module names, which a pickle only gives after conversion: asked, not widened to all
    asked = plan_offline(PlanRequest(goal="LoRA on attention", model=bin_model, data=[world["sft"]]))
    assert asked.plan is None and asked.question and "graft convert" in asked.question


def test_merge_two_named_models_keeps_the_base_as_ancestor(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    a, b = tmp_path / "A", tmp_path / "B"
    shutil.copytree(world["model"], a)
    shutil.copytree(world["model"], b)
    outcome = plan_offline(
        PlanRequest(goal=f"merge {a} and {b} using TIES with weights 0.5 and 0.5", model=world["model"], data=[])
    )
    assert outcome.plan is not None, outcome.question
    merge = outcome.plan.stages[0]
    assert merge.models == [str(a), str(b)] and merge.weights == [0.5, 0.5] and merge.base == "@base"
    assert "weights 0.5, 0.5 — merged as: A 0.5, B 0.5" in outcome.facts  # each share shown with its member
    # the opened model named again as a partner counts once
    again = plan_offline(
        PlanRequest(
            goal=f"SFT, then merge it with {world['model']} using SLERP", model=world["model"], data=[world["sft"]]
        )
    )
    assert again.plan is not None and again.plan.stages[-2].models == ["@sft-merged", "@base"]
    three = plan_offline(
        PlanRequest(goal=f"SFT, then TIES with {a} and {b} 0.5, 0.3 and 0.2", model=world["model"], data=[world["sft"]])
    )
    assert three.plan is not None and three.plan.stages[-2].weights == [0.5, 0.3, 0.2]


@pytest.mark.parametrize(
    ("goal", "orphan"),
    [
        ("fine-tune with LoRA, 7", "7"),
        ("LoRA on chat, seventeen please", "seventeen"),
        ("дообучи LoRA, тринадцать", "тринадцать"),
    ],
)
def test_a_number_with_no_slot_is_asked_about(world, goal: str, orphan: str) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, goal)
    assert outcome.plan is None and outcome.question
    assert f"You wrote {orphan}" in outcome.question or f"Вы написали {orphan}" in outcome.question


def test_words_of_placed_facts_are_not_called_unplaced(world) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, "LoRA with batch size 8 and alpha thirty-two, like a pirate")
    assert outcome.plan is not None and outcome.plan.stages[0].batch_size == 8
    assert "size" not in outcome.not_understood and "thirty-two" not in outcome.not_understood
    assert "pirate" in outcome.not_understood


def test_the_llm_planner_goes_through_the_same_check(world) -> None:  # type: ignore[no-untyped-def]
    """A plan that drops a stated value is sent back as a repair; the kept plan carries the echo."""
    from agent.llm_planner import plan_with_llm
    from agent.planner import LLMSettings
    from tests.llm_stub import ScriptedLLM

    def plan(r: int) -> dict:
        return {"stages": [{"kind": "sft", "dataset": world["sft"], "r": r}, {"kind": "write"}]}

    goal = "LoRA rank 64, scratch that, 16"
    with ScriptedLLM([{"call": [("propose_plan", plan(64))]}, {"call": [("propose_plan", plan(16))]}]) as server:
        settings = LLMSettings(api_key="test", base_url=server.base_url, model="scripted", timeout=20)
        outcome = plan_with_llm(PlanRequest(goal=goal, model=world["model"], data=[world["sft"]]), settings)
        repair = server.requests[1]["messages"][-1]["content"]
    assert "rank 16" in repair and "does not keep what the person said" in repair
    assert outcome.plan is not None and outcome.plan.stages[0].r == 16
    assert "rank 16 (you said 64, then 16)" in outcome.facts


@pytest.mark.parametrize(
    ("goal", "kinds"),
    [
        ("SFT on {sft} and DPO on {dpo}", ["sft", "preference", "write"]),
        ("fine-tune and DPO", ["sft", "preference", "write"]),
        ("train it with DPO", ["preference", "write"]),
        ("SFT, merge, then DPO and merge again", ["sft", "merge_adapter", "preference", "merge_adapter", "write"]),
        ("дообучи на {sft} и сделай DPO на {dpo}", ["sft", "preference", "write"]),
        ("научи модель предпочитать короткие ответы", ["preference", "write"]),
        ("LoRA on layers 1 through 3 → r=12, train on chat", ["sft", "write"]),
        ("train on chat… r=12; train with alpha 24", ["sft", "write"]),
        ("SFT on {sft} → SFT on {other}", ["sft", "sft", "write"]),
        ("SFT → DPO", ["sft", "preference", "write"]),
    ],
)
def test_no_stage_is_lost_or_invented(world, goal: str, kinds: list[str]) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    assert [s.kind for s in outcome.plan.stages] == kinds


def test_reject_feedback_changes_the_method(world) -> None:  # type: ignore[no-untyped-def]
    request = PlanRequest(goal="SFT then ORPO", model=world["model"], data=[world["sft"], world["dpo"]])
    first = plan_offline(request)
    assert first.plan is not None and first.plan.stages[1].method == "orpo"
    again = plan_offline(request.model_copy(update={"feedback": ["use DPO instead"]}))
    assert again.plan is not None and again.plan.stages[1].method == "dpo", again.question
    assert not any("named nothing" in n for n in again.notes)


def test_values_go_to_the_stages_in_the_order_said() -> None:
    def plan(first: int, second: int):  # type: ignore[no-untyped-def]
        stages = [
            {"kind": "sft", "dataset": "chat.jsonl", "r": first},
            {"kind": "preference", "dataset": "prefs.jsonl", "r": second},
            {"kind": "write"},
        ]
        return plan_from_data({"goal": "g", "base_model": "base", "stages": stages})

    goal = "SFT with rank 8, then DPO with rank 4"
    assert check_plan_against_goal(goal, plan(8, 4), 12) == []
    swapped = check_plan_against_goal(goal, plan(4, 8), 12)
    assert swapped and "Which stage takes which rank" in swapped[0].message


@pytest.mark.parametrize(
    ("goal", "kinds"),
    [
        ("I want DPO, not SFT", ["preference", "write"]),
        ("skip the SFT, just do ORPO on {dpo}", ["preference", "write"]),
        ("не SFT, а DPO", ["preference", "write"]),
        ("Let's do SFT. Use r=8. Also alpha=16. Train 2 epochs on {sft}.", ["sft", "write"]),
    ],
)
def test_negated_and_split_stage_words(world, goal: str, kinds: list[str]) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    assert [s.kind for s in outcome.plan.stages] == kinds


@pytest.mark.parametrize("goal", ["LoRA with rank 8 or 16, whichever", "дообучи с рангом восемь или шестнадцать"])
def test_alternatives_are_asked_about(world, goal: str) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, goal)
    assert outcome.plan is None and outcome.question
    assert "rank 8" in outcome.question or "ранг 8" in outcome.question


@pytest.mark.parametrize(("goal", "r"), [("rank 8, er, 12", 12), ("ранг 8, э-э, 12", 12)])
def test_hesitation_is_a_correction(world, goal: str, r: int) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, goal)
    assert outcome.plan is not None and outcome.plan.stages[0].r == r


def test_an_unsupported_method_corrected_is_no_refusal(world) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, "PPO, no wait, DPO")
    assert outcome.plan is not None and outcome.plan.stages[0].method == "dpo"


def test_steps_that_are_not_the_training_length(world) -> None:  # type: ignore[no-untyped-def]
    goal = "LoRA for 300 steps in total, eval every 100 steps"
    assert [f.value for f in goal_facts(goal) if f.slot == "max_steps"] == [300]
    outcome = _outcome(world, goal)  # Graft has no eval interval: named back, not dropped
    assert outcome.plan is None and "eval every 100 steps" in (outcome.question or "")
    outcome = _outcome(world, "LoRA for 300 steps in total")
    assert outcome.plan is not None and outcome.plan.stages[0].max_steps == 300
    assert [f.value for f in goal_facts("warmup 10 steps, LoRA") if f.slot == "max_steps"] == []


def test_a_dataset_named_by_its_file_name_is_the_given_one(world) -> None:  # type: ignore[no-untyped-def]
    """`chat.jsonl` in the goal with `--data /…/chat.jsonl`: resolved against the --data list, not the cwd."""
    outcome = _outcome(world, "LoRA on chat.jsonl for 2 steps, then DPO on prefs.jsonl")
    assert outcome.plan is not None, outcome.question
    datasets = [s.dataset for s in outcome.plan.stages if s.kind in ("sft", "preference")]
    assert datasets == [world["sft"], world["dpo"]]
    # Two given files with that name: asked, not guessed.
    twin = Path(world["root"]) / "twin" / "chat.jsonl"
    write_jsonl(twin, sft_rows(4))
    asked = plan_offline(PlanRequest(goal="LoRA on chat.jsonl", model=world["model"], data=[world["sft"], str(twin)]))
    assert asked.plan is None and "Which chat.jsonl" in (asked.question or "")


def test_a_rank_said_once_holds_for_the_later_adapter_with_a_note(world) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, "LoRA on attention with rank 8, merge it, then DPO with beta 0.2")
    assert outcome.plan is not None, outcome.question
    ranks = {s.id: s.r for s in outcome.plan.stages if s.kind in ("sft", "preference")}
    assert set(ranks.values()) == {8}, ranks
    assert any("same rank" in note for note in outcome.notes)
    explicit = _outcome(world, "LoRA with rank 8, then DPO with rank 4")
    assert [s.r for s in explicit.plan.stages if s.kind in ("sft", "preference")] == [8, 4]


# ---- values said for one stage land in that stage, and the check verifies it per stage (EN + RU) ----


def _scopes(goal: str) -> list[tuple[str, object, str | None]]:
    return [(f.slot, f.value, f.scope) for f in goal_facts(goal, 12) if f.slot not in ("method", "stage")]


@pytest.mark.parametrize(
    ("goal", "expected"),
    [
        ("rank 16 for the SFT and rank 8 for the DPO adapter", [("r", 16, "sft"), ("r", 8, "dpo")]),
        ("ранг восемь для SFT и ранг четыре для DPO", [("r", 8, "sft"), ("r", 4, "dpo")]),
        ("SFT with lr 2e-4, then DPO with beta 0.2 and lr 5e-6 for it",
         [("learning_rate", 2e-4, "sft"), ("beta", 0.2, "dpo"), ("learning_rate", 5e-6, "dpo")]),
        ("SFT с рангом 16, потом DPO с рангом 8 и бетой 0.2", [("r", 16, "sft"), ("r", 8, "dpo"), ("beta", 0.2, "dpo")]),
        ("fine-tune on a.jsonl with rank 8 and DPO with rank 4",
         [("dataset", "a.jsonl", "sft"), ("r", 8, "sft"), ("r", 4, "dpo")]),
        ("дообучи на a.jsonl и сделай DPO на b.jsonl", [("dataset", "a.jsonl", "sft"), ("dataset", "b.jsonl", "dpo")]),
        ("train it with DPO, rank 8", [("r", 8, "dpo")]),  # "train" only says how DPO runs
        ("DPO with a training batch size of 2", [("batch_size", 2, "dpo")]),  # a noun's modifier, no SFT
    ],
)  # fmt: skip
def test_values_are_scoped_to_the_stage_they_were_said_for(goal: str, expected: list) -> None:  # type: ignore[type-arg]
    assert _scopes(goal) == expected


def _two_stage_plan(sft: dict, dpo: dict):  # type: ignore[no-untyped-def,type-arg]
    stages = [
        {"kind": "sft", "dataset": "chat.jsonl", **sft},
        {"kind": "preference", "dataset": "prefs.jsonl", **dpo},
        {"kind": "write"},
    ]
    return plan_from_data({"goal": "g", "base_model": "base", "stages": stages})


@pytest.mark.parametrize(
    ("goal", "right", "wrong", "slot"),
    [
        ("rank 16 for the SFT and rank 8 for the DPO adapter", ({"r": 16}, {"r": 8}), ({"r": 8}, {"r": 16}), "r"),
        ("ранг восемь для SFT и ранг четыре для DPO", ({"r": 8}, {"r": 4}), ({"r": 4}, {"r": 8}), "r"),
        ("SFT with lr 2e-4, then DPO with lr 5e-6",
         ({"learning_rate": 2e-4}, {"learning_rate": 5e-6}), ({"learning_rate": 5e-6}, {"learning_rate": 2e-4}),
         "learning_rate"),
        ("SFT на 3 эпохи, потом DPO на 1 эпоху", ({"epochs": 3}, {"epochs": 1}), ({"epochs": 1}, {"epochs": 3}),
         "epochs"),
    ],
)  # fmt: skip
def test_the_check_is_per_stage_not_somewhere(goal: str, right: tuple, wrong: tuple, slot: str) -> None:  # type: ignore[type-arg]
    """An LLM plan that swaps two stages' values keeps every value "somewhere": still a miss, per stage."""
    assert check_plan_against_goal(goal, _two_stage_plan(*right), 12) == []
    misses = check_plan_against_goal(goal, _two_stage_plan(*wrong), 12)
    assert misses and any(m.fact and m.fact.slot == slot and m.fact.scope for m in misses)
    assert any("Which stage takes which" in m.message for m in misses)


@pytest.mark.parametrize(
    ("goal", "values"),
    [
        ("rank 16 for the SFT and rank 8 for the DPO adapter", [{"r": 16}, {"r": 8}]),
        ("ранг восемь для SFT и ранг четыре для DPO", [{"r": 8}, {"r": 4}]),
        ("SFT with lr 2e-4, then DPO with beta 0.2 and lr 5e-6 for it",
         [{"learning_rate": 2e-4}, {"beta": 0.2, "learning_rate": 5e-6}]),
        ("SFT с рангом 16, потом DPO с рангом 8 и бетой 0.2", [{"r": 16}, {"r": 8, "beta": 0.2}]),
        ("SFT на {sft}, потом DPO на {dpo} со скоростью обучения 5e-6", [{"learning_rate": 2e-4}, {"learning_rate": 5e-6}]),
        ("SFT on {sft}, then DPO on {dpo} with a training batch size of 2", [{"batch_size": 4}, {"batch_size": 2}]),
        ("два раунда SFT: {sft} на одну эпоху, потом {other} на две эпохи", [{"epochs": 1}, {"epochs": 2}]),
        ("two rounds: SFT on {sft} for 1 epoch, then SFT on {other} for 3 epochs", [{"epochs": 1}, {"epochs": 3}]),
    ],
)  # fmt: skip
def test_the_planner_places_values_per_stage(world, goal: str, values: list) -> None:  # type: ignore[no-untyped-def,type-arg]
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    training = [s for s in outcome.plan.stages if s.kind in ("sft", "preference")]
    assert len(training) == len(values)
    for stage, want in zip(training, values, strict=True):
        for key, value in want.items():
            assert getattr(stage, key) == pytest.approx(value), (stage.id, key)


@pytest.mark.parametrize(
    ("goal", "kinds", "beta"),
    [
        ("SFT then DPO. Scratch that, just DPO with beta 0.25", ["preference", "write"], 0.25),
        ("SFT, потом DPO. Забудь это, просто DPO с бетой 0.2", ["preference", "write"], 0.2),
        ("don't do SFT, just DPO with beta 0.2", ["preference", "write"], 0.2),
        ("не делай SFT, сразу DPO на {dpo} с бетой 0.1", ["preference", "write"], 0.1),
    ],
)
def test_a_stage_taken_back_or_negated_is_not_planned(world, goal: str, kinds: list[str], beta: float) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    assert [s.kind for s in outcome.plan.stages] == kinds
    assert outcome.plan.stages[0].beta == pytest.approx(beta)
    assert "stage" not in {f.slot for f in goal_facts(goal.format(**world), 6)}


def test_a_value_correction_is_not_a_retraction() -> None:
    assert _facts("LoRA alpha 64, scratch that, 32, rank 16") == {"alpha": 32, "r": 16}
    text, notes = corrected_text("SFT with rank 8, then DPO. Scratch that, just DPO")
    assert "sft" not in text and "dpo" in text and notes and "took back" in notes[0]


@pytest.mark.parametrize(
    ("goal", "adapter"),
    [("don't use DoRA, plain LoRA r 8", "lora"), ("не используй DoRA, обычная LoRA ранга 8", "lora")],
)
def test_a_negated_adapter_is_not_trained(world, goal: str, adapter: str) -> None:  # type: ignore[no-untyped-def]
    assert _facts(goal)["adapter"] == adapter
    outcome = _outcome(world, goal)
    assert outcome.plan is not None and outcome.plan.stages[0].adapter == adapter
    assert outcome.plan.stages[0].r == 8


@pytest.mark.parametrize(
    ("goal", "values"),
    [
        ("DPO beta=0.1; per_device_train_batch_size=2, gradient_accumulation_steps 8",
         {"batch_size": 2, "gradient_accumulation": 8}),
        ("LoRA with warmup_ratio 0.1 and weight_decay 0.01", {"warmup_steps": 0.1, "weight_decay": 0.01}),
        ("дообучи с накоплением градиентов 4 и прогревом 10 шагов", {"gradient_accumulation": 4, "warmup_steps": 10}),
    ],
)  # fmt: skip
def test_trainer_argument_names_are_slots(world, goal: str, values: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    """Once a number after gradient_accumulation_steps was a known word that nothing placed: silently dropped."""
    facts = _facts(goal)
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    for key, value in values.items():
        assert facts[key] == pytest.approx(value)
        assert getattr(outcome.plan.stages[0], key) == pytest.approx(value)
    assert check_plan_against_goal(goal, _plan("base"), 6)  # the defaults are a miss


# ---- merges: every method Graft runs, per-model weights, density and t (EN + RU) ----


@pytest.fixture(scope="module")
def partners(world):  # type: ignore[no-untyped-def]
    import shutil

    root = Path(world["root"])
    for name in ("partner", "partner2"):
        if not (root / name).exists():
            shutil.copytree(world["model"], root / name)
    return {**world, "partner": str(root / "partner"), "partner2": str(root / "partner2")}


@pytest.mark.parametrize(
    ("goal", "merge"),
    [
        ("fine-tune on {sft}, merge the adapter, then della merge with {partner} at density 0.7",
         {"method": "della", "density": 0.7}),
        ("model_stock merge of {partner} and {partner2} over the base", {"method": "model_stock"}),
        ("nearswap {partner} into the base with t 0.4", {"method": "nearswap", "t": 0.4}),
        ("merge {partner} (weight 0.7) and {partner2} (weight 0.3) with task_arithmetic",
         {"method": "task_arithmetic", "weights": [0.7, 0.3]}),
        ("слей {partner} с весом 0.6 и {partner2} с весом 0.4 методом della", {"method": "della", "weights": [0.6, 0.4]}),
        ("дообучи, влей адаптер и смешай с {partner} методом dare_ties с плотностью 0.6",
         {"method": "dare_ties", "density": 0.6}),
    ],
)  # fmt: skip
def test_merge_methods_and_their_numbers_are_kept(partners, goal: str, merge: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    outcome = _outcome(partners, goal)
    assert outcome.plan is not None, outcome.question
    (stage,) = [s for s in outcome.plan.stages if s.kind == "merge_models"]
    for key, value in merge.items():
        assert getattr(stage, key) == (pytest.approx(value) if not isinstance(value, str) else value), key
    # the same plan with TIES and default numbers is a miss for the check (the LLM planner's path)
    slots = {f.slot for f in goal_facts(goal.format(**partners), 6)}
    assert "merge_method" in slots
    assert {"density", "t", "weights"} & set(merge) <= slots


# ---- from held-out set 6: a softer "actually no" before a negated stage, a stated-then-negated stage, and a
# "second/another" fine-tune with no merge to blend into (EN + RU) ----


@pytest.mark.parametrize(
    ("goal", "kinds"),
    [
        ("do SFT, actually no, skip SFT and just run DPO on {dpo}", ["preference", "write"]),
        ("дообучи на {sft}, хотя нет, не делай SFT, просто DPO", ["preference", "write"]),
    ],
)
def test_actually_no_before_a_negated_stage_takes_it_back(world, goal: str, kinds: list[str]) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    assert [s.kind for s in outcome.plan.stages] == kinds


@pytest.mark.parametrize(
    "goal",
    [
        "SFT on {sft}, DPO on {dpo}, no SFT though",
        "SFT на {sft}, потом DPO на {dpo}, но без SFT",
        # the negation after the stage's name had planned the SFT with nothing said: silent
        "SFT на {sft}, потом DPO на {dpo} и мерж с {partner}, но SFT не надо",
        "SFT on {sft}, then DPO on {dpo}, but the SFT is not needed",
    ],
)
def test_a_stage_asked_for_and_then_negated_is_asked_about(partners, goal: str) -> None:  # type: ignore[no-untyped-def]
    world = partners
    outcome = _outcome(world, goal)
    asked = "нужен ли в плане этап SFT" if " но " in goal else "should the plan have an SFT stage"
    assert outcome.plan is None and asked in (outcome.question or "")
    # the same check holds an LLM plan that keeps the SFT
    assert check_plan_against_goal(goal.format(**world), _two_stage_plan({}, {}), 6)


@pytest.mark.parametrize(
    "goal",
    [
        "first SFT on {other} (2 epochs), then another SFT pass on {sft} (1 epoch)",
        "сначала SFT на {other} две эпохи, затем ещё одно SFT на {sft}",
    ],
)
def test_another_fine_tune_without_a_merge_is_the_next_round(world, goal: str) -> None:  # type: ignore[no-untyped-def]
    """Read as a merge variant, it became a branch from the base that nothing merged (held-out 6, silent)."""
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    training = [s for s in outcome.plan.stages if s.kind != "write"]
    assert [s.kind for s in training] == ["sft", "sft"]
    assert training[1].input is None and training[1].dataset == world["sft"]


def test_a_stage_nobody_asked_for_is_a_miss() -> None:
    """An LLM plan that adds a DPO stage or a model merge the goal never mentions is drift, asked about."""
    for goal in ("fine-tune on chat.jsonl with rank 8", "дообучи на chat.jsonl с рангом 8"):
        added = check_plan_against_goal(goal, _two_stage_plan({"r": 8}, {}), 12)
        assert any("asks for no preference tuning" in m.message for m in added), goal
        merged = plan_from_data(
            {
                "goal": "g",
                "base_model": "base",
                "stages": [
                    {"kind": "sft", "dataset": "chat.jsonl", "r": 8},
                    {"kind": "merge_adapter"},
                    {"kind": "merge_models", "method": "ties", "models": ["@merge_adapter", "other"]},
                    {"kind": "write"},
                ],
            }
        )
        assert any("asks for no merge" in m.message for m in check_plan_against_goal(goal, merged, 12)), goal
    for goal in ("fine-tune, then DPO", "дообучи, потом научи предпочитать короткие ответы"):
        assert not any("asks for no" in m.message for m in check_plan_against_goal(goal, _two_stage_plan({}, {}), 12))
    # an SFT stage in front of a preference stage nobody asked to fine-tune for (an LLM's habit)
    for goal in ("DPO with beta 0.2, please", "сделай DPO с бетой 0.2"):
        added = check_plan_against_goal(goal, _two_stage_plan({}, {"beta": 0.2}), 12)
        assert any("SFT stage, and the goal asks for no fine-tuning" in m.message for m in added), goal


def test_the_echo_names_the_stage_a_value_was_said_for() -> None:
    echo = fact_echo("rank 16 for the SFT and rank 8 for the DPO adapter", _two_stage_plan({"r": 16}, {"r": 8}), 12)
    assert "rank 16 — SFT stage" in echo and "rank 8 — DPO stage" in echo
    swapped = fact_echo("ранг восемь для SFT и ранг четыре для DPO", _two_stage_plan({"r": 4}, {"r": 8}), 12)
    assert "rank 8 — SFT stage — NOT in the plan" in swapped


@pytest.mark.parametrize(
    ("goal", "expected"),
    [
        ("SFT for 1 epoch at 2e-4 learning rate", {"epochs": 1, "learning_rate": 2e-4}),
        ("обучи на одну эпоху с lr 2e-4", {"epochs": 1, "learning_rate": 2e-4}),
        ("DPO: beta 0.1. Hmm, let's make beta 0.4 instead.", {"beta": 0.4}),
        ("бета 0.1, хм, давай 0.4", {"beta": 0.4}),
        ("дообучи с прогревом 10 шагов", {"warmup_steps": 10}),
    ],
)
def test_a_value_said_before_its_word_and_soft_corrections(goal: str, expected: dict) -> None:  # type: ignore[type-arg]
    """'1 epoch at 2e-4 learning rate' once read epochs=2e-4 (held-out 7; asked, not silent)."""
    got = _facts(goal)
    for slot, value in expected.items():
        assert got[slot] == pytest.approx(value), (slot, got)
    assert len([f for f in goal_facts(goal) if f.slot in expected]) == len(expected)


@pytest.mark.parametrize("goal", ["LoRA on the last layers, rank 8", "дообучи последние слои с рангом 8"])
def test_a_layer_phrase_read_in_part_is_asked_about(world, goal: str) -> None:  # type: ignore[no-untyped-def]
    """Once silently all layers: a layer phrase no selection reads is a question (fail closed)."""
    outcome = _outcome(world, goal)
    assert outcome.plan is None and outcome.question
    assert "which layers" in outcome.question or "какие слои" in outcome.question
    assert check_plan_against_goal(goal, _plan("base", r=8), 6)


# ---- from held-out set 8: a merge said but not planned, 'after an SFT', values before 'then', schedules ----


@pytest.mark.parametrize(
    ("goal", "kinds"),
    [
        ("SFT on {sft}, then DPO on {dpo}; at the end merge everything", ["sft", "preference", "merge_adapter", "write"]),
        ("дообучи на {sft}, потом DPO на {dpo}, в конце слей всё", ["sft", "preference", "merge_adapter", "write"]),
        ("DPO on {dpo} after an SFT on {sft}", ["sft", "preference", "write"]),
        ("DPO на {dpo} после SFT на {sft}", ["sft", "preference", "write"]),
        ("rank 32, then DPO", ["sft", "preference", "write"]),
        ("ранг 16… нет, 32, потом DPO", ["sft", "preference", "write"]),
    ],
)  # fmt: skip
def test_stages_said_in_other_words_are_planned_in_order(world, goal: str, kinds: list[str]) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    assert [s.kind for s in outcome.plan.stages] == kinds


@pytest.mark.parametrize("goal", ["SFT on chat.jsonl, then blend", "дообучи на chat.jsonl и потом смешай"])
def test_a_merge_said_but_not_planned_is_a_miss(goal: str) -> None:
    misses = check_plan_against_goal(goal, _plan("base"), 12)
    assert any("the plan merges nothing" in m.message for m in misses)
    assert not any(
        "merges nothing" in m.message for m in check_plan_against_goal("SFT, don't merge", _plan("base"), 12)
    )


@pytest.mark.parametrize(
    ("goal", "values"),
    [
        ("SFT with a cosine schedule, 100 warmup steps, lr 2e-4",
         {"lr_scheduler_type": "cosine", "warmup_steps": 100, "learning_rate": 2e-4}),
        ("дообучи с косинусным расписанием и прогревом 50 шагов", {"lr_scheduler_type": "cosine", "warmup_steps": 50}),
        ("LoRA, lr_scheduler_type: constant_with_warmup, warmup_ratio 0.03",
         {"lr_scheduler_type": "constant_with_warmup", "warmup_steps": 0.03}),
    ],
)  # fmt: skip
def test_the_schedule_is_a_stated_fact(world, goal: str, values: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    for key, value in values.items():
        have = getattr(outcome.plan.stages[0], key)
        assert have == (value if isinstance(value, str) else pytest.approx(value)), key
    assert check_plan_against_goal(goal, _plan("base"), 6)  # the default linear schedule is a miss


# ---- from held-out set 9: numbers listed as "read elsewhere" that nothing read, "without DoRA", layers per stage ----


@pytest.mark.parametrize(
    ("goal", "stage", "values"),
    [
        ("DPO with label smoothing 0.1 and beta 0.1 (robust)", 0, {"label_smoothing": 0.1, "loss_type": "robust"}),
        ("DPO со сглаживанием меток 0.1, loss robust", 0, {"label_smoothing": 0.1}),
        ("SFT with seed 42", 0, {"seed": 42}),
        ("дообучи с сидом 7", 0, {"seed": 7}),
    ],
)
def test_numbers_once_assumed_read_elsewhere_are_placed(world, goal: str, stage: int, values: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    for key, value in values.items():
        have = getattr(outcome.plan.stages[stage], key)
        assert have == (value if isinstance(value, str) else pytest.approx(value)), key


@pytest.mark.parametrize("goal", ["LoRA on 4 GPUs", "дообучи LoRA на 4 видеокартах", "LoRA, --num_processes 4"])
def test_a_gpu_count_is_planned_not_dropped(world, goal: str) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    said = "число GPU 4" if "видеокарт" in goal else "GPU count 4"  # the echo in the goal's language
    assert outcome.plan.stages[0].gpus == 4 and said in outcome.facts


def test_more_than_one_node_is_asked(world) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, "LoRA on 2 nodes")
    assert outcome.plan is None and "2" in (outcome.question or "")


@pytest.mark.parametrize(
    "goal", ["SFT using DoRA, then DPO without DoRA (plain LoRA)", "SFT с DoRA, потом DPO без DoRA, обычная LoRA"]
)
def test_without_dora_is_a_lora_not_a_full_fine_tune(world, goal: str) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    assert [s.adapter for s in outcome.plan.stages if s.kind in ("sft", "preference")] == ["dora", "lora"]


@pytest.mark.parametrize(
    "goal",
    [
        "LoRA rank 8 on layers 0 to 3 for SFT, and rank 4 on layers 4 to 5 for DPO",
        "ранг 8 на слоях 0-3 для SFT и ранг 4 на слоях 4-5 для DPO",
    ],
)
def test_layers_said_per_stage_land_in_their_stage(world, goal: str) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    sft, dpo = [s for s in outcome.plan.stages if s.kind in ("sft", "preference")]
    assert (sft.r, sft.layers, dpo.r, dpo.layers) == (8, [0, 1, 2, 3], 4, [4, 5])
    inherited = _outcome(world, "SFT on the last 2 layers, then DPO")
    assert [s.layers for s in inherited.plan.stages if s.kind in ("sft", "preference")] == [[4, 5], [4, 5]]


@pytest.mark.parametrize(
    "goal",
    ["sft then dpo then merge, but exclude layer 0 and layer 11 from lora", "SFT, потом DPO, без слоя 0 для лоры"],
)
def test_a_second_run_on_the_same_data_the_goal_says_once_is_asked_about(goal: str) -> None:
    """With the data given by --data (no path in the goal), a phantom second SFT on the same file is still a drift."""
    stages = [
        {"kind": "sft", "dataset": "chat.jsonl"},
        {"kind": "preference", "dataset": "prefs.jsonl"},
        {"kind": "sft", "id": "sft-2", "dataset": "chat.jsonl"},
        {"kind": "write"},
    ]
    plan = plan_from_data({"goal": "g", "base_model": "base", "stages": stages})
    assert any("twice" in m.message for m in check_plan_against_goal(goal, plan, 12))
    assert not any("twice" in m.message for m in check_plan_against_goal(goal, _two_stage_plan({}, {}), 12))


@pytest.mark.parametrize(
    ("goal", "dtype"),
    [
        ("Is this checkpoint bf16 or fp32? convert to fp16 safetensors in out/Half", "float16"),
        ("в bf16 или fp32 веса? сохрани в fp16 в out/H", "float16"),
        ("is it fp32? convert to bf16", "bfloat16"),
        ("save as fp16", "float16"),
        ("сфт, потом мерж с ../b и экспорт в f16, в out/r33", "float16"),  # pass 39a: "f16" was left at auto: silent
        ("write it as bf-16 to out/x", "bfloat16"),
        ("save in float 32", "float32"),
        ("сохрани в половинной точности", "float16"),
        ("SFT и сохранить в половинной точности", "float16"),  # pass 42b: asked which exact value "половинной" was
        ("write the merged model as 32-bit", "float32"),
        ("export half-precision weights", "float16"),
    ],
)
def test_a_dtype_in_a_question_about_the_checkpoint_is_not_the_output(goal: str, dtype: str) -> None:
    """The first dtype word was written even when it sat in a question ("is it bf16 or fp32?"): silent."""
    from agent.goal_facts import mask, output_dtype, reading_text

    said = output_dtype(mask(reading_text(goal)))
    assert said is not None and said[0] == dtype


@pytest.mark.parametrize(
    ("goal", "dtype"),
    [
        ("сфт и дпо, а в конце запиши в bf16 - нет, в fp16 - в папку out/x", "float16"),  # pass 40a: asked needlessly
        ("write bf16, sorry, fp32", "float32"),
    ],
)
def test_a_corrected_output_dtype_is_the_later_one(goal: str, dtype: str) -> None:
    from agent.goal_facts import mask, output_dtype

    text, notes = corrected_text(goal)
    said = output_dtype(mask(text))
    assert said is not None and said[0] == dtype and any("the correction was taken" in n for n in notes)
    stages = [{"kind": "sft", "dataset": "chat.jsonl"}, {"kind": "write", "dtype": dtype}]
    plan = plan_from_data({"goal": goal, "base_model": "base", "stages": stages})
    assert not [m for m in check_plan_against_goal(goal, plan, 12) if "correction" in m.message]


def test_a_stage_named_again_in_brackets_is_no_second_run() -> None:
    """'…, kto lr a tenth of the sft lr (sft lr 1e-4)' once planned a second SFT on the same data: silent."""
    goal = "SFT on chat.jsonl then KTO on thumbs.jsonl, kto lr a tenth of the sft lr (sft lr 1e-4)"
    stages = [
        {"kind": "sft", "dataset": "chat.jsonl"},
        {"kind": "preference", "method": "kto", "dataset": "thumbs.jsonl", "learning_rate": 1e-5},
        {"kind": "sft", "id": "sft-2", "dataset": "chat.jsonl", "learning_rate": 1e-4},
        {"kind": "write"},
    ]
    plan = plan_from_data({"goal": "g", "base_model": "base", "stages": stages})
    assert any("twice" in m.message for m in check_plan_against_goal(goal, plan, 12))


def test_the_training_precision_is_not_the_output_dtype() -> None:
    """'finetune in bfloat16 and save as fp16' wrote bfloat16 (silent)."""
    from agent.goal_facts import mask, output_dtype, reading_text

    said = output_dtype(mask(reading_text("finetune in bfloat16 and save as fp16")))
    assert said is not None and said[0] == "float16"


def test_a_stage_named_for_its_values_is_no_second_request() -> None:
    """'в DPO ранг 4; в SFT ранг 64' once planned a second SFT after the DPO; the check counted 'SFT' said twice."""
    goal = "SFT на chat.jsonl, потом DPO. в DPO ранг 4, лр 2e-6; в SFT ранг 64"
    stages = [
        {"kind": "sft", "dataset": "chat.jsonl"},
        {"kind": "preference", "dataset": "prefs.jsonl", "r": 4, "learning_rate": 2e-6},
        {"kind": "sft", "id": "sft-2", "dataset": "chat.jsonl", "r": 64},
        {"kind": "write"},
    ]
    plan = plan_from_data({"goal": "g", "base_model": "base", "stages": stages})
    assert any("twice" in m.message for m in check_plan_against_goal(goal, plan, 12))

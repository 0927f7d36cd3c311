"""The offline planner's phrasing table: English and Russian goals against two naming schemes.

Each goal is planned against a Llama-style and a GPT-2-style tiny checkpoint. Role words
("attention", "MLP", "внимание") must come out as the module names that checkpoint uses.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.offline_planner import plan_offline
from agent.planner import PlanRequest
from tools.errors import GraftError
from tools.tiny_data import dpo_rows, sft_rows, write_jsonl

ROLE = {
    "llama": {
        "attention": ["k_proj", "o_proj", "q_proj", "v_proj"],
        "mlp": ["down_proj", "gate_proj", "up_proj"],
        "qv": ["q_proj", "v_proj"],
    },
    "gpt2": {"attention": ["c_attn", "c_proj"], "mlp": ["c_fc", "c_proj"], "qv": ["c_attn"]},
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tools.tiny import TinyModelArgs, build_tiny_model

    root = tmp_path_factory.mktemp("planner")
    models = {}
    for arch in ("llama", "gpt2"):
        models[arch] = root / arch
        build_tiny_model(TinyModelArgs(architecture=arch, output=str(models[arch]), num_layers=4))
    partner = root / "partner"
    build_tiny_model(TinyModelArgs(architecture="llama", output=str(partner), num_layers=4, seed=3))
    return {
        "models": models,
        "sft": str(write_jsonl(root / "chat.jsonl", sft_rows(12))),
        "dpo": str(write_jsonl(root / "prefs.jsonl", dpo_rows(12))),
        "var": str(write_jsonl(root / "other.jsonl", sft_rows(12, seed=4))),
        "partner": str(partner),
        "out": str(root / "out" / "final"),
    }


# (goal, stage kinds without the final write, {stage index: expected fields}); "T" fields name a role.
CASES: list[tuple[str, list[str], dict[int, dict]]] = [
    # ---- English ----
    ("Fine-tune it with LoRA on {sft}", ["sft"], {0: {"adapter": "lora", "dataset": "{sft}"}}),
    ("fine-tune with LoRA on the attention layers", ["sft"], {0: {"T": "attention"}}),
    ("train a LoRA on the MLP", ["sft"], {0: {"T": "mlp"}}),
    ("teach it our chat style with DoRA", ["sft"], {0: {"adapter": "dora"}}),
    ("full fine-tuning on {sft}", ["sft"], {0: {"adapter": "none"}}),
    ("SFT with rank 8 and alpha 16", ["sft"], {0: {"r": 8, "alpha": 16}}),
    ("LoRA r=4, 3 epochs, learning rate 1e-4", ["sft"], {0: {"r": 4, "epochs": 3, "learning_rate": 1e-4}}),
    ("train layers 0-1 with LoRA", ["sft"], {0: {"layers": [0, 1]}}),
    ("LoRA on layers 2 and 3", ["sft"], {0: {"layers": [2, 3]}}),
    ("LoRA on the last 2 layers", ["sft"], {0: {"layers": [2, 3]}}),
    ("fine-tune the first two layers", ["sft"], {0: {"layers": [0, 1]}}),
    ("train only the last layer's attention", ["sft"], {0: {"layers": [3], "T": "attention"}}),
    ("fine-tune layer 1", ["sft"], {0: {"layers": [1]}}),
    ("LoRA on the query and value projections", ["sft"], {0: {"T": "qv"}}),
    ("fine-tune with LoRA, then merge the adapter", ["sft", "merge_adapter"], {}),
    ("fine-tune, then fold it back into the model", ["sft", "merge_adapter"], {}),
    ("SFT on {sft} then DPO on {dpo}", ["sft", "dpo"], {1: {"dataset": "{dpo}"}}),
    ("LoRA SFT, merge the adapter, then DPO", ["sft", "merge_adapter", "dpo"], {}),
    ("first SFT, then DPO with beta 0.2", ["sft", "dpo"], {1: {"beta": 0.2}}),
    ("SFT then IPO", ["sft", "dpo"], {1: {"loss_type": "ipo"}}),
    ("make it prefer short answers", ["dpo"], {0: {"dataset": "{dpo}"}}),
    ("DPO with hinge loss and beta=0.05", ["dpo"], {0: {"loss_type": "hinge", "beta": 0.05}}),
    ("preference tuning with DoRA on attention", ["dpo"], {0: {"adapter": "dora", "T": "attention"}}),
    ("LoRA on the MLP, then ORPO on {dpo}", ["sft", "orpo"], {1: {"dataset": "{dpo}", "T": "mlp"}}),
    ("SFT, then SimPO with gamma 0.8", ["sft", "simpo"], {1: {"simpo_gamma": 0.8, "cpo_alpha": 0.0}}),
    ("KTO with thumbs up/down data", ["kto"], {0: {"loss_type": "kto"}}),
    ("KTO with desirable weight 1.3", ["kto"], {0: {"desirable_weight": 1.3}}),
    ("DPO with apo_zero loss", ["dpo"], {0: {"loss_type": "apo_zero"}}),
    ("fine-tune with packing, then SimPO", ["sft", "simpo"], {0: {"packing": True}}),
    (
        "fine-tune, merge the adapter, then merge it with {partner} using TIES with 0.7 and 0.3",
        ["sft", "merge_adapter", "merge_models"],
        {2: {"method": "ties", "weights": [0.7, 0.3], "models": ["@sft-merged", "{partner}"]}},
    ),
    (
        "SFT, then SLERP halfway with {partner}",
        ["sft", "merge_adapter", "merge_models"],
        {2: {"method": "slerp", "t": 0.5}},
    ),
    ("SFT then dare_ties with {partner}", ["sft", "merge_adapter", "merge_models"], {2: {"method": "dare_ties"}}),
    (
        "SFT then task arithmetic with {partner}",
        ["sft", "merge_adapter", "merge_models"],
        {2: {"method": "task_arithmetic"}},
    ),
    (
        "SFT, then a linear merge with the base 50/50",
        ["sft", "merge_adapter", "merge_models"],
        {2: {"method": "linear", "weights": [0.5, 0.5], "models": ["@sft-merged", "@base"]}},
    ),
    (
        "SFT, then blend in a second fine-tune on {var} with TIES 0.6 and 0.4",
        ["sft", "merge_adapter", "sft", "merge_adapter", "merge_models"],
        {2: {"dataset": "{var}", "input": "@base"}, 4: {"weights": [0.6, 0.4]}},
    ),
    ("LoRA on attention, then give me one safetensors file in bf16", ["sft"], {"write": {"dtype": "bfloat16"}}),
    ("fine-tune and save it to {out}", ["sft"], {"plan": {"output": "{out}"}}),
    ("Fine-tune with LoRA (rank 16) on chat data; then DPO. Finally write a single safetensors.", ["sft", "dpo"], {}),
    (
        "train the MLP of the last 2 layers with DoRA r=4 for 2 epochs",
        ["sft"],
        {0: {"T": "mlp", "layers": [2, 3], "adapter": "dora", "r": 4, "epochs": 2}},
    ),
    ("LoRA with batch size 2 and 5 steps", ["sft"], {0: {"batch_size": 2, "max_steps": 5}}),
    # ---- Russian ----
    ("Дообучи модель с LoRA на {sft}", ["sft"], {0: {"adapter": "lora", "dataset": "{sft}"}}),
    ("дообучи слои внимания", ["sft"], {0: {"T": "attention"}}),
    ("обучи LoRA на внимании в последних двух слоях", ["sft"], {0: {"T": "attention", "layers": [2, 3]}}),
    ("дообучи первые два слоя", ["sft"], {0: {"layers": [0, 1]}}),
    ("натренируй слои 2 и 3", ["sft"], {0: {"layers": [2, 3]}}),
    ("дообучи слои 0-2", ["sft"], {0: {"layers": [0, 1, 2]}}),
    ("дообучи полносвязные слои с DoRA", ["sft"], {0: {"T": "mlp", "adapter": "dora"}}),
    ("полное дообучение на {sft}", ["sft"], {0: {"adapter": "none"}}),
    ("дообучи с рангом 8 и альфой 32", ["sft"], {0: {"r": 8, "alpha": 32}}),
    ("дообучи 2 эпохи со скоростью обучения 3e-4", ["sft"], {0: {"epochs": 2, "learning_rate": 3e-4}}),
    ("сначала дообучи, потом DPO", ["sft", "dpo"], {}),
    ("сначала дообучи, потом ORPO", ["sft", "orpo"], {}),
    ("потом SimPO на {dpo}", ["simpo"], {0: {"dataset": "{dpo}"}}),
    ("KTO на лайках и дизлайках", ["kto"], {}),
    ("сначала SFT, затем влей адаптер, потом DPO", ["sft", "merge_adapter", "dpo"], {}),
    ("дообучи, потом слей адаптер", ["sft", "merge_adapter"], {}),
    ("сначала дообучи, затем DPO с бета 0.3", ["sft", "dpo"], {1: {"beta": 0.3}}),
    ("дообучи, потом IPO на {dpo}", ["sft", "dpo"], {1: {"loss_type": "ipo", "dataset": "{dpo}"}}),
    ("научи модель предпочитать короткие ответы", ["dpo"], {}),
    ("сделай DPO на слоях внимания", ["dpo"], {0: {"T": "attention"}}),
    (
        "дообучи, потом смешай с {partner} методом TIES с весами 0.7 и 0.3",
        ["sft", "merge_adapter", "merge_models"],
        {2: {"method": "ties", "weights": [0.7, 0.3]}},
    ),
    (
        "дообучи, затем slerp с {partner} посередине",
        ["sft", "merge_adapter", "merge_models"],
        {2: {"method": "slerp", "t": 0.5}},
    ),
    (
        "дообучи, потом объедини с базовой моделью через dare_linear",
        ["sft", "merge_adapter", "merge_models"],
        {2: {"method": "dare_linear", "models": ["@sft-merged", "@base"]}},
    ),
    ("дообучи на {sft}, в конце сохрани в один файл bf16", ["sft"], {"write": {"dtype": "bfloat16"}}),
    ("дообучи и сохрани в {out}", ["sft"], {"plan": {"output": "{out}"}}),
    ("Сначала дообучи LoRA на {sft}. Потом DPO на {dpo}. В конце один safetensors.", ["sft", "dpo"], {}),
    ("обучи DoRA с рангом 4 на последнем слое", ["sft"], {0: {"adapter": "dora", "r": 4, "layers": [3]}}),
    (
        "дообучи, затем отдельно дообучи вторую версию на {var} и смешай их TIES 0.5 и 0.5",
        ["sft", "merge_adapter", "sft", "merge_adapter", "merge_models"],
        {2: {"dataset": "{var}"}, 4: {"weights": [0.5, 0.5]}},
    ),
    ("дообучи слой 1 на {sft} за 5 шагов", ["sft"], {0: {"layers": [1], "max_steps": 5}}),
    ("дообучи внимание и mlp", ["sft"], {0: {"T": "all"}}),
    ("потом DPO с loss hinge", ["dpo"], {0: {"loss_type": "hinge"}}),
    # ---- values said for one stage land in that stage (held-out set 5) ----
    ("rank 16 for the SFT and rank 8 for the DPO adapter", ["sft", "dpo"], {0: {"r": 16}, 1: {"r": 8}}),
    ("ранг восемь для SFT и ранг четыре для DPO", ["sft", "dpo"], {0: {"r": 8}, 1: {"r": 4}}),
    (
        "SFT on attention with lr 2e-4, then DPO with beta 0.2 and lr 5e-6 for it",
        ["sft", "dpo"],
        {0: {"learning_rate": 2e-4, "T": "attention"}, 1: {"beta": 0.2, "learning_rate": 5e-6}},
    ),
    (
        "SFT на внимании, потом DPO на {dpo} со скоростью обучения 5e-6",
        ["sft", "dpo"],
        {0: {"learning_rate": 2e-4, "T": "attention"}, 1: {"learning_rate": 5e-6}},
    ),
]


def _fill(value, world):  # type: ignore[no-untyped-def]
    if isinstance(value, str):
        return value.format(**{k: v for k, v in world.items() if isinstance(v, str)})
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
@pytest.mark.parametrize(("goal", "kinds", "checks"), CASES, ids=[c[0][:48] for c in CASES])
def test_phrasing(world, arch, goal, kinds, checks) -> None:  # type: ignore[no-untyped-def]
    if arch == "gpt2" and "{partner}" in goal:
        pytest.skip("the partner model is Llama-shaped; merging it with GPT-2 is refused by design")
    request = PlanRequest(goal=_fill(goal, world), model=str(world["models"][arch]), data=[world["sft"], world["dpo"]])
    outcome = plan_offline(request)
    assert outcome.question is None, outcome.question
    plan = outcome.plan
    assert plan is not None
    # a preference stage is named by its method (dpo, orpo, simpo, kto)
    assert [s.method if s.kind == "preference" else s.kind for s in plan.stages] == [*kinds, "write"]
    for where, expected in checks.items():
        target = plan if where == "plan" else plan.stages[-1] if where == "write" else plan.stages[where]
        for key, want in expected.items():
            if key == "T":
                roles = ROLE[arch]
                want_modules = sorted(set(roles["attention"]) | set(roles["mlp"])) if want == "all" else roles[want]
                assert sorted(target.target_modules) == sorted(want_modules), (goal, arch)
            else:
                assert getattr(target, key) == _fill(want, world), (goal, key)


def test_table_is_broad() -> None:
    russian = [c for c in CASES if any("а" <= ch <= "я" for ch in c[0].lower())]
    assert len(CASES) >= 60 and len(russian) >= 25


def test_assumptions_are_said(world) -> None:  # type: ignore[no-untyped-def]
    outcome = plan_offline(
        PlanRequest(goal="SFT then merge with the base", model=str(world["models"]["llama"]), data=[world["sft"]])
    )
    notes = " ".join(outcome.notes)
    assert "linear merge" in notes  # no method named: a blend with the base is linear (TIES would take it as ancestor)
    assert "goes to" in notes  # no output named
    assert "added" not in notes or "write" in notes


def test_unsupported_and_unplaced_words_are_reported(world) -> None:  # type: ignore[no-untyped-def]
    outcome = plan_offline(
        PlanRequest(
            goal="distill it and quantize to gguf, then fine-tune with LoRA so it speaks like a pirate",
            model=str(world["models"]["llama"]),
            data=[world["sft"]],
        )
    )
    # distillation is a method Graft does not run: named in a question, never planned around with a note
    assert outcome.plan is None and "distill" in (outcome.question or "").lower()
    outcome = plan_offline(
        PlanRequest(
            goal="fine-tune with LoRA so it speaks like a pirate",
            model=str(world["models"]["llama"]),
            data=[world["sft"]],
        )
    )
    assert outcome.plan is not None and "pirate" in outcome.not_understood


@pytest.mark.parametrize(
    ("goal", "model", "data", "expected"),
    [
        ("", "llama", ["sft"], "question:What should the model become"),
        ("   ", "llama", ["sft"], "question:What should the model become"),
        ("please make it nicer", "llama", ["sft"], "question:What should be done"),
        ("DPO please", "llama", ["sft"], "question:Which dataset should the dpo stage"),
        ("fine-tune on missing/data.jsonl", "llama", [], "error:missing/data.jsonl does not exist"),
        ("LoRA on layers 0-9", "llama", ["sft"], "error:layer 4 is out of range"),
        ("LoRA on the last 6 layers", "llama", ["sft"], "error:the model has 4 layers"),
        ("LoRA on q_proj", "gpt2", ["sft"], "error:q_proj is not a module of GPT2LMHeadModel"),
        ("LoRA on c_attn", "llama", ["sft"], "error:c_attn is not a module of LlamaForCausalLM"),
        ("SFT then merge with /nowhere/model using TIES", "llama", ["sft"], "error:/nowhere/model does not exist"),
        ("SFT then merge using TIES", "llama", ["sft"], "question:Merge with which model"),
        (
            "download meta-llama/Llama-3.2-1B from the hub and merge it with the model",
            "llama",
            [],
            "error:If meta-llama/Llama-3.2-1B is a Hugging Face Hub id: Graft downloads nothing",
        ),
        ("fine-tune on missing/data.jsonl", "llama", [], r"error:for the sft stage\)\.$"),
    ],
)
def test_bad_goals(world, goal, model, data, expected) -> None:  # type: ignore[no-untyped-def]
    request = PlanRequest(goal=goal, model=str(world["models"][model]), data=[world[d] for d in data])
    kind, text = expected.split(":", 1)
    if kind == "error":
        with pytest.raises(GraftError, match=text.replace("(", r"\(")):
            plan_offline(request)
    else:
        outcome = plan_offline(request)
        assert outcome.plan is None and outcome.question and text in outcome.question


def test_plans_validate_and_run_through_the_graph_shape(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What the planner emits is the Plan model itself: YAML round trip and validation hold."""
    from agent.plan import load_plan, plan_to_yaml
    from agent.validate import validate_plan

    outcome = plan_offline(
        PlanRequest(
            goal="LoRA on attention, merge, then DPO, write to {out}".format(out=tmp_path / "final"),
            model=str(world["models"]["gpt2"]),
            data=[world["sft"], world["dpo"]],
        )
    )
    assert outcome.plan is not None
    path = Path(tmp_path / "plan.yaml")
    path.write_text(plan_to_yaml(outcome.plan))
    again = load_plan(path)
    assert again == outcome.plan
    validate_plan(again)


def test_feedback_that_changes_a_carried_value_drops_the_note_that_said_it_was_carried(world) -> None:  # type: ignore[no-untyped-def]
    """After 'use rank 4', the replanned notes still said 'stage dpo uses the same rank as sft: r=8' (seen in the TUI)."""
    goal = f"SFT on {world['sft']} with rank 8, then DPO on {world['dpo']} with beta 0.2"
    request = PlanRequest(goal=goal, model=str(world["models"]["llama"]), data=[])
    before = plan_offline(request)
    assert any("uses the same rank as" in n for n in before.plan.notes)
    request.feedback = ["use rank 4 and only the last 2 layers"]
    after = plan_offline(request)
    assert [s.r for s in after.plan.stages if s.kind != "write"] == [4, 4]
    assert not any("uses the same rank as" in n or "trains the same layers as" in n for n in after.plan.notes)

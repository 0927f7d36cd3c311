"""Plans that fold adapters from disk, in English and Russian, checked against the base before they are shown.

The adapters are made by PEFT on tiny models; a trainer `checkpoint-N` folder counts as an adapter,
an adapter for another architecture or another width is refused with the adapter named.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agent.offline_planner import plan_offline
from agent.planner import PlanRequest
from tools.errors import GraftError


def _adapter(base: Path, out: Path, seed: int = 0, **config) -> Path:  # type: ignore[no-untyped-def]
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    config = {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"], **config}
    peft_model = get_peft_model(model, LoraConfig(init_lora_weights=False, **config))
    peft_model.save_pretrained(str(out))
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tools.tiny import TinyModelArgs, build_tiny_model

    root = tmp_path_factory.mktemp("adapter-plans")
    base = root / "base"
    build_tiny_model(TinyModelArgs(architecture="llama", output=str(base)))
    wide = root / "wide"
    build_tiny_model(TinyModelArgs(architecture="llama", output=str(wide), hidden_size=96))
    gpt2 = root / "gpt2"
    build_tiny_model(TinyModelArgs(architecture="gpt2", output=str(gpt2)))
    _adapter(base, root / "ckpt")
    _adapter(base, root / "runs" / "sft-adapter", seed=1)
    _adapter(base, root / "runs" / "dpo-adapter", seed=2, target_modules=["q_proj", "o_proj"])
    trainer = _adapter(base, root / "trainer" / "checkpoint-20", seed=3)
    for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth", "training_args.bin"):
        torch.save({"step": torch.zeros(1)}, trainer / name)
    (trainer / "trainer_state.json").write_text("{}")
    _adapter(wide, root / "wide-adapter")
    _adapter(gpt2, root / "gpt2-adapter", target_modules=["c_attn"], fan_in_fan_out=True)
    return root


def _plan(world: Path, goal: str, data: list[str] | None = None):  # type: ignore[no-untyped-def]
    return plan_offline(
        PlanRequest(
            goal=goal, model=str(world / "base"), data=[str(world / d) for d in data or []], output=str(world / "final")
        )
    )


def _folds(plan) -> list[tuple[list[str], dict]]:  # type: ignore[no-untyped-def]
    return [
        ([Path(a).as_posix() for a in s.adapters], {"weights": s.weights, "combination": s.combination})
        for s in plan.stages
        if s.kind == "merge_adapter"
    ]


@pytest.fixture()
def at_world(world, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(world)
    return world


@pytest.mark.parametrize(
    "goal",
    [
        "fold the adapter in ./ckpt into the base and save it",
        "merge the adapter ./ckpt into the model, then write one safetensors file",
        "влей адаптер ./ckpt в базу и сохрани",
        "слей адаптер ./ckpt с моделью и запиши в один файл",
    ],
)
def test_fold_one_adapter_from_disk(at_world, goal) -> None:  # type: ignore[no-untyped-def]
    outcome = _plan(at_world, goal)
    assert outcome.question is None, outcome.question
    kinds = [s.kind for s in outcome.plan.stages]
    assert kinds == ["merge_adapter", "write"], goal
    assert _folds(outcome.plan)[0][0] == ["ckpt"]
    assert outcome.report is not None  # validated against the base before it is shown


@pytest.mark.parametrize(
    ("goal", "combination", "weights"),
    [
        ("merge these two adapters 0.7/0.3 with TIES, then write bf16", "ties", [0.7, 0.3]),
        ("combine both adapters 70/30 using dare_linear and save it", "dare_linear", [0.7, 0.3]),
        ("fold the two adapters into the base", "cat", []),
        ("слей эти два адаптера 0.7/0.3 через TIES, потом сохрани в bf16", "ties", [0.7, 0.3]),
    ],
)
def test_merge_two_adapters_from_data(at_world, goal, combination, weights) -> None:  # type: ignore[no-untyped-def]
    outcome = _plan(at_world, goal, ["runs/sft-adapter", "runs/dpo-adapter"])
    assert outcome.question is None, outcome.question
    assert [s.kind for s in outcome.plan.stages] == ["merge_adapter", "write"], goal
    ((paths, spec),) = _folds(outcome.plan)
    assert [Path(p).name for p in paths] == ["sft-adapter", "dpo-adapter"]
    assert spec == {"weights": weights, "combination": combination}
    if "bf16" in goal:
        assert outcome.plan.stages[-1].dtype == "bfloat16"


@pytest.mark.parametrize(
    "goal",
    [
        "apply my DPO adapter on top of the SFT one",
        "load the dpo adapter over the sft adapter and save",
        "наложи мой DPO-адаптер поверх SFT-адаптера",
        "примени адаптер dpo поверх sft и сохрани",
    ],
)
def test_adapter_on_top_of_another_folds_in_order(at_world, goal) -> None:  # type: ignore[no-untyped-def]
    outcome = _plan(at_world, goal, ["runs/sft-adapter", "runs/dpo-adapter"])
    assert outcome.question is None, outcome.question
    assert [s.kind for s in outcome.plan.stages] == ["merge_adapter", "merge_adapter", "write"], goal
    assert [[Path(p).name for p in paths] for paths, _ in _folds(outcome.plan)] == [["sft-adapter"], ["dpo-adapter"]]
    assert not any(s.kind in ("sft", "preference") for s in outcome.plan.stages)


def test_paths_named_in_the_goal_keep_their_order(at_world) -> None:  # type: ignore[no-untyped-def]
    outcome = _plan(at_world, "apply ./runs/dpo-adapter on top of ./runs/sft-adapter, then save")
    assert [paths for paths, _ in _folds(outcome.plan)] == [["runs/sft-adapter"], ["runs/dpo-adapter"]]


def test_trainer_checkpoint_is_an_adapter_and_its_run_folder_says_which(at_world) -> None:  # type: ignore[no-untyped-def]
    outcome = _plan(at_world, "fold the adapter in ./trainer/checkpoint-20 into ./base")
    assert _folds(outcome.plan)[0][0] == ["trainer/checkpoint-20"]
    outcome = _plan(at_world, "merge these adapters", ["trainer/checkpoint-20"])
    assert _folds(outcome.plan)[0][0] == [(at_world / "trainer" / "checkpoint-20").as_posix()]
    with pytest.raises(GraftError, match=r"only trainer checkpoints \(checkpoint-20\).*trainer/checkpoint-20"):
        _plan(at_world, "fold the adapter in ./trainer into the base")


@pytest.mark.parametrize(
    ("goal", "data", "message"),
    [
        ("fold the adapter in ./gpt2-adapter into the base", [], r"the adapter gpt2-adapter does not fit .*gpt2 model"),
        (
            "fold the adapter in ./wide-adapter into the base",
            [],
            r"the adapter wide-adapter does not fit .*expects model.layers.0.self_attn.q_proj to be \[96, 96\], but it is \[64, 64\]",
        ),
        ("merge these two adapters with TIES", ["ckpt", "gpt2-adapter"], r"the adapter \S*gpt2-adapter does not fit"),
        ("fold the adapter in ./missing into the base", [], r"\./missing does not exist"),
        ("fold the adapter ./wide into the base", [], r"\./wide is a full model, not an adapter"),
    ],
)
def test_an_adapter_that_does_not_fit_is_named(at_world, goal, data, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GraftError, match=message):
        _plan(at_world, goal, data)


def test_no_adapter_to_fold_is_a_question(at_world) -> None:  # type: ignore[no-untyped-def]
    outcome = _plan(at_world, "merge the adapter into the base")
    assert outcome.question and "Which adapter" in outcome.question
    outcome = _plan(at_world, "fold the adapter in", ["runs/sft-adapter", "runs/dpo-adapter"])
    assert outcome.question and "sft-adapter" in outcome.question and "dpo-adapter" in outcome.question


def test_a_folder_in_data_must_be_an_adapter(at_world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GraftError, match="not a PEFT adapter"):
        _plan(at_world, "merge these adapters", ["runs"])

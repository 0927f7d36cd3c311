"""What the person is told is true: the plan's trainable counts equal PEFT's, and the estimates
have every part of the memory a stage really takes (bench/bench_estimates.py measures the rest)."""

from __future__ import annotations

import pytest
from transformers import AutoModelForCausalLM

from agent.plan import Plan
from agent.validate import RUNTIME_BYTES, validate_plan
from tools.tiny_data import sft_rows, write_jsonl
from tools.training import TrainSpec, freeze_outside_selection, lora_config

TARGETS = {"llama": ["q_proj", "v_proj"], "gpt2": ["c_attn"]}
CASES = {
    "lora all-linear": {"adapter": "lora"},
    "lora targets": {"adapter": "lora", "target_modules": "TARGETS"},
    "dora all-linear": {"adapter": "dora"},
    "dora targets, layer 1": {"adapter": "dora", "target_modules": "TARGETS", "layers": [1]},
    "lora layer 0": {"adapter": "lora", "layers": [0], "r": 4},
    "full fine-tuning": {"adapter": "none"},
    "full fine-tuning, layer 1": {"adapter": "none", "layers": [1]},
    "full fine-tuning, targets": {"adapter": "none", "target_modules": "TARGETS"},
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_jsonl(tmp_path_factory.mktemp("est") / "sft.jsonl", sft_rows(24))


def _estimate(base, dataset, fields):
    plan = Plan(goal="estimate", base_model=str(base), stages=[{"kind": "sft", "dataset": str(dataset), **fields}])
    return validate_plan(plan, check_output=False).estimates[0]


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
@pytest.mark.parametrize("case", list(CASES))
def test_trainable_count_equals_peft(tiny, dataset, arch, case):
    from peft import get_peft_model

    fields = dict(CASES[case])
    if fields.get("target_modules") == "TARGETS":
        fields["target_modules"] = TARGETS[arch]
    base = tiny(arch)
    estimate = _estimate(base, dataset, fields)
    model = AutoModelForCausalLM.from_pretrained(base)
    if fields["adapter"] == "none":  # what the trainer trains: the weights left unfrozen
        expected = freeze_outside_selection(model, TrainSpec(dataset=str(dataset), **fields))
    else:
        spec = TrainSpec(dataset=str(dataset), **fields)
        expected, _ = get_peft_model(model, lora_config(spec, model)).get_nb_trainable_parameters()
    assert estimate.trainable_params == expected


def test_memory_has_runtime_optimizer_and_activations_and_time_scales_with_trained_layers(tiny, dataset):
    base = tiny("llama", num_layers=4)
    lora = _estimate(base, dataset, {"adapter": "lora"})
    top = _estimate(base, dataset, {"adapter": "lora", "layers": [3]})
    full = _estimate(base, dataset, {"adapter": "none"})
    parts = lora.memory_breakdown
    assert parts["runtime"] == RUNTIME_BYTES["cpu"]
    assert {"weights", "gradients", "optimizer", "activations", "logits"} <= set(parts)
    assert lora.memory_bytes == sum(parts.values())
    # Adam holds two moments per trainable parameter, gradients one.
    assert full.memory_breakdown["optimizer"] == 2 * full.memory_breakdown["gradients"] == 8 * full.trainable_params
    # Backward reaches only the blocks above the lowest trained layer: less to keep, less to compute.
    assert top.memory_breakdown["activations"] * 4 == lora.memory_breakdown["activations"]
    assert top.seconds < lora.seconds < full.seconds


def test_the_write_after_an_unmerged_adapter_counts_the_fold_on_disk(tiny, dataset, tmp_path):
    """The write folds a pending adapter into a float32 copy first: the disk a run needs holds both for a while."""
    base = tiny("llama")
    params = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(base).parameters())
    stages = [{"kind": "sft", "dataset": str(dataset)}, {"kind": "write", "dtype": "bfloat16"}]
    folded = Plan(goal="g", base_model=str(base), output=str(tmp_path / "a"), stages=stages)
    merged = Plan(
        goal="g",
        base_model=str(base),
        output=str(tmp_path / "b"),
        stages=[stages[0], {"kind": "merge_adapter"}, stages[1]],
    )
    write = validate_plan(folded, check_output=False).estimates[-1]
    assert write.kind == "write" and write.disk_bytes == params * 2 + params * 4
    assert validate_plan(merged, check_output=False).estimates[-1].disk_bytes == params * 2

"""Plans are checked against the real files before anything runs; each refusal names the stage."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agent.plan import Plan, load_plan, plan_from_data, plan_to_yaml
from agent.validate import validate_plan
from tools.errors import GraftError
from tools.tiny_data import dpo_rows, sft_rows, write_jsonl

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def files(tiny, tmp_path: Path) -> dict[str, Path]:
    return {
        "model": tiny("llama"),
        "gpt2": tiny("gpt2"),
        "sft": write_jsonl(tmp_path / "sft.jsonl", sft_rows(12)),
        "dpo": write_jsonl(tmp_path / "dpo.jsonl", dpo_rows(12)),
        "out": tmp_path / "final",
        "tmp": tmp_path,
    }


def plan(files: dict[str, Path], *stages: dict, base: str = "model") -> Plan:
    return plan_from_data(
        {"goal": "test", "base_model": str(files[base]), "output": str(files["out"]), "stages": list(stages)}, "test"
    )


def refused(p: Plan) -> str:
    with pytest.raises(GraftError) as info:
        validate_plan(p)
    return str(info.value)


def test_a_good_plan_gets_estimates(files) -> None:  # type: ignore[no-untyped-def]
    report = validate_plan(
        plan(
            files,
            {"kind": "sft", "dataset": str(files["sft"]), "target_modules": ["q_proj"], "r": 4},
            {"kind": "merge_adapter"},
            {"kind": "dpo", "dataset": str(files["dpo"])},
            {"kind": "write"},
        )
    )
    sft = report.estimates[0]
    # q_proj is 64×64 in each of 2 layers: r·(in + out) per layer.
    assert sft.trainable_params == 2 * 4 * (64 + 64)
    assert sft.memory_bytes > 0 and sft.disk_bytes > 0 and sft.seconds is not None
    assert set(sft.memory_breakdown) >= {"weights", "gradients", "optimizer", "activations"}
    assert not any("folded in before DPO" in n for n in report.notes), report.notes  # merged before DPO


def test_dpo_on_a_live_adapter_is_explained(files) -> None:  # type: ignore[no-untyped-def]
    report = validate_plan(
        plan(files, {"kind": "sft", "dataset": str(files["sft"])}, {"kind": "dpo", "dataset": str(files["dpo"])})
    )
    assert any("folded in before DPO" in note for note in report.notes)


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ({"kind": "sft", "target_modules": ["c_attn"]}, "c_attn is not a module of LlamaForCausalLM"),
        ({"kind": "sft", "layers": [0, 5]}, "layer 5 is out of range: the model has layers 0-1"),
        (
            {"kind": "sft", "layers": []},
            "its layer list is empty: it would train nothing",
        ),  # pass 39b: 'layers 11 to 8'
        # pass 56b: transformers' "constant" schedule runs no warmup: a plan asking for both is refused by name
        ({"kind": "sft", "lr_scheduler_type": "constant", "warmup_steps": 50}, "constant_with_warmup"),
        ({"kind": "sft", "dataset": "missing.jsonl"}, "missing.jsonl"),
        # pass 63b: a one-GPU stage runs as one plain process, so a strategy on it would be recorded but never run
        ({"kind": "sft", "distributed": "deepspeed"}, "distributed 'deepspeed' is set, but the stage runs on 1 GPU"),
        ({"kind": "dpo", "dataset": "@sft_file"}, "rejected"),
        ({"kind": "sft", "dataset": "@empty"}, "no rows"),
        ({"kind": "sft", "dataset": "@wrong"}, "messages"),
        ({"kind": "merge_adapter"}, "no earlier stage produced an adapter"),
        ({"kind": "merge_models", "models": ["@nope"]}, "@nope is not an earlier stage"),
        (
            {"kind": "merge_models", "method": "slerp", "models": ["@base", "@base", "@base"]},
            "SLERP merges exactly two",
        ),
    ],
)
def test_bad_stage_is_refused_by_name(files, stage, expected) -> None:  # type: ignore[no-untyped-def]
    (files["tmp"] / "empty.jsonl").write_text("")
    write_jsonl(files["tmp"] / "wrong.jsonl", [{"question": "q", "answer": "a"}])
    dataset = stage.get("dataset", str(files["dpo"] if stage["kind"] == "dpo" else files["sft"]))
    dataset = {
        "@sft_file": str(files["sft"]),
        "@empty": str(files["tmp"] / "empty.jsonl"),
        "@wrong": str(files["tmp"] / "wrong.jsonl"),
    }.get(dataset, dataset)
    if stage["kind"] in ("sft", "dpo"):
        stage = {**stage, "dataset": dataset}
    message = refused(plan(files, {**stage, "id": "bad-stage"}))
    assert "bad-stage" in message
    assert expected in message


def test_gpt2_names_are_its_own(files) -> None:  # type: ignore[no-untyped-def]
    validate_plan(plan(files, {"kind": "sft", "dataset": str(files["sft"]), "target_modules": ["c_attn"]}, base="gpt2"))
    assert "q_proj is not a module of GPT2LMHeadModel" in refused(
        plan(files, {"kind": "sft", "dataset": str(files["sft"]), "target_modules": ["q_proj"]}, base="gpt2")
    )


def test_adapter_for_another_base_is_refused(files) -> None:  # type: ignore[no-untyped-def]
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(files["gpt2"]))
    adapter = files["tmp"] / "gpt2-adapter"
    get_peft_model(model, LoraConfig(r=2, target_modules=["c_attn"], fan_in_fan_out=True)).save_pretrained(adapter)
    message = refused(plan(files, {"kind": "merge_adapter", "id": "fold", "adapters": [str(adapter)]}))
    assert "fold" in message and ("different base" in message or "not" in message)


def test_a_plan_that_cannot_fit_names_the_number_and_a_fix(tmp_path, files) -> None:  # type: ignore[no-untyped-def]
    """A 7B-shaped checkpoint (sparse file: headers only) cannot be fully fine-tuned in this RAM."""
    big = tmp_path / "big"
    big.mkdir()
    header: dict = {"__metadata__": {"format": "pt"}}
    offset = 0

    def add(name: str, shape: list[int]) -> None:
        nonlocal offset
        size = 2 * shape[0] * (shape[1] if len(shape) > 1 else 1)
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size

    add("model.embed_tokens.weight", [32000, 4096])
    for i in range(32):
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            add(f"model.layers.{i}.self_attn.{proj}.weight", [4096, 4096])
        for proj, shape in (("gate_proj", [11008, 4096]), ("up_proj", [11008, 4096]), ("down_proj", [4096, 11008])):
            add(f"model.layers.{i}.mlp.{proj}.weight", shape)
        add(f"model.layers.{i}.input_layernorm.weight", [4096])
    add("lm_head.weight", [32000, 4096])
    raw = json.dumps(header).encode()
    with open(big / "model.safetensors", "wb") as handle:
        handle.write(struct.pack("<Q", len(raw)) + raw)
        handle.truncate(8 + len(raw) + offset)
    (big / "config.json").write_text(
        json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "num_hidden_layers": 32})
    )
    p = plan_from_data(
        {
            "goal": "full fine-tune",
            "base_model": str(big),
            "output": str(tmp_path / "o"),
            "stages": [{"kind": "sft", "id": "full", "adapter": "none", "dataset": str(files["sft"])}],
        },
        "t",
    )
    message = refused(p)
    assert "full" in message and "GiB" in message and "LoRA instead" in message


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("goal: [unclosed\n", "is not valid YAML at line"),
        ("- just\n- a list\n", "mapping"),
        ("goal: g\nbase_model: X\nstages:\n  - kind: distill\n", "distill"),
        ("goal: g\nbase_model: X\nstages:\n  - kind: sft\n    r: many\n", "r"),
    ],
)
def test_broken_plan_files_exit_2_with_one_line(tmp_path, text, expected) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    proc = run_cli("run", str(path), "--yes")
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "plan.run").exists()


def test_cli_refuses_a_bad_stage_before_running_anything(files) -> None:  # type: ignore[no-untyped-def]
    p = plan(files, {"kind": "sft", "id": "tune", "dataset": str(files["sft"]), "layers": [9]}, {"kind": "write"})
    path = files["tmp"] / "plan.yaml"
    path.write_text(plan_to_yaml(p))
    proc = run_cli("run", str(path), "--yes")
    assert proc.returncode == 2
    assert "stage tune (sft): layer 9 is out of range" in proc.stderr
    assert not (files["tmp"] / "plan.run").exists() and not files["out"].exists()


def test_plan_round_trips_through_yaml(files, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = plan(files, {"kind": "sft", "dataset": str(files["sft"]), "layers": [1, 0, 1]}, {"kind": "merge_adapter"})
    path = tmp_path / "p.yaml"
    path.write_text(plan_to_yaml(p))
    again = load_plan(path)
    assert again == p
    assert again.stages[0].layers == [0, 1]
    data = yaml.safe_load(path.read_text())
    assert list(data["stages"][0])[:2] == ["kind", "id"]
    assert [s.id for s in again.stages] == ["sft", "merge-adapter"]


def test_accelerate_config_and_command(tmp_path) -> None:
    """Several GPUs → `accelerate launch` with a config accelerate itself accepts."""
    from accelerate.commands.config.config_args import load_config_from_file

    from tools.distributed import launch_command

    for strategy, expected in (("fsdp", "FSDP"), ("deepspeed", "DEEPSPEED"), ("ddp", "MULTI_GPU")):
        config_file = tmp_path / f"{strategy}.yaml"
        argv = launch_command(tmp_path / "job.json", config_file, 4, strategy)  # type: ignore[arg-type]
        assert argv[1:4] == ["-m", "accelerate.commands.launch", "--config_file"]
        assert argv[argv.index("--num_processes") + 1] == "4"
        assert argv[-3:] == ["-m", "tools.stage_entry", str(tmp_path / "job.json")]
        config = load_config_from_file(str(config_file))
        assert str(getattr(config.distributed_type, "value", config.distributed_type)) == expected
        assert (
            config.num_processes == 4
            and str(getattr(config.mixed_precision, "value", config.mixed_precision)) == "bf16"
        )
        if strategy == "fsdp":
            assert config.fsdp_config["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
        if strategy == "deepspeed":
            assert config.deepspeed_config["zero_stage"] == 3

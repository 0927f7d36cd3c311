"""inspect: exact counts per architecture, checked against the model's own module types."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

import pytest
import torch
from transformers import AutoModelForCausalLM

from tools.inspect import InspectArgs, inspect_checkpoint
from tools.tiny import ARCHITECTURES


def expected_components(model: torch.nn.Module) -> tuple[dict[str, int], dict[int, dict[str, int]]]:
    """Params per component from module *types* (not names), the independent oracle."""
    owner: dict[int, str] = {}
    lm_head = model.get_output_embeddings()
    for _, module in model.named_modules():
        kind = type(module).__name__
        for p in module.parameters(recurse=False):
            if isinstance(module, torch.nn.Embedding):
                owner.setdefault(id(p), "embedding")
            elif "Norm" in kind:
                owner.setdefault(id(p), "norm")
            elif module is lm_head:
                owner.setdefault(id(p), "lm_head")
    for _, module in model.named_modules():
        kind = type(module).__name__
        label = "attention" if "Attention" in kind else "mlp" if "MLP" in kind else None
        if label:
            for p in module.parameters():
                owner.setdefault(id(p), label)
    totals: dict[str, int] = defaultdict(int)
    layers: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    blocks = model.base_model.layers if hasattr(model.base_model, "layers") else model.base_model.h
    block_of = {id(p): i for i, block in enumerate(blocks) for p in block.parameters()}
    for p in model.parameters():  # tied parameters appear once
        comp = owner.get(id(p), "other")
        totals[comp] += p.numel()
        if id(p) in block_of:
            layers[block_of[id(p)]][comp] += p.numel()
    return dict(totals), {k: dict(v) for k, v in layers.items()}


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_counts_match_the_model_for_each_architecture(tiny, arch):
    path = tiny(arch, num_layers=3)
    result = inspect_checkpoint(InspectArgs(path=str(path)))
    model = AutoModelForCausalLM.from_pretrained(path)
    totals, layers = expected_components(model)

    assert result.kind == "model" and result.format == "safetensors"
    assert result.total_params == model.num_parameters()
    assert result.num_layers == 3 and sorted(result.layers) == [0, 1, 2]
    assert sum(result.components.values()) == result.total_params
    assert {k: v for k, v in result.components.items() if v} == totals
    for idx, comps in layers.items():
        assert {k: v for k, v in result.layers[idx].items() if v} == comps
    assert result.architecture == type(model).__name__
    assert result.dtypes == {"float32": result.total_params}
    assert result.metadata.get("format") == "pt"
    assert result.has_tokenizer


def test_module_names_are_the_checkpoints_own(tiny):
    gpt2 = inspect_checkpoint(InspectArgs(path=str(tiny("gpt2"))))
    assert gpt2.modules["attention"] == ["c_attn", "c_proj"] and gpt2.modules["mlp"] == ["c_fc", "c_proj"]
    phi3 = inspect_checkpoint(InspectArgs(path=str(tiny("phi3"))))
    assert phi3.modules["attention"] == ["o_proj", "qkv_proj"] and phi3.modules["mlp"] == ["down_proj", "gate_up_proj"]


def test_bfloat16_checkpoint_reports_its_dtype(tiny):
    result = inspect_checkpoint(InspectArgs(path=str(tiny("qwen2", dtype="bfloat16"))))
    assert set(result.dtypes) == {"bfloat16"}


def test_sharded_folder_sums_all_shards(tiny, tmp_path):
    model = AutoModelForCausalLM.from_pretrained(tiny("llama"))
    model.save_pretrained(tmp_path / "sharded", max_shard_size="150KB")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").is_file()
    result = inspect_checkpoint(InspectArgs(path=str(tmp_path / "sharded")))
    single = inspect_checkpoint(InspectArgs(path=str(tiny("llama"))))
    assert len(result.shards) > 1
    assert result.total_params == single.total_params
    assert result.components == single.components
    assert sum(s.tensors for s in result.shards) == single.num_tensors


@pytest.mark.parametrize(("arch", "targets"), [("llama", ["q_proj", "v_proj"]), ("gpt2", ["c_attn"])])
def test_adapter_fields(tiny, tmp_path, arch, targets):
    from peft import LoraConfig, get_peft_model

    base = AutoModelForCausalLM.from_pretrained(tiny(arch))
    config = LoraConfig(r=4, lora_alpha=8, target_modules=targets, fan_in_fan_out=arch == "gpt2")
    peft_model = get_peft_model(base, config)
    lora_params = sum(p.numel() for n, p in peft_model.named_parameters() if "lora_" in n)
    peft_model.save_pretrained(tmp_path / "adapter")

    result = inspect_checkpoint(InspectArgs(path=str(tmp_path / "adapter")))
    assert result.kind == "adapter"
    assert result.adapter is not None
    assert result.adapter.r == 4 and result.adapter.alpha == 8
    assert result.adapter.target_modules == sorted(targets)
    assert result.adapter.base_model == str(tiny(arch))
    assert result.total_params == lora_params
    assert result.components["attention"] == lora_params
    assert result.modules["attention"] == sorted(targets)


def test_pickle_file_is_described_not_loaded(tiny, tmp_path):
    model = AutoModelForCausalLM.from_pretrained(tiny("llama"))
    folder = tmp_path / "legacy"
    folder.mkdir()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    (folder / "config.json").write_text((tiny("llama") / "config.json").read_text())
    result = inspect_checkpoint(InspectArgs(path=str(folder)))
    assert result.format == "pickle" and result.total_params is None
    assert result.architecture == "LlamaForCausalLM"
    assert any("graft convert" in n for n in result.notes)
    assert not any("will refuse" in n for n in result.notes)  # a plain state dict is not refused


def test_inspect_never_imports_torch(tiny):
    path = tiny("llama")
    code = (
        "import sys, json; from tools.inspect import InspectArgs, inspect_checkpoint; "
        f"r = inspect_checkpoint(InspectArgs(path={str(path)!r})); "
        "print(json.dumps({'torch': 'torch' in sys.modules, 'n': r.total_params}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    facts = json.loads(out.stdout)
    assert facts["torch"] is False and facts["n"] > 0

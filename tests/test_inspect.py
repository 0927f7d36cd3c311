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


def test_tied_embeddings_are_named_not_counted_as_zero(tiny):
    for arch in ("gpt2", "llama"):
        model = AutoModelForCausalLM.from_pretrained(tiny(arch))
        tied = model.get_output_embeddings().weight is model.get_input_embeddings().weight
        result = inspect_checkpoint(InspectArgs(path=str(tiny(arch))))
        assert result.tied_embeddings is tied, arch
        assert any("tied to the input embedding" in n for n in result.notes) is tied


def test_adapter_says_which_layers_it_touches_and_reads_its_base(tiny, tmp_path):
    from peft import LoraConfig, get_peft_model

    base = AutoModelForCausalLM.from_pretrained(tiny("llama"))
    peft_model = get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj"], layers_to_transform=[1]))
    peft_model.save_pretrained(tmp_path / "adapter")
    result = inspect_checkpoint(InspectArgs(path=str(tmp_path / "adapter")))
    assert result.adapter.layers_touched == [1]
    assert result.adapter.base_found is True
    assert (result.architecture, result.num_layers, result.hidden_size) == ("LlamaForCausalLM", 2, 64)
    from tui.present import _layers_fact

    assert _layers_fact(result) == "touches layer 1 of 2"

    config_path = tmp_path / "adapter" / "adapter_config.json"
    config = json.loads(config_path.read_text())
    config["base_model_name_or_path"] = str(tmp_path / "gone")
    config_path.write_text(json.dumps(config))
    missing = inspect_checkpoint(InspectArgs(path=str(tmp_path / "adapter")))
    assert missing.adapter.base_found is False and missing.architecture is None
    assert any("is not on this machine" in n for n in missing.notes)


def _trainer_checkpoint(tiny, folder):
    """A checkpoint-N folder as a Trainer leaves it: adapter weights, real optimizer/scheduler/RNG state."""
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny("llama")), LoraConfig(r=2, target_modules=["v_proj"])
    )
    model.save_pretrained(folder)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model(input_ids=torch.tensor([[1, 2, 3]]), labels=torch.tensor([[1, 2, 3]])).loss.backward()
    optimizer.step()
    scheduler = torch.optim.lr_scheduler.LinearLR(optimizer)
    torch.save(optimizer.state_dict(), folder / "optimizer.pt")
    torch.save(scheduler.state_dict(), folder / "scheduler.pt")
    torch.save({"torch": torch.get_rng_state()}, folder / "rng_state.pth")
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": 4, "max_steps": 10, "epoch": 0.5}))
    return folder


def test_trainer_checkpoint_folder_and_optimizer_state_are_told_apart(tiny, tmp_path):
    folder = _trainer_checkpoint(tiny, tmp_path / "out" / "checkpoint-4")
    result = inspect_checkpoint(InspectArgs(path=str(folder)))
    assert result.kind == "adapter" and result.format == "safetensors"
    assert result.trainer_checkpoint.step == 4 and result.trainer_checkpoint.max_steps == 10
    assert {"optimizer.pt", "scheduler.pt", "rng_state.pth"} <= set(result.trainer_checkpoint.state_files)
    assert any("Trainer checkpoint (step 4 of 10, epoch 0.5)" in n for n in result.notes)

    state = inspect_checkpoint(InspectArgs(path=str(folder / "optimizer.pt")))
    assert state.kind == "training_state" and state.total_params is None
    assert any("optimizer's state" in n and "not model weights" in n for n in state.notes)
    assert not any("graft convert" in n for n in state.notes)

    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("optimizer.pt", "scheduler.pt"):
        (bare / name).write_bytes((folder / name).read_bytes())
    only_state = inspect_checkpoint(InspectArgs(path=str(bare)))
    assert only_state.kind == "training_state" and len(only_state.notes) >= 2


def test_inspect_says_whether_a_chat_template_is_there(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from tools.inspect import InspectArgs, inspect_checkpoint

    model = tiny("llama")
    assert (
        inspect_checkpoint(InspectArgs(path=str(model))).has_chat_template is (model / "chat_template.jinja").is_file()
    )
    bare = tmp_path / "bare"
    shutil.copytree(model, bare)
    for name in ("chat_template.jinja", "chat_template.json"):
        (bare / name).unlink(missing_ok=True)
    config = json.loads((bare / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (bare / "tokenizer_config.json").write_text(json.dumps(config))
    assert inspect_checkpoint(InspectArgs(path=str(bare))).has_chat_template is False
    config["chat_template"] = "{{ messages }}"
    (bare / "tokenizer_config.json").write_text(json.dumps(config))
    assert inspect_checkpoint(InspectArgs(path=str(bare))).has_chat_template is True

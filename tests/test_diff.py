"""diff: exactly the changed tensors, with the right magnitudes, per layer and component."""

from __future__ import annotations

import math
import shutil

import torch
from safetensors.torch import load_file, save_file

from tools.diff import DiffArgs, diff_checkpoints


def _copy_with(tmp_path, src, edits):
    dst = tmp_path / "edited"
    shutil.copytree(src, dst)
    tensors = load_file(dst / "model.safetensors")
    for name, fn in edits.items():
        tensors[name] = fn(tensors[name])
    save_file(tensors, dst / "model.safetensors", metadata={"format": "pt"})
    return dst


def test_identical_checkpoints(tiny):
    result = diff_checkpoints(DiffArgs(a=str(tiny("llama")), b=str(tiny("llama"))))
    assert result.identical and result.compared == 21 and not result.changed


def test_one_changed_tensor_is_found_with_its_relative_change(tiny, tmp_path):
    name = "model.layers.1.mlp.down_proj.weight"
    base = load_file(tiny("llama") / "model.safetensors")
    noise = torch.randn_like(base[name]) * 0.01
    edited = _copy_with(tmp_path, tiny("llama"), {name: lambda t: t + noise})
    result = diff_checkpoints(DiffArgs(a=str(tiny("llama")), b=str(edited)))
    assert not result.identical
    assert [c.name for c in result.changed] == [name]
    change = result.changed[0]
    expected = float(noise.norm() / base[name].norm())
    assert math.isclose(change.relative_change, expected, rel_tol=1e-4)
    assert change.layer == 1 and change.component == "mlp"
    assert result.layers[0].changed_tensors == 0 and result.layers[1].changed_tensors == 1
    assert result.components["mlp"].changed_tensors == 1 and result.components["attention"].changed_tensors == 0


def test_shape_mismatch_and_missing_tensors_are_reported(tiny, tmp_path):
    src = tiny("llama")
    dst = tmp_path / "other"
    shutil.copytree(src, dst)
    tensors = load_file(dst / "model.safetensors")
    tensors["model.norm.weight"] = torch.ones(7)
    del tensors["lm_head.weight"]
    tensors["extra.weight"] = torch.ones(2)
    save_file(tensors, dst / "model.safetensors")
    result = diff_checkpoints(DiffArgs(a=str(src), b=str(dst)))
    assert [m.name for m in result.mismatched] == ["model.norm.weight"]
    assert result.only_in_a == ["lm_head.weight"] and result.only_in_b == ["extra.weight"]
    assert not result.identical


def test_different_architectures_are_a_reported_difference(tiny):
    result = diff_checkpoints(DiffArgs(a=str(tiny("llama")), b=str(tiny("gpt2"))))
    assert result.compared == 0 and not result.identical
    assert "different architectures" in result.notes[0]


def test_adapters_compare_by_module(tiny, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    def adapter(seed, out):
        torch.manual_seed(seed)
        model = get_peft_model(
            AutoModelForCausalLM.from_pretrained(tiny("llama")),
            LoraConfig(r=2, target_modules=["q_proj"], init_lora_weights=False),
        )
        model.save_pretrained(out)
        return out

    result = diff_checkpoints(DiffArgs(a=str(adapter(0, tmp_path / "a")), b=str(adapter(1, tmp_path / "b"))))
    assert result.compared == 4 and len(result.changed) == 4  # 2 layers × q_proj × (A, B)
    assert set(result.components) == {"attention"}


def test_fp32_base_against_bf16_output_shows_only_what_changed(tiny, tmp_path):
    """A bf16 output of an fp32 base: the cast alone is not a change; the trained tensor is, in its layer."""
    base = tiny("llama")
    name = "model.layers.1.self_attn.q_proj.weight"
    tensors = load_file(base / "model.safetensors")
    noise = torch.randn_like(tensors[name]) * 0.05
    out = tmp_path / "bf16"
    shutil.copytree(base, out)
    edited = {k: (v + noise if k == name else v).to(torch.bfloat16) for k, v in tensors.items()}
    save_file(edited, out / "model.safetensors", metadata={"format": "pt"})

    result = diff_checkpoints(DiffArgs(a=str(base), b=str(out)))
    assert not result.mismatched and result.compared == len(tensors)
    assert [c.name for c in result.changed] == [name]
    assert result.dtype_changes == {"float32 → bfloat16": len(tensors)}
    assert "dtype changed float32 → bfloat16" in result.notes[0]
    assert result.measure.startswith("relative Frobenius norm of ΔW")
    # The number is ‖B − round(A)‖ / ‖round(A)‖ in float32, computed here independently.
    a = tensors[name].to(torch.bfloat16).float()
    expected = float((edited[name].float() - a).norm() / a.norm())
    assert math.isclose(result.changed[0].relative_change, expected, rel_tol=1e-5)
    assert result.layers[0].changed_tensors == 0 and result.layers[1].changed_tensors == 1
    assert result.grid[1]["attention"].changed_tensors == 1 and result.grid[1]["mlp"].changed_tensors == 0
    assert result.grid[0]["attention"].relative_change == 0.0

"""The LoRA toolbox against PEFT itself: extract, resize and check on tiny real models.

Every adapter written here is loaded with `PeftModel.from_pretrained` and merged with
`merge_and_unload`; the tensors that come out are compared with the model they should equal.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from tools.errors import GraftError
from tools.lora_tools import (
    CheckArgs,
    ExtractArgs,
    ResizeArgs,
    check_lora,
    extract_lora,
    read_adapter,
    resize_lora,
)
from tui.cli import main


def _tuned(base: Path, out: Path, names: tuple[str, ...], seed: int = 1, scale: float = 0.02) -> Path:
    """A copy of `base` whose tensors containing any of `names` are perturbed (a stand-in fine-tune)."""
    from safetensors.torch import load_file, save_file

    out.mkdir()
    for f in base.iterdir():
        if f.suffix != ".safetensors":
            shutil.copy(f, out / f.name)
    tensors = load_file(str(base / "model.safetensors"))
    gen = torch.Generator().manual_seed(seed)
    for name, t in tensors.items():
        if any(n in name for n in names):
            tensors[name] = t + torch.randn(t.shape, generator=gen, dtype=t.dtype) * scale
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    return out


def _merged(base: Path, adapter: Path) -> dict[str, torch.Tensor]:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    return PeftModel.from_pretrained(model, str(adapter)).merge_and_unload().state_dict()


def _state(path: Path) -> dict[str, torch.Tensor]:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32).state_dict()


def _rel(x: torch.Tensor, y: torch.Tensor) -> float:
    diff = float(torch.linalg.norm(x.double() - y.double()))
    return diff / float(torch.linalg.norm(y.double())) if diff else 0.0


LLAMA_CHANGES = ("proj", "norm", "embed_tokens")
GPT2_CHANGES = ("c_attn", "c_fc", "c_proj", "ln_1", "wte")


@pytest.fixture(scope="module")
def llama_pair(tiny, tmp_path_factory):
    base = tiny("llama")
    return base, _tuned(base, tmp_path_factory.mktemp("lt") / "tuned", LLAMA_CHANGES)


@pytest.fixture(scope="module")
def gpt2_pair(tiny, tmp_path_factory):
    base = tiny("gpt2")
    return base, _tuned(base, tmp_path_factory.mktemp("gt") / "tuned", GPT2_CHANGES)


def test_extract_full_rank_reproduces_tuned_in_peft(llama_pair, tmp_path):
    base, tuned = llama_pair
    result = extract_lora(ExtractArgs(base=str(base), tuned=str(tuned), rank=128, output=str(tmp_path / "a")))
    assert result.not_captured == []
    assert result.relative_error < 1e-5 and all(m.retained_energy > 1 - 1e-9 for m in result.modules)
    assert "model.embed_tokens" in result.modules_to_save and "model.norm" in result.modules_to_save
    merged, want = _merged(base, tmp_path / "a"), _state(tuned)
    assert set(merged) == set(want)
    for name, tensor in want.items():
        assert _rel(merged[name], tensor) < 1e-4, name
    assert json.loads((tmp_path / "a" / "adapter_config.json").read_text())["target_modules"]


def test_extract_low_rank_reports_the_error_it_makes(llama_pair, tmp_path):
    base, tuned = llama_pair
    events: list[dict] = []
    result = extract_lora(
        ExtractArgs(base=str(base), tuned=str(tuned), rank=3, output=str(tmp_path / "a")), progress=events.append
    )
    assert events[-1]["step"] == events[-1]["total"] == len(events) and events[0]["stage"] == "lora"
    merged, want, before = _merged(base, tmp_path / "a"), _state(tuned), _state(base)
    assert len(result.modules) == 14
    for m in result.modules:
        w = m.module + ".weight"
        measured = _rel(merged[w], want[w])
        assert measured == pytest.approx(m.weight_relative_error, rel=1e-4, abs=1e-7), w
        delta_err = _rel(merged[w] - before[w], want[w] - before[w])
        assert delta_err == pytest.approx(m.relative_error, rel=1e-4), w
        assert m.relative_error == pytest.approx((1 - m.retained_energy) ** 0.5, rel=1e-4)
        assert 0 < m.retained_energy < 1
    total = sum(
        float(torch.linalg.norm(merged[m.module + ".weight"] - want[m.module + ".weight"]) ** 2) for m in result.modules
    )
    norm = sum(float(torch.linalg.norm(want[m.module + ".weight"]) ** 2) for m in result.modules)
    assert (total / norm) ** 0.5 == pytest.approx(result.weight_relative_error, rel=1e-4)
    for name in want:  # everything outside the LoRA modules is exact
        if not any(name == m.module + ".weight" for m in result.modules):
            assert torch.equal(merged[name], want[name]), name


def test_extract_gpt2_conv1d_biases_and_tied_head(gpt2_pair, tmp_path):
    base, tuned = gpt2_pair
    result = extract_lora(ExtractArgs(base=str(base), tuned=str(tuned), rank=256, output=str(tmp_path / "a")))
    assert {m.kind for m in result.modules} == {"conv1d"}
    assert "transformer.h.0.attn.c_attn" in result.biases
    assert {"transformer.wte", "lm_head"} <= set(result.modules_to_save)
    cfg = json.loads((tmp_path / "a" / "adapter_config.json").read_text())
    assert cfg["fan_in_fan_out"] is True and cfg["bias"] == "lora_only"
    merged, want = _merged(base, tmp_path / "a"), _state(tuned)
    for name, tensor in want.items():
        assert _rel(merged[name], tensor) < 1e-4, name
    assert torch.equal(merged["lm_head.weight"], want["transformer.wte.weight"])


def test_extract_without_modules_to_save_lists_what_it_left_out(gpt2_pair, tmp_path):
    base, tuned = gpt2_pair
    result = extract_lora(
        ExtractArgs(base=str(base), tuned=str(tuned), rank=4, output=str(tmp_path / "a"), modules_to_save=False)
    )
    left = {n.tensor for n in result.not_captured}
    assert {"transformer.wte.weight", "transformer.h.0.ln_1.weight", "transformer.h.0.ln_1.bias"} <= left
    assert result.modules_to_save == []


def test_extract_refuses_mismatched_models_and_existing_output(tiny, llama_pair, tmp_path):
    base, tuned = llama_pair
    from safetensors.torch import load_file, save_file

    other = tmp_path / "resized"
    shutil.copytree(tuned, other)
    tensors = load_file(str(other / "model.safetensors"))
    for name in ("model.embed_tokens.weight", "lm_head.weight"):
        tensors[name] = torch.cat([tensors[name], torch.zeros(8, tensors[name].shape[1])])
    save_file(tensors, str(other / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(GraftError, match=r"lm_head.weight is \[485, 64\] in BASE but \[493, 64\] in TUNED"):
        extract_lora(ExtractArgs(base=str(base), tuned=str(other), rank=4, output=str(tmp_path / "x")))
    with pytest.raises(GraftError, match=r"not the same architecture|gpt2"):
        extract_lora(ExtractArgs(base=str(base), tuned=str(tiny("gpt2")), rank=4, output=str(tmp_path / "x")))
    (tmp_path / "taken").mkdir()
    with pytest.raises(GraftError, match="already exists"):
        extract_lora(ExtractArgs(base=str(base), tuned=str(tuned), rank=4, output=str(tmp_path / "taken")))
    with pytest.raises(GraftError, match="is TUNED"):
        extract_lora(ExtractArgs(base=str(base), tuned=str(tuned), rank=4, output=str(tuned), overwrite=True))
    with pytest.raises(GraftError, match="holds BASE"):
        extract_lora(ExtractArgs(base=str(base), tuned=str(tuned), rank=4, output=str(base.parent), overwrite=True))
    with pytest.raises(GraftError, match="identical"):
        extract_lora(ExtractArgs(base=str(base), tuned=str(base), rank=4, output=str(tmp_path / "same")))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["resized", "taken"]  # nothing half-written left behind


def _peft_adapter(base: Path, out: Path, seed: int = 0, **config) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    peft_model = get_peft_model(model, LoraConfig(init_lora_weights=False, **config))
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if p.requires_grad and "lora_" in name:
                p.copy_(torch.randn_like(p) * 0.1)
    peft_model.save_pretrained(str(out))
    return out


def _deltas(base: Path, adapter: Path) -> dict[str, torch.Tensor]:
    before, after = _state(base), _merged(base, adapter)
    return {k: after[k] - before[k] for k in before if not torch.equal(after[k], before[k])}


@pytest.mark.parametrize(
    "config",
    [
        {"r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj", "down_proj"]},
        {"r": 8, "lora_alpha": 4, "use_rslora": True, "target_modules": ["q_proj", "o_proj"]},
        {"r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "up_proj"], "alpha_pattern": {"up_proj": 3}},
        {"r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "k_proj"], "rank_pattern": {"k_proj": 2}},
        {"r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"], "lora_bias": True, "arch": "qwen2"},
    ],
    ids=["plain", "rslora", "alpha_pattern", "rank_pattern", "lora_bias"],
)
def test_resize_is_the_best_rank_r_approximation_with_the_right_scale(tiny, tmp_path, config):
    config = dict(config)
    base = tiny(config.pop("arch", "llama"))
    src = _peft_adapter(base, tmp_path / "src", **config)
    result = resize_lora(ResizeArgs(adapter=str(src), rank=3, output=str(tmp_path / "small")))
    assert result.rank == 3
    old, new = _deltas(base, src), _deltas(base, tmp_path / "small")
    assert set(new) <= set(old)
    for m in result.modules:
        w = m.module + ".weight"
        want = old[w]
        u, s, vh = torch.linalg.svd(want.double(), full_matrices=False)
        best = (u[:, :3] * s[:3]) @ vh[:3]
        if m.old_rank <= 3:
            assert m.rank == m.old_rank and m.retained_energy == pytest.approx(1.0)
        got = new.get(w, torch.zeros_like(want))
        assert _rel(got, best.float()) < 1e-4, w
        assert _rel(got, want) == pytest.approx(m.relative_error, rel=1e-3, abs=1e-6), w
    if config.get("lora_bias"):
        after = _merged(base, tmp_path / "small")
        ref = _merged(base, src)
        for m in result.modules:  # the bias of lora_B is scaled with B·A: the merged bias is unchanged
            assert torch.allclose(after[m.module + ".bias"], ref[m.module + ".bias"], atol=1e-6)


def test_resize_refuses_dora_and_a_rank_that_is_not_lower(tiny, tmp_path):
    base = tiny("llama")
    src = _peft_adapter(base, tmp_path / "src", r=4, lora_alpha=8, target_modules=["q_proj"])
    with pytest.raises(GraftError, match="already has rank 4"):
        resize_lora(ResizeArgs(adapter=str(src), rank=4, output=str(tmp_path / "o")))
    dora = _peft_adapter(base, tmp_path / "dora", r=4, lora_alpha=8, target_modules=["q_proj"], use_dora=True)
    with pytest.raises(GraftError, match="DoRA"):
        resize_lora(ResizeArgs(adapter=str(dora), rank=2, output=str(tmp_path / "o")))


def test_check_fit_and_overlap_cosine_match_the_merged_deltas(tiny, tmp_path):
    base = tiny("llama")
    x = _peft_adapter(base, tmp_path / "x", seed=1, r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
    y = _peft_adapter(
        base, tmp_path / "y", seed=2, r=2, lora_alpha=2, target_modules=["q_proj", "o_proj"], layers_to_transform=[1]
    )
    result = check_lora(CheckArgs(adapter=str(x), base=str(base), others=[str(y)]))
    assert result.ok and all(f.fits for f in result.fits)
    assert result.adapters[0].module_names == {"q_proj": 2, "v_proj": 2}
    assert result.adapters[1].layers == [1]
    (o,) = result.overlaps
    assert [m.module for m in o.shared] == ["model.layers.1.self_attn.q_proj"]
    assert (o.only_a, o.only_b) == (3, 1)
    dx, dy = _deltas(base, x), _deltas(base, y)
    w = "model.layers.1.self_attn.q_proj.weight"
    want = float(torch.nn.functional.cosine_similarity(dx[w].flatten().double(), dy[w].flatten().double(), dim=0))
    assert o.shared[0].cosine == pytest.approx(want, abs=1e-5)
    same = check_lora(CheckArgs(adapter=str(x), others=[str(x)])).overlaps[0]
    assert same.mean_cosine == pytest.approx(1.0, abs=1e-6) and "same way" in same.verdict


def test_check_gpt2_conv1d_and_opposed_adapters(tiny, tmp_path):
    base = tiny("gpt2")
    x = _peft_adapter(base, tmp_path / "x", r=4, lora_alpha=8, target_modules=["c_attn"], fan_in_fan_out=True)
    neg = tmp_path / "neg"
    shutil.copytree(x, neg)
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(neg / "adapter_model.safetensors"))
    save_file({k: -t if "lora_B" in k else t for k, t in tensors.items()}, str(neg / "adapter_model.safetensors"))
    result = check_lora(CheckArgs(adapter=str(x), base=str(base), others=[str(neg)]))
    assert result.ok
    (o,) = result.overlaps
    assert o.opposed == 2 and o.min_cosine == pytest.approx(-1.0, abs=1e-6) and "opposite" in o.verdict


def test_extract_bf16_factors_report_their_own_error(llama_pair, tmp_path):
    base, tuned = llama_pair
    result = extract_lora(
        ExtractArgs(base=str(base), tuned=str(tuned), rank=128, output=str(tmp_path / "a"), dtype="bfloat16")
    )
    merged, want = _merged(base, tmp_path / "a"), _state(tuned)
    for m in result.modules:
        w = m.module + ".weight"
        assert m.weight_relative_error > 1e-5  # bf16 factors are not exact, and the report says so
        assert _rel(merged[w], want[w]) == pytest.approx(m.weight_relative_error, rel=1e-2), w


def test_check_says_why_an_adapter_does_not_fit(tiny, tmp_path):
    llama = tiny("llama")
    wide = tiny("llama", hidden_size=96, num_heads=4, intermediate_size=128)
    x = _peft_adapter(llama, tmp_path / "x", r=4, lora_alpha=8, target_modules=["q_proj"])
    result = check_lora(CheckArgs(adapter=str(x), base=str(wide)))
    assert not result.ok
    assert result.problem.startswith(f"{x} expects model.layers.0.self_attn.q_proj to be [64, 64], but it is [96, 96]")
    gpt2 = tiny("gpt2")
    result = check_lora(CheckArgs(adapter=str(x), base=str(gpt2)))
    assert "was trained on a llama model" in result.problem


def test_trainer_checkpoint_folder_is_an_adapter(tiny, tmp_path):
    base = tiny("llama")
    run = tmp_path / "out"
    ckpt = _peft_adapter(base, run / "checkpoint-20", r=4, lora_alpha=8, target_modules=["q_proj"])
    for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth", "training_args.bin"):
        torch.save({"x": torch.zeros(2)}, ckpt / name)
    (ckpt / "trainer_state.json").write_text("{}")
    assert len(read_adapter(ckpt).modules) == 2
    assert check_lora(CheckArgs(adapter=str(ckpt), base=str(base))).ok
    from tools.inspect import InspectArgs, inspect_checkpoint

    assert inspect_checkpoint(InspectArgs(path=str(ckpt))).kind == "adapter"
    with pytest.raises(GraftError, match="checkpoint-20"):
        read_adapter(run)


def test_cli_exit_codes_and_json(llama_pair, tiny, tmp_path, capsys):
    base, tuned = llama_pair
    out = tmp_path / "ex"
    assert main(["lora", "extract", str(base), str(tuned), "--rank", "2", "-o", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rank"] == 2 and len(data["modules"]) == 14
    assert main(["lora", "extract", str(base), str(tuned), "--rank", "2", "-o", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["lora", "extract", str(base), str(tuned), "--rank", "3", "-o", str(out), "--overwrite"]) == 0
    assert "rank 3" in capsys.readouterr().out  # its own output: replaced
    from safetensors import safe_open

    with safe_open(str(out / "adapter_model.safetensors"), "pt") as handle:
        record = json.loads(handle.metadata()["graft.lora"])
    assert record == {"tool": "extract", "base": base.name, "tuned": tuned.name, "rank": 3, "dtype": "float32"}
    assert main(["lora", "extract", str(base), str(tuned), "--rank", "0", "-o", str(tmp_path / "z")]) == 2
    capsys.readouterr()
    assert main(["lora", "resize", str(out), "--rank", "1", "-o", str(tmp_path / "r1")]) == 0
    assert "rank 1" in capsys.readouterr().out
    assert main(["lora", "resize", str(out), "--rank", "5", "-o", str(tmp_path / "r5")]) == 2
    capsys.readouterr()
    assert main(["lora", "check", str(out), str(base), str(tmp_path / "r1"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and len(data["overlaps"]) == 1
    assert main(["lora", "check", str(out), str(tiny("gpt2"))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "was trained on a llama model" in err[0]
    assert main(["lora", "check", str(tmp_path / "missing")]) == 2
    assert main(["lora", "check", str(out), str(base), str(base)]) == 2


def test_chat_answers_which_modules_and_conflicts(tiny, tmp_path):
    from agent.answers import answer_offline

    base = tiny("llama")
    x = _peft_adapter(base, tmp_path / "x", seed=1, r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
    neg = tmp_path / "neg"
    shutil.copytree(x, neg)
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(neg / "adapter_model.safetensors"))
    save_file({k: -t if "lora_B" in k else t for k, t in tensors.items()}, str(neg / "adapter_model.safetensors"))

    answer = answer_offline("Which modules does this adapter touch?", str(x))
    assert "adapts 4 module(s): q_proj ×2, v_proj ×2 in layers 0, 1" in answer.text
    answer = answer_offline("какие модули затрагивает этот адаптер?", str(x))
    assert "q_proj ×2, v_proj ×2" in answer.text
    answer = answer_offline(f"which layers does this LoRA touch, and does it fit {base}?", str(x))
    assert "in layers 0, 1" in answer.text and f"It fits {base}" in answer.text
    answer = answer_offline(f"Will this adapter conflict with {neg}?", str(x))
    assert "share 4 module(s)" in answer.text and "opposite directions in 4 of 4" in answer.text
    answer = answer_offline("будут ли эти два адаптера конфликтовать?", str(x), str(neg))
    assert "opposite" in answer.text
    with pytest.raises(GraftError, match="need two"):
        answer_offline("will these two adapters conflict?", str(x))
    assert "adapter" in answer_offline("what does it contain?", str(x)).text  # other questions: unchanged


@pytest.mark.parametrize("argv", [["--help"], ["lora", "--help"], ["lora", "extract", "--help"]])
def test_lora_help_imports_no_heavy_library(argv):
    import subprocess
    import sys

    code = (
        "import sys; from tui import cli\n"
        f"try: cli.main({argv!r})\nexcept SystemExit: pass\n"
        "print('HEAVY', [m for m in ('torch', 'transformers', 'peft') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out and ("lora" in out or "graft" in out)


def test_extract_names_targets_exactly(tiny, tmp_path):
    base = tiny("llama")
    one = _tuned(base, tmp_path / "one", ("layers.1.self_attn.q_proj",))
    result = extract_lora(ExtractArgs(base=str(base), tuned=str(one), rank=64, output=str(tmp_path / "a")))
    cfg = json.loads((tmp_path / "a" / "adapter_config.json").read_text())
    assert cfg["target_modules"] == ["model.layers.1.self_attn.q_proj"] and result.identical_tensors > 0
    every = _tuned(base, tmp_path / "every", ("q_proj",))
    extract_lora(ExtractArgs(base=str(base), tuned=str(every), rank=64, output=str(tmp_path / "b")))
    assert json.loads((tmp_path / "b" / "adapter_config.json").read_text())["target_modules"] == ["q_proj"]
    for adapter, tuned in ((tmp_path / "a", one), (tmp_path / "b", every)):
        merged, want = _merged(base, adapter), _state(tuned)
        assert all(_rel(merged[k], want[k]) < 1e-4 for k in want)

"""Every PEFT adapter variant, built by PEFT itself: Graft's streaming merge equals `merge_and_unload`, or refuses.

Each row builds the adapter with real PEFT on a tiny model, randomises every trainable tensor
(lora_B starts at zero, DoRA magnitudes at the weight norm, copies at the base), saves it, folds
it with `merge_adapter`, loads the result the way a user would (transformers, so tied weights
are tied exactly as on any later load) and compares the whole state dict against PEFT's merged
model in float32: same keys, every tensor equal to 1e-6, and the same input/output embedding
tying.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from tools.errors import GraftError

pytestmark = pytest.mark.slow

# id, architecture, LoraConfig arguments
VARIANTS: list[tuple[str, str, dict[str, Any]]] = [
    ("lora", "llama", {"target_modules": ["q_proj", "v_proj", "down_proj"]}),
    ("all-linear", "llama", {"target_modules": "all-linear"}),
    ("rslora", "llama", {"target_modules": ["q_proj", "up_proj"], "use_rslora": True, "r": 4, "lora_alpha": 16}),
    (
        "rank_alpha_pattern",
        "llama",
        {
            "target_modules": ["q_proj", "v_proj", "up_proj"],
            "rank_pattern": {"q_proj": 2, "layers.1.self_attn.v_proj": 6},
            "alpha_pattern": {"up_proj": 3, "layers.0.self_attn.q_proj": 5},
        },
    ),
    (
        "rslora_pattern",
        "llama",
        {"target_modules": ["q_proj", "o_proj"], "use_rslora": True, "rank_pattern": {"o_proj": 2}},
    ),
    ("init_gaussian", "llama", {"target_modules": ["k_proj"], "init_lora_weights": "gaussian"}),
    ("init_orthogonal", "llama", {"target_modules": ["k_proj"], "init_lora_weights": "orthogonal"}),
    ("dora", "llama", {"target_modules": ["q_proj", "gate_proj"], "use_dora": True}),
    ("dora_conv1d", "gpt2", {"target_modules": ["c_attn", "c_proj", "c_fc"], "use_dora": True, "fan_in_fan_out": True}),
    ("conv1d", "gpt2", {"target_modules": ["c_attn", "c_proj", "c_fc"], "fan_in_fan_out": True}),
    ("layers_to_transform", "llama", {"target_modules": ["q_proj", "down_proj"], "layers_to_transform": [1]}),
    (
        "layers_pattern",
        "gpt2",
        {"target_modules": ["c_attn"], "layers_to_transform": [0], "layers_pattern": "h", "fan_in_fan_out": True},
    ),
    ("modules_to_save", "llama", {"target_modules": ["q_proj"], "modules_to_save": ["lm_head", "embed_tokens"]}),
    ("modules_to_save_tied_lm_head", "gpt2", {"target_modules": ["c_attn"], "modules_to_save": ["lm_head"]}),
    ("modules_to_save_tied_wte", "gpt2", {"target_modules": ["c_attn"], "modules_to_save": ["wte"]}),
    ("bias_all", "gpt2", {"target_modules": ["c_attn"], "bias": "all"}),
    ("bias_lora_only", "gpt2", {"target_modules": ["c_attn", "c_fc"], "bias": "lora_only"}),
    ("lora_bias_conv1d", "gpt2", {"target_modules": ["c_attn", "c_proj"], "lora_bias": True}),
    ("lora_bias_linear", "qwen2", {"target_modules": ["q_proj", "k_proj"], "lora_bias": True}),
    ("embedding", "llama", {"target_modules": ["embed_tokens", "q_proj"]}),
    ("embedding_tied", "gpt2", {"target_modules": ["wte", "c_attn"]}),
    ("embedding_dora", "llama", {"target_modules": ["embed_tokens", "q_proj"], "use_dora": True}),
    ("lm_head", "llama", {"target_modules": ["lm_head", "q_proj"]}),
    ("lm_head_tied", "gpt2", {"target_modules": ["lm_head", "c_attn"]}),
    (
        "ensure_weight_tying_saved",
        "gpt2",
        {"target_modules": ["c_attn"], "modules_to_save": ["wte"], "ensure_weight_tying": True},
    ),
    ("ensure_weight_tying_lora", "gpt2", {"target_modules": ["wte", "lm_head", "c_attn"], "ensure_weight_tying": True}),
    ("trainable_tokens", "llama", {"target_modules": ["q_proj"], "trainable_token_indices": [1, 5, 7]}),
    ("trainable_tokens_tied", "gpt2", {"target_modules": ["c_attn"], "trainable_token_indices": {"wte": [2, 3]}}),
]


def _quiet() -> None:
    warnings.filterwarnings("ignore")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def build_adapter(base: Path, out: Path, seed: int = 0, **lora: Any) -> Path:
    """A PEFT adapter on `base` with every trainable tensor randomised, saved by PEFT."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    _quiet()
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    peft_model = get_peft_model(model, LoraConfig(r=lora.pop("r", 4), lora_alpha=lora.pop("lora_alpha", 8), **lora))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, param in peft_model.named_parameters():
            if param.requires_grad:
                param.add_(torch.randn(param.shape, generator=generator) * 0.05)
    peft_model.save_pretrained(str(out))
    return out


def _peft_merged(base: Path, adapter: Path) -> Any:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    _quiet()
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    return PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()


def _loaded(folder: Path) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    _quiet()
    return AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)


def _tied(model: Any) -> bool:
    out = model.get_output_embeddings()
    return out is not None and out.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()


def assert_same_model(ours: Any, theirs: Any) -> float:
    """Whole state dicts equal (keys and values, fp32) and the same embedding tying; returns max |Δ|."""
    import torch

    mine, ref = ours.state_dict(), theirs.state_dict()
    assert set(mine) == set(ref), sorted(set(mine) ^ set(ref))
    worst = 0.0
    for name, tensor in ref.items():
        assert mine[name].shape == tensor.shape, name
        if not torch.equal(mine[name].float(), tensor.float()):
            worst = max(worst, (mine[name].float() - tensor.float()).abs().max().item())
    assert worst <= 1e-6, worst
    assert _tied(ours) == _tied(theirs)
    return worst


@pytest.mark.parametrize(("variant", "arch", "lora"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_variant_merges_exactly_like_peft(tiny, tmp_path, variant, arch, lora) -> None:  # type: ignore[no-untyped-def]
    from tools.merge_adapter import MergeAdapterSpec, check_adapter, merge_adapter

    base = tiny(arch)
    adapter = build_adapter(base, tmp_path / "adapter", **dict(lora))
    assert check_adapter(str(adapter), str(base))
    result = merge_adapter(MergeAdapterSpec(), str(base), [str(adapter)], str(tmp_path / "merged"))
    assert result.method == "stream-cat" and result.merged_tensors > 0
    theirs = _peft_merged(base, adapter)
    ours = _loaded(tmp_path / "merged")
    worst = assert_same_model(ours, theirs)
    print(f"{variant}: max |ours - merge_and_unload| = {worst:.3g}; features {result.features}; untied {result.untied}")
    if not _tied(theirs) and arch == "gpt2":
        assert (
            result.untied
            and json.loads((tmp_path / "merged" / "config.json").read_text())["tie_word_embeddings"] is False
        )


def test_two_adapters_with_saved_tensors_fold_in_order(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An adapter with modules_to_save and trainable tokens, then a DoRA one: sequential merge_and_unload."""
    from peft import PeftModel

    from tools.merge_adapter import MergeAdapterSpec, merge_adapter

    base = tiny("llama")
    first = build_adapter(
        base, tmp_path / "a", target_modules=["q_proj"], modules_to_save=["lm_head"], trainable_token_indices=[3]
    )
    second = build_adapter(base, tmp_path / "b", seed=1, target_modules=["q_proj", "embed_tokens"], use_dora=True)
    merge_adapter(MergeAdapterSpec(), str(base), [str(first), str(second)], str(tmp_path / "m"))
    theirs = PeftModel.from_pretrained(_peft_merged(base, first), str(second)).merge_and_unload()
    assert_same_model(_loaded(tmp_path / "m"), theirs)


def _rewrite_adapter(adapter: Path, extra: dict[str, Any] | None = None, config: dict[str, Any] | None = None) -> Path:
    from safetensors.torch import load_file, save_file

    if extra:
        tensors = load_file(str(adapter / "adapter_model.safetensors"))
        tensors.update(extra)
        save_file(tensors, str(adapter / "adapter_model.safetensors"), metadata={"format": "pt"})
    if config:
        data = json.loads((adapter / "adapter_config.json").read_text())
        data.update(config)
        (adapter / "adapter_config.json").write_text(json.dumps(data))
    return adapter


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"extra": "base_model.model.model.layers.0.self_attn.q_proj.lora_C.weight"}, "lora_C"),
        ({"extra": "base_model.model.model.layers.0.mlp.gate_proj.weight"}, "gate_proj.weight"),
        ({"config": {"use_bdlora": {"nblocks": 2}}}, "use_bdlora"),
        ({"config": {"target_parameters": ["mlp.experts.down_proj"]}}, "target_parameters"),
        ({"config": {"alora_invocation_tokens": [1, 2]}}, "alora_invocation_tokens"),
        ({"config": {"init_lora_weights": "pissa"}}, "pissa"),
        ({"config": {"layer_replication": [[0, 2], [1, 2]]}}, "layer_replication"),
        ({"config": {"use_shiny_new_thing": True}}, "use_shiny_new_thing"),
        (
            {"config": {"lora_bias": False}, "extra": "base_model.model.model.layers.0.self_attn.q_proj.lora_B.bias"},
            "lora_B.bias",
        ),
    ],
    ids=[
        "unknown-key",
        "stray-base-weight",
        "bdlora",
        "target_parameters",
        "alora",
        "pissa",
        "replication",
        "unknown-field",
        "lora_B.bias-without-flag",
    ],
)
def test_what_is_not_understood_is_refused_by_name(tiny, tmp_path, change, named) -> None:  # type: ignore[no-untyped-def]
    import torch

    from agent.plan import plan_from_data
    from agent.validate import validate_plan
    from tools.merge_adapter import MergeAdapterSpec, merge_adapter

    base = tiny("llama")
    adapter = build_adapter(base, tmp_path / "adapter", target_modules=["q_proj"])
    extra = {change["extra"]: torch.zeros(4, 64)} if "extra" in change else None
    if extra and change["extra"].endswith("lora_B.bias"):
        extra = {change["extra"]: torch.zeros(64)}
    _rewrite_adapter(adapter, extra, change.get("config"))
    with pytest.raises(GraftError) as at_merge:
        merge_adapter(MergeAdapterSpec(), str(base), [str(adapter)], str(tmp_path / "out"))
    assert named in str(at_merge.value) and "\n" not in str(at_merge.value)
    assert not (tmp_path / "out").exists()
    plan = plan_from_data(
        {
            "goal": "fold it",
            "base_model": str(base),
            "output": str(tmp_path / "final"),
            "stages": [{"kind": "merge_adapter", "id": "fold", "adapters": [str(adapter)]}],
        },
        "test",
    )
    with pytest.raises(GraftError) as at_validation:
        validate_plan(plan)
    message = str(at_validation.value)
    assert named in message and message.count("fold") >= 1 and "\n" not in message


def test_adapter_with_only_embedding_lora_is_not_called_empty(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tools.merge_adapter import check_adapter

    base = tiny("llama")
    adapter = build_adapter(base, tmp_path / "adapter", target_modules=["embed_tokens"])
    assert "embedding lora" in check_adapter(str(adapter), str(base))


def test_resized_vocabulary_is_refused(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import torch

    from tools.merge_adapter import MergeAdapterSpec, merge_adapter

    base = tiny("llama")
    adapter = build_adapter(base, tmp_path / "adapter", target_modules=["q_proj"], modules_to_save=["lm_head"])
    from safetensors.torch import load_file

    tensors = load_file(str(adapter / "adapter_model.safetensors"))
    key = next(k for k in tensors if k.endswith("lm_head.weight"))
    _rewrite_adapter(adapter, {key: torch.zeros(tensors[key].shape[0] + 8, tensors[key].shape[1])})
    with pytest.raises(GraftError, match="resized vocabulary"):
        merge_adapter(MergeAdapterSpec(), str(base), [str(adapter)], str(tmp_path / "out"))


def test_whole_tensors_are_not_weighted_or_combined(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A trained lm_head copy has no delta to scale, and PEFT's ties/linear/svd combinations drop it: refused."""
    from tools.merge_adapter import MergeAdapterSpec, merge_adapter

    base = tiny("llama")
    saved = build_adapter(base, tmp_path / "a", target_modules=["q_proj"], modules_to_save=["lm_head"])
    plain = build_adapter(base, tmp_path / "b", seed=1, target_modules=["q_proj"])
    with pytest.raises(GraftError, match="cannot be weighted"):
        merge_adapter(MergeAdapterSpec(weights=[0.5, 1.0]), str(base), [str(saved), str(plain)], str(tmp_path / "w"))
    with pytest.raises(GraftError, match=r"modules_to_save.*combination: cat"):
        merge_adapter(
            MergeAdapterSpec(combination="ties", weights=[0.5, 0.5]),
            str(base),
            [str(saved), str(plain)],
            str(tmp_path / "t"),
        )
    assert not (tmp_path / "w").exists() and not (tmp_path / "t").exists()

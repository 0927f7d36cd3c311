"""Map tensor names to transformer components and block indices, across naming schemes.

Llama/Qwen2/Mistral (`model.layers.N.self_attn.q_proj`), GPT-2 (`h.N.attn.c_attn`,
`h.N.mlp.c_fc`), GPT-NeoX (`layers.N.attention.query_key_value`), fused Phi-3
(`qkv_proj`, `gate_up_proj`), and PEFT's `lora_A`/`lora_B` wrappers around any of them.
"""

from __future__ import annotations

import re
from typing import Literal

Component = Literal["attention", "mlp", "embedding", "norm", "lm_head", "other"]
COMPONENTS: tuple[Component, ...] = ("attention", "mlp", "embedding", "norm", "lm_head", "other")

_LAYER = re.compile(r"(?:^|\.)(?:layers|h|blocks|block|layer|decoder_layers)\.(\d+)(?:\.|$)")

_ATTENTION_SCOPES = {"attn", "self_attn", "attention", "self_attention", "cross_attn", "mixer"}
_MLP_SCOPES = {"mlp", "feed_forward", "ffn", "block_sparse_moe", "experts", "moe"}
_ATTENTION_LEAVES = {
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "qkv_proj",
    "c_attn",
    "query_key_value",
    "query",
    "key",
    "value",
    "wq",
    "wk",
    "wv",
    "wo",
    "out_proj",
    "Wqkv",
}
_MLP_LEAVES = {
    "gate_proj",
    "up_proj",
    "down_proj",
    "gate_up_proj",
    "c_fc",
    "fc1",
    "fc2",
    "w1",
    "w2",
    "w3",
    "dense_h_to_4h",
    "dense_4h_to_h",
    "gate",
    "router",
}
_EMBEDDING_LEAVES = {
    "embed_tokens",
    "wte",
    "wpe",
    "word_embeddings",
    "embed_in",
    "tok_embeddings",
    "embed_positions",
    "position_embeddings",
    "token_embeddings",
}
_LM_HEAD_LEAVES = {"lm_head", "embed_out", "output"}
_PEFT_PARTS = {
    "lora_A",
    "lora_B",
    "lora_embedding_A",
    "lora_embedding_B",
    "lora_magnitude_vector",
    "base_layer",
    "default",
    "weight",
    "bias",
}


def layer_index(name: str) -> int | None:
    """The transformer block a tensor belongs to, or None for embeddings, final norm, head."""
    match = _LAYER.search(name)
    return int(match.group(1)) if match else None


def layer_container(name: str) -> str | None:
    """The name of the block list a module lives in (`layers`, `h`, …), as PEFT's layers_pattern."""
    match = _LAYER.search(name)
    if not match:
        return None
    return name[: match.start(1)].rstrip(".").rsplit(".", 1)[-1]


def module_parts(name: str) -> list[str]:
    """Name segments with PEFT wrappers and parameter suffixes removed."""
    return [p for p in name.split(".") if p not in _PEFT_PARTS]


def module_name(name: str) -> str:
    """The leaf module a tensor belongs to (`q_proj`, `c_attn`, …), as PEFT targets it."""
    parts = module_parts(name)
    while parts and parts[-1].isdigit():
        parts.pop()
    return parts[-1] if parts else name


def classify(name: str) -> Component:
    """Which component a tensor name belongs to."""
    parts = module_parts(name)
    leaf = module_name(name)
    lowered = [p.lower() for p in parts]
    if any("norm" in p or p.startswith("ln_") or p in ("ln", "ln_f") for p in lowered):
        return "norm"
    if leaf in _LM_HEAD_LEAVES and layer_index(name) is None:
        return "lm_head"
    if leaf in _EMBEDDING_LEAVES or any(p in ("embeddings", "embed") for p in lowered):
        return "embedding"
    if any(p in _ATTENTION_SCOPES for p in parts) or leaf in _ATTENTION_LEAVES:
        return "attention"
    if any(p in _MLP_SCOPES for p in parts) or leaf in _MLP_LEAVES:
        return "mlp"
    return "other"


_SHAPES: dict[str, tuple[Component, str]] = {}


def describe(name: str) -> tuple[Component, int | None, str]:
    """(component, layer index, module name) of a tensor, computed once per name shape.

    Every block repeats the same names with another index, so the classification is cached on
    the name with its block index cut out: inspect does the string work once per distinct
    module, not once per tensor, which keeps it near a bare header read on 100-layer models.
    """
    match = _LAYER.search(name)
    if match:
        layer: int | None = int(match.group(1))
        key = name[: match.start(1)] + name[match.end(1) :]
    else:
        layer, key = None, name
    found = _SHAPES.get(key)
    if found is None:
        if len(_SHAPES) > 65536:
            _SHAPES.clear()
        found = _SHAPES[key] = (classify(name), module_name(name))
    return found[0], layer, found[1]

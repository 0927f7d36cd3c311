"""Component and layer classification across naming schemes."""

from __future__ import annotations

import pytest

from tools.naming import classify, layer_index, module_name

CASES = [
    ("model.layers.3.self_attn.q_proj.weight", "attention", 3, "q_proj"),
    ("model.layers.0.self_attn.o_proj.weight", "attention", 0, "o_proj"),
    ("model.layers.1.mlp.down_proj.weight", "mlp", 1, "down_proj"),
    ("model.layers.1.input_layernorm.weight", "norm", 1, "input_layernorm"),
    ("model.embed_tokens.weight", "embedding", None, "embed_tokens"),
    ("model.norm.weight", "norm", None, "norm"),
    ("lm_head.weight", "lm_head", None, "lm_head"),
    ("transformer.h.11.attn.c_attn.weight", "attention", 11, "c_attn"),
    ("transformer.h.11.attn.c_proj.bias", "attention", 11, "c_proj"),
    ("transformer.h.2.mlp.c_proj.weight", "mlp", 2, "c_proj"),
    ("transformer.h.2.mlp.c_fc.weight", "mlp", 2, "c_fc"),
    ("transformer.h.0.ln_1.weight", "norm", 0, "ln_1"),
    ("transformer.ln_f.bias", "norm", None, "ln_f"),
    ("transformer.wte.weight", "embedding", None, "wte"),
    ("transformer.wpe.weight", "embedding", None, "wpe"),
    ("gpt_neox.layers.5.attention.query_key_value.weight", "attention", 5, "query_key_value"),
    ("gpt_neox.layers.5.attention.dense.weight", "attention", 5, "dense"),
    ("gpt_neox.layers.5.post_attention_layernorm.weight", "norm", 5, "post_attention_layernorm"),
    ("gpt_neox.layers.5.mlp.dense_h_to_4h.weight", "mlp", 5, "dense_h_to_4h"),
    ("gpt_neox.embed_in.weight", "embedding", None, "embed_in"),
    ("embed_out.weight", "lm_head", None, "embed_out"),
    ("model.layers.7.self_attn.qkv_proj.weight", "attention", 7, "qkv_proj"),
    ("model.layers.7.mlp.gate_up_proj.weight", "mlp", 7, "gate_up_proj"),
    ("base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight", "attention", 1, "v_proj"),
    ("base_model.model.transformer.h.0.attn.c_attn.lora_B.weight", "attention", 0, "c_attn"),
    ("base_model.model.model.layers.0.mlp.up_proj.lora_magnitude_vector", "mlp", 0, "up_proj"),
    ("model.layers.0.block_sparse_moe.experts.3.w1.weight", "mlp", 0, "w1"),
]


@pytest.mark.parametrize(("name", "component", "layer", "module"), CASES)
def test_tensor_names_map_to_component_layer_and_module(name, component, layer, module):
    assert classify(name) == component
    assert layer_index(name) == layer
    assert module_name(name) == module

"""The write's load-and-generate check meets a chat model through its chat template."""

from __future__ import annotations

import json
import shutil

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from tools.model_check import generate, prompt_ids


def _greedy(folder, ids, new_tokens=6):
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
    return tokenizer.decode(out[0, ids.shape[1] :])


def test_generate_uses_the_chat_template_with_the_assistant_turn_opened(tiny):
    folder = tiny("llama")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.chat_template
    ids, templated = prompt_ids(tokenizer, "Hello")
    expected = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hello"}], add_generation_prompt=True, tokenize=True, return_dict=True
    )["input_ids"]
    assert templated and ids[0].tolist() == list(expected)
    assert tokenizer.decode(ids[0]).endswith("<|im_start|>assistant\n")
    raw = tokenizer("Hello", return_tensors="pt")["input_ids"]
    assert ids.shape[1] > raw.shape[1]  # the check no longer feeds the bare word
    assert generate(str(folder), "Hello", new_tokens=6) == _greedy(folder, ids)


def test_generate_without_a_chat_template_feeds_the_raw_prompt(tiny, tmp_path):
    folder = tmp_path / "plain"
    shutil.copytree(tiny("llama"), folder)
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert not tokenizer.chat_template
    ids, templated = prompt_ids(tokenizer, "Hello")
    assert not templated and ids[0].tolist() == tokenizer("Hello")["input_ids"]
    assert generate(str(folder), "Hello", new_tokens=6) == _greedy(folder, ids)

"""Checks that need the whole model in memory, run in a child process by `write`.

`mean_loss` (also called in-process by the write stage's worker) measures held-out loss so the
person sees whether the pipeline helped. `generate`: load the written folder with AutoModelForCausalLM and
AutoTokenizer and generate a few tokens from a prompt put through the chat template when the
tokenizer has one. Run as `python -m tools.model_check MODE JSON`.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _texts(rows: list[dict[str, Any]], tokenizer: Any) -> list[str]:
    texts = []
    for row in rows:
        if "messages" in row and tokenizer.chat_template:
            texts.append(tokenizer.apply_chat_template(row["messages"], tokenize=False))
        elif "prompt" in row and ("completion" in row or "chosen" in row):
            texts.append(str(row["prompt"]) + " " + str(row.get("completion", row.get("chosen"))))
        elif "text" in row:
            texts.append(str(row["text"]))
    return texts


def mean_loss(model_path: str, rows: list[dict[str, Any]], max_length: int = 512) -> float | None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32).eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for text in _texts(rows, tokenizer):
            ids = tokenizer(text, return_tensors="pt", truncation=True, max_length=max_length)["input_ids"]
            if ids.shape[1] < 2:
                continue
            loss = model(input_ids=ids, labels=ids).loss
            total += float(loss) * (ids.shape[1] - 1)
            count += ids.shape[1] - 1
    return total / count if count else None


def prompt_ids(tokenizer: Any, prompt: str) -> tuple[Any, bool]:
    """The prompt as the model will meet it: through its chat template (with the assistant turn opened)
    when the tokenizer has one, since a chat model fed raw text says little about the written weights.
    Returns (input ids, whether the template was used)."""
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        # The template writes its own special tokens (bos included); adding them again would double them.
        return tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"], True
    return tokenizer(prompt, return_tensors="pt")["input_ids"], False


def generate(model_path: str, prompt: str = "Hello", new_tokens: int = 8) -> str:
    """Load the written folder as a user would and greedily generate `new_tokens` tokens."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path).eval()
    ids, _ = prompt_ids(tokenizer, prompt)
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
        )
    if out.shape[1] <= ids.shape[1]:
        raise RuntimeError("the model generated nothing")
    return tokenizer.decode(out[0, ids.shape[1] :])


def main(argv: list[str]) -> int:
    from transformers.utils import logging as hf_logging

    from tools.stage_entry import exit_on_sigterm, watch_parent

    watch_parent()  # no orphaned check keeps running after Graft or its stage is killed
    exit_on_sigterm()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    mode, payload = argv[0], json.loads(argv[1])
    if mode == "eval":
        result = {name: mean_loss(path, payload["rows"]) for name, path in payload["models"].items()}
    elif mode == "generate":
        result = {"text": generate(payload["model"])}
    else:
        raise SystemExit(f"unknown mode {mode}")
    print("GRAFT_RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

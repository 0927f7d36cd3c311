"""Score a model on each training stage's held-out rows, each dataset in its own format.

A training stage keeps the rows it held out (`heldout.jsonl`) and says what they are
(`heldout.json`: the method and the layout). At the final write, base and final models are
scored per stage, never pooled: SFT rows by the loss on their completions, preference pairs by
how much more likely the chosen answer is than the rejected one, KTO rows by the likelihood of
the thumbs-up and thumbs-down completions. Conversational rows go through the tokenizer's chat
template, as the trainers saw them; nothing is scored as the Python text of a message list.

The numbers are reference-free (plain log-probabilities), so base and final compare directly:
`margin` is the mean over pairs of (mean log-prob per token of chosen − of rejected), and
`accuracy` the share of pairs where chosen is the more likely.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

META_NAME = "heldout.json"
ROWS_NAME = "heldout.jsonl"


def write_meta(folder: Path, method: str, layout: str, rows: int) -> None:
    """Record what a stage's held-out rows are, next to them (inside the stage's atomic folder)."""
    (folder / META_NAME).write_text(json.dumps({"method": method, "layout": layout, "rows": rows}), encoding="utf-8")


def _is_chat(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(m, dict) and "role" in m for m in value)


def split_row(tokenizer: Any, prompt: Any, completion: Any) -> tuple[list[int], list[int]]:
    """(prompt ids, completion ids) the way TRL's trainers build them.

    Conversational: the prompt through the chat template with the assistant turn opened, the
    completion as the rest of the templated conversation. Plain text: the prompt with the
    tokenizer's special tokens, the completion without them and closed by eos.
    """
    if _is_chat(prompt) or _is_chat(completion):
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError("conversational rows need a chat template, and this tokenizer has none")
        prompt_msgs = prompt if _is_chat(prompt) else [{"role": "user", "content": str(prompt)}]
        completion_msgs = completion if _is_chat(completion) else [{"role": "assistant", "content": str(completion)}]
        head = tokenizer.apply_chat_template(prompt_msgs, tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template(prompt_msgs + completion_msgs, tokenize=False)
        if not full.startswith(head):  # a template that rewrites earlier turns: score the whole reply span
            head = tokenizer.apply_chat_template(prompt_msgs, tokenize=False)
        tail = full[len(head) :] if full.startswith(head) else full
        return (
            tokenizer(head, add_special_tokens=False)["input_ids"],
            tokenizer(tail, add_special_tokens=False)["input_ids"],
        )
    ids = tokenizer(str(prompt))["input_ids"]
    done = tokenizer(str(completion), add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        done = [*done, tokenizer.eos_token_id]
    return ids, done


def _completion_logps(model: Any, prompt: list[int], completion: list[int], max_length: int) -> list[float]:
    """Log-probability of each completion token given everything before it."""
    import torch

    completion = completion[: max(1, max_length - 1)]
    prompt = prompt[-max(1, max_length - len(completion)) :]  # keep the end of a long prompt
    ids = torch.tensor([prompt + completion])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, :-1].float()
    logps = torch.log_softmax(logits, dim=-1)
    targets = ids[0, 1:]
    picked = logps.gather(1, targets[:, None])[:, 0]
    return picked[len(prompt) - 1 :].tolist()


def score_rows(model: Any, tokenizer: Any, method: str, rows: list[dict[str, Any]], max_length: int = 512) -> dict:
    """The held-out numbers of one stage's rows under `model`, in the stage's own terms."""
    if method == "sft":
        total, count = 0.0, 0
        for row in rows:
            if "messages" in row:  # every reply, given the conversation before it: what the stage trained on
                messages = row["messages"]
                scored = []
                for cut in (i for i, m in enumerate(messages) if m.get("role") == "assistant" and i > 0):
                    split = split_row(tokenizer, messages[:cut], [messages[cut]])
                    scored += _completion_logps(model, *split, max_length)
            elif "prompt" in row and "completion" in row:
                scored = _completion_logps(model, *split_row(tokenizer, row["prompt"], row["completion"]), max_length)
            else:  # plain text: every token after the first is the "completion"
                ids = tokenizer(str(row.get("text", "")))["input_ids"][:max_length]
                if len(ids) < 2:
                    continue
                scored = _completion_logps(model, ids[:1], ids[1:], max_length)
            total -= sum(scored)
            count += len(scored)
        return {"loss": total / count if count else float("nan"), "tokens": count}
    if method == "kto" and rows and "label" in rows[0]:
        sides: dict[bool, list[float]] = {True: [], False: []}
        for row in rows:
            scored = _completion_logps(model, *split_row(tokenizer, row["prompt"], row["completion"]), max_length)
            sides[bool(row["label"])].append(sum(scored) / max(1, len(scored)))
        mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")  # noqa: E731
        return {
            "logp/desirable": mean(sides[True]),
            "logp/undesirable": mean(sides[False]),
            "margin": mean(sides[True]) - mean(sides[False]),
            "rows": len(rows),
        }
    margins = []
    for row in rows:
        chosen = _completion_logps(model, *split_row(tokenizer, row["prompt"], row["chosen"]), max_length)
        rejected = _completion_logps(model, *split_row(tokenizer, row["prompt"], row["rejected"]), max_length)
        margins.append(sum(chosen) / max(1, len(chosen)) - sum(rejected) / max(1, len(rejected)))
    return {
        "margin": sum(margins) / len(margins) if margins else float("nan"),
        "accuracy": sum(m > 0 for m in margins) / len(margins) if margins else float("nan"),
        "pairs": len(margins),
    }


def score_files(model_path: str, files: list[str], max_rows: int = 64, max_length: int = 512) -> dict[str, dict]:
    """{stage id: its held-out numbers} for the model at `model_path`, one entry per stage's held-out file.

    The stage id is the name of the folder the file sits in; a file without its `heldout.json`
    (written before this existed) is skipped rather than guessed at.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tools.datasets_io import load_rows

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32).eval()
    scores: dict[str, dict] = {}
    for file in files:
        path = Path(file)
        meta_path = path.with_name(META_NAME)
        if not path.is_file() or not meta_path.is_file():
            continue
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        rows = load_rows(path)[:max_rows]
        if rows:
            scores[path.parent.name] = {
                "method": meta["method"],
                **score_rows(model, tokenizer, meta["method"], rows, max_length),
            }
    return scores


def compare_files(final_model: str, base_model: str | None, files: list[str]) -> dict[str, dict]:
    """{stage id: {"method", "base": numbers, "final": numbers}}: each stage's held-out rows on base and final.

    What the final write records instead of one pooled loss: one entry per training stage, in the
    stage's own terms, so an SFT stage's completion loss and a DPO stage's preference margin are
    never averaged together.
    """
    final = score_files(final_model, files)
    base = score_files(base_model, files) if base_model else {}
    return {
        stage: {"method": numbers["method"], "base": base.get(stage), "final": numbers}
        for stage, numbers in final.items()
    }


def describe_comparison(comparison: dict[str, dict]) -> list[str]:
    """One line per stage for people: 'sft (sft): completion loss 4.42 → 0.90', 'dpo (dpo): margin …'."""
    lines = []
    for stage, entry in comparison.items():
        base, final = entry.get("base") or {}, entry["final"]
        # Per token over every reply, in fp32: not the trainer's eval loss (a mean over batches, in the
        # training dtype) that the stage's own line reports, so the label says which it is.
        keys = [("loss", "completion loss per token")] if entry["method"] == "sft" else []
        # Not TRL's rewards/margins (β-scaled, against a reference): chosen minus rejected mean log-prob per token.
        keys += (
            [("margin", "log-prob margin per token (no reference)"), ("accuracy", "accuracy")]
            if "accuracy" in final
            else []
        )
        keys += [("logp/desirable", "desirable log-prob"), ("logp/undesirable", "undesirable log-prob")]
        parts = [
            f"{label} {base[k]:.4g} → {final[k]:.4g}" if k in base else f"{label} {final[k]:.4g}"
            for k, label in keys
            if k in final
        ]
        lines.append(f"{stage} ({entry['method']}): " + ", ".join(parts))
    return lines

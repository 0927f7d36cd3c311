"""Small SFT and preference datasets written locally, for tests and the demo."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tools.tiny import corpus

_QUESTIONS = [
    "What does the model do?",
    "Tell me about the cat.",
    "Что делает учитель?",
    "Where is the river?",
    "Кто читает книгу?",
    "What is the plan?",
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def sft_rows(n: int = 48, seed: int = 0) -> list[dict]:
    """Chat rows whose answers are short sentences from the tokenizer's corpus."""
    rng = random.Random(seed)
    lines = corpus(seed + 1, n)
    return [
        {"messages": [{"role": "user", "content": rng.choice(_QUESTIONS)}, {"role": "assistant", "content": line}]}
        for line in lines
    ]


def dpo_rows(n: int = 32, seed: int = 0) -> list[dict]:
    """Preference rows: the chosen answer is short, the rejected one rambles."""
    rng = random.Random(seed)
    lines = corpus(seed + 2, n * 3)
    rows = []
    for i in range(n):
        short = lines[3 * i]
        long = " ".join(lines[3 * i + 1 : 3 * i + 3]) + " " + lines[3 * i]
        rows.append({"prompt": rng.choice(_QUESTIONS), "chosen": short, "rejected": long})
    return rows


def kto_rows(n: int = 32, seed: int = 0) -> list[dict]:
    """Unpaired thumbs-up/down rows (KTO): short answers are desirable, rambling ones are not."""
    rows = []
    for pair in dpo_rows((n + 1) // 2, seed):
        rows.append({"prompt": pair["prompt"], "completion": pair["chosen"], "label": True})
        if len(rows) < n:
            rows.append({"prompt": pair["prompt"], "completion": pair["rejected"], "label": False})
    return rows[:n]


def chat_preference_rows(n: int = 32, seed: int = 0) -> list[dict]:
    """Conversational preference rows (TRL's conversational format: lists of messages)."""
    return [
        {
            "prompt": [{"role": "user", "content": row["prompt"]}],
            "chosen": [{"role": "assistant", "content": row["chosen"]}],
            "rejected": [{"role": "assistant", "content": row["rejected"]}],
        }
        for row in dpo_rows(n, seed)
    ]

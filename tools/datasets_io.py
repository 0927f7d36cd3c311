"""Load the person's dataset files and check they fit the training method.

JSONL/JSON are read directly (no `datasets` cache or network involved); Parquet and CSV go
through `datasets`' local loaders. Column requirements are TRL's: SFT takes `messages`,
`prompt`/`completion` or `text`; DPO, ORPO and SimPO take `prompt`/`chosen`/`rejected`; KTO
takes unpaired `prompt`/`completion`/`label` (label true for thumbs up, false for thumbs down),
or paired rows, which TRL's KTOTrainer unpairs itself.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tools.errors import GraftError

SFT_FORMATS = (("messages",), ("prompt", "completion"), ("text",))
DPO_COLUMNS = ("prompt", "chosen", "rejected")
KTO_COLUMNS = ("prompt", "completion", "label")


def load_rows(path: str | Path) -> list[dict[str, Any]]:
    """All rows of a local dataset file, as dicts."""
    path = Path(path)
    if not path.is_file():
        raise GraftError(f"dataset {path} does not exist.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            rows = []
            with open(path, encoding="utf-8") as handle:
                for number, line in enumerate(handle, 1):
                    if line.strip():
                        try:
                            rows.append(json.loads(line))
                        except json.JSONDecodeError as exc:
                            raise GraftError(f"dataset {path} line {number} is not JSON: {exc.msg}.") from None
        elif suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = data if isinstance(data, list) else data.get("data", data.get("rows"))
        elif suffix in (".parquet", ".csv"):
            from datasets import load_dataset

            rows = list(load_dataset(suffix[1:], data_files=str(path), split="train"))
        else:
            raise GraftError(f"dataset {path} has an unknown format; use .jsonl, .json, .parquet or .csv.")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GraftError(f"cannot read dataset {path}: {exc}.") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise GraftError(f"dataset {path} must be a list of records (objects).")
    return rows


def sft_format(rows: list[dict[str, Any]], path: str | Path) -> str:
    """Which SFT layout the rows use; refuse when none fits."""
    if not rows:
        raise GraftError(f"dataset {path} has no rows.")
    keys = set(rows[0])
    for columns in SFT_FORMATS:
        if set(columns) <= keys:
            missing = [i for i, r in enumerate(rows) if not set(columns) <= set(r)]
            if missing:
                raise GraftError(f"dataset {path} row {missing[0] + 1} lacks {', '.join(columns)}.")
            check_value_types(rows, columns, path)
            return "+".join(columns)
    raise GraftError(
        f"dataset {path} has columns {', '.join(sorted(keys))}; SFT needs 'messages', "
        "'prompt' and 'completion', or 'text'."
    )


def check_dpo(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Paired preference rows: prompt, chosen and rejected in every row."""
    check_preference(rows, path, "dpo")


def preference_format(rows: list[dict[str, Any]], path: str | Path, method: str) -> str:
    """'paired' or 'unpaired' (KTO's prompt/completion/label): which layout the rows use for `method`."""
    if not rows:
        raise GraftError(f"dataset {path} has no rows.")
    name = method.upper() if method != "simpo" else "SimPO"
    keys = set(rows[0])
    if method == "kto" and set(KTO_COLUMNS) <= keys:
        for i, row in enumerate(rows):
            missing = [c for c in KTO_COLUMNS if c not in row]
            if missing:
                raise GraftError(
                    f"dataset {path} row {i + 1} lacks {', '.join(missing)}; KTO needs prompt, completion and label."
                )
            if not isinstance(row["label"], bool):
                raise GraftError(
                    f"dataset {path} row {i + 1} has label {row['label']!r}; KTO needs true (thumbs up) or false (thumbs down)."
                )
        labels = {row["label"] for row in rows}
        if len(labels) < 2:
            side = "thumbs-up" if True in labels else "thumbs-down"
            raise GraftError(f"dataset {path} has only {side} rows; KTO needs both desirable and undesirable examples.")
        check_value_types(rows, ("prompt", "completion"), path)
        return "unpaired"
    for i, row in enumerate(rows):
        missing = [c for c in DPO_COLUMNS if c not in row]
        if missing:
            needs = (
                "prompt/completion/label (thumbs up/down) or prompt/chosen/rejected"
                if method == "kto"
                else "prompt, chosen and rejected"
            )
            raise GraftError(f"dataset {path} row {i + 1} lacks {', '.join(missing)}; {name} needs {needs}.")
    check_value_types(rows, DPO_COLUMNS, path)
    return "paired"


def _is_messages(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in value
    )


def check_value_types(rows: list[dict[str, Any]], columns: tuple[str, ...] | list[str], path: str | Path) -> None:
    """Every value a trainer reads is text, or a list of {role, content} messages: refuse a number,
    a null or a nested object by row and column before it reaches the tokenizer."""
    for i, row in enumerate(rows):
        for column in columns:
            value = row.get(column)
            if column == "messages":
                ok = _is_messages(value) and bool(value)
            else:
                ok = isinstance(value, str) or _is_messages(value)
            if not ok:
                shape = "a list of {role, content} messages" if column == "messages" else "text or a list of messages"
                raise GraftError(
                    f"dataset {path} row {i + 1} column {column!r} is {type(value).__name__}; it must be {shape}."
                )


def check_preference(rows: list[dict[str, Any]], path: str | Path, method: str) -> str:
    """Refuse rows that lack the columns `method` needs; return the layout ('paired'/'unpaired')."""
    return preference_format(rows, path, method)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def split_holdout(rows: list[dict[str, Any]], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, held-out) with a deterministic shuffle; at least one row each when fraction > 0."""
    import random

    if fraction <= 0 or len(rows) < 2:
        return rows, []
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_eval = max(1, round(len(rows) * fraction))
    held = set(order[:n_eval])
    return [r for i, r in enumerate(rows) if i not in held], [r for i, r in enumerate(rows) if i in held]

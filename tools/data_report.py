"""`graft data`: what a dataset is before a stage trains on it.

The file is read by `datasets` (JSON array or JSON Lines whatever the extension, Parquet, CSV,
Arrow, or a `save_to_disk` folder), its layout is named (messages, ShareGPT conversations,
Alpaca, prompt/completion, text, paired preferences with explicit or implicit prompt, unpaired
KTO), and with `--model` every row is rendered the way TRL renders it (`maybe_convert_to_chatml`,
`extract_prompt`, `apply_chat_template` under the model's own chat template) and counted in that
model's tokens: min/median/p95/max and how many rows exceed `max_length`. A dataset no stage can
use is refused with the column it lacks and the formats accepted.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from tools.datasets_io import (
    ACCEPTED,
    DATA_SUFFIXES,
    FORMATS,
    detect_format,
    normalise_row,
    normalise_rows,
    read_dataset,
)
from tools.errors import GraftError

# One reader, one format table and one normaliser, shared with every stage (tools/datasets_io.py):
# what `graft data` names is what a stage trains on.
__all__ = ["ACCEPTED", "DATA_SUFFIXES", "FORMATS", "DataReport", "DataReportArgs", "TokenStats", "data_report"]


class DataReportArgs(BaseModel):
    """Arguments of `data_report`."""

    path: str = Field(description="A .jsonl/.json/.parquet/.csv/.arrow file or a datasets.save_to_disk folder.")
    model: str | None = Field(None, description="Model folder whose tokenizer and chat template count the tokens.")
    max_length: int = Field(1024, ge=1, description="Rows longer than this many tokens are counted.")


class TokenStats(BaseModel):
    """Token lengths of the rendered rows under one model's tokenizer."""

    min: int
    median: float
    p95: int
    max: int
    mean: float
    over_max_length: int


class DataReport(BaseModel):
    """What `graft data` found; the same model is the `--json` output."""

    path: str
    source: str = Field(description="How it was read: json, parquet, csv, arrow or save_to_disk.")
    format: str
    conversational: bool
    columns: list[str]
    rows: int
    usable_by: list[str]
    model: str | None = None
    max_length: int
    tokens: TokenStats | None = None
    longest_row: int | None = Field(None, description="1-based number of the longest row.")
    notes: list[str] = Field(default_factory=list)


def load_table(path: str | Path) -> tuple[list[dict[str, Any]], str]:
    """Every row of a local dataset as dicts, read by `datasets`, and how it was read."""
    return read_dataset(path)


def _token_lengths(rows: list[dict[str, Any]], fmt: str, model: str) -> list[int]:
    """Tokens per row as the trainer sees it: conversational rows through the model's chat template
    (TRL's `apply_chat_template`), plain text as is; a preference row counts its longer answer."""
    from transformers import AutoTokenizer
    from trl.data_utils import apply_chat_template, is_conversational

    if not Path(model).exists():
        raise GraftError(f"model {model} does not exist.")
    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
    except (OSError, ValueError) as exc:
        raise GraftError(f"cannot load a tokenizer from {model}: {str(exc).splitlines()[0]}") from None

    def count(text: str, special: bool) -> int:
        return len(tokenizer(text, add_special_tokens=special)["input_ids"])

    lengths = []
    for row in rows:
        example = normalise_row(row, fmt)
        conversational = is_conversational(example)
        if conversational:
            if not tokenizer.chat_template:
                raise GraftError(
                    f"{model} has no chat template, and these rows are conversations; a chat template is needed."
                )
            example = apply_chat_template(example, tokenizer)
        special = not conversational  # a rendered template already holds its special tokens
        if "text" in example:
            lengths.append(count(example["text"], special))
        elif "chosen" in example:
            prompt = example.get("prompt", "")
            lengths.append(
                max(count(prompt + example["chosen"], special), count(prompt + example["rejected"], special))
            )
        elif "completion" in example:
            lengths.append(count(example["prompt"] + example["completion"], special))
        else:
            lengths.append(count(str(example.get("prompt", "")), special))
    return lengths


def _stats(lengths: list[int], max_length: int) -> TokenStats:
    ordered = sorted(lengths)
    n = len(ordered)
    middle = n // 2
    median = float(ordered[middle]) if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return TokenStats(
        min=ordered[0],
        median=median,
        p95=ordered[max(0, math.ceil(0.95 * n) - 1)],  # nearest rank
        max=ordered[-1],
        mean=round(sum(ordered) / n, 2),
        over_max_length=sum(1 for x in ordered if x > max_length),
    )


def data_report(args: DataReportArgs) -> DataReport:
    """Read, name and measure a dataset; raise GraftError when no stage could train on it."""
    rows, source = read_dataset(args.path)
    if not rows:
        raise GraftError(f"dataset {args.path} has no rows.")
    columns = list(dict.fromkeys(k for row in rows for k in row))
    fmt, needed, methods = detect_format(columns, args.path)
    normalise_rows(rows, args.path)  # the stages' checks too: a preference row left without a prompt is refused
    from trl.data_utils import is_conversational

    first = normalise_row(rows[0], fmt)
    notes: list[str] = []
    extra = [c for c in columns if c not in needed and not (fmt == "alpaca" and c == "input")]
    if extra:
        notes.append(f"columns not read by any stage: {', '.join(extra)}.")
    report = DataReport(
        path=args.path,
        source=source,
        format=fmt,
        conversational=is_conversational(first),
        columns=columns,
        rows=len(rows),
        usable_by=list(methods),
        model=args.model,
        max_length=args.max_length,
        notes=notes,
    )
    if args.model:
        lengths = _token_lengths(rows, fmt, args.model)
        report.tokens = _stats(lengths, args.max_length)
        report.longest_row = lengths.index(max(lengths)) + 1
        if report.tokens.over_max_length:
            report.notes.append(
                f"{report.tokens.over_max_length} of {len(rows)} rows are longer than max_length "
                f"{args.max_length} and would be truncated."
            )
    else:
        report.notes.append("pass --model PATH to count tokens under that model's tokenizer and chat template.")
    return report

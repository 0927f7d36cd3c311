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
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from tools.errors import GraftError

# (name, columns that identify it, methods that accept it), in the order they are recognised.
FORMATS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("preference", ("prompt", "chosen", "rejected"), ("dpo", "orpo", "simpo", "kto")),
    ("preference-implicit-prompt", ("chosen", "rejected"), ("dpo", "orpo", "simpo", "kto")),
    ("unpaired-kto", ("prompt", "completion", "label"), ("kto",)),
    ("messages", ("messages",), ("sft",)),
    ("sharegpt", ("conversations",), ("sft",)),
    ("alpaca", ("instruction", "output"), ("sft",)),
    ("prompt-completion", ("prompt", "completion"), ("sft",)),
    ("text", ("text",), ("sft",)),
)
ACCEPTED = (
    "messages; conversations (ShareGPT, from/value or role/content); instruction/input/output (Alpaca); "
    "prompt/completion; text; prompt/chosen/rejected or chosen/rejected with the prompt inside (preference); "
    "prompt/completion/label (unpaired KTO)"
)
DATA_SUFFIXES = {
    ".jsonl": "json",
    ".json": "json",
    ".ndjson": "json",
    ".parquet": "parquet",
    ".csv": "csv",
    ".arrow": "arrow",
}
_SHAREGPT_ROLES = {"human": "user", "gpt": "assistant", "system": "system", "user": "user", "assistant": "assistant"}


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
    import datasets
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()
    path = Path(path)
    if not path.exists():
        raise GraftError(f"dataset {path} does not exist.")
    with tempfile.TemporaryDirectory(prefix="graft-data-") as cache:
        try:
            if path.is_dir():
                if any((path / n).is_file() for n in ("dataset_info.json", "state.json", "dataset_dict.json")):
                    loaded = datasets.load_from_disk(str(path))
                    if isinstance(loaded, datasets.DatasetDict):
                        split = "train" if "train" in loaded else next(iter(loaded), None)
                        if split is None:
                            raise GraftError(f"dataset {path} is a save_to_disk folder with no splits.")
                        loaded = loaded[split]
                    return loaded.to_list(), "save_to_disk"
                files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)
                builders = {DATA_SUFFIXES[p.suffix.lower()] for p in files}
                if len(builders) != 1:
                    raise GraftError(
                        f"{path} is a folder with {'no' if not builders else 'mixed'} data files; name one file, "
                        "or a datasets.save_to_disk folder."
                    )
                builder = builders.pop()
                data_files = [str(p) for p in files]
            else:
                builder = DATA_SUFFIXES.get(path.suffix.lower())
                if builder is None:
                    raise GraftError(
                        f"dataset {path} has an unknown format; use .jsonl, .json, .parquet, .csv, .arrow "
                        "or a datasets.save_to_disk folder."
                    )
                data_files = [str(path)]
            table = datasets.load_dataset(builder, data_files=data_files, split="train", cache_dir=cache)
            return table.to_list(), builder
        except GraftError:
            raise
        except Exception as exc:  # datasets/pyarrow name the parse error; the person needs the file and why
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise GraftError(f"cannot read dataset {path} as {path.suffix or 'a folder'}: {reason}") from None


def detect_format(columns: list[str], path: str | Path) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The first layout whose columns are all present; else refuse naming the nearest layout's missing column."""
    have = set(columns)
    for name, needed, methods in FORMATS:
        if set(needed) <= have:
            return name, needed, methods
    nearest = max(FORMATS, key=lambda f: (len(set(f[1]) & have), -len(f[1])))
    overlap = set(nearest[1]) & have
    if overlap:
        missing = [c for c in nearest[1] if c not in have]
        lacks = f"it has {', '.join(sorted(overlap))} but lacks {', '.join(repr(c) for c in missing)}"
    else:
        lacks = "it has none of the columns a stage reads"
    shown = ", ".join(columns) if columns else "no columns"
    raise GraftError(f"dataset {path} has {shown}; {lacks}. Accepted formats: {ACCEPTED}.")


def _sharegpt_row(row: dict[str, Any]) -> dict[str, Any]:
    """ShareGPT to chat messages through TRL (from/value → role/content), with ShareGPT's role names."""
    from trl.data_utils import maybe_convert_to_chatml

    converted = maybe_convert_to_chatml({"conversations": row["conversations"]})
    for message in converted["messages"]:
        message["role"] = _SHAREGPT_ROLES.get(str(message.get("role")), message.get("role"))
    return converted


def _drop_nulls(value: Any) -> Any:
    """Messages without the null keys `datasets` adds when rows differ (one row's `name` becomes every row's)."""
    if isinstance(value, list):
        return [{k: v for k, v in m.items() if v is not None} if isinstance(m, dict) else m for m in value]
    return value


def normalise(row: dict[str, Any], fmt: str) -> dict[str, Any]:
    """A row in the shape TRL's trainers read (messages, prompt/completion, prompt/chosen/rejected, text)."""
    row = {k: _drop_nulls(v) for k, v in row.items()}
    if fmt == "sharegpt":
        return _sharegpt_row(row)
    if fmt == "alpaca":
        instruction = str(row["instruction"])
        extra = row.get("input")
        prompt = f"{instruction}\n\n{extra}" if extra else instruction
        return {
            "prompt": [{"role": "user", "content": prompt}],
            "completion": [{"role": "assistant", "content": str(row["output"])}],
        }
    if fmt == "preference-implicit-prompt":
        from trl.data_utils import extract_prompt

        return extract_prompt({"chosen": row["chosen"], "rejected": row["rejected"]})
    keys = {
        "preference": ("prompt", "chosen", "rejected"),
        "unpaired-kto": ("prompt", "completion"),
        "messages": ("messages",),
        "prompt-completion": ("prompt", "completion"),
        "text": ("text",),
    }[fmt]
    return {k: row[k] for k in keys}


def _check_values(rows: list[dict[str, Any]], columns: tuple[str, ...], path: str | Path) -> None:
    for i, row in enumerate(rows):
        for column in columns:
            value = row.get(column)
            if value is None or value == "" or value == []:
                raise GraftError(f"dataset {path} row {i + 1} has no value in column {column!r}.")
            if column == "label" and not isinstance(value, bool):
                raise GraftError(
                    f"dataset {path} row {i + 1} has label {value!r}; KTO needs true (thumbs up) or false (thumbs down)."
                )
            if column != "label" and not isinstance(value, str | list):
                raise GraftError(
                    f"dataset {path} row {i + 1} column {column!r} is {type(value).__name__}; "
                    "it must be text or a list of messages."
                )


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
        example = normalise(row, fmt)
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
    rows, source = load_table(args.path)
    if not rows:
        raise GraftError(f"dataset {args.path} has no rows.")
    columns = list(dict.fromkeys(k for row in rows for k in row))
    fmt, needed, methods = detect_format(columns, args.path)
    _check_values(rows, needed, args.path)
    from trl.data_utils import is_conversational

    first = normalise(rows[0], fmt)
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

"""Read a person's dataset in any common format and hand each stage rows in the shape TRL takes.

One reader and one normaliser serve every path that touches data (`graft data`, the SFT and
preference stages, the validator, both planners, the run cache's row counts), so what `graft data`
names is exactly what a stage trains on.

Reading is `datasets`' own: JSON Lines or one JSON array whatever the extension (`.jsonl`,
`.json`, `.ndjson`), Parquet, CSV, Arrow, a folder of such files, or a `save_to_disk` folder
(`Dataset` or `DatasetDict`, whose `train` split is used). Nothing is cached outside a temporary
folder and nothing is fetched.

Normalising uses TRL's own data utilities, so nothing TRL does is written twice:
- `messages`, `prompt`/`completion`, `text`, `prompt`/`chosen`/`rejected` and KTO's unpaired
  `prompt`/`completion`/`label` are already TRL's formats and pass through (only the columns a
  trainer reads are kept);
- ShareGPT `conversations` become `messages` through `trl.data_utils.maybe_convert_to_chatml`
  (from/value → role/content). TRL keeps ShareGPT's role *names*, which chat templates do not
  know, so `human` → user and `gpt` → assistant as LLaMA-Factory's SharegptDatasetConverter and
  Axolotl map them; an unknown role is refused by row;
- Alpaca `instruction`/`input`/`output` becomes a *conversational* prompt/completion row: the user
  turn is the instruction and, when `input` is not empty, the input, joined by one newline
  (LLaMA-Factory's AlpacaDatasetConverter: `"\\n".join` of the non-empty parts, as a user turn),
  and the output is the assistant turn. Conversational, so the model's own chat template renders
  it and TRL's completion-only loss trains the output alone. (Axolotl's `alpaca` type instead
  wraps the parts in the Stanford "### Instruction: / ### Input: / ### Response:" text, a template
  of its own; a chat model is better served by its chat template.)
- preference rows whose prompt is inside `chosen`/`rejected` (or whose `prompt` is text while the
  answers are conversations) get their prompt through `trl.data_utils.maybe_extract_prompt`.

Which methods take which layout is TRL's: SFT takes messages, prompt/completion or text; DPO, ORPO
and SimPO take paired preferences; KTO takes unpaired prompt/completion/label (label true for
thumbs up) or paired rows, which TRL's KTOTrainer unpairs itself. A dataset a stage cannot use is
refused with the column it lacks and the formats accepted; a malformed row by its number.
"""

from __future__ import annotations

import glob
import hashlib
import sys
from pathlib import Path
from typing import Any

from tools.errors import GraftError

# agent/export.py embeds the source of these names in the standalone script it writes
# (`portable_source()`: `inspect.getsource` for each function, `repr` for each constant), so the
# script reads and splits data exactly as Graft does. They therefore use nothing of Graft but
# GraftError (the script defines its own), nothing at module level but each other, and import
# the standard library and `datasets`/`trl` inside their bodies.
PORTABLE = (
    "DATA_SUFFIXES",
    "FORMATS",
    "ACCEPTED",
    "METHOD_NEEDS",
    "SHAREGPT_ROLES",
    "is_dataset_folder",
    "read_dataset",
    "detect_format",
    "check_rows",
    "normalise_row",
    "normalise_rows",
    "training_layout",
    "split_holdout",
    "_message_problem",
    "_drop_nulls",
    "_not_json",
)

DATA_SUFFIXES = {
    ".jsonl": "json",
    ".json": "json",
    ".ndjson": "json",
    ".parquet": "parquet",
    ".csv": "csv",
    ".arrow": "arrow",
}
_PREFERENCE_METHODS = ("dpo", "orpo", "simpo", "kto")
# (name, columns that identify it, methods that accept it, how a person would call it), in the
# order they are recognised: the first whose columns are all present names the file.
FORMATS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str], ...] = (
    ("preference", ("prompt", "chosen", "rejected"), _PREFERENCE_METHODS, "prompt/chosen/rejected preference pairs"),
    (
        "preference-implicit-prompt",
        ("chosen", "rejected"),
        _PREFERENCE_METHODS,
        "chosen/rejected preference pairs with the prompt inside",
    ),
    ("unpaired-kto", ("prompt", "completion", "label"), ("kto",), "unpaired prompt/completion/label (KTO) feedback"),
    ("messages", ("messages",), ("sft",), "chat messages"),
    ("sharegpt", ("conversations",), ("sft",), "ShareGPT conversations"),
    ("alpaca", ("instruction", "output"), ("sft",), "Alpaca instruction/output"),
    ("prompt-completion", ("prompt", "completion"), ("sft",), "prompt/completion"),
    ("text", ("text",), ("sft",), "plain text"),
)
ACCEPTED = (
    "messages; conversations (ShareGPT, from/value or role/content); instruction/input/output (Alpaca); "
    "prompt/completion; text; prompt/chosen/rejected or chosen/rejected with the prompt inside (preference); "
    "prompt/completion/label (unpaired KTO)"
)
METHOD_NEEDS = {
    "sft": "messages, conversations (ShareGPT), instruction/output (Alpaca), prompt/completion or text",
    "dpo": "prompt, chosen and rejected (or chosen and rejected with the prompt inside)",
    "orpo": "prompt, chosen and rejected (or chosen and rejected with the prompt inside)",
    "simpo": "prompt, chosen and rejected (or chosen and rejected with the prompt inside)",
    "kto": "prompt/completion/label (thumbs up/down) or prompt/chosen/rejected",
}
# ShareGPT's role names (and the chat ones, which ShareGPT files also use) → chat roles.
SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
    "tool": "tool",
}


def _not_json(path: Path) -> str | None:
    """Where a JSON/JSON Lines file stops being JSON ("line 3 is not JSON: …"), for a refusal by row."""
    import json

    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return f"is not JSON at line {exc.lineno}: {exc.msg}"
        bad = next((i for i, r in enumerate(data) if not isinstance(r, dict)), None) if isinstance(data, list) else 0
        return None if bad is None else f"item {bad + 1} is not a record (an object)"
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            return f"line {number} is not JSON: {exc.msg}"
        if not isinstance(value, dict):
            return f"line {number} is not a record (an object)"
    return None


def is_dataset_folder(path: str | Path) -> bool:
    """Whether a folder is a `datasets` save_to_disk folder (a Dataset or a DatasetDict)."""
    path = Path(path)
    return path.is_dir() and any((path / n).is_file() for n in ("dataset_info.json", "state.json", "dataset_dict.json"))


def read_dataset(path: str | Path) -> tuple[list[dict[str, Any]], str]:
    """Every row of a local dataset as dicts, read by `datasets`, and how it was read
    (json, parquet, csv, arrow or save_to_disk)."""
    import tempfile

    import datasets
    from datasets.utils import logging as ds_logging

    ds_logging.disable_progress_bar()
    # Local files only: `load_dataset` otherwise sends a download-count request to the Hub for every
    # file it reads (a DNS lookup that can hang for seconds on a machine without network).
    datasets.config.HF_HUB_OFFLINE = True
    datasets.config.HF_UPDATE_DOWNLOAD_COUNTS = False
    path = Path(path)
    if not path.exists():
        raise GraftError(f"dataset {path} does not exist.")
    if path.is_file() and path.stat().st_size < 64 and path.read_bytes().strip() in (b"", b"[]"):
        raise GraftError(f"dataset {path} has no rows.")
    verbosity = ds_logging.get_verbosity()
    ds_logging.set_verbosity(ds_logging.CRITICAL)  # its own "Failed to load JSON" lines: the refusal says it
    builder = "save_to_disk"
    try:
        with tempfile.TemporaryDirectory(prefix="graft-data-") as cache:
            if path.is_dir():
                if is_dataset_folder(path):
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
                data_files = [glob.escape(str(p)) for p in files]
            else:
                builder = DATA_SUFFIXES.get(path.suffix.lower(), "")
                if not builder:
                    raise GraftError(
                        f"dataset {path} has an unknown format; use .jsonl, .json, .parquet, .csv, .arrow "
                        "or a datasets.save_to_disk folder."
                    )
                data_files = [glob.escape(str(path))]  # "a[1].jsonl" is a file, not a glob pattern
            table = datasets.load_dataset(builder, data_files=data_files, split="train", cache_dir=cache)
            wrapper = table.column_names[0] if builder == "json" and len(table.column_names) == 1 else None
            if wrapper in ("data", "rows", "train") and len(table) == 1 and isinstance(table[0][wrapper], list):
                # {"data": [...]}: the rows sit under one key, as many exports write them
                table = datasets.load_dataset(
                    builder, data_files=data_files, field=wrapper, split="train", cache_dir=cache
                )
            return table.to_list(), builder
    except GraftError:
        raise
    except Exception as exc:  # datasets/pyarrow name the parse error; the person needs the file, the row and why
        if builder == "json":
            for file in [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file()):
                where = _not_json(file) if file.suffix.lower() in DATA_SUFFIXES else None
                if where:
                    raise GraftError(f"dataset {file} {where}.") from None
        if isinstance(exc, StopIteration) or "corresponds to no data" in str(exc):
            raise GraftError(f"dataset {path} has no rows.") from None
        cause = exc.__cause__ or exc
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        raise GraftError(f"cannot read dataset {path} as {path.suffix or 'a folder'}: {reason}.") from None
    finally:
        ds_logging.set_verbosity(verbosity)


def detect_format(
    columns: list[str], path: str | Path, method: str | None = None
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(format name, its columns, methods that take it): the first layout whose columns are all
    present; refused naming the nearest layout's missing column when none is, or when `method`
    cannot train on the one found."""
    have = set(columns)
    found = next((f for f in FORMATS if set(f[1]) <= have), None)
    if found is not None and (method is None or method in found[2]):
        return found[0], found[1], found[2]
    candidates = [f for f in FORMATS if method is None or method in f[2]]
    nearest = max(candidates, key=lambda f: (len(set(f[1]) & have), -len(f[1])))
    missing = [c for c in nearest[1] if c not in have]
    overlap = set(nearest[1]) & have
    shown = ", ".join(columns) if columns else "no columns"
    if method is None:
        lacks = (
            f"it has {', '.join(sorted(overlap))} but lacks {', '.join(repr(c) for c in missing)}"
            if overlap
            else "it has none of the columns a stage reads"
        )
        raise GraftError(f"dataset {path} has {shown}; {lacks}. Accepted formats: {ACCEPTED}.")
    name = {"simpo": "SimPO"}.get(method, method.upper())
    what = f"{shown} ({found[3]}, which {name} does not train on)" if found else shown
    lacks = (
        f"it lacks {', '.join(repr(c) for c in missing)}"
        if missing
        else f"the {found[3] if found else 'layout'} rows are for {', '.join(found[2]) if found else 'another method'}"
    )
    raise GraftError(
        f"dataset {path} has {what}; {name} needs {METHOD_NEEDS.get(method, method)}, and {lacks}. "
        f"Accepted formats: {ACCEPTED}."
    )


def _drop_nulls(value: Any) -> Any:
    """Messages without the null keys `datasets` adds when rows differ (one row's `name` becomes every row's)."""
    if isinstance(value, list):
        return [{k: v for k, v in m.items() if v is not None} if isinstance(m, dict) else m for m in value]
    return value


def _message_problem(messages: list[Any], sharegpt: bool) -> str | None:
    """What is wrong with a list of chat messages (None when nothing): each a {role, content} with
    text content; in ShareGPT, from/value and a role ShareGPT names."""
    for number, message in enumerate(messages, 1):
        if not isinstance(message, dict):
            return f"message {number} is {type(message).__name__}, not a {{role, content}} object"
        message = {k: v for k, v in message.items() if v is not None}
        role = message.get("from", message.get("role")) if sharegpt else message.get("role")
        content = message.get("value", message.get("content")) if sharegpt else message.get("content")
        keys = "from/value or role/content" if sharegpt else "role and content"
        if role is None or content is None:
            return f"message {number} lacks {'a role' if role is None else 'its content'} (it needs {keys})"
        if not isinstance(role, str):
            return f"message {number} has role {role!r}; a role is text"
        if sharegpt and role not in SHAREGPT_ROLES:
            return f"message {number} has role {role!r}; ShareGPT roles are {', '.join(SHAREGPT_ROLES)}"
        if not isinstance(content, str):
            return f"message {number} content is {type(content).__name__}; it must be text"
    return None


def check_rows(rows: list[dict[str, Any]], fmt: str, needed: tuple[str, ...], path: str | Path) -> None:
    """Refuse the first malformed row by number: a missing or empty value, a label that is not
    true/false, a number or object where text or messages belong, a message without text."""
    for i, row in enumerate(rows):
        for column in (*needed, "input") if fmt == "alpaca" else needed:
            value = row.get(column)
            if column == "input":  # Alpaca's input is optional
                if value is not None and not isinstance(value, str):
                    raise GraftError(
                        f"dataset {path} row {i + 1} column 'input' is {type(value).__name__}; it must be text."
                    )
                continue
            if value is None or value == "" or value == []:
                present = {k for k, v in row.items() if v not in (None, "", [])}
                other = next((f[0] for f in FORMATS if f[0] != fmt and set(f[1]) <= present), None)
                if other is not None:  # datasets unions the columns of every row: one layout per file
                    raise GraftError(
                        f"dataset {path} row {i + 1} is {other} while the file reads as {fmt}; "
                        "one file holds one layout (split it into one file per layout)."
                    )
                raise GraftError(f"dataset {path} row {i + 1} has no value in column {column!r}.")
            if column == "label":
                if not isinstance(value, bool):
                    raise GraftError(
                        f"dataset {path} row {i + 1} has label {value!r}; KTO needs true (thumbs up) or false "
                        "(thumbs down)."
                    )
                continue
            if column in ("messages", "conversations") and not isinstance(value, list):
                raise GraftError(
                    f"dataset {path} row {i + 1} column {column!r} is {type(value).__name__}; "
                    "it must be a list of messages."
                )
            if isinstance(value, list):
                problem = _message_problem(value, column == "conversations")
                if problem:
                    raise GraftError(f"dataset {path} row {i + 1} column {column!r}: {problem}.")
            elif not isinstance(value, str):
                raise GraftError(
                    f"dataset {path} row {i + 1} column {column!r} is {type(value).__name__}; "
                    "it must be text or a list of messages."
                )


def normalise_row(row: dict[str, Any], fmt: str) -> dict[str, Any]:
    """One checked row in the shape TRL's trainers read: messages, prompt/completion,
    prompt/chosen/rejected, prompt/completion/label or text."""
    from trl.data_utils import maybe_convert_to_chatml, maybe_extract_prompt

    row = {k: _drop_nulls(v) for k, v in row.items()}
    if fmt == "sharegpt":
        converted = maybe_convert_to_chatml({"conversations": row["conversations"]})
        return {"messages": [{**m, "role": SHAREGPT_ROLES[m["role"]]} for m in converted["messages"]]}
    if fmt == "alpaca":  # LLaMA-Factory's convention: "\n".join(non-empty instruction, input) as the user turn
        user = "\n".join(part for part in (row["instruction"], row.get("input")) if part)
        return {
            "prompt": [{"role": "user", "content": user}],
            "completion": [{"role": "assistant", "content": row["output"]}],
        }
    if fmt in ("preference", "preference-implicit-prompt"):
        example = {k: row[k] for k in ("prompt", "chosen", "rejected") if k in row and row[k] is not None}
        return dict(maybe_extract_prompt(example))
    keys = {
        "unpaired-kto": ("prompt", "completion", "label"),
        "messages": ("messages",),
        "prompt-completion": ("prompt", "completion"),
        "text": ("text",),
    }[fmt]
    return {k: row[k] for k in keys}


def normalise_rows(
    rows: list[dict[str, Any]], path: str | Path, method: str | None = None
) -> tuple[list[dict[str, Any]], str]:
    """(rows as TRL takes them, in the file's order; the format's name), or GraftError when the
    rows are malformed or `method` ("sft", "dpo", "orpo", "simpo", "kto"; None: any) cannot use them."""
    if not rows:
        raise GraftError(f"dataset {path} has no rows.")
    columns = list(dict.fromkeys(k for row in rows for k in row))
    fmt, needed, _ = detect_format(columns, path, method)
    check_rows(rows, fmt, needed, path)
    out = [normalise_row(row, fmt) for row in rows]
    if fmt in ("preference", "preference-implicit-prompt"):
        for i, row in enumerate(out):
            if not row["prompt"] or not row["chosen"] or not row["rejected"]:
                empty = "prompt" if not row["prompt"] else "chosen" if not row["chosen"] else "rejected"
                raise GraftError(
                    f"dataset {path} row {i + 1}: after taking out the prompt both answers share, the {empty} "
                    "is empty; give chosen and rejected that differ after a common prompt, or a prompt column."
                )
    if fmt == "unpaired-kto" and method == "kto":
        labels = {row["label"] for row in out}
        if len(labels) < 2:
            side = "thumbs-up" if True in labels else "thumbs-down"
            raise GraftError(f"dataset {path} has only {side} rows; KTO needs both desirable and undesirable examples.")
    return out, fmt


def training_layout(rows: list[dict[str, Any]], fmt: str) -> str:
    """The layout a stage trains on: 'messages', 'prompt+completion' or 'text' for SFT;
    'paired' or 'unpaired' for preferences."""
    if fmt in ("preference", "preference-implicit-prompt"):
        return "paired"
    if fmt == "unpaired-kto":
        return "unpaired"
    first = rows[0] if rows else {}
    return "messages" if "messages" in first else "prompt+completion" if "completion" in first else "text"


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


# ---------------------------------------------------------------- Graft's own entry points


def portable_source() -> str:
    """The PORTABLE names as one self-contained block of Python (with a GraftError of its own),
    for a standalone script to read and split data exactly as Graft does."""
    import inspect

    module = sys.modules[__name__]
    parts = [
        "import glob\nfrom pathlib import Path\nfrom typing import Any\n",  # annotations evaluate at definition
        'class GraftError(Exception):\n    """A dataset the script cannot use: the message says why."""\n',
    ]
    for name in PORTABLE:
        value = getattr(module, name)
        parts.append(inspect.getsource(value) if callable(value) else f"{name} = {value!r}\n")
    return "\n\n".join(parts)


def load_rows(path: str | Path) -> list[dict[str, Any]]:
    """Every row of a dataset as it is in the file (through `datasets`), messages without null keys."""
    rows, _ = read_dataset(path)
    return [{k: _drop_nulls(v) for k, v in row.items()} for row in rows]


def training_rows(path: str | Path, method: str) -> tuple[list[dict[str, Any]], str, str]:
    """(rows as `method`'s TRL trainer takes them, in file order; the layout trained on; the file's
    format) — or GraftError with the column it lacks, the formats accepted, or the malformed row."""
    rows, _ = read_dataset(path)
    normal, fmt = normalise_rows(rows, path, method)
    return normal, training_layout(normal, fmt), fmt


def sft_format(rows: list[dict[str, Any]], path: str | Path) -> str:
    """The layout SFT trains on for these rows (as read): 'messages', 'prompt+completion' or 'text'."""
    normal, fmt = normalise_rows(rows, path, "sft")
    return training_layout(normal, fmt)


def check_preference(rows: list[dict[str, Any]], path: str | Path, method: str) -> str:
    """Refuse rows `method` cannot use; return the layout ('paired'/'unpaired')."""
    normal, fmt = normalise_rows(rows, path, method)
    return training_layout(normal, fmt)


def check_dpo(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Paired preference rows (explicit or implicit prompt) in every row."""
    check_preference(rows, path, "dpo")


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

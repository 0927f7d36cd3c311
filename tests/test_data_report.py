"""`graft data`: each common dataset format is read and named, token lengths match the model's own
chat template, and a dataset no stage can use is refused with the column it lacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.data_report import DataReportArgs, data_report
from tools.errors import GraftError

ROOT = Path(__file__).resolve().parents[1]

CHAT = [
    {"messages": [{"role": "user", "content": f"Say {w}."}, {"role": "assistant", "content": f"{w} " * (i + 1)}]}
    for i, w in enumerate(["hello", "yes", "the cat", "a short answer"])
]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _report(path: Path, **kw: object):  # type: ignore[no-untyped-def]
    return data_report(DataReportArgs(path=str(path), **kw))


def test_messages_token_lengths_equal_the_models_own_template(tiny, tmp_path):
    from transformers import AutoTokenizer

    model = tiny("llama")
    tok = AutoTokenizer.from_pretrained(model)
    expected = sorted(
        len(tok(tok.apply_chat_template(r["messages"], tokenize=False), add_special_tokens=False)["input_ids"])
        for r in CHAT
    )
    report = _report(_jsonl(tmp_path / "chat.jsonl", CHAT), model=str(model), max_length=expected[2])
    assert (report.format, report.source, report.rows, report.conversational) == ("messages", "json", 4, True)
    assert report.usable_by == ["sft"]
    assert (report.tokens.min, report.tokens.max) == (expected[0], expected[-1])
    assert report.tokens.median == (expected[1] + expected[2]) / 2
    assert report.tokens.p95 == expected[-1]
    assert report.tokens.over_max_length == 1
    assert report.longest_row == 4


def test_sharegpt_from_value_in_a_json_array(tiny, tmp_path):
    from transformers import AutoTokenizer

    rows = [
        {"conversations": [{"from": "human", "value": "Hi there."}, {"from": "gpt", "value": "Hello."}]},
        {"conversations": [{"from": "human", "value": "Read the lesson."}, {"from": "gpt", "value": "Done."}]},
    ]
    path = tmp_path / "share.json"
    path.write_text(json.dumps(rows))  # one JSON array, not lines
    report = _report(path, model=str(tiny("llama")))
    assert report.format == "sharegpt" and report.rows == 2 and report.conversational
    tok = AutoTokenizer.from_pretrained(tiny("llama"))
    messages = [{"role": "user", "content": "Hi there."}, {"role": "assistant", "content": "Hello."}]
    first = len(tok(tok.apply_chat_template(messages, tokenize=False), add_special_tokens=False)["input_ids"])
    assert report.tokens.min <= first <= report.tokens.max


def test_sharegpt_rows_mixing_from_value_and_role_content(tiny, tmp_path):
    rows = [
        {"conversations": [{"from": "human", "value": "Hi."}, {"from": "gpt", "value": "Hello."}]},
        {"conversations": [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "Hello."}]},
    ]
    report = _report(_jsonl(tmp_path / "mixed.jsonl", rows), model=str(tiny("llama")))
    assert report.format == "sharegpt" and report.tokens.min == report.tokens.max  # the same chat, rendered alike


@pytest.mark.parametrize(
    ("rows", "fmt", "usable"),
    [
        (
            [{"conversations": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}],
            "sharegpt",
            ["sft"],
        ),
        ([{"instruction": "Add.", "input": "2 and 2", "output": "4"}], "alpaca", ["sft"]),
        ([{"prompt": "The sky is", "completion": " blue."}], "prompt-completion", ["sft"]),
        ([{"prompt": "Q?", "chosen": "short", "rejected": "long long"}], "preference", ["dpo", "orpo", "simpo", "kto"]),
        (
            [
                {
                    "chosen": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}],
                    "rejected": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "No."}],
                }
            ],
            "preference-implicit-prompt",
            ["dpo", "orpo", "simpo", "kto"],
        ),
        (
            [{"prompt": "Q?", "completion": "A.", "label": True}, {"prompt": "Q?", "completion": "B", "label": False}],
            "unpaired-kto",
            ["kto"],
        ),
    ],
)
def test_each_format_is_named_and_measured(tiny, tmp_path, rows, fmt, usable):
    report = _report(_jsonl(tmp_path / "d.jsonl", rows), model=str(tiny("llama")))
    assert report.format == fmt and report.usable_by == usable and report.rows == len(rows)
    assert report.tokens is not None and report.tokens.min > 0


def test_parquet_csv_arrow_and_save_to_disk(tmp_path):
    import datasets

    table = datasets.Dataset.from_list([{"text": "The cat sees the plan."}, {"text": "Кошка спит."}])
    table.to_parquet(str(tmp_path / "d.parquet"))
    table.to_csv(str(tmp_path / "d.csv"), index=False)
    table.save_to_disk(str(tmp_path / "saved"))
    datasets.DatasetDict({"train": table}).save_to_disk(str(tmp_path / "saved_dict"))
    for name, source in (
        ("d.parquet", "parquet"),
        ("d.csv", "csv"),
        ("saved", "save_to_disk"),
        ("saved_dict", "save_to_disk"),
    ):
        report = _report(tmp_path / name)
        assert (report.format, report.source, report.rows) == ("text", source, 2), name
        assert report.tokens is None and any("--model" in n for n in report.notes)


def test_json_lines_saved_as_json_and_array_saved_as_jsonl(tmp_path):
    (tmp_path / "lines.json").write_text('{"text": "a"}\n{"text": "b"}\n')
    (tmp_path / "array.jsonl").write_text('[{"text": "a"}, {"text": "b"}, {"text": "c"}]')
    assert _report(tmp_path / "lines.json").rows == 2
    assert _report(tmp_path / "array.jsonl").rows == 3


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"prompt": "Q", "chosen": "A"}\n', "lacks 'rejected'"),
        ('{"instruction": "Do it."}\n', "lacks 'output'"),
        ('{"question": "Q", "answer": "A"}\n', "none of the columns"),
        ('{"text": "a"}\n{"text": null}\n', "row 2 has no value in column 'text'"),
        ('{"prompt": "Q", "completion": "A", "label": "yes"}\n', "KTO needs true"),
        ("not json at all\n", "line 1 is not JSON"),
        ('{"text": "a"}\n{"text": "b"\n', "line 2 is not JSON"),
    ],
)
def test_refusals_name_the_missing_column_and_accepted_formats(tmp_path, content, fragment):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(GraftError) as info:
        _report(path)
    assert fragment in str(info.value)
    if "lacks" in fragment or "none of" in fragment:
        assert "Accepted formats: messages" in str(info.value)


def test_unknown_suffix_and_missing_path_are_refused(tmp_path):
    (tmp_path / "d.txt").write_text("hello")
    with pytest.raises(GraftError, match="unknown format"):
        _report(tmp_path / "d.txt")
    with pytest.raises(GraftError, match="does not exist"):
        _report(tmp_path / "nope.jsonl")


def _graft(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True, env=env, timeout=300, cwd=ROOT
    )


def test_command_line_json_text_and_refusal(tiny, tmp_path):
    path = _jsonl(tmp_path / "chat.jsonl", CHAT)
    proc = _graft("data", str(path), "--model", str(tiny("llama")), "--max-length", "4", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["format"] == "messages" and data["tokens"]["over_max_length"] == 4
    assert proc.stderr == ""  # no progress bars or warnings without -v
    text = _graft("data", str(path))
    assert text.returncode == 0 and "messages (conversational)" in text.stdout and "4 rows" in text.stdout
    bad = _jsonl(tmp_path / "bad.jsonl", [{"prompt": "Q", "chosen": "A"}])
    refused = _graft("data", str(bad))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    lines = [line for line in refused.stderr.splitlines() if line.startswith("graft:")]
    assert len(lines) == 1 and "lacks 'rejected'" in lines[0]

"""The command-line edge: exit statuses, one-sentence errors, inert rendering of hostile text."""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from tests.conftest import write_raw_safetensors

HOSTILE = "[bold red]PWNED[/] \x1b[2J\x1b]0;title\x07 end"


def graft(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def assert_refused(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("graft:")]
    assert len(lines) == 1 and fragment in lines[0], proc.stderr


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    cases = {}
    (tmp / "short.safetensors").write_bytes(b"\x00\x01")
    cases["truncated"] = (tmp / "short.safetensors", "truncated")
    cases["long header"] = (
        write_raw_safetensors(tmp / "long.safetensors", b"{}", length=10_000),
        "truncated or corrupt",
    )
    (tmp / "huge.safetensors").write_bytes(struct.pack("<Q", 2**60) + b"{}")
    cases["absurd header"] = (tmp / "huge.safetensors", "allows at most")
    cases["not json"] = (write_raw_safetensors(tmp / "nj.safetensors", b"\xff\xfe garbage"), "not JSON")
    header = {"w": {"dtype": "F32", "shape": [100], "data_offsets": [0, 400]}}
    cases["outside"] = (write_raw_safetensors(tmp / "out.safetensors", header, b"\0" * 8), "outside the file")
    (tmp / "readme.txt").write_text("hi")
    cases["not a checkpoint"] = (tmp / "readme.txt", "not a checkpoint")
    cases["missing"] = (tmp / "nope", "does not exist")
    escape = tmp / "escape"
    escape.mkdir()
    save_file({"a": torch.zeros(1)}, escape / "model-00001-of-00001.safetensors")
    (escape / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": "../../etc/passwd"}}))
    cases["index escape"] = (escape, "outside the checkpoint folder")
    return cases


def test_every_bad_input_gets_one_sentence_and_exit_2(tmp_path):
    for label, (path, fragment) in _bad_files(tmp_path).items():
        proc = graft("inspect", str(path))
        assert_refused(proc, fragment)
        assert proc.stdout == "", label


def test_convert_refuses_code_and_runs_none(tmp_path):
    marker = tmp_path / "marker"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (tmp_path / "evil.bin").write_bytes(pickle.dumps({"w": Evil()}))
    proc = graft("convert", str(tmp_path / "evil.bin"), str(tmp_path / "out.safetensors"))
    assert_refused(proc, "refusing to convert")
    assert not marker.exists() and not (tmp_path / "out.safetensors").exists()


def test_hostile_metadata_is_inert_in_text_and_verbatim_in_json(tmp_path):
    path = tmp_path / "m.safetensors"
    save_file(
        {"model.layers.0.mlp.up_proj.weight": torch.zeros(2, 2)}, path, metadata={"format": "pt", "note": HOSTILE}
    )
    text = graft("inspect", str(path))
    assert text.returncode == 0, text.stderr
    assert "\x1b" not in text.stdout and "\x07" not in text.stdout
    assert "[bold red]PWNED[/]" in text.stdout  # markup shown literally, not applied
    assert "\\x1b[2J" in text.stdout  # escape code made visible
    data = json.loads(graft("inspect", str(path), "--json").stdout)
    assert data["metadata"]["note"] == HOSTILE
    assert data["components"]["mlp"] == 4 and data["layers"]["0"]["mlp"] == 4


def test_json_output_has_the_contract_fields(tiny):
    data = json.loads(graft("inspect", str(tiny("llama")), "--json").stdout)
    for key in (
        "kind",
        "format",
        "architecture",
        "total_params",
        "num_layers",
        "dtypes",
        "components",
        "layers",
        "adapter",
        "metadata",
        "shards",
    ):
        assert key in data
    assert data["kind"] == "model" and data["format"] == "safetensors" and data["num_layers"] == 2


def test_diff_and_convert_commands(tiny, tmp_path):
    diff = graft("diff", str(tiny("llama")), str(tiny("gpt2")), "--json")
    assert diff.returncode == 0 and json.loads(diff.stdout)["identical"] is False
    torch.save({"w": torch.ones(3)}, tmp_path / "w.pt")
    ok = graft("convert", str(tmp_path / "w.pt"), str(tmp_path / "w.safetensors"))
    assert ok.returncode == 0 and (tmp_path / "w.safetensors").is_file()
    again = graft("convert", str(tmp_path / "w.pt"), str(tmp_path / "w.safetensors"))
    assert_refused(again, "already exists")


def test_usage_errors_exit_2(tmp_path):
    assert_refused(graft("inspect"), "required")
    assert_refused(graft("frobnicate"), "invalid choice")


@pytest.mark.parametrize("argv", [["--help"], ["inspect", "--help"], ["data", "--help"], ["--version"]])
def test_help_imports_no_heavy_library(argv):
    code = (
        "import sys; from tui import cli\n"
        f"try: cli.main({argv!r})\nexcept SystemExit: pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'langgraph', 'openai', 'textual') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


def test_every_argument_has_help_and_short_flags_parse():
    import argparse

    from tui.cli import build_parser

    missing = []

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, child in action.choices.items():
                    walk(child, f"{name} {sub}")
            elif not isinstance(action, argparse._HelpAction | argparse._VersionAction) and not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")

    parser = build_parser()
    walk(parser, "graft")
    assert missing == []
    assert parser.parse_args(["run", "p.yaml", "-y"]).yes is True
    assert parser.parse_args(["run", "p.yaml", "-v"]).verbose is True
    assert parser.parse_args(["-v", "run", "p.yaml"]).verbose is True
    assert parser.parse_args(["run", "p.yaml"]).verbose is False
    version = graft("--version")
    assert version.returncode == 0 and version.stdout.startswith("graft ")


def test_progress_without_a_terminal_is_plain_lines_at_an_interval():
    import io

    from rich.console import Console

    from tui.run_cli import LineProgress, progress_view

    out = io.StringIO()
    console = Console(file=out, width=120)
    assert not console.is_terminal and isinstance(progress_view(console), LineProgress)
    view = LineProgress(console, interval=3600)
    for step in range(1, 101):
        view({"stage": "sft", "kind": "progress", "step": step, "total": 100, "loss": 1.0 / step})
    view({"stage": "sft", "kind": "stage_done", "message": "done", "result": {}})
    lines = out.getvalue().splitlines()
    assert len(lines) == 3, lines  # the first step, the last, and done: not one line per step
    assert lines[0].startswith("[sft] step 1/100 · loss 1.0000")
    assert lines[1].startswith("[sft] step 100/100 · loss 0.0100")
    assert lines[2].startswith("[sft] done")
    out.truncate(0)
    out.seek(0)
    every = LineProgress(console, interval=0)
    for step in range(1, 4):
        every({"stage": "dpo", "kind": "progress", "step": step, "total": 3})
    assert len(out.getvalue().splitlines()) == 3 and "\x1b" not in out.getvalue()
    out.truncate(0)
    out.seek(0)
    # a trainer reports each step, then that step's loss: the last line shows the last step's own loss
    trained = LineProgress(console, interval=3600)
    for step, loss in ((1, 2.9), (2, 2.7), (3, 2.5), (4, 3.0)):
        trained({"stage": "sft", "kind": "progress", "step": step, "total": 4})
        trained({"stage": "sft", "kind": "progress", "step": step, "total": 4, "loss": loss})
    trained({"stage": "sft", "kind": "stage_done", "message": "done", "result": {}})
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("[sft] step 4/4 · loss 3.0000"), lines  # it showed 2.5000, step 3's loss
    out.truncate(0)
    out.seek(0)
    written = LineProgress(console, interval=3600)  # the final write counts tensors ("step 1/272" read as training)
    written({"stage": "write", "kind": "progress", "step": 1, "total": 272, "unit": "tensor"})
    assert out.getvalue().startswith("[write] tensor 1/272"), out.getvalue()


def test_convert_refuses_trainer_state_by_name(tmp_path):
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=1e-3)
    torch.save(optimizer.state_dict(), tmp_path / "optimizer.pt")
    proc = graft("convert", str(tmp_path / "optimizer.pt"), str(tmp_path / "out.safetensors"))
    assert_refused(proc, "not model weights")
    assert not (tmp_path / "out.safetensors").exists()


def test_data_said_twice_keeps_both_files(tiny, tmp_path):
    """`--data a --data b` is two datasets, as `--data a b` is (argparse's nargs alone kept only the last)."""
    from tools.tiny_data import dpo_rows, sft_rows, write_jsonl

    chat = write_jsonl(tmp_path / "chat.jsonl", sft_rows(8))
    prefs = write_jsonl(tmp_path / "prefs.jsonl", dpo_rows(8))
    for data in (["--data", str(chat), "--data", str(prefs)], ["--data", str(chat), str(prefs)]):
        proc = graft("plan", "SFT then DPO", "--model", str(tiny("llama")), *data, "--json", "--offline")
        assert proc.returncode == 0, proc.stderr
        stages = json.loads(proc.stdout)["stages"]
        assert [s.get("dataset") for s in stages if s["kind"] in ("sft", "preference")] == [str(chat), str(prefs)]

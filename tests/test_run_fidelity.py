"""Run fidelity: what was approved is what runs, is written and is recorded; the person's files are safe.

Each test drives the real command line (or the real graphs) on a tiny Llama, as a person would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.graft_cli import graft
from tools.tiny import TinyModelArgs, build_tiny_model
from tools.tiny_data import sft_rows, write_jsonl

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fidelity")
    model = root / "model"
    build_tiny_model(TinyModelArgs(architecture="llama", output=str(model)))
    return {
        "root": root,
        "model": model,
        "sft": write_jsonl(root / "data" / "sft.jsonl", sft_rows(16)),
        "home": root / "home",
    }


def sft_plan(ws: dict[str, Path], folder: Path, seed: int = 1, steps: int = 2, **write: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    plan = {
        "goal": "fidelity",
        "base_model": str(ws["model"]),
        "output": str(folder / "final"),
        "stages": [
            {
                "kind": "sft",
                "id": "sft",
                "dataset": str(ws["sft"]),
                "max_steps": steps,
                "batch_size": 4,
                "learning_rate": 5e-2,
                "r": 4,
                "alpha": 8,
                "seed": seed,
                "target_modules": ["q_proj", "v_proj"],
            },
            {"kind": "merge_adapter", "id": "merged"},
            {"kind": "write", "id": "write", "dtype": "float32", **write},
        ],
    }
    path = folder / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return path


def provenance(folder: Path) -> dict:
    from tools.inspect import InspectArgs, inspect_checkpoint

    return json.loads(inspect_checkpoint(InspectArgs(path=str(folder))).metadata["graft.provenance"])


def weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def peft_merged(base: Path, adapter: Path) -> dict:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    return PeftModel.from_pretrained(model, str(adapter)).merge_and_unload().state_dict()


def same_tensors(a: dict, b: dict) -> bool:
    import torch

    return set(a) <= set(b) and all(torch.equal(a[k].float(), b[k].float()) for k in a)


def test_retrained_upstream_reruns_everything_downstream(ws, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The blocker: a new seed retrains SFT; the merge must not be 'reused' with the old weights."""
    plan = sft_plan(ws, tmp_path, seed=1)
    first = graft("run", str(plan), "--yes", home=ws["home"])
    assert first.returncode == 0, first.stderr
    old = weights(tmp_path / "final")

    plan = sft_plan(ws, tmp_path, seed=2)
    second = graft("run", str(plan), "--yes", "--overwrite", home=ws["home"])
    assert second.returncode == 0, second.stderr
    stages = {s["id"]: s for s in provenance(tmp_path / "final")["stages"]}
    assert stages["sft"]["reused_from_previous_run"] is False
    assert stages["merged"]["reused_from_previous_run"] is False
    assert stages["sft"]["hyperparameters"]["seed"] == 2
    new = weights(tmp_path / "final")
    assert not same_tensors(new, old), "the final model is still the first run's"
    # ... and it is exactly the new adapter merged by PEFT.
    assert same_tensors(new, peft_merged(ws["model"], tmp_path / "plan.run" / "sft"))


def test_base_rewritten_in_place_reruns_every_stage(tmp_path) -> None:  # type: ignore[no-untyped-def]
    model = tmp_path / "model"
    build_tiny_model(TinyModelArgs(architecture="llama", output=str(model), seed=0))
    ws = {"model": model, "sft": write_jsonl(tmp_path / "sft.jsonl", sft_rows(8)), "home": tmp_path / "home"}
    plan = sft_plan(ws, tmp_path / "w")
    assert graft("run", str(plan), "--yes", home=ws["home"]).returncode == 0
    import shutil

    shutil.rmtree(model)  # same architecture and shapes, other weights: headers and sizes are identical
    build_tiny_model(TinyModelArgs(architecture="llama", output=str(model), seed=1))
    again = graft("run", str(plan), "--yes", "--overwrite", home=ws["home"])
    assert again.returncode == 0, again.stderr
    record = provenance(tmp_path / "w" / "final")
    assert not any(s["reused_from_previous_run"] for s in record["stages"])
    assert same_tensors(weights(tmp_path / "w" / "final"), peft_merged(model, tmp_path / "w" / "plan.run" / "sft"))


def test_unchanged_rerun_reuses_and_keeps_real_times_and_relative_paths(ws, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plan = sft_plan(ws, tmp_path)
    assert graft("run", str(plan), "--yes", home=ws["home"]).returncode == 0
    first = {s["id"]: s for s in provenance(tmp_path / "final")["stages"]}
    again = graft("run", str(plan), "--yes", "--overwrite", home=ws["home"])
    assert again.returncode == 0, again.stderr
    record = provenance(tmp_path / "final")
    stages = {s["id"]: s for s in record["stages"]}
    assert stages["sft"]["reused_from_previous_run"] is True, again.stdout
    assert stages["sft"]["seconds"] == pytest.approx(first["sft"]["seconds"], rel=0.05)
    assert stages["sft"]["seconds"] > 0.05
    text = json.dumps(record)
    assert str(tmp_path) not in text and str(ws["root"]) not in text, "absolute build paths in provenance"
    assert stages["sft"]["inputs"][0]["content"].startswith("xxh3_128")
    assert record["base_model"]["content"] == stages["sft"]["inputs"][0]["content"]


def test_overwrite_refuses_what_graft_did_not_write_before_any_stage(ws, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cases = {
        "the base model": str(ws["model"]),
        "the plan's folder": str(tmp_path),
        "the working folder": ".",
        "not written by Graft": str(tmp_path / "mine"),
    }
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for expected, output in cases.items():
        plan = sft_plan(ws, tmp_path, output=output)
        proc = graft("run", str(plan), "--yes", "--overwrite", home=ws["home"], cwd=elsewhere)
        assert proc.returncode == 2, (expected, proc.stderr)
        assert expected in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert not (tmp_path / "plan.run" / "sft.done.json").exists(), "a stage ran before the refusal"
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert (ws["model"] / "model.safetensors").is_file() and (tmp_path / "plan.yaml").is_file()


def test_existing_output_without_overwrite_is_refused_before_training(ws, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "final").mkdir()
    proc = graft("run", str(sft_plan(ws, tmp_path)), "--yes", home=ws["home"])
    assert proc.returncode == 2 and "--overwrite" in proc.stderr
    assert not (tmp_path / "plan.run" / "sft.done.json").exists()


def test_missing_parent_is_created_and_outputs_get_the_umask(ws, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out" / "nested" / "final"
    proc = graft("run", str(sft_plan(ws, tmp_path, output=str(out))), "--yes", home=ws["home"])
    assert proc.returncode == 0, proc.stderr
    assert (out / "model.safetensors").is_file()
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask
    assert (out / "model.safetensors").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_declined_write_is_retried_without_training(ws, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from agent.graph import build_graph, drive, initial_state, open_checkpointer
    from agent.plan import load_plan

    monkeypatch.setenv("GRAFT_HOME", str(tmp_path / "home"))
    plan = load_plan(sft_plan(ws, tmp_path))
    run_dir = tmp_path / "plan.run"

    def answers(write: bool):  # type: ignore[no-untyped-def]
        return lambda p: {"approved": True} if p["type"] == "approve_plan" else {"confirmed": write}

    first = drive(
        build_graph(open_checkpointer()),
        {"configurable": {"thread_id": "a"}},
        initial_state(plan, run_dir, tmp_path),
        answers(False),
        lambda e: None,
    )
    assert first["status"] == "cancelled" and not (tmp_path / "final").exists()
    marker = (run_dir / "sft.done.json").stat().st_mtime_ns
    second = drive(
        build_graph(open_checkpointer()),
        {"configurable": {"thread_id": "b"}},
        initial_state(plan, run_dir, tmp_path),
        answers(True),
        lambda e: None,
    )
    assert second["status"] == "done" and (tmp_path / "final" / "model.safetensors").is_file()
    assert (run_dir / "sft.done.json").stat().st_mtime_ns == marker
    assert all(r["reused_from_previous_run"] for r in second["records"])
    # the float32 fold the write cast from is not kept beside the output it equals (it doubled the disk a run used)
    assert not (run_dir / "write.fold").exists() and not (run_dir / "write.fold.done.json").exists()
    assert (run_dir / "sft").is_dir()  # the trained adapter stays for the next run to reuse


def test_second_plan_in_a_conversation_starts_from_its_base(ws, tmp_path, offline_home) -> None:  # type: ignore[no-untyped-def]
    from langgraph.types import Command

    from agent.conversation import build_conversation, message_input
    from agent.graph import open_checkpointer

    graph = build_conversation(open_checkpointer())
    config = {"configurable": {"thread_id": "two-plans"}}

    def step(value):  # type: ignore[no-untyped-def]
        pending = None
        for mode, chunk in graph.stream(value, config, stream_mode=["updates", "custom"]):
            if mode == "updates" and "__interrupt__" in chunk:
                pending = chunk["__interrupt__"][0].value
        return pending

    model, data = str(ws["model"]), [str(ws["sft"])]
    # The first plan's adapter is folded only into its own output: the run state keeps it pending.
    goal = f"LoRA on attention for 2 steps, then write it to {tmp_path / 'first'}"
    payload = step(message_input(goal, model=model, data=data, offline=True))
    assert [s["kind"] for s in payload["plan"]["stages"]] == ["sft", "write"]
    step(Command(resume={"approved": True}))
    step(Command(resume={"confirmed": True}))
    first = graph.get_state(config).values
    assert first["status"] == "done" and first["pending_adapters"]

    payload = step(message_input(f"LoRA for 2 steps, then write it to {tmp_path / 'final'}", model=model, data=data))
    assert payload["type"] == "approve_plan"
    fresh = graph.get_state(config).values
    assert fresh["pending_adapters"] == [] and fresh["current_model"] == model and fresh["records"] == []
    payload = step(Command(resume={"approved": True}))
    assert payload["type"] == "confirm_write" and payload["pending_adapters"] == [fresh["run_dir"] + "/sft"]
    step(Command(resume={"confirmed": True}))
    done = graph.get_state(config).values
    record = done["records"][0]
    assert record["input_model"] == os.path.relpath(model, Path.cwd())
    assert record["folded_adapters"] == []
    assert [s["id"] for s in provenance(tmp_path / "final")["stages"]] == ["sft", "write.fold"]
    # Only when the person says so does a plan start from an earlier result, and then it is the plan's base.
    payload = step(message_input(f"continue from the last result: LoRA for 2 steps, write to {tmp_path / 'third'}"))
    assert payload["plan"]["base_model"] == str(tmp_path / "final")
    assert "continuing from the last result" in graph.get_state(config).values["messages"][-1]["content"]


def test_ctrl_c_stops_the_stage_at_once_and_resume_keeps_finished_stages(ws, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path
    plan_path = sft_plan(ws, folder, steps=2)
    plan = yaml.safe_load(plan_path.read_text())
    plan["stages"].insert(2, {**plan["stages"][0], "id": "long", "max_steps": 5000, "input": "@merged"})
    plan["stages"].insert(3, {"kind": "merge_adapter", "id": "long-merged"})
    plan_path.write_text(yaml.safe_dump(plan, sort_keys=False))
    run = folder / "plan.run"
    env = {**os.environ, "GRAFT_HOME": str(ws["home"]), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "run", str(plan_path), "--yes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=ROOT,
    )
    deadline = time.time() + 240
    while not (run / "long.log").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline
        time.sleep(0.2)
    time.sleep(3.0)  # inside the trainer now
    sent = time.time()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert time.time() - sent < 20, "Ctrl-C waited for the stage to finish"
    assert proc.returncode == 130, (out[-2000:], err[-2000:])
    assert "cancelled" in out and "resumes" in out and "signal 15" not in out + err
    assert (run / "sft.done.json").exists() and not (run / "long.done.json").exists()
    time.sleep(1)
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline_has(p, str(run / "long.job.json"))]


def _cmdline_has(proc_dir: Path, text: str) -> bool:
    try:
        return text in (proc_dir / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def test_a_locked_run_folder_is_refused(ws, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import fcntl

    plan = sft_plan(ws, tmp_path)
    run = tmp_path / "plan.run"
    run.mkdir()
    with open(run / ".lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        proc = graft("run", str(plan), "--yes", home=ws["home"])
    assert proc.returncode == 2 and "in use by another Graft run" in proc.stderr
    assert not (run / "sft.done.json").exists()


def test_leftovers_of_a_killed_run_are_cleaned(ws, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plan = sft_plan(ws, tmp_path)
    stale = tmp_path / ".final.tmp-999999999-abc"  # a pid that cannot be alive
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"x" * 1024)
    run = tmp_path / "plan.run"
    (run / ".sft.tmp-xyz").mkdir(parents=True)
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="graft-sft-999999999-"))  # a killed trainer's scratch
    proc = graft("run", str(plan), "--yes", home=ws["home"])
    assert proc.returncode == 0, proc.stderr
    assert not stale.exists() and not (run / ".sft.tmp-xyz").exists() and not scratch.exists()


def test_corrupt_stage_marker_reruns_the_stage(ws, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plan = sft_plan(ws, tmp_path)
    assert graft("run", str(plan), "--yes", home=ws["home"]).returncode == 0
    (tmp_path / "plan.run" / "sft.done.json").write_text("{not json")
    proc = graft("run", str(plan), "--yes", "--overwrite", home=ws["home"])
    assert proc.returncode == 0, proc.stderr
    stages = {s["id"]: s for s in provenance(tmp_path / "final")["stages"]}
    assert stages["sft"]["reused_from_previous_run"] is False


def test_a_plan_stage_named_like_the_implicit_fold_does_not_collide(ws, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plan = yaml.safe_load(sft_plan(ws, tmp_path).read_text())
    plan["stages"] = [{**plan["stages"][0], "id": "write-fold"}, {"kind": "write", "id": "write"}]
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    proc = graft("run", str(path), "--yes", home=ws["home"])
    assert proc.returncode == 0, proc.stderr
    assert [s["id"] for s in provenance(tmp_path / "final")["stages"]] == ["write-fold", "write.fold"]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("corrupt_db", "graft.sqlite"),
        ("home_is_a_file", "data folder"),
        ("inf_in_plan", "stage 1 field learning_rate"),
        ("huge_plan", "a plan file is at most"),
        ("plan_is_a_fifo", "not a regular file"),
        ("wrong_column_type", "column 'messages' is str"),
        ("output_is_dot", "is the working folder"),
    ],
)
def test_bad_state_and_plans_get_one_sentence(ws, tmp_path, setup, expected) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    plan = sft_plan(ws, tmp_path / "p")
    if setup == "corrupt_db":
        home.mkdir()
        (home / "graft.sqlite").write_bytes(b"this is not a database" * 100)
    elif setup == "home_is_a_file":
        home.write_text("x")
    elif setup == "inf_in_plan":
        plan.write_text(plan.read_text().replace("learning_rate: 0.05", "learning_rate: .inf"))
    elif setup == "huge_plan":
        plan.write_text(plan.read_text() + "#" * (2 << 20))
    elif setup == "plan_is_a_fifo":
        plan.unlink()
        os.mkfifo(plan)
    elif setup == "wrong_column_type":
        bad = write_jsonl(tmp_path / "bad.jsonl", [{"messages": "hello"}] * 4)
        plan.write_text(plan.read_text().replace(str(ws["sft"]), str(bad)))
    elif setup == "output_is_dot":
        plan = sft_plan(ws, tmp_path / "p", output=".")
    proc = graft("run", str(plan), "--yes", home=home, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_inspect_refuses_a_fifo_and_a_deeply_nested_header(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import struct

    folder = tmp_path / "m"
    folder.mkdir()
    os.mkfifo(folder / "model.safetensors")
    proc = graft("inspect", str(folder), home=tmp_path / "home", timeout=30)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    nested = b"[" * 100_000 + b"]" * 100_000
    (tmp_path / "deep.safetensors").write_bytes(struct.pack("<Q", len(nested)) + nested)
    proc = graft("inspect", str(tmp_path / "deep.safetensors"), home=tmp_path / "home", timeout=30)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_ctrl_d_at_the_approval_prompt_is_a_no(ws, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pty

    plan = sft_plan(ws, tmp_path)
    master, slave = pty.openpty()
    env = {**os.environ, "GRAFT_HOME": str(ws["home"]), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "run", str(plan)],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    os.close(slave)
    time.sleep(0.5)
    os.write(master, b"\x04")  # Ctrl-D: end of input
    out, err = proc.communicate(timeout=120)
    os.close(master)
    assert proc.returncode == 2, (out[-1000:], err)
    assert "not approved" in err and "Traceback" not in err


def test_convert_overwrite_refuses_the_source_and_foreign_folders(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import torch

    source = tmp_path / "ckpt" / "pytorch_model.bin"
    source.parent.mkdir()
    torch.save({"w": torch.ones(2, 2)}, source)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("keep")
    for dest, expected in (
        (source.parent, "the source's folder"),
        (mine, "not written by Graft"),
        (Path("."), "working folder"),
    ):
        proc = graft("convert", str(source), str(dest), "--overwrite", home=tmp_path / "home", cwd=tmp_path)
        assert proc.returncode == 2 and expected in proc.stderr, proc.stderr
    assert (mine / "keep.txt").is_file() and source.is_file()
    out = tmp_path / "converted"
    assert graft("convert", str(source), str(out), home=tmp_path / "home").returncode == 0
    proc = graft("convert", str(source), str(out), "--overwrite", home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr  # Graft's own output may be replaced

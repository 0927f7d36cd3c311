"""The whole pipeline through `graft run`: every stage in its worker process, provenance, resume.

These run the real command line in a subprocess, as a person would, against tiny models.
"""

from __future__ import annotations

import json
import math
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
from tools.tiny_data import dpo_rows, sft_rows, write_jsonl

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _train(kind: str, dataset: Path, **extra: object) -> dict:
    return {
        "kind": kind,
        "dataset": str(dataset),
        "max_steps": 2,
        "batch_size": 4,
        "learning_rate": 5e-3,
        "r": 4,
        "alpha": 8,
        **extra,
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pipeline")
    model = root / "model"
    build_tiny_model(TinyModelArgs(architecture="llama", output=str(model)))
    return {
        "root": root,
        "model": model,
        "sft": write_jsonl(root / "data" / "sft.jsonl", sft_rows(24, seed=0)),
        "variant": write_jsonl(root / "data" / "variant.jsonl", sft_rows(24, seed=5)),
        "dpo": write_jsonl(root / "data" / "dpo.jsonl", dpo_rows(24, seed=0)),
        "home": root / "home",
    }


def write_plan(path: Path, plan: dict) -> Path:
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def full_run(workspace: dict[str, Path]) -> dict:
    """LoRA SFT → merge → DPO → merge → a second SFT variant → merge → TIES → write."""
    w = workspace
    plan = {
        "goal": "full pipeline test",
        "base_model": str(w["model"]),
        "output": str(w["root"] / "final"),
        "stages": [
            _train("sft", w["sft"], id="sft", target_modules=["q_proj", "v_proj"]),
            {"kind": "merge_adapter", "id": "sft-merged"},
            _train("dpo", w["dpo"], id="dpo", target_modules=["q_proj", "v_proj"], beta=0.1),
            {"kind": "merge_adapter", "id": "dpo-merged"},
            _train("sft", w["variant"], id="variant", input="@base", layers=[1]),
            {"kind": "merge_adapter", "id": "variant-merged"},
            {
                "kind": "merge_models",
                "id": "ties",
                "method": "ties",
                "models": ["@dpo-merged", "@variant-merged"],
                "weights": [0.7, 0.3],
                "density": 0.8,
            },
            {"kind": "write", "id": "write", "dtype": "bfloat16"},
        ],
    }
    path = write_plan(w["root"] / "plan.yaml", plan)
    started = time.perf_counter()
    proc = graft("run", str(path), "--yes", home=w["home"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"plan": plan, "path": path, "proc": proc, "seconds": time.perf_counter() - started}


def _provenance(folder: Path) -> dict:
    from tools.inspect import InspectArgs, inspect_checkpoint

    result = inspect_checkpoint(InspectArgs(path=str(folder)))
    return json.loads(result.metadata["graft.provenance"])


def test_every_stage_ran_and_provenance_reads_back(full_run, workspace) -> None:  # type: ignore[no-untyped-def]
    final = workspace["root"] / "final"
    assert (final / "model.safetensors").is_file() and (final / "README.md").is_file()
    provenance = _provenance(final)
    ids = [stage["id"] for stage in provenance["stages"]]
    assert ids == [s["id"] for s in full_run["plan"]["stages"] if s["kind"] != "write"]
    by_id = {stage["id"]: stage for stage in provenance["stages"]}
    for stage_id in ("sft", "dpo", "variant"):
        metrics = by_id[stage_id]["metrics"]
        assert math.isfinite(metrics["train_loss"])
        assert metrics["eval_loss_before"] is not None and metrics["eval_loss_after"] is not None
        dataset = by_id[stage_id]["dataset"]
        assert dataset["rows"] == 24 and dataset["content"].startswith("xxh3_128:")
        # Where and in what arithmetic it trained: bf16 on a GPU and fp32 on a CPU give different weights.
        import torch

        assert (by_id[stage_id]["device"], by_id[stage_id]["precision"]) == (
            ("cpu", "fp32") if not torch.cuda.is_available() else (by_id[stage_id]["device"], "bf16")
        )
    assert by_id["variant"]["layers"] == [1]
    assert by_id["sft"]["targets"] == ["q_proj", "v_proj"]
    assert by_id["dpo"]["hyperparameters"]["beta"] == 0.1
    assert provenance["base_model"]["architecture"] == "LlamaForCausalLM"
    assert {"torch", "transformers", "peft", "trl", "mergekit"} <= set(provenance["versions"])
    # The written model is scored per stage in that stage's own terms, never one pooled loss.
    heldout = provenance["final"]["heldout"]
    assert {k: v["method"] for k, v in heldout.items()} == {"sft": "sft", "dpo": "dpo", "variant": "sft"}
    assert math.isfinite(heldout["sft"]["base"]["loss"]) and math.isfinite(heldout["sft"]["final"]["loss"])
    assert 0 <= heldout["dpo"]["final"]["accuracy"] <= 1 and "eval_loss" not in provenance["final"]
    # `graft inspect` shows it to a person too.
    shown = graft("inspect", str(final), home=workspace["home"])
    assert shown.returncode == 0 and "provenance" in shown.stdout and "ties" in shown.stdout


def test_dpo_reference_was_the_merged_sft(full_run, workspace) -> None:  # type: ignore[no-untyped-def]
    dpo = _provenance(workspace["root"] / "final")["stages"][2]
    assert dpo["kind"] == "preference" and dpo["preference_method"] == "dpo"  # saved as `kind: dpo`, still loads
    assert dpo["heldout"]["after"]["rewards/accuracies"] >= 0 and "rewards/margins" in dpo["heldout"]["before"]
    assert Path(dpo["input_model"]).name == "sft-merged"
    assert dpo["metrics"]["eval_loss_before"] == pytest.approx(math.log(2), abs=1e-4)


def test_stages_changed_the_weights(full_run, workspace) -> None:  # type: ignore[no-untyped-def]
    run = workspace["root"] / "plan.run"
    model = str(workspace["model"])
    sft = graft("diff", model, str(run / "sft-merged"), "--json", home=workspace["home"])
    assert sft.returncode == 0, sft.stderr
    changed = {c["name"].split(".")[-2] for c in json.loads(sft.stdout)["changed"]}
    assert changed == {"q_proj", "v_proj"}
    variant = json.loads(graft("diff", model, str(run / "variant-merged"), "--json", home=workspace["home"]).stdout)
    assert {c["layer"] for c in variant["changed"]} == {1}


def test_output_loads_and_generates(full_run, workspace) -> None:  # type: ignore[no-untyped-def]
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    final = workspace["root"] / "final"
    model = AutoModelForCausalLM.from_pretrained(str(final))
    assert model.dtype == torch.bfloat16
    tokenizer = AutoTokenizer.from_pretrained(str(final))
    assert tokenizer.chat_template
    ids = tokenizer("hello", return_tensors="pt").input_ids
    out = model.generate(ids, max_new_tokens=3, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    assert out.shape[1] == ids.shape[1] + 3


def test_rerun_reuses_stages_and_refuses_to_overwrite(full_run, workspace) -> None:  # type: ignore[no-untyped-def]
    final = workspace["root"] / "final" / "model.safetensors"
    before = final.stat().st_mtime_ns
    proc = graft("run", str(full_run["path"]), "--yes", home=workspace["home"])
    assert proc.returncode == 2
    assert "exists" in proc.stderr and "--overwrite" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "reused" not in proc.stdout, "refused before any stage ran, not after"
    assert final.stat().st_mtime_ns == before
    again = graft("run", str(full_run["path"]), "--yes", "--overwrite", home=workspace["home"])
    assert again.returncode == 0, again.stderr  # Graft's own output may be replaced
    assert again.stdout.count("unchanged since the last run; reused") == len(full_run["plan"]["stages"]) - 1


def test_kill_9_mid_stage_then_resume(workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = workspace
    plan = {
        "goal": "resume test",
        "base_model": str(w["model"]),
        "output": str(tmp_path / "final"),
        "stages": [
            _train("sft", w["sft"], id="sft"),
            _train("dpo", w["dpo"], id="dpo", max_steps=40, batch_size=2),
            {"kind": "write", "id": "write"},
        ],
    }
    path = write_plan(tmp_path / "plan.yaml", plan)
    run = tmp_path / "plan.run"
    env = {**os.environ, "GRAFT_HOME": str(w["home"]), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "run", str(path), "--yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    deadline = time.time() + 240
    while not (run / "dpo.job.json").exists():
        assert proc.poll() is None, "graft ended before the dpo stage started"
        assert time.time() < deadline
        time.sleep(0.2)
    time.sleep(2.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (run / "dpo.done.json").exists()
    sft_marker = (run / "sft.done.json").stat().st_mtime_ns
    # The orphaned worker notices and exits, so it cannot keep writing into the stage folder.
    deadline = time.time() + 15
    while _workers_of(run / "dpo.job.json") and time.time() < deadline:
        time.sleep(0.2)
    assert not _workers_of(run / "dpo.job.json")

    again = graft("run", str(path), "--yes", home=w["home"])
    assert again.returncode == 0, again.stderr
    assert (run / "sft.done.json").stat().st_mtime_ns == sft_marker  # not run again
    assert (run / "dpo.done.json").exists()
    provenance = _provenance(tmp_path / "final")
    stages = {s["id"]: s for s in provenance["stages"]}
    assert stages["sft"]["reused_from_previous_run"] is True and stages["dpo"]["reused_from_previous_run"] is False
    # DPO after an unmerged SFT adapter: the adapter was folded first, so the reference is SFT's model.
    assert stages["dpo"]["metrics"]["eval_loss_before"] == pytest.approx(math.log(2), abs=1e-4)
    assert not list(tmp_path.glob(".final.*")), "no temporary output left behind"
    # DPO was trained on base + SFT adapter, so the written model must hold both: SFT is not lost.
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    reference = AutoModelForCausalLM.from_pretrained(str(w["model"]), dtype=torch.float32)
    for adapter in ("sft", "dpo"):
        reference = PeftModel.from_pretrained(reference, str(run / adapter)).merge_and_unload()
    expected = reference.state_dict()
    written = load_file(str(tmp_path / "final" / "model.safetensors"))
    worst = max((written[k].float() - expected[k].float()).abs().max().item() for k in written)
    assert worst < 1e-5, worst


def _workers_of(job_file: Path) -> list[int]:
    pids = []
    for proc_dir in Path("/proc").iterdir():
        if proc_dir.name.isdigit():
            try:
                cmdline = (proc_dir / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if str(job_file) in cmdline:
                pids.append(int(proc_dir.name))
    return pids


def test_no_terminal_and_no_yes_is_refused(workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plan = {
        "goal": "g",
        "base_model": str(workspace["model"]),
        "output": str(tmp_path / "out"),
        "stages": [_train("sft", workspace["sft"]), {"kind": "write"}],
    }
    proc = graft("run", str(write_plan(tmp_path / "p.yaml", plan)), home=workspace["home"])
    assert proc.returncode == 2
    assert "--yes" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "p.run").exists() and not (tmp_path / "out").exists()


def test_graft_plan_output_runs(workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`graft plan` on a model writes a plan that `graft run` executes as is."""
    w = workspace
    out = tmp_path / "planned-final"
    goal = f"LoRA on attention for 2 steps, merge the adapter, then DPO for 2 steps, write to {out}"
    made = graft(
        "plan",
        goal,
        "--model",
        str(w["model"]),
        "--data",
        str(w["sft"]),
        str(w["dpo"]),
        "-o",
        str(tmp_path / "p.yaml"),
        "--offline",
        home=w["home"],
    )
    assert made.returncode == 0, made.stderr
    ran = graft("run", str(tmp_path / "p.yaml"), "--yes", home=w["home"])
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert (out / "model.safetensors").is_file()


@pytest.mark.parametrize(
    ("goal", "extra", "expected"),
    [
        ("", [], "What should the model become"),
        ("fine-tune on nowhere/data.jsonl", [], "nowhere/data.jsonl does not exist"),
        ("LoRA on layers 5-6", ["--data", "@sft"], "layer 5 is out of range"),
        ("LoRA on c_fc", ["--data", "@sft"], "c_fc is not a module of LlamaForCausalLM"),
        ("DPO please", [], "Which dataset should the dpo stage"),
    ],
)
def test_graft_plan_refuses_with_one_line(workspace, goal, extra, expected) -> None:  # type: ignore[no-untyped-def]
    extra = [str(workspace["sft"]) if e == "@sft" else e for e in extra]
    proc = graft("plan", goal, "--model", str(workspace["model"]), *extra, "--offline", home=workspace["home"])
    assert proc.returncode == 2
    assert expected in proc.stderr and len(proc.stderr.strip().splitlines()) == 1

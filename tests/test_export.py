"""`graft export`: the standalone script runs the same pipeline on a tiny model without Graft."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agent.export import export_plan
from agent.plan import plan_from_data, plan_to_yaml
from tools.tiny_data import dpo_rows, sft_rows, write_jsonl

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def plan(tiny, tmp_path):  # type: ignore[no-untyped-def]
    sft = write_jsonl(tmp_path / "sft.jsonl", sft_rows(16))
    dpo = write_jsonl(tmp_path / "dpo.jsonl", dpo_rows(16))
    train = {"max_steps": 2, "batch_size": 4, "r": 4, "alpha": 8, "learning_rate": 1e-3}
    return plan_from_data(
        {
            "goal": "export test",
            "base_model": str(tiny("llama")),
            "output": str(tmp_path / "final"),
            "stages": [
                {"kind": "sft", "id": "sft", "dataset": str(sft), "target_modules": ["q_proj", "v_proj"], **train},
                {"kind": "merge_adapter", "id": "sft-merged"},
                {"kind": "dpo", "id": "dpo", "dataset": str(dpo), "layers": [1], **train},
                {"kind": "merge_adapter", "id": "dpo-merged"},
                {
                    "kind": "merge_models",
                    "id": "blend",
                    "method": "linear",
                    "models": ["@dpo-merged", "@base"],
                    "weights": [0.8, 0.2],
                },
                {"kind": "write", "id": "write", "dtype": "bfloat16"},
            ],
        }
    )


@pytest.mark.slow
def test_exported_script_runs_without_graft(plan, tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "pipeline.py"
    script.write_text(export_plan(plan, "script", name="pipeline.py", run_dir=str(tmp_path / "run")))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-I", str(script)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "import tools" not in script.read_text() and "from agent" not in script.read_text()
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(tmp_path / "final"))
    assert str(model.dtype) == "torch.bfloat16"
    assert (tmp_path / "run" / "blend" / "config.json").is_file()
    assert "== dpo (preference dpo)" in proc.stdout and "wrote" in proc.stdout


def test_mergekit_and_trl_exports(plan) -> None:  # type: ignore[no-untyped-def]
    docs = list(yaml.safe_load_all(export_plan(plan, "mergekit")))
    assert docs[0]["merge_method"] == "linear"
    assert [m["model"] for m in docs[0]["models"]] == ["@RUN/dpo-merged", "@BASE"]
    assert [m["parameters"]["weight"] for m in docs[0]["models"]] == [0.8, 0.2]
    trl = yaml.safe_load(export_plan(plan, "trl"))
    assert trl["sft"]["config"]["SFTConfig"]["max_steps"] == 2
    assert trl["sft"]["peft"]["LoraConfig"]["target_modules"] == ["q_proj", "v_proj"]
    assert trl["dpo"]["config"]["DPOConfig"]["beta"] == 0.1
    assert trl["dpo"]["method"] == "dpo" and trl["dpo"]["config"]["DPOConfig"]["loss_type"] == ["sigmoid"]
    assert trl["dpo"]["peft"]["LoraConfig"]["layers_to_transform"] == [1]
    from peft import LoraConfig
    from trl import DPOConfig

    LoraConfig(**trl["dpo"]["peft"]["LoraConfig"])  # the real classes accept what was exported
    DPOConfig(**trl["dpo"]["config"]["DPOConfig"], use_cpu=True)


def test_graft_export_command(plan, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "plan.yaml"
    path.write_text(plan_to_yaml(plan))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "tui.cli", "export", str(path), *extra]
        return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)

    out = tmp_path / "p.py"
    assert run("-o", str(out)).returncode == 0 and out.read_text().startswith("#!/usr/bin/env python")
    again = run("-o", str(out))
    assert again.returncode == 2 and "already exists" in again.stderr
    printed = run("--as", "trl")
    assert printed.returncode == 0 and "SFTConfig" in printed.stdout
    assert json.loads(json.dumps(yaml.safe_load(printed.stdout)))["sft"]

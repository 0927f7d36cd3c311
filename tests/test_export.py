"""`graft export`: each form is run by its real tool and compared, tensor for tensor, with `graft run`.

Two plans run once each through `graft run` (module fixtures), on a tiny Llama, from a work
folder with paths relative to it (as a person's plan would be):
- "trained": sft → merge_adapter → dpo (layers [1]) → write, the DPO adapter folded at the write;
- "merges": sft → merge_adapter → merge_models (dare_ties, seed 3) → merge_models (linear, of the
  first merge) → write.
Then: `mergekit-multi` (and `mergekit-yaml` for a one-merge plan) on the mergekit export, `trl sft
--config`/`trl dpo --config` through the exported chain.sh, and the exported script with
`python script.py` where Graft is not importable; every output is compared with graft's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.graft_cli import graft
from tools.tiny import TinyModelArgs, build_tiny_model
from tools.tiny_data import dpo_rows, sft_rows, write_jsonl

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # trl, mergekit-yaml, mergekit-multi of this environment
TRAIN = {"max_steps": 2, "batch_size": 4, "r": 4, "alpha": 8, "learning_rate": 1e-2, "seed": 7}


def tensors(folder: Path, file: str | None = None) -> dict:
    """Every tensor of a folder's safetensors files (or one file), by name."""
    from safetensors.torch import load_file

    out: dict = {}
    for path in [folder / file] if file else sorted(folder.glob("*.safetensors")):
        out.update(load_file(str(path)))
    assert out, f"no tensors in {folder}"
    return out


def assert_same(mine: dict, theirs: dict) -> None:
    import torch

    assert sorted(mine) == sorted(theirs)
    differ = [k for k in mine if mine[k].dtype != theirs[k].dtype or not torch.equal(mine[k], theirs[k])]
    assert not differ, f"{len(differ)} of {len(mine)} tensors differ, first {differ[:3]}"


def offline_env(work: Path, graft_importable: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        HF_HOME=str(work / "hf-home"),  # no shared cache: what runs reads only the export's files
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHON=sys.executable,
        TOKENIZERS_PARALLELISM="false",
    )
    if graft_importable:
        env["PYTHONPATH"] = str(ROOT)
    return env


def run_tool(argv: list[str], work: Path, timeout: float = 600, **extra: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        argv, cwd=work, env={**offline_env(work), **extra}, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{argv[:3]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export")
    build_tiny_model(TinyModelArgs(architecture="llama", output=str(root / "models" / "tiny")))
    write_jsonl(root / "data" / "sft.jsonl", sft_rows(12))
    write_jsonl(root / "data" / "dpo.jsonl", dpo_rows(12))
    return root


def run_plan(work: Path, name: str, stages: list[dict]) -> Path:
    """`graft run` of a plan whose paths are relative to `work` (its working folder)."""
    plan = {"goal": f"export {name}", "base_model": "models/tiny", "output": f"{name}-final", "stages": stages}
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    proc = graft("run", path.name, "--yes", home=work / "home", cwd=work)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return path


def export(work: Path, plan: Path, form: str, out: str) -> subprocess.CompletedProcess[str]:
    proc = graft("export", plan.name, "--as", form, "-o", out, home=work / "home", cwd=work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def trained(work: Path) -> Path:
    return run_plan(
        work,
        "trained",
        [
            {"kind": "sft", "id": "sft", "dataset": "data/sft.jsonl", "target_modules": ["q_proj", "v_proj"], **TRAIN},
            {"kind": "merge_adapter", "id": "sft-merged"},
            {"kind": "preference", "method": "dpo", "id": "dpo", "dataset": "data/dpo.jsonl", "layers": [1], **TRAIN},
            {"kind": "write", "id": "write", "dtype": "bfloat16"},
        ],
    )


@pytest.fixture(scope="module")
def merges(work: Path) -> Path:
    return run_plan(
        work,
        "merges",
        [
            {"kind": "sft", "id": "sft", "dataset": "data/sft.jsonl", **TRAIN},
            {"kind": "merge_adapter", "id": "sft-merged"},
            {
                "kind": "merge_models",
                "id": "dare",
                "method": "dare_ties",
                "models": ["@sft-merged", "@base"],
                "weights": [0.7, 0.3],
                "density": 0.6,
                "seed": 3,
            },
            {"kind": "merge_models", "id": "blend", "method": "linear", "models": ["@dare", "@sft-merged"]},
            {"kind": "write", "id": "write", "dtype": "float32"},
        ],
    )


def test_mergekit_multi_reruns_the_merges(work: Path, merges: Path) -> None:
    export(work, merges, "mergekit", "merges.yml")
    text = (work / "merges.yml").read_text()
    docs = list(yaml.safe_load_all(text))
    assert [d["name"] for d in docs] == ["dare", "blend"]
    assert [m["model"] for m in docs[0]["models"]] == ["./merges.run/sft-merged", "./models/tiny"]
    assert [m["model"] for m in docs[1]["models"]] == ["dare", "./merges.run/sft-merged"]  # an earlier merge, by name
    assert "mergekit-multi merges.yml -I ./merges.mergekit --random-seed 3" in text
    run_tool([str(BIN / "mergekit-multi"), "merges.yml", "-I", "./merges.mergekit", "--random-seed", "3"], work)
    for stage in ("dare", "blend"):  # mergekit computes in the config's float32 on CPU: exact
        assert_same(tensors(work / "merges.mergekit" / stage), tensors(work / "merges.run" / stage))


def test_one_merge_is_a_document_mergekit_yaml_reads(work: Path, merges: Path) -> None:
    """The same plan up to its first merge exports one plain document; mergekit-yaml redoes that merge."""
    from agent.export import export_plan
    from agent.plan import load_plan

    plan = load_plan(merges)
    plan.stages = plan.stages[:3]  # sft, sft-merged, dare: what `graft run` left in merges.run
    text = export_plan(plan, "mergekit", name="single.yml", run_dir="merges.run")
    (work / "single.yml").write_text(text)
    assert "name:" not in text and "mergekit-yaml single.yml ./merges.mergekit --random-seed 3" in text
    assert [m["model"] for m in yaml.safe_load(text)["models"]] == ["./merges.run/sft-merged", "./models/tiny"]
    run_tool([str(BIN / "mergekit-yaml"), "single.yml", "./single.mergekit", "--random-seed", "3"], work)
    assert_same(tensors(work / "single.mergekit"), tensors(work / "merges.run" / "dare"))


def test_trl_cli_configs_reproduce_the_adapters(work: Path, trained: Path) -> None:
    """chain.sh: Graft's split (steps.py prepare), `trl sft --config`, the fold, `trl dpo --config`, the write.

    CPU training here is deterministic (fp32, one thread per op order, TRL seeds before PEFT
    initialises the adapter), so the adapters are compared exactly.
    """
    export(work, trained, "trl", "trained.trl")
    folder = work / "trained.trl"
    assert sorted(p.name for p in folder.iterdir()) == ["chain.sh", "dpo.yaml", "sft.yaml", "steps.py"]
    sft = yaml.safe_load((folder / "sft.yaml").read_text())
    assert sft["model_name_or_path"] == "./models/tiny" and sft["assistant_only_loss"] is True
    assert sft["datasets"] == [{"path": "json", "data_files": "./trained.trl/data/sft.train.jsonl"}]
    dpo = yaml.safe_load((folder / "dpo.yaml").read_text())
    assert dpo["model_name_or_path"] == "./trained.trl/run/sft-merged" and dpo["beta"] == 0.1
    assert all(".layers.1." in m for m in dpo["lora_target_modules"]) and len(dpo["lora_target_modules"]) == 7
    run_tool(["bash", "trained.trl/chain.sh"], work, timeout=900, OUTPUT="./trl-final")
    run = work / "trained.run"
    for stage in ("sft", "dpo"):
        assert_same(
            tensors(folder / "run" / stage, "adapter_model.safetensors"),
            tensors(run / stage, "adapter_model.safetensors"),
        )
    assert_same(tensors(folder / "run" / "sft-merged"), tensors(run / "sft-merged"))
    assert_same(tensors(work / "trl-final"), tensors(work / "trained-final"))
    again = graft("export", trained.name, "--as", "trl", "-o", "trained.trl", home=work / "home", cwd=work)
    assert again.returncode == 2 and "already exists" in again.stderr
    again = graft(
        "export", trained.name, "--as", "trl", "-o", "trained.trl", "--overwrite", home=work / "home", cwd=work
    )
    assert again.returncode == 0 and (folder / "run" / "dpo" / "adapter_model.safetensors").is_file()


# This environment has Graft installed (editable: a meta-path finder from a .pth file). The exported
# script runs in a process where that finder and Graft's folder are removed first, so only the
# libraries remain importable, as on a machine without Graft.
WITHOUT_GRAFT = f"""
import runpy, sys
sys.meta_path[:] = [f for f in sys.meta_path if not str(getattr(f, "__module__", "")).startswith("__editable___graft")]
sys.path[:] = [p for p in sys.path if p not in ("", ".", {str(ROOT)!r})]
for name in ("agent", "tools", "tui"):
    try:
        __import__(name)
    except ImportError:
        continue
    raise SystemExit(f"{{name}} is importable: Graft is still on the path")
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_script(work: Path, plan: Path, name: str) -> Path:
    """The exported script, offline, in a process where Graft cannot be imported."""
    export(work, plan, "script", f"{name}.py")
    script = (work / f"{name}.py").read_text()
    assert "import tools" not in script and "from agent" not in script and "from tools" not in script
    out = f"./{name}-final"
    run_tool([sys.executable, "-c", WITHOUT_GRAFT, f"{name}.py", "--output", out], work, timeout=900)
    return work / out


def test_script_sft_dpo_write_equals_graft_run(work: Path, trained: Path) -> None:
    final = run_script(work, trained, "trained_script")
    assert_same(tensors(final), tensors(work / "trained-final"))


def test_script_with_merges_equals_graft_run(work: Path, merges: Path) -> None:
    final = run_script(work, merges, "merges_script")
    assert_same(tensors(final), tensors(work / "merges-final"))


def test_refusals_and_overwrite(work: Path, trained: Path, merges: Path) -> None:
    """What an export cannot express exactly is refused in one sentence (exit 2), never written differently."""
    from agent.export import export_plan
    from agent.plan import load_plan
    from tools.errors import GraftError

    plan = yaml.safe_load(trained.read_text())
    plan["stages"][2]["method"] = "orpo"  # TRL's command line has no orpo
    (work / "orpo.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
    proc = graft("export", "orpo.yaml", "--as", "trl", "-o", "orpo.trl", home=work / "home", cwd=work)
    assert proc.returncode == 2 and "does not run" in proc.stderr and "Traceback" not in proc.stderr
    assert not (work / "orpo.trl").exists()
    proc = graft("export", trained.name, "--as", "trl", home=work / "home", cwd=work)
    assert proc.returncode == 2 and "pass -o FOLDER" in proc.stderr
    proc = graft("export", trained.name, "--as", "mergekit", home=work / "home", cwd=work)
    assert proc.returncode == 2 and "no merge_models stage" in proc.stderr
    (work / "taken").mkdir()
    proc = graft("export", trained.name, "--as", "trl", "-o", "taken", "--overwrite", home=work / "home", cwd=work)
    assert proc.returncode == 2 and "not an earlier" in proc.stderr
    two_seeds = load_plan(merges)
    two_seeds.stages[3].method, two_seeds.stages[3].seed = "dare_linear", 5  # type: ignore[union-attr]
    with pytest.raises(GraftError, match="one --random-seed"):
        export_plan(two_seeds, "mergekit", run_dir="merges.run")


DRIVER = """
import json, runpy, sys
ns = runpy.run_path(sys.argv[1], run_name="exported")  # the script's functions; its main() does not run
out = {}
for path, method in json.loads(sys.argv[2]):
    kind = "sft" if method == "sft" else "preference"
    stage = {"kind": kind, "method": method, "dataset": path, "eval_fraction": 0.25, "seed": 5}
    rows, flags = ns["stage_rows"](stage, "")
    out[path] = {"rows": rows, "flags": flags}
print(json.dumps(out))
"""


def test_script_reads_every_format_as_graft_does(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The script's embedded reader (tools.datasets_io's portable functions) gives the rows Graft trains on,
    for formats beyond JSON Lines, where Graft cannot be imported."""
    import json

    import datasets

    from agent.export import export_plan
    from agent.plan import plan_from_data
    from tools.datasets_io import split_holdout, training_rows
    from tools.sft import reply_rows

    chat = sft_rows(8)
    pairs = dpo_rows(8)
    folder = work / "formats"
    folder.mkdir()
    datasets.Dataset.from_list(chat).to_parquet(str(folder / "chat.parquet"))
    datasets.Dataset.from_list([{"prompt": r["prompt"], "completion": r["chosen"]} for r in pairs]).to_csv(
        str(folder / "pc.csv"), index=False
    )
    sharegpt = [
        {"conversations": [{"from": "human", "value": r["prompt"]}, {"from": "gpt", "value": r["chosen"]}]}
        for r in pairs
    ]
    (folder / "sharegpt.json").write_text(json.dumps(sharegpt))  # a JSON array
    write_jsonl(
        folder / "alpaca.jsonl", [{"instruction": r["prompt"], "input": "", "output": r["chosen"]} for r in pairs]
    )
    implicit = [
        {"chosen": r["prompt"] + " " + r["chosen"], "rejected": r["prompt"] + " " + r["rejected"]} for r in pairs
    ]
    datasets.Dataset.from_list(implicit).save_to_disk(str(folder / "implicit"))
    cases = [
        ("formats/chat.parquet", "sft"),
        ("formats/pc.csv", "sft"),
        ("formats/sharegpt.json", "sft"),
        ("formats/alpaca.jsonl", "sft"),
        ("formats/implicit", "dpo"),
    ]
    monkeypatch.chdir(work)
    plan = plan_from_data(
        {"goal": "formats", "base_model": "models/tiny", "stages": [{"kind": "sft", "dataset": "data/sft.jsonl"}]}
    )
    (work / "formats_script.py").write_text(export_plan(plan, "script", name="formats_script.py"))
    (work / "driver.py").write_text(DRIVER)
    proc = run_tool([sys.executable, "-c", WITHOUT_GRAFT, "driver.py", "formats_script.py", json.dumps(cases)], work)
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    for path, method in cases:
        rows, layout, _ = training_rows(path, method)
        train, _held = split_holdout(rows, 0.25, 5)
        if layout == "messages":  # no generation block in the template passed: each reply a completion
            train = reply_rows(train, path)
        assert got[path]["rows"] == train, path
    assert got["formats/chat.parquet"]["flags"] == {"completion_only_loss": True}

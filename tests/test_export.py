"""`graft export`: each form is run by its real tool and compared, tensor for tensor, with `graft run`.

One plan runs once through `graft run` (a module fixture), on a tiny Llama, from a work folder
with paths relative to it (as a person's plan would be): sft → merge_adapter → merge_models
(dare_ties, seed 3) → merge_models (linear, naming the first merge) → dpo (layers [1], on the
merge) → write, the DPO adapter folded at the write.
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
def pipeline(work: Path) -> Path:
    return run_plan(
        work,
        "pipeline",
        [
            {"kind": "sft", "id": "sft", "dataset": "data/sft.jsonl", "target_modules": ["q_proj", "v_proj"], **TRAIN},
            {"kind": "merge_adapter", "id": "sft-merged"},
            {
                "kind": "merge_models",
                "id": "dare",
                "method": "dare_ties",
                "models": ["@sft-merged"],  # the base is its reference: mergekit gives a weight on it no effect
                "weights": [0.7],
                "density": 0.6,
                "seed": 3,
            },
            {"kind": "merge_models", "id": "blend", "method": "linear", "models": ["@dare", "@sft-merged"]},
            {"kind": "preference", "method": "dpo", "id": "dpo", "dataset": "data/dpo.jsonl", "layers": [1], **TRAIN},
            {"kind": "write", "id": "write", "dtype": "bfloat16"},
        ],
    )


def test_mergekit_multi_reruns_the_merges(work: Path, pipeline: Path) -> None:
    export(work, pipeline, "mergekit", "pipeline.yml")
    text = (work / "pipeline.yml").read_text()
    docs = list(yaml.safe_load_all(text))
    assert [d["name"] for d in docs] == ["dare", "blend"]
    assert [m["model"] for m in docs[0]["models"]] == ["./pipeline.run/sft-merged"]
    assert [m["model"] for m in docs[1]["models"]] == ["dare", "./pipeline.run/sft-merged"]  # an earlier merge, by name
    assert "mergekit-multi pipeline.yml -I ./pipeline.mergekit --random-seed 3" in text
    run_tool([str(BIN / "mergekit-multi"), "pipeline.yml", "-I", "./pipeline.mergekit", "--random-seed", "3"], work)
    for stage in ("dare", "blend"):  # mergekit computes in the config's float32 on CPU: exact
        assert_same(tensors(work / "pipeline.mergekit" / stage), tensors(work / "pipeline.run" / stage))


def test_one_merge_is_a_document_mergekit_yaml_reads(work: Path, pipeline: Path) -> None:
    """The same plan up to its first merge exports one plain document; mergekit-yaml redoes that merge."""
    from agent.export import export_plan
    from agent.plan import load_plan

    plan = load_plan(pipeline)
    plan.stages = plan.stages[:3]  # sft, sft-merged, dare: what `graft run` left in pipeline.run
    text = export_plan(plan, "mergekit", name="single.yml", run_dir="pipeline.run")
    (work / "single.yml").write_text(text)
    assert "name:" not in text and "mergekit-yaml single.yml ./pipeline.mergekit --random-seed 3" in text
    assert [m["model"] for m in yaml.safe_load(text)["models"]] == ["./pipeline.run/sft-merged"]
    run_tool([str(BIN / "mergekit-yaml"), "single.yml", "./single.mergekit", "--random-seed", "3"], work)
    assert_same(tensors(work / "single.mergekit"), tensors(work / "pipeline.run" / "dare"))


def test_trl_cli_configs_reproduce_the_adapters(
    work: Path, pipeline: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """chain.sh: Graft's split (steps.py prepare), `trl sft --config`, the fold, `trl dpo --config`, the write.

    CPU training here is deterministic (fp32, one thread per op order, TRL seeds before PEFT
    initialises the adapter), so the adapters are compared exactly.
    """
    export(work, pipeline, "trl", "pipeline.trl")
    folder = work / "pipeline.trl"
    assert sorted(p.name for p in folder.iterdir()) == [
        "blend.mergekit.yml",
        "chain.sh",
        "dare.mergekit.yml",
        "dpo.yaml",
        "sft.yaml",
        "steps.py",
    ]
    sft = yaml.safe_load((folder / "sft.yaml").read_text())
    assert sft["model_name_or_path"] == "./models/tiny" and sft["assistant_only_loss"] is True
    assert sft["datasets"] == [{"path": "json", "data_files": "./pipeline.trl/data/sft.train.jsonl"}]
    assert sft["lora_target_modules"][:2] == ["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj"]
    dpo = yaml.safe_load((folder / "dpo.yaml").read_text())
    assert dpo["model_name_or_path"] == "./pipeline.trl/run/blend" and dpo["beta"] == 0.1 and dpo["seed"] == 7
    assert all(".layers.1." in m for m in dpo["lora_target_modules"]) and len(dpo["lora_target_modules"]) == 7
    run_tool(["bash", "pipeline.trl/chain.sh"], work, timeout=900, OUTPUT="./trl-final")
    run = work / "pipeline.run"
    for stage in ("sft", "dpo"):
        assert_same(
            tensors(folder / "run" / stage, "adapter_model.safetensors"),
            tensors(run / stage, "adapter_model.safetensors"),
        )
    for stage in ("sft-merged", "dare", "blend"):
        assert_same(tensors(folder / "run" / stage), tensors(run / stage))
    assert_same(tensors(work / "trl-final"), tensors(work / "pipeline-final"))
    code, err = in_process(work, monkeypatch, capsys, "export", pipeline.name, "--as", "trl", "-o", "pipeline.trl")
    assert code == 2 and "already exists" in err
    code, _ = in_process(
        work, monkeypatch, capsys, "export", pipeline.name, "--as", "trl", "-o", "pipeline.trl", "--overwrite"
    )
    assert code == 0 and (folder / "run" / "dpo" / "adapter_model.safetensors").is_file()  # its runs are kept


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


def test_script_equals_graft_run(work: Path, pipeline: Path) -> None:
    """SFT → merge_adapter → two merges → DPO → write (the DPO adapter folded there), by the script alone."""
    final = run_script(work, pipeline, "pipeline_script")
    assert_same(tensors(final), tensors(work / "pipeline-final"))
    own = work / "pipeline.export-run"  # the script's own run folder
    assert_same(
        tensors(own / "dpo", "adapter_model.safetensors"),
        tensors(work / "pipeline.run" / "dpo", "adapter_model.safetensors"),
    )


def in_process(work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, *args: str) -> tuple:
    """`graft ARGS` through the command line's own main() in this process (saves a start-up per call)."""
    from tui.cli import main

    monkeypatch.chdir(work)
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.setenv(key, "1")
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().err


def test_refusals_and_overwrite(
    work: Path, pipeline: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """What an export cannot express exactly is refused in one sentence (exit 2), never written differently."""
    from agent.export import export_plan, export_trl
    from agent.plan import load_plan, plan_from_data
    from tools.errors import GraftError

    def cli(*args: str) -> tuple:
        return in_process(work, monkeypatch, capsys, *args)

    plan = yaml.safe_load(pipeline.read_text())
    plan["stages"][4]["method"] = "orpo"  # TRL's command line has no orpo
    (work / "orpo.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
    code, err = cli("export", "orpo.yaml", "--as", "trl", "-o", "orpo.trl")
    assert code == 2 and "does not run" in err and not (work / "orpo.trl").exists()
    code, err = cli("export", pipeline.name, "--as", "trl")
    assert code == 2 and "pass -o FOLDER" in err
    code, err = cli("export", pipeline.name, "--as", "script", "--outtype", "q8_0", "-o", "typed.py")
    assert code == 2 and "goes with --as gguf" in err and not (work / "typed.py").exists()
    plan["stages"] = plan["stages"][:2]
    (work / "nomerge.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
    code, err = cli("export", "nomerge.yaml", "--as", "mergekit")
    assert code == 2 and "no merge_models stage" in err
    (work / "taken").mkdir()
    code, err = cli("export", pipeline.name, "--as", "trl", "-o", "taken", "--overwrite")
    assert code == 2 and "not an earlier" in err
    code, err = cli("export", pipeline.name, "--as", "script", "-o", "again.py")
    assert code == 0 and (work / "again.py").read_text().startswith("#!/usr/bin/env python")
    code, err = cli("export", pipeline.name, "--as", "script", "-o", "again.py")
    assert code == 2 and "already exists" in err
    converting = plan_from_data(
        {"goal": "c", "base_model": "models/tiny", "stages": [{"kind": "convert", "source": "models/tiny"}]}
    )
    for form in ("script", "trl"):
        with pytest.raises(GraftError, match="run `graft convert` once"):
            export_plan(converting, "script") if form == "script" else export_trl(converting, "c.trl")
    two_seeds = load_plan(pipeline)
    two_seeds.stages[3].method, two_seeds.stages[3].seed = "dare_linear", 5  # type: ignore[union-attr]
    with pytest.raises(GraftError, match="one --random-seed"):
        export_plan(two_seeds, "mergekit", run_dir="pipeline.run")


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


def test_exported_fold_equals_graft_merge_adapter(work: Path, pipeline: Path, tmp_path: Path) -> None:
    """Weighted folds (the exports' steps.py fold / the script's merge_adapter) equal Graft's own, exactly."""
    from agent.export import _helpers
    from tools.merge_adapter import MergeAdapterSpec, merge_adapter

    helpers: dict = {}
    exec(compile("from __future__ import annotations\n" + _helpers(), "exported helpers", "exec"), helpers)
    base, run = str(work / "models" / "tiny"), work / "pipeline.run"
    for i, (adapters, weights) in enumerate(([["sft"], [0.5]], [["sft", "dpo"], [0.5, 2.0]])):
        paths = [str(run / a) for a in adapters]
        merge_adapter(MergeAdapterSpec(weights=weights), base, paths, str(tmp_path / f"graft{i}"))
        model, _ = helpers["fold"](base, paths, weights)
        mine = {k: v for k, v in model.state_dict().items()}
        theirs = tensors(tmp_path / f"graft{i}")
        assert_same({k: mine[k] for k in theirs}, theirs)


def test_kto_config_is_read_by_trls_own_parser(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`trl kto --config` reads the export as it is (TRL's own parser), and steps.py prepare holds out
    thumbs-up and thumbs-down rows alike, as Graft's preference stage does."""
    import json

    from trl.scripts.kto import make_parser

    from agent.export import export_trl, write_export_folder
    from agent.plan import plan_from_data
    from tools.datasets_io import split_holdout, training_rows
    from tools.tiny_data import kto_rows

    monkeypatch.chdir(work)
    write_jsonl(work / "data" / "kto.jsonl", kto_rows(12))
    stage = {"kind": "preference", "method": "kto", "id": "kto", "dataset": "data/kto.jsonl", **TRAIN}
    plan = plan_from_data({"goal": "kto", "base_model": "models/tiny", "stages": [stage]})
    write_export_folder(export_trl(plan, "kto.trl"), Path("kto.trl"))
    script, training, model, data = make_parser().parse_args_and_config(["--config", "kto.trl/kto.yaml"])
    assert type(training).__name__ == "KTOConfig" and training.loss_type == "kto" and training.seed == 7
    assert model.use_peft and model.lora_r == 4 and model.lora_alpha == 8 and len(model.lora_target_modules) == 14
    assert data.datasets[0].data_files == "./kto.trl/data/kto.train.jsonl" and script.dataset_train_split == "train"
    run_tool([sys.executable, "-c", WITHOUT_GRAFT, "kto.trl/steps.py", "prepare"], work)
    written = [json.loads(line) for line in (work / "kto.trl" / "data" / "kto.train.jsonl").read_text().splitlines()]
    rows, layout, _ = training_rows("data/kto.jsonl", "kto")
    assert layout == "unpaired"
    groups = [split_holdout([r for r in rows if r["label"] is side], 0.1, 7)[0] for side in (True, False)]
    assert written == [r for train in groups for r in train]


def test_a_merge_named_after_a_method_is_renamed_so_mergekit_multi_sees_no_cycle(work: Path, pipeline: Path) -> None:
    """mergekit-multi reads every string equal to a document's name as a reference to it: a stage called
    'ties' would depend on itself through `merge_method: ties` ("Circular dependency detected")."""
    from mergekit.scripts.multimerge import load_config

    from agent.export import export_plan
    from agent.plan import load_plan

    plan = load_plan(pipeline)
    plan.stages[2].id, plan.stages[2].method = "ties", "ties"  # type: ignore[union-attr]
    plan.stages[3].id = "linear"  # the next merge is a linear merge: its method names this stage
    plan.stages[3].models = ["@ties", *plan.stages[3].models[1:]]  # type: ignore[union-attr]
    text = export_plan(plan, "mergekit", name="named.yml", run_dir="pipeline.run")
    configs, dependencies = load_config(text, "./named.mergekit")  # mergekit's own reading of the documents
    assert set(configs) == {"ties-stage", "linear-stage"}
    assert dependencies == {"ties-stage": set(), "linear-stage": {"ties-stage"}}
    assert "ties → ties-stage" in text

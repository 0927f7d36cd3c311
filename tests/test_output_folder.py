"""The final folder as the Hub and transformers take it: a real model card, the base's license and
custom code carried, an index with `total_parameters`, and no path of this machine in any file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools.model_card import base_model_relation, carry_side_files, detect_license, hub_name
from tools.tiny import TinyModelArgs, build_tiny_model
from tools.tiny_data import sft_rows, write_jsonl

ROOT = Path(__file__).resolve().parents[1]

APACHE = """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/
"""
MIT = "MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\n"
CONFIGURATION = """from transformers import LlamaConfig


class TinyXConfig(LlamaConfig):
    model_type = "llama"
"""
MODELING = """from transformers import LlamaForCausalLM

from .configuration_tinyx import TinyXConfig


class TinyXForCausalLM(LlamaForCausalLM):
    config_class = TinyXConfig
"""
AUTO_MAP = {"AutoConfig": "configuration_tinyx.TinyXConfig", "AutoModelForCausalLM": "modeling_tinyx.TinyXForCausalLM"}


def _base_with_license_and_code(folder: Path, readme: bool = True) -> Path:
    build_tiny_model(TinyModelArgs(architecture="llama", output=str(folder)))
    (folder / "LICENSE").write_text(APACHE)
    (folder / "NOTICE").write_text("Tiny base model, made for tests.\n")
    (folder / "configuration_tinyx.py").write_text(CONFIGURATION)
    (folder / "modeling_tinyx.py").write_text(MODELING)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = AUTO_MAP
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    if readme:
        (folder / "README.md").write_text("---\nlicense: apache-2.0\nlanguage: [en]\n---\n\n# tiny base\n")
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`graft run` of LoRA SFT → fold → linear merge with the base → sharded write, output piped (no tty)."""
    root = tmp_path_factory.mktemp("outfolder")
    base = _base_with_license_and_code(root / "base")
    data = write_jsonl(root / "data" / "chat.jsonl", sft_rows(16, seed=0))
    plan = {
        "goal": "teach it our chat answers and blend it with the base",
        "base_model": str(base),
        "output": str(root / "final"),
        "stages": [
            {
                "kind": "sft",
                "id": "sft",
                "dataset": str(data),
                "target_modules": ["q_proj", "v_proj"],
                "max_steps": 2,
                "batch_size": 4,
                "r": 4,
                "alpha": 8,
            },
            {"kind": "merge_adapter", "id": "sft-merged"},
            {"kind": "merge_models", "id": "blend", "method": "linear", "models": ["@sft-merged", "@base"]},
            {"kind": "write", "id": "write", "max_shard_size": "200KB"},
        ],
    }
    plan_path = root / "plan.yaml"
    plan_path.write_text(yaml.safe_dump(plan, sort_keys=False))
    env = {**os.environ, "GRAFT_HOME": str(root / "home"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "tui.cli", "run", str(plan_path), "-y"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=900,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"root": root, "final": root / "final", "base": base, "proc": proc}


def test_card_loads_with_base_model_license_and_methods(built):
    from huggingface_hub import ModelCard

    card = ModelCard.load(built["final"] / "README.md")
    assert card.data.base_model == "base"
    assert card.data.license == "apache-2.0"
    assert card.data.base_model_relation == "merge"
    assert card.data.pipeline_tag == "text-generation" and card.data.library_name == "transformers"
    assert card.data.datasets == ["chat.jsonl"]
    for tag in ("graft", "trl", "sft", "lora", "peft", "mergekit", "linear"):
        assert tag in card.data.tags, card.data.tags
    assert "## Stages" in card.text and "## Hyper-parameters" in card.text and "learning_rate" in card.text
    assert "| blend | merge_models | linear |" in card.text
    assert "density" not in card.text  # linear reads no density: only what the method uses is listed


def test_license_code_generation_config_and_tokenizer_are_carried(built):
    final = built["final"]
    for name in (
        "LICENSE",
        "NOTICE",
        "configuration_tinyx.py",
        "modeling_tinyx.py",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ):
        assert (final / name).read_bytes() == (built["base"] / name).read_bytes(), name
    assert json.loads((final / "config.json").read_text())["auto_map"] == AUTO_MAP


def test_model_loads_through_its_own_code(built, tmp_path):
    code = (
        "import sys; from transformers import AutoModelForCausalLM\n"
        "m = AutoModelForCausalLM.from_pretrained(sys.argv[1], trust_remote_code=True)\n"
        "print(type(m).__name__)"
    )
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(built["final"])], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "TinyXForCausalLM"


def test_index_has_total_parameters(built):
    from safetensors import safe_open

    index = json.loads((built["final"] / "model.safetensors.index.json").read_text())
    counted = 0
    for shard in sorted(set(index["weight_map"].values())):
        with safe_open(built["final"] / shard, "pt") as handle:
            counted += sum(_numel(handle, k) for k in handle.keys())
    assert len(set(index["weight_map"].values())) > 1
    assert index["metadata"]["total_parameters"] == counted


def _numel(handle, key: str) -> int:
    n = 1
    for d in handle.get_slice(key).get_shape():
        n *= d
    return n


def test_no_written_file_names_this_machines_paths(built):
    root = built["root"]
    needles = {str(root), str(root.resolve()), str(Path.home()), str(ROOT)}
    checked = 0
    for path in sorted(built["final"].rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            for needle in needles:
                assert needle.encode() not in data, f"{path.name} contains {needle}"
            checked += 1
    assert checked >= 10


def test_progress_is_printed_as_lines_without_a_terminal(built):
    out = built["proc"].stdout
    lines = [line for line in out.splitlines() if line.startswith("[sft]")]
    assert lines, out[-2000:]
    assert sum("step 2/2" in line for line in lines) == 1, lines
    assert "\r" not in out and "\x1b[" not in out
    assert built["proc"].stderr == ""  # no library warnings or progress bars without -v


def test_license_from_license_text_alone(tmp_path):
    (tmp_path / "mit").mkdir()
    (tmp_path / "mit" / "LICENSE.txt").write_text(MIT)
    assert detect_license(tmp_path / "mit") == {"license": "mit"}
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "LICENSE").write_text("You may use these weights on Tuesdays only.\n")
    assert detect_license(tmp_path / "odd") == {
        "license": "other",
        "license_name": "base-model-license",
        "license_link": "LICENSE",
    }
    (tmp_path / "none").mkdir()
    assert detect_license(tmp_path / "none") == {}


def test_side_files_fall_back_to_the_base(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    (base / "LICENSE").write_text(APACHE)
    (base / "configuration_tinyx.py").write_text(CONFIGURATION)
    (base / "modeling_tinyx.py").write_text(MODELING)
    (base / "config.json").write_text(json.dumps({"model_type": "llama", "auto_map": AUTO_MAP}))
    (base / "tokenizer.json").write_text("{}")
    stage = tmp_path / "stage"
    stage.mkdir()
    (stage / "config.json").write_text(json.dumps({"model_type": "llama", "auto_map": AUTO_MAP, "merged": True}))
    out = tmp_path / "out"
    out.mkdir()
    copied = carry_side_files([stage, base], out)
    assert json.loads((out / "config.json").read_text())["merged"] is True  # the written model's own config
    assert {"LICENSE", "configuration_tinyx.py", "modeling_tinyx.py", "tokenizer.json"} <= set(copied)


def test_names_and_relations():
    assert hub_name("/x/hub/models--Qwen--Qwen2.5-0.5B/snapshots/abc") == "Qwen/Qwen2.5-0.5B"
    assert hub_name("../data/chat.jsonl") == "chat.jsonl"
    assert base_model_relation([{"kind": "sft"}, {"kind": "merge_adapter"}]) == "finetune"
    assert base_model_relation([{"kind": "merge_models"}]) == "merge"
    assert base_model_relation([]) is None


def test_a_sentencepiece_model_file_dropped_by_a_resave_is_carried_from_the_base(tmp_path):
    """transformers 5 re-saves a Llama/Mistral tokenizer as tokenizer.json alone; llama.cpp's converter needs
    tokenizer.model, so the final folder takes it from the base."""
    from transformers import AutoTokenizer

    from tools.tiny import TinyModelArgs, build_tiny_model

    base = tmp_path / "base"
    build_tiny_model(TinyModelArgs(architecture="llama", output=str(base), tokenizer_kind="sentencepiece"))
    stage = tmp_path / "stage"
    AutoTokenizer.from_pretrained(base).save_pretrained(stage)
    assert not (stage / "tokenizer.model").exists()  # the premise: a re-save drops it
    out = tmp_path / "out"
    out.mkdir()
    copied = carry_side_files([stage, base], out)
    assert "tokenizer.model" in copied
    assert (out / "tokenizer.model").read_bytes() == (base / "tokenizer.model").read_bytes()
    assert (out / "tokenizer.json").read_bytes() == (stage / "tokenizer.json").read_bytes()

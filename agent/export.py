"""`graft export`: a plan as a standalone script, as mergekit YAML, or as TRL command-line configs.

Each form runs as written, without Graft, and follows `graft run`'s semantics (agent/graph.py):
a stage's input is the previous stage's output unless it names one; an unmerged adapter is
folded in before the next training stage; the held-out split is Graft's (same reader, same
fraction, same seed); the final write folds what is pending, casts and shards.

Paths: a plan's relative paths are relative to the folder `graft run` runs in, so every export
is meant to run from that folder too, and writes relative paths "./"-prefixed: mergekit takes a
relative path with one "/" for a Hub repo id (and asks the Hub about it), "./x" it never does.
"""

from __future__ import annotations

import inspect
import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agent.plan import Plan
from tools.errors import GraftError

ExportFormat = Literal["script", "mergekit", "trl"]

# The TRL command line (trl/cli/commands/__init__.py in TRL 1.16) has sft, dpo and kto; ORPO
# and CPO/SimPO live in trl.experimental and have no command.
TRL_COMMANDS = {"sft": "sft", "dpo": "dpo", "kto": "kto"}
_SFT_NAMES = ("has_generation_block", "reply_rows", "loss_mode")


def local_path(path: str | Path) -> str:
    """A path as an export writes it: absolute as given, or relative and "./"-prefixed (never a Hub id)."""
    text = str(path)
    if os.path.isabs(text):
        return os.path.normpath(text)
    norm = os.path.normpath(text)
    return "./" if norm == "." else "./" + norm


def run_folder(plan_path: str | Path) -> str:
    """The run folder `graft run PLAN` uses when no --run-dir is given (tui/run_cli.py): PLAN.run."""
    return str(Path(plan_path).with_suffix(".run"))


@dataclass
class Step:
    """One stage of the plan with its inputs resolved as `graft run` resolves them."""

    stage: Any
    out: str
    model: str | None = None  # training / merge_adapter / write: the model it starts from
    prior: list[str] = field(default_factory=list)  # adapters folded in first (training) or pending (write)
    adapters: list[str] = field(default_factory=list)  # merge_adapter
    refs: dict[str, str] = field(default_factory=dict)  # merge_models: "@ref" or path -> resolved path


def walk(plan: Plan, run_dir: str) -> list[Step]:
    """The plan's stages with every reference resolved into `run_dir/<stage-id>`, as agent/graph.py does."""
    outputs: dict[str, str] = {}
    current, pending = plan.base_model, []

    def resolve(ref: str | None) -> str | None:
        if ref is None:
            return None
        if ref == "@base":
            first = plan.stages[0]
            return outputs.get(first.id, plan.base_model) if first.kind == "convert" else plan.base_model
        if ref.startswith("@"):
            if ref[1:] not in outputs:
                raise GraftError(f"{ref} names no earlier stage of the plan.")
            return outputs[ref[1:]]
        return ref

    steps = []
    for stage in plan.stages:
        out = str(Path(run_dir) / stage.id)
        step = Step(stage, out)
        if stage.kind == "convert":
            current, pending = out, []
        elif stage.kind in ("sft", "preference"):
            step.model = resolve(stage.input) or current
            step.prior = [] if stage.input else list(pending)
            if stage.adapter != "none":
                current, pending = step.model, [*step.prior, out]
            else:
                current, pending = out, []
        elif stage.kind == "merge_adapter":
            step.adapters = [resolve(a) or a for a in stage.adapters] or list(pending)
            if not step.adapters:
                raise GraftError(f"stage {stage.id}: there is no adapter to merge.")
            step.model = resolve(stage.input) or current
            current, pending = out, []
        elif stage.kind == "merge_models":
            for ref in [*stage.models, stage.base]:
                if ref:
                    step.refs[ref] = resolve(ref) or ref
            current, pending = out, []
        elif stage.kind == "write":
            step.model, step.prior = current, list(pending)
            step.out = stage.output or plan.output
        outputs[stage.id] = out
        steps.append(step)
    return steps


# --------------------------------------------------------------------------------------------
# mergekit


def _merge_config(stage: Any, name_of: Any) -> dict[str, Any]:
    """Graft's mergekit configuration of a merge_models stage (tools/merge_models.py), references named."""
    from tools.merge_models import MergeModelsSpec, mergekit_config

    def named(ref: str) -> str:
        text = name_of(ref)
        if not text.startswith("@") and ("@" in text or "+" in text):  # mergekit's ModelReference syntax
            raise GraftError(
                f"stage {stage.id}: mergekit reads '@' in {text} as a revision and '+' as a LoRA; "
                "rename or link that folder first."
            )
        return text

    spec = MergeModelsSpec.model_validate(stage.model_dump(exclude={"id", "kind", "input", "notes"}))
    models = [named(m) for m in stage.models]
    return mergekit_config(spec, models, named(stage.base) if stage.base else None)


def _merge_seed(stages: list[Any]) -> int | None:
    """The one --random-seed a set of merges needs, or None when none is randomised; refuse two seeds."""
    from tools.merge_models import RANDOMISED

    seeds = {s.id: s.seed for s in stages if s.method in RANDOMISED}
    if len(set(seeds.values())) > 1:
        listed = ", ".join(f"{k} seed {v}" for k, v in seeds.items())
        raise GraftError(
            f"mergekit-multi takes one --random-seed for all merges, but the randomised merges differ ({listed}); "
            "give them one seed, or export --as script."
        )
    return next(iter(seeds.values()), None)


def export_mergekit(plan: Plan, run_dir: str, name: str = "merges.yml") -> str:
    """The plan's merge_models stages as mergekit reads them, re-runnable after `graft run`.

    References to earlier stages resolve to `run_dir/<id>` (what `graft run` leaves there); a merge of
    an earlier merge names it (mergekit-multi's named documents). One merge: one plain document that
    `mergekit-yaml` reads too.
    """
    import yaml

    steps = [s for s in walk(plan, run_dir) if s.stage.kind == "merge_models"]
    if not steps:
        raise GraftError("the plan has no merge_models stage; there is nothing to export for mergekit.")
    merge_ids = {s.stage.id for s in steps}
    seed = _merge_seed([s.stage for s in steps])
    seed_arg = f" --random-seed {seed}" if seed is not None else ""
    merged = str(Path(run_dir).with_name(Path(run_dir).name.removesuffix(".run") + ".mergekit"))
    where = "Run it from the folder you run `graft run` in (the plan's paths are relative to it)"
    header = [f"# mergekit configuration exported by Graft from the plan: {_one_line(plan.goal)}"]

    def build(names: dict[str, str]) -> list[dict[str, Any]]:
        docs = []
        for step in steps:

            def name_of(ref: str, step: Step = step) -> str:
                if len(steps) > 1 and ref.startswith("@") and ref[1:] in merge_ids:
                    return names[ref[1:]]  # mergekit-multi: an earlier merge by its name
                return local_path(step.refs[ref])

            doc = _merge_config(step.stage, name_of)
            docs.append({"name": names[step.stage.id], **doc} if len(steps) > 1 else doc)
        return docs

    # mergekit-multi takes every string equal to a document's name for a reference to that merge, so a
    # stage called "ties" would depend on itself through `merge_method: ties`: such a name gets a suffix.
    placeholder = {i: f"\0{i}" for i in merge_ids}
    taken = {text for doc in build(placeholder) for text in _strings(doc)} - set(placeholder.values())
    names = {}
    for stage_id in (s.stage.id for s in steps):
        doc_name, n = stage_id, 0
        while doc_name in taken or doc_name in names.values():
            n += 1
            doc_name = f"{stage_id}-stage" + (str(n) if n > 1 else "")
        names[stage_id] = doc_name
    docs = build(names)
    if len(steps) == 1:
        out = local_path(merged)
        header += [
            f"# The merge of stage {steps[0].stage.id}, on what `graft run` left in {local_path(run_dir)}.",
            f"# {where}:",
            f"#   mergekit-yaml {name} {out}{seed_arg}",
        ]
        return "\n".join(header) + "\n" + yaml.safe_dump(docs[0], sort_keys=False)
    folder = local_path(merged)
    renamed = [f"{k} → {v}" for k, v in names.items() if k != v]
    if renamed:
        header.append(
            f"# Documents renamed so mergekit-multi cannot read a value as a reference: {', '.join(renamed)}."
        )
    header += [
        f"# The merges of stages {', '.join(s.stage.id for s in steps)}, on what `graft run` left in "
        f"{local_path(run_dir)};",
        "# each document is named after its stage, and a later merge names an earlier one by that name.",
        f"# {where}:",
        f"#   mergekit-multi {name} -I {folder}{seed_arg}",
        f"# Each merge lands in {folder}/<document name>; keep the -I folder './'-prefixed (mergekit takes 'a/b' for a Hub id).",
    ]
    return "\n".join(header) + "\n" + yaml.safe_dump_all(docs, sort_keys=False)


def _strings(value: Any) -> list[str]:
    """Every string in a parsed YAML value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_strings(k), *_strings(v))]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _strings(v)]
    return []


def mergekit_documents(plan: Plan, run_dir: str = "graft-run") -> dict[str, dict[str, Any]]:
    """The mergekit configuration of each merge_models stage, references resolved into `run_dir`."""
    out = {}
    for step in walk(plan, run_dir):
        if step.stage.kind == "merge_models":
            out[step.stage.id] = _merge_config(step.stage, lambda ref, step=step: local_path(step.refs[ref]))
    return out


# --------------------------------------------------------------------------------------------
# What the standalone code shares: Graft's own dataset code and the model steps, self-contained.


def _source_of(module: Any, names: tuple[str, ...]) -> str:
    parts = []
    for name in names:
        obj = getattr(module, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            parts.append(inspect.getsource(obj).rstrip())
        else:
            parts.append(f"{name} = {obj!r}")
    return "\n\n\n".join(parts)


def dataset_source() -> str:
    """Graft's own dataset reading, normalising and held-out split (tools.datasets_io's PORTABLE functions,
    verbatim) and its choice of the tokens that carry loss (tools/sft.py), to embed in an export."""
    import tools.datasets_io as datasets_io
    import tools.sft as sft

    return "\n\n".join(
        [
            datasets_io.portable_source().rstrip(),
            _source_of(datasets_io, ("training_rows",)),
            _source_of(sft, _SFT_NAMES),
        ]
    )


HELPERS = r'''
# ---- Graft's dataset code (tools/datasets_io.py, tools/sft.py), copied verbatim ----

@DATASETS@


# ---- the model steps, as Graft's stages do them ----


def stage_rows(stage, chat_template):
    """(train rows, loss flags) of a training stage as Graft builds them: its reader, its held-out split
    (same fraction, same seed) and, for SFT, which tokens carry the loss (tools/sft.py)."""
    method = "sft" if stage["kind"] == "sft" else stage["method"]
    rows, layout, _format = training_rows(stage["dataset"], method)  # any format Graft reads, as TRL takes it
    if stage["kind"] == "sft":
        train, _held = split_holdout(rows, stage["eval_fraction"], stage["seed"])
        mode = loss_mode(layout, type("Tokenizer", (), {"chat_template": chat_template})())
        if mode == "assistant_only":
            return train, {"assistant_only_loss": True}
        if mode == "completion_only":
            return reply_rows(train, stage["dataset"]), {"completion_only_loss": True}
        if mode == "completion":
            return train, {"completion_only_loss": True}
        return train, {}
    if layout == "unpaired":  # thumbs-up and thumbs-down rows held out alike
        groups = [
            split_holdout([r for r in rows if r["label"] is side], stage["eval_fraction"], stage["seed"])
            for side in (True, False)
        ]
        return [r for train, _held in groups for r in train], {}
    return split_holdout(rows, stage["eval_fraction"], stage["seed"])[0], {}


def device_settings():
    """bf16 on a CUDA GPU that has it, plain float32 on CPU (Graft's tools/training.py)."""
    import torch

    if torch.cuda.is_available():
        bf16 = torch.cuda.is_bf16_supported()
        return {"use_cpu": False, "bf16": bf16, "fp16": not bf16}
    return {"use_cpu": True, "bf16": False, "fp16": False}


def load_model(path, adapters=(), dtype=None):
    """(model, tokenizer) with `adapters` folded in, in order (never stacked). Training loads bf16 on a
    GPU that has it, else float32, as Graft does."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if dtype is None:
        dtype = torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    for adapter in adapters:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    return model, tokenizer


def own_dtype(path):
    import torch
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(path)
    dtype = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None) or torch.float32
    return getattr(torch, dtype) if isinstance(dtype, str) else dtype


def save(model, tokenizer, out, max_shard_size="5GB"):
    import shutil
    from pathlib import Path

    if Path(out).exists():
        shutil.rmtree(out)  # a stage folder of this run, from an earlier try
    model.save_pretrained(str(out), max_shard_size=max_shard_size)
    tokenizer.save_pretrained(str(out))


def fold(base, adapters, weights=None, combination="cat", density=0.5):
    """Graft's merge_adapter (tools/merge_adapter.py). Returns (model, tokenizer).

    A sum of deltas ("cat", or one adapter): each adapter's B@A times scale·weight added in float32 in
    training order, as PEFT merges it, and the result cast back to the base's own dtype. Several adapters
    with another combination: PEFT's add_weighted_adapter on the base as it loads, as Graft does."""
    import torch

    weights = list(weights or [1.0] * len(adapters))
    if len(adapters) > 1 and combination != "cat":
        from peft import PeftModel

        model, tokenizer = load_model(base, (), "auto")
        peft = PeftModel.from_pretrained(model, adapters[0], adapter_name="a0")
        for i, adapter in enumerate(adapters[1:], 1):
            peft.load_adapter(adapter, adapter_name=f"a{i}")
        extra = {"density": density} if combination in ("ties", "dare_ties", "dare_linear") else {}
        names = [f"a{i}" for i in range(len(adapters))]
        peft.add_weighted_adapter(names, weights, "combined", combination_type=combination, **extra)
        peft.set_adapter("combined")
        for name in names:
            peft.delete_adapter(name)
        return peft.merge_and_unload(), tokenizer
    from peft import PeftModel

    model, tokenizer = load_model(base, (), torch.float32)
    for adapter, weight in zip(adapters, weights):
        peft = PeftModel.from_pretrained(model, adapter)
        if weight != 1.0:
            for module in peft.modules():
                scaling = getattr(module, "scaling", None)
                if isinstance(scaling, dict) and "default" in scaling:
                    scaling["default"] = scaling["default"] * weight
        model = peft.merge_and_unload()
    return model.to(own_dtype(base)), tokenizer


def merge_models(config, out, seed):
    """Graft's merge_models: mergekit's run_merge with the stage's seed (dare/della masks: same bytes)."""
    from mergekit.config import MergeConfiguration
    from mergekit.merge import run_merge
    from mergekit.options import MergeOptions

    options = MergeOptions(random_seed=seed, copy_tokenizer=True, lazy_unpickle=False, low_cpu_memory=True, quiet=True)
    run_merge(MergeConfiguration.model_validate(config), str(out), options=options)


def write_final(model_path, pending, out, dtype, max_shard_size):
    """Graft's write: pending adapters folded, every float tensor cast to `dtype`, sharded."""
    import torch
    from pathlib import Path

    if Path(out).exists():
        raise SystemExit(f"{out} exists; remove it or pass another output.")
    if pending:
        model, tokenizer = fold(model_path, pending)
    else:
        model, tokenizer = load_model(model_path, (), own_dtype(model_path))
    if dtype != "auto":
        model = model.to(getattr(torch, dtype))
    model.save_pretrained(str(out), max_shard_size=max_shard_size)
    tokenizer.save_pretrained(str(out))
'''


def _helpers() -> str:
    return HELPERS.replace("@DATASETS@", dataset_source())


def _one_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


# --------------------------------------------------------------------------------------------
# Per-stage training arguments, LoRA targets (full module paths) and the chat template


def _trainer_args(stage: Any) -> dict[str, Any]:
    """TRL config arguments of a training stage as Graft builds them, without output_dir and device flags."""
    from tools.preference import method_config
    from tools.training import common_config

    args = common_config(stage, Path("."))
    for key in ("output_dir", "use_cpu", "bf16", "fp16"):
        args.pop(key)
    if stage.kind == "preference":
        args.update(method_config(stage))
    else:
        args["packing"] = stage.packing
    return args


class _ModelFacts:
    """What an export needs to know of a checkpoint: the modules LoRA wraps and the chat template."""

    def __init__(self) -> None:
        self._models: dict[str, Any] = {}

    def model(self, path: str) -> Any:
        if path not in self._models:
            import torch
            from transformers import AutoConfig, AutoModelForCausalLM

            try:
                config = AutoConfig.from_pretrained(path)
            except (OSError, ValueError) as exc:
                raise GraftError(f"cannot read the model config of {path}: {exc}.") from None
            with torch.device("meta"):  # the module tree only; no weights are read
                self._models[path] = AutoModelForCausalLM.from_config(config)
        return self._models[path]

    def lora(self, stage: Any, path: str) -> dict[str, Any] | None:
        """PEFT LoraConfig arguments that wrap exactly the modules Graft's stage wraps, named by full path."""
        if stage.adapter == "none":
            return None
        import copy

        from peft import get_peft_model

        from tools.training import lora_config

        model = copy.deepcopy(self.model(path))
        config = lora_config(stage, model)
        order = {n: i for i, (n, _) in enumerate(model.named_modules())}
        wrapped = get_peft_model(model, config)
        targets = sorted(
            {
                n.removeprefix("base_model.model.").split(".lora_A.")[0]
                for n, _ in wrapped.named_parameters()
                if ".lora_A." in n
            },
            key=order.__getitem__,
        )
        return {
            "r": stage.r,
            "lora_alpha": stage.alpha,
            "lora_dropout": stage.dropout,
            "target_modules": targets,
            "fan_in_fan_out": bool(config.fan_in_fan_out),
            "use_dora": stage.adapter == "dora",
            "task_type": "CAUSAL_LM",
        }

    @staticmethod
    def chat_template(path: str) -> str:
        from transformers import AutoTokenizer

        try:
            return AutoTokenizer.from_pretrained(path).chat_template or ""
        except (OSError, ValueError):
            return ""


def _facts_path(step: Step, plan: Plan) -> str:
    """A checkpoint with the stage's input layout that exists now (a run folder may not yet)."""
    return step.model if step.model and Path(step.model, "config.json").is_file() else plan.base_model


def _stage_record(stage: Any) -> dict[str, Any]:
    keys = ("id", "kind", "method", "dataset", "eval_fraction", "seed", "adapter")
    return {k: getattr(stage, k, None) for k in keys}


# --------------------------------------------------------------------------------------------
# --as script


SCRIPT = '''#!/usr/bin/env python
"""Exported by Graft from the plan: @GOAL@

Runs the plan's stages with transformers, peft, trl, datasets and mergekit alone (no Graft),
offline, with Graft's dataset reader, held-out split and seeds: the final tensors equal what
`graft run` writes. Run it from the folder you run `graft run` in (the plan's paths are relative
to it):
    python @NAME@ [--run-dir RUN] [--output FOLDER]
"""

from __future__ import annotations

import os

for _key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_key, "1")  # every model and dataset is a local path

import argparse
import json
import random
from pathlib import Path
from typing import Any

PLAN = json.loads(r"""@PLAN@""")
# Each training stage's TRL config arguments and PEFT LoraConfig (modules named by full path).
TRAINER_ARGS = json.loads(r"""@ARGS@""")
LORA = json.loads(r"""@LORA@""")
# Each merge_models stage's mergekit configuration; model entries are plan references.
MERGES = json.loads(r"""@MERGES@""")
# Which TRL trainer runs each preference method.
TRAINERS = @TRAINERS@
@HELPERS@

def train(stage, model_path, prior, out):
    """One sft/preference stage as Graft's tools/sft.py and tools/preference.py run it."""
    import importlib
    import tempfile
    import warnings

    from datasets import Dataset

    model, tokenizer = load_model(model_path, prior)
    rows, flags = stage_rows(stage, tokenizer.chat_template or "")
    module, config_name, trainer_name = (
        TRAINERS[stage["method"]] if stage["kind"] == "preference" else ("trl", "SFTConfig", "SFTTrainer")
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        trl_module = importlib.import_module(module)
    with tempfile.TemporaryDirectory() as scratch:
        args = {**TRAINER_ARGS[stage["id"]], **flags, **device_settings(), "output_dir": scratch}
        peft_config = None
        if LORA.get(stage["id"]):
            from peft import LoraConfig

            peft_config = LoraConfig(**LORA[stage["id"]])
        kwargs = {"model": model, "args": getattr(trl_module, config_name)(**args),
                  "train_dataset": Dataset.from_list(rows), "processing_class": tokenizer, "peft_config": peft_config}
        if stage["kind"] == "preference" and stage["method"] in ("dpo", "kto"):
            kwargs["ref_model"] = None  # LoRA: the adapter switched off; full: TRL's frozen copy
        trainer = getattr(trl_module, trainer_name)(**kwargs)
        trainer.train()
        if Path(out).exists():
            import shutil

            shutil.rmtree(out)
        if peft_config is None:
            trainer.save_model(str(out))
            Path(out, "training_args.bin").unlink(missing_ok=True)
        else:
            trainer.model.save_pretrained(str(out))
        tokenizer.save_pretrained(str(out))


def main():
    parser = argparse.ArgumentParser(description="Run the exported Graft plan.")
    parser.add_argument("--run-dir", default="@RUN_DIR@", help="folder for each stage's output")
    parser.add_argument("--output", help="the final folder (default: the plan's output)")
    cli = parser.parse_args()
    run = Path(cli.run_dir)
    # Before anything is made or trained: the plan's relative paths start where `graft run` runs, and
    # an existing final folder would stop the run at its last step.
    needed = [PLAN["base_model"]] + [s["dataset"] for s in PLAN["stages"] if s["kind"] in ("sft", "preference")]
    needed += [m for s in PLAN["stages"] if s["kind"] == "merge_models" for m in [*s["models"], s.get("base")]
               if m and not m.startswith("@")]
    needed += [a for s in PLAN["stages"] if s["kind"] == "merge_adapter" for a in s["adapters"] if not a.startswith("@")]
    missing = [path for path in needed if not Path(path).exists()]
    if missing:
        raise SystemExit(f"{missing[0]} not found from {os.getcwd()}; run this script from the folder you run "
                         "`graft run` in (the plan's relative paths start there).")
    for stage in PLAN["stages"]:
        target = cli.output or stage.get("output") or PLAN["output"] if stage["kind"] == "write" else None
        if target and Path(target).exists():
            raise SystemExit(f"{target} exists; remove it or pass --output FOLDER.")
    run.mkdir(parents=True, exist_ok=True)
    base = PLAN["base_model"]
    outputs = {}
    current, pending = base, []

    def ref(value):
        if value is None:
            return None
        if value == "@base":
            first = PLAN["stages"][0]
            return base
        return outputs[value[1:]] if value.startswith("@") else value

    for stage in PLAN["stages"]:
        sid, kind = stage["id"], stage["kind"]
        out = str(run / sid)
        print(f"== {sid} ({' '.join(filter(None, (kind, stage.get('method'))))})", flush=True)
        if kind in ("sft", "preference"):
            model = ref(stage.get("input")) or current
            prior = [] if stage.get("input") else pending
            train(stage, model, prior, out)
            current, pending = (model, [*prior, out]) if stage["adapter"] != "none" else (out, [])
        elif kind == "merge_adapter":
            adapters = [ref(a) for a in stage["adapters"]] or pending
            model, tokenizer = fold(ref(stage.get("input")) or current, adapters, stage["weights"],
                                    stage["combination"], stage["density"])
            save(model, tokenizer, out, stage["max_shard_size"])
            current, pending = out, []
        elif kind == "merge_models":
            config = json.loads(json.dumps(MERGES[sid]))
            # Absolute paths: mergekit takes a relative "a/b" for a Hub repo id.
            for entry in config.get("models", []):
                entry["model"] = os.path.abspath(ref(entry["model"]))
            if config.get("base_model"):
                config["base_model"] = os.path.abspath(ref(config["base_model"]))
            merge_models(config, out, stage["seed"])
            current, pending = out, []
        elif kind == "write":
            target = cli.output or stage.get("output") or PLAN["output"]
            write_final(current, pending, target, stage["dtype"], stage["max_shard_size"])
            print(f"wrote {target}", flush=True)
        outputs[sid] = out


if __name__ == "__main__":
    main()
'''


def _refuse_convert(plan: Plan) -> None:
    """A convert stage is Graft's own safe unpickling (tools/convert.py); the libraries' loaders differ
    (tied tensors, dropped keys), so the standalone exports refuse it rather than convert differently."""
    for stage in plan.stages:
        if stage.kind == "convert":
            raise GraftError(
                f"stage {stage.id} converts {stage.source} with Graft's own converter, which this export does not "
                "reproduce; run `graft convert` once and make its output the plan's base_model."
            )


def export_script(plan: Plan, name: str = "graft_pipeline.py", run_dir: str = "graft-run") -> str:
    """The plan as one Python file that runs it with the libraries alone, offline, with Graft's split and seeds."""
    from tools.preference import TRAINERS

    _refuse_convert(plan)
    facts = _ModelFacts()
    args: dict[str, Any] = {}
    lora: dict[str, Any] = {}
    merges: dict[str, Any] = {}
    for step in walk(plan, run_dir):
        stage = step.stage
        if stage.kind in ("sft", "preference"):
            args[stage.id] = _trainer_args(stage)
            lora[stage.id] = facts.lora(stage, _facts_path(step, plan))
        elif stage.kind == "merge_models":
            merges[stage.id] = _merge_config(stage, lambda ref: ref)  # references resolved when the script runs
    plan_json = json.dumps(plan.model_dump(mode="json"), indent=2, ensure_ascii=False)

    return (
        SCRIPT.replace("@HELPERS@", _helpers())
        .replace("@GOAL@", _one_line(plan.goal).replace('"""', "'''"))
        .replace("@NAME@", name)
        .replace("@RUN_DIR@", run_dir.replace("\\", "/").replace('"', ""))
        .replace("@PLAN@", plan_json)
        .replace("@ARGS@", json.dumps(args, indent=2))
        .replace("@LORA@", json.dumps(lora, indent=2))
        .replace("@MERGES@", json.dumps(merges, indent=2))
        .replace("@TRAINERS@", json.dumps({k: list(v) for k, v in TRAINERS.items()}, indent=4))
    )


# --------------------------------------------------------------------------------------------
# --as trl


STEPS = '''#!/usr/bin/env python
"""Graft's steps around TRL's command line for the exported plan: @GOAL@

    python steps.py prepare [STAGE]          each training stage's train split (Graft's reader, split and seed) as JSON Lines
    python steps.py fold OUT BASE ADAPTER…   fold adapters into BASE (Graft's merge_adapter)
    python steps.py write OUT MODEL [ADAPTER…] --dtype D --max-shard-size S
chain.sh calls these in order; none needs Graft.
"""

from __future__ import annotations

import os

for _key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_key, "1")

import argparse
import json
import random
from pathlib import Path
from typing import Any

# Each training stage: its dataset, held-out fraction and seed, and the chat template it trains with.
STAGES = json.loads(r"""@STAGES@""")
@HELPERS@

def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("stage", nargs="?", help="one training stage (default: every one)")
    p = sub.add_parser("fold")
    p.add_argument("out")
    p.add_argument("base")
    p.add_argument("adapters", nargs="+")
    p.add_argument("--weights", type=float, nargs="*")
    p.add_argument("--combination", default="cat")
    p.add_argument("--density", type=float, default=0.5)
    p.add_argument("--training", action="store_true", help="as a training stage folds: in its training dtype")
    p.add_argument("--max-shard-size", default="5GB")
    p = sub.add_parser("write")
    p.add_argument("out")
    p.add_argument("model")
    p.add_argument("adapters", nargs="*")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--max-shard-size", default="5GB")
    a = parser.parse_args()
    if a.step == "prepare":
        for stage_id in [a.stage] if a.stage else list(STAGES):
            stage = STAGES[stage_id]
            rows, _flags = stage_rows(stage, stage["chat_template"])
            Path(stage["train_file"]).parent.mkdir(parents=True, exist_ok=True)
            with open(stage["train_file"], "w", encoding="utf-8") as handle:
                for row in rows:
                    handle.write(json.dumps(row, ensure_ascii=False) + "\\n")
            print(f"{stage_id}: {len(rows)} train rows in {stage['train_file']}")
    elif a.step == "fold":
        if a.training:
            model, tokenizer = load_model(a.base, a.adapters)
        else:
            model, tokenizer = fold(a.base, a.adapters, a.weights, a.combination, a.density)
        save(model, tokenizer, a.out, a.max_shard_size)
    elif a.step == "write":
        write_final(a.model, a.adapters, a.out, a.dtype, a.max_shard_size)
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
'''


def export_trl(plan: Plan, folder: str) -> dict[str, str]:
    """The plan as TRL command-line configs (one flat YAML per training stage), mergekit configs, a small
    steps.py (data split, adapter folds, the final write) and chain.sh running them in order.

    Returns {file name: text} for `folder`; every path inside is relative to the folder the export is
    run from (the one `graft run` runs in), "./"-prefixed, or absolute as the plan gives it.
    """
    import torch
    import yaml

    from tools.datasets_io import training_rows
    from tools.merge_models import RANDOMISED
    from tools.sft import loss_mode

    _refuse_convert(plan)
    home = local_path(folder)
    run = f"{home}/run"
    steps_py = f"{home}/steps.py"
    facts = _ModelFacts()
    files: dict[str, str] = {}
    stages: dict[str, Any] = {}
    goal = _one_line(plan.goal)
    lines = [
        "#!/usr/bin/env bash",
        f"# Exported by Graft from the plan: {goal}",
        "# Runs the plan with TRL's command line, PEFT and mergekit alone (no Graft), offline.",
        "# Run it from the folder you run `graft run` in (the plan's paths are relative to it):",
        f"#   bash {home}/chain.sh",
        f"# Stage outputs land in {run}/<stage id>; OUTPUT=FOLDER replaces the plan's final folder.",
        "set -euo pipefail",
        "export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1",
        'PYTHON="${PYTHON:-python}"',
    ]
    q = shlex.quote
    walked = list(walk(plan, run))
    final = next((local_path(w.out) for w in walked if w.stage.kind == "write"), None)
    inputs = sorted(
        {local_path(plan.base_model)}
        | {local_path(w.stage.dataset) for w in walked if w.stage.kind in ("sft", "preference")}
    )
    # Checked before anything trains: a missing input or an existing output would otherwise stop the
    # chain at its last step, after every stage has trained.
    lines.append(
        f"for input in {' '.join(q(i) for i in inputs)}; do\n"
        '    [ -e "$input" ] || { echo "chain.sh: $input not found from $PWD; run it from the folder you run '
        '\\`graft run\\` in." >&2; exit 2; }\ndone'
    )
    if final:
        lines.append(
            f'FINAL="${{OUTPUT:-{final}}}"\n'
            'if [ -e "$FINAL" ]; then echo "chain.sh: $FINAL exists; remove it or set OUTPUT=FOLDER." >&2; exit 2; fi'
        )
    device = "bfloat16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "float32"
    cuda = torch.cuda.is_available()
    for step in walked:
        stage = step.stage
        lines.append(f"\n# {stage.id}: {stage.kind}{' ' + stage.method if getattr(stage, 'method', None) else ''}")
        if stage.kind in ("sft", "preference"):
            command = TRL_COMMANDS.get("sft" if stage.kind == "sft" else stage.method)
            if command is None:
                raise GraftError(
                    f"stage {stage.id} uses {stage.method}, which TRL 1.16's command line does not run "
                    "(it has sft, dpo and kto); export this plan --as script instead."
                )
            if stage.adapter != "none" and float(stage.alpha) != int(stage.alpha):
                raise GraftError(
                    f"stage {stage.id} has alpha {stage.alpha}; TRL's command line takes a whole-number lora_alpha."
                )
            model = local_path(step.model)
            if step.prior:  # Graft folds the unmerged adapters in before training
                model = f"{run}/{stage.id}.base"
                lines.append(
                    f'"$PYTHON" {q(steps_py)} fold {q(model)} {q(local_path(step.model))} '
                    + " ".join(q(local_path(a)) for a in step.prior)
                    + " --training"
                )
            facts_path = _facts_path(step, plan)
            template = facts.chat_template(facts_path)
            train_file = f"{home}/data/{stage.id}.train.jsonl"
            stages[stage.id] = {
                **_stage_record(stage),
                "dataset": local_path(stage.dataset),
                "chat_template": template,
                "train_file": train_file,
            }
            flags: dict[str, Any] = {}
            if stage.kind == "sft":
                mode = loss_mode(training_rows(stage.dataset, "sft")[1], type("T", (), {"chat_template": template})())
                flags = {
                    "assistant_only": {"assistant_only_loss": True},
                    "completion_only": {"completion_only_loss": True},
                    "completion": {"completion_only_loss": True},
                }.get(mode, {})
            config: dict[str, Any] = {
                "model_name_or_path": model,
                "dtype": device,
                "datasets": [{"path": "json", "data_files": train_file}],
                "output_dir": local_path(step.out),
            }
            lora = facts.lora(stage, facts_path)
            if lora:
                config.update(
                    use_peft=True,
                    lora_r=lora["r"],
                    lora_alpha=int(lora["lora_alpha"]),
                    lora_dropout=lora["lora_dropout"],
                    lora_target_modules=lora["target_modules"],
                    use_dora=lora["use_dora"],
                )
            args = _trainer_args(stage)
            args["report_to"] = "none"
            config.update(args)
            config.update(flags)
            config.update({"use_cpu": not cuda, "bf16": device == "bfloat16", "fp16": cuda and device != "bfloat16"})
            head = [
                f"# TRL command-line config of stage {stage.id} ({stage.kind}"
                + (f", {stage.method}" if stage.kind == "preference" else "")
                + f") exported by Graft: {goal}",
                f"#   trl {command} --config {home}/{stage.id}.yaml   (from the folder you run `graft run` in)",
                f"# The data is Graft's train split of {local_path(stage.dataset)} (held-out rows set aside):",
                f"#   python {steps_py} prepare {stage.id}   writes {train_file} first.",
                "# dtype/use_cpu/bf16 are what Graft uses on the machine that exported this "
                + ("(a CUDA GPU)." if cuda else "(CPU): on a GPU set dtype: bfloat16, use_cpu: false, bf16: true."),
            ]
            if stage.gpus > 1:
                head.append(
                    f"# Graft runs this stage on {stage.gpus} GPUs ({stage.distributed or 'fsdp'}): add accelerate's "
                    f"--num_processes {stage.gpus} to the trl command."
                )
            if stage.layers is not None:
                head.append(f"# Layers {stage.layers} only: lora_target_modules names each module by its full path.")
            files[f"{stage.id}.yaml"] = (
                "\n".join(head) + "\n" + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
            )
            lines.append(f"trl {command} --config {q(home + '/' + stage.id + '.yaml')}")
        elif stage.kind == "merge_adapter":
            extra = ""
            if stage.weights:
                extra += " --weights " + " ".join(str(w) for w in stage.weights)
            if stage.combination != "cat":
                extra += f" --combination {stage.combination} --density {stage.density}"
            lines.append(
                f'"$PYTHON" {q(steps_py)} fold {q(local_path(step.out))} {q(local_path(step.model))} '
                + " ".join(q(local_path(a)) for a in step.adapters)
                + f" --max-shard-size {q(stage.max_shard_size)}{extra}"
            )
        elif stage.kind == "merge_models":
            doc = _merge_config(stage, lambda ref, step=step: local_path(step.refs[ref]))
            name = f"{stage.id}.mergekit.yml"
            files[name] = f"# mergekit configuration of stage {stage.id} exported by Graft: {goal}\n" + yaml.safe_dump(
                doc, sort_keys=False
            )
            seed = f" --random-seed {stage.seed}" if stage.method in RANDOMISED else ""
            lines.append(f"mergekit-yaml {q(home + '/' + name)} {q(local_path(step.out))}{seed}")
        elif stage.kind == "write":
            lines.append(
                f'"$PYTHON" {q(steps_py)} write "$FINAL" {q(local_path(step.model))} '
                + " ".join(q(local_path(a)) for a in step.prior)
                + f" --dtype {stage.dtype} --max-shard-size {q(stage.max_shard_size)}"
            )
    if stages:  # every training stage's train split first: the data does not depend on the models
        at = next(i for i, line in enumerate(lines) if line.startswith("\n# "))
        lines.insert(
            at, f'\n# the train split of each training stage, as Graft splits it\n"$PYTHON" {q(steps_py)} prepare'
        )
    stages_json = json.dumps(stages, indent=2, ensure_ascii=False)  # JSON escapes every quote
    files["steps.py"] = (
        STEPS.replace("@HELPERS@", _helpers())
        .replace("@GOAL@", goal.replace('"""', "'''"))
        .replace("@STAGES@", stages_json)
    )
    files["chain.sh"] = "\n".join(lines) + "\n"
    return files


def write_export_folder(files: dict[str, str], folder: Path, overwrite: bool = False) -> list[str]:
    """Write an export's files into `folder`: a new folder atomically; over an earlier export of this kind
    (its chain.sh and steps.py) only with `overwrite`, replacing its files and keeping its run/ and data/."""
    from tools.safetensors_writer import atomic_folder, atomic_write_text

    folder = Path(folder)
    if folder.exists() or folder.is_symlink():
        if not overwrite:
            raise GraftError(
                f"{folder} already exists; pass --overwrite to replace the export in it, or choose another path."
            )
        if not (folder.is_dir() and (folder / "chain.sh").is_file() and (folder / "steps.py").is_file()):
            raise GraftError(
                f"{folder} is not an earlier `graft export --as trl` folder; move it away or choose another path."
            )
        for name, text in files.items():
            atomic_write_text(folder / name, text, overwrite=True)
            if name.endswith((".sh", ".py")):
                (folder / name).chmod(0o755)
        return list(files)
    with atomic_folder(folder) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
            if name.endswith((".sh", ".py")):
                (tmp / name).chmod(0o755)
    return list(files)


def export_plan(plan: Plan, form: ExportFormat, name: str = "graft_pipeline.py", run_dir: str = "graft-run") -> str:
    """The plan in the requested form, as text (script or mergekit; --as trl writes a folder: export_trl).

    `run_dir`: for mergekit, the run folder `graft run` left (PLAN.run); for the script, its own run folder.
    """
    if form == "mergekit":
        return export_mergekit(plan, run_dir, name)
    if form == "trl":
        raise GraftError(
            "the TRL export is a folder of configs and a chain script: write it with "
            "`graft export PLAN --as trl -o FOLDER`."
        )
    return export_script(plan, name, run_dir)

"""The `preference` stage: DPO (every TRL loss type), ORPO, SimPO or KTO through TRL's trainers.

DPO and KTO score against a reference model: the stage's input as it stands. After a merged
SFT that is the merged model; after an unmerged SFT adapter, that adapter is folded in first
(never stacked, never overwritten). With LoRA the reference is the same weights with the new
adapter switched off; with full fine-tuning TRL keeps a frozen copy. ORPO and SimPO are
reference-free: no reference is built and nothing extra is held in memory.

Trainers: `trl.DPOTrainer`, `trl.KTOTrainer` (stable API), `trl.experimental.orpo.ORPOTrainer`,
and `trl.experimental.cpo.CPOTrainer` with `loss_type="simpo"` (SimPO; `cpo_alpha=0` is pure
SimPO, above 0 it adds CPO's behaviour-cloning term).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from tools.datasets_io import split_holdout, training_rows
from tools.progress import Progress, silent
from tools.training import (
    PreferenceSpec,
    TrainResult,
    common_config,
    finish,
    freeze_outside_selection,
    load_current_model,
    lora_config,
    progress_callback,
    quiet,
)

TRAINERS = {
    "dpo": ("trl", "DPOConfig", "DPOTrainer"),
    "orpo": ("trl.experimental.orpo", "ORPOConfig", "ORPOTrainer"),
    "simpo": ("trl.experimental.cpo", "CPOConfig", "CPOTrainer"),
    "kto": ("trl", "KTOConfig", "KTOTrainer"),
}


def method_config(spec: PreferenceSpec) -> dict[str, Any]:
    """The method's own TRL config arguments (beside the shared TrainingArguments).

    The exporter writes exactly these, so an exported config runs the method Graft ran.
    """
    if spec.method == "dpo":
        extra: dict[str, Any] = {"beta": spec.beta, "loss_type": spec.losses}
        if spec.loss_weights is not None:
            extra["loss_weights"] = list(spec.loss_weights)
        if spec.label_smoothing:
            extra["label_smoothing"] = spec.label_smoothing
        return extra
    if spec.method == "orpo":
        return {"beta": spec.beta}
    if spec.method == "simpo":
        return {"beta": spec.beta, "loss_type": "simpo", "simpo_gamma": spec.simpo_gamma, "cpo_alpha": spec.cpo_alpha}
    return {
        "beta": spec.beta,
        "loss_type": spec.loss_type,
        "desirable_weight": spec.desirable_weight,
        "undesirable_weight": spec.undesirable_weight,
    }


def trl_classes(method: str) -> tuple[Any, Any]:
    """(Config class, Trainer class) of a preference method, from TRL itself."""
    import importlib

    module_name, config_name, trainer_name = TRAINERS[method]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "experimental" notices; the API is what 1.16 ships
        module = importlib.import_module(module_name)
    return getattr(module, config_name), getattr(module, trainer_name)


def build_config(spec: PreferenceSpec, output_dir: Path) -> Any:
    """The TRL config object of this stage (shared arguments + the method's own)."""
    config_cls, _ = trl_classes(spec.method)
    args = common_config(spec, output_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return config_cls(**args, **method_config(spec))


def run_preference(
    spec: PreferenceSpec,
    model_path: str,
    output: str,
    stage_id: str = "preference",
    prior_adapters: list[str] | None = None,
    progress: Progress = silent,
) -> TrainResult:
    """Preference-tune the model at `model_path` with the spec's method; the adapter or model lands in `output`."""
    import tempfile

    from datasets import Dataset

    rows, layout, _ = training_rows(spec.dataset, spec.method)  # implicit prompts extracted by TRL's helper
    if layout == "unpaired":  # hold out thumbs-up and thumbs-down rows alike, so both rewards are measured
        groups = [
            split_holdout([r for r in rows if r["label"] is side], spec.eval_fraction, spec.seed)
            for side in (True, False)
        ]
        train_rows = [r for train, _ in groups for r in train]
        held_rows = [r for _, held in groups for r in held]
    else:
        train_rows, held_rows = split_holdout(rows, spec.eval_fraction, spec.seed)
    model, tokenizer = load_current_model(model_path, prior_adapters)
    freeze_outside_selection(model, spec)  # full fine-tuning of some layers or modules trains only those
    _, trainer_cls = trl_classes(spec.method)
    with tempfile.TemporaryDirectory(
        prefix=f"graft-{spec.method}-{os.getpid()}-"
    ) as scratch:  # pid: see clean_leftovers
        kwargs: dict[str, Any] = {
            "model": model,
            "args": build_config(spec, Path(scratch)),
            "train_dataset": Dataset.from_list(train_rows),
            "eval_dataset": Dataset.from_list(held_rows) if held_rows else None,
            "processing_class": tokenizer,
            "peft_config": lora_config(spec, model) if spec.adapter != "none" else None,
            "callbacks": [progress_callback(stage_id, progress)],
        }
        if spec.uses_reference:
            kwargs["ref_model"] = None  # LoRA: the adapter switched off; full: TRL's frozen copy of this model
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            trainer = quiet(trainer_cls(**kwargs))
        return finish(
            trainer,
            spec,
            tokenizer,
            Path(output),
            stage_id,
            progress,
            train_rows,
            held_rows,
            prior_adapters,
            method=spec.method,
            layout=layout,
        )

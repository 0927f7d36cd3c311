"""The `dpo` stage: TRL's DPOTrainer on the current model.

The reference model is the stage's input as it stands: after a merged SFT that is the merged
model; after an unmerged SFT adapter, that adapter is folded in first (never stacked, never
overwritten). With LoRA the reference is the same weights with the new adapter disabled.
"""

from __future__ import annotations

from pathlib import Path

from tools.datasets_io import check_dpo, load_rows, split_holdout
from tools.progress import Progress, silent
from tools.training import (
    DPOSpec,
    TrainResult,
    common_config,
    finish,
    load_current_model,
    lora_config,
    progress_callback,
    quiet,
)


def run_dpo(
    spec: DPOSpec,
    model_path: str,
    output: str,
    stage_id: str = "dpo",
    prior_adapters: list[str] | None = None,
    progress: Progress = silent,
) -> TrainResult:
    """Preference-tune the model at `model_path` on prompt/chosen/rejected rows."""
    import tempfile

    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    rows = load_rows(spec.dataset)
    check_dpo(rows, spec.dataset)
    train_rows, held_rows = split_holdout(rows, spec.eval_fraction, spec.seed)
    model, tokenizer = load_current_model(model_path, prior_adapters)
    with tempfile.TemporaryDirectory(prefix="graft-dpo-") as scratch:
        config = DPOConfig(**common_config(spec, Path(scratch)), beta=spec.beta, loss_type=[spec.loss_type])
        trainer = quiet(
            DPOTrainer(
                model=model,
                ref_model=None,  # LoRA: adapter disabled; full: a frozen copy of this same model
                args=config,
                train_dataset=Dataset.from_list(train_rows),
                eval_dataset=Dataset.from_list(held_rows) if held_rows else None,
                processing_class=tokenizer,
                peft_config=lora_config(spec, model) if spec.adapter != "none" else None,
                callbacks=[progress_callback(stage_id, progress)],
            )
        )
        return finish(trainer, spec, tokenizer, Path(output), stage_id, progress, train_rows, held_rows, prior_adapters)

"""The `sft` stage: TRL's SFTTrainer with a PEFT LoRA/DoRA adapter, or full fine-tuning."""

from __future__ import annotations

from pathlib import Path

from tools.datasets_io import load_rows, sft_format, split_holdout
from tools.errors import GraftError
from tools.progress import Progress, silent
from tools.training import (
    TrainResult,
    TrainSpec,
    common_config,
    finish,
    load_current_model,
    lora_config,
    progress_callback,
    quiet,
)


def run_sft(
    spec: TrainSpec,
    model_path: str,
    output: str,
    stage_id: str = "sft",
    prior_adapters: list[str] | None = None,
    progress: Progress = silent,
) -> TrainResult:
    """Supervised fine-tuning of the model at `model_path`; the adapter or model lands in `output`."""
    import tempfile

    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    rows = load_rows(spec.dataset)
    layout = sft_format(rows, spec.dataset)
    train_rows, held_rows = split_holdout(rows, spec.eval_fraction, spec.seed)
    model, tokenizer = load_current_model(model_path, prior_adapters)
    if layout == "messages" and not tokenizer.chat_template:
        raise GraftError(f"dataset {spec.dataset} holds chat messages but {model_path} has no chat template.")
    extra = {}
    if layout == "messages" and "{% generation %}" in (tokenizer.chat_template or ""):
        extra["assistant_only_loss"] = True  # learn the replies, not the prompts
    with tempfile.TemporaryDirectory(prefix="graft-sft-") as scratch:
        config = SFTConfig(**common_config(spec, Path(scratch)), packing=False, **extra)
        trainer = quiet(
            SFTTrainer(
                model=model,
                args=config,
                train_dataset=Dataset.from_list(train_rows),
                eval_dataset=Dataset.from_list(held_rows) if held_rows else None,
                processing_class=tokenizer,
                peft_config=lora_config(spec, model) if spec.adapter != "none" else None,
                callbacks=[progress_callback(stage_id, progress)],
            )
        )
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
            "sft",
            layout,
        )

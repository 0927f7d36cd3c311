"""The `sft` stage: TRL's SFTTrainer with a PEFT LoRA/DoRA adapter, or full fine-tuning.

What carries loss, by dataset layout (the person means "learn the replies", not the prompts):
- chat `messages` whose template marks replies with `{% generation %}`: TRL's assistant-only loss;
- chat `messages` whose template has no such block (SmolLM2's, Llama's): each assistant turn
  becomes a conversational prompt/completion row (the conversation before it is the prompt),
  and TRL's completion-only loss trains the reply tokens alone; TRL's own `assistant_only_loss`
  would otherwise train on the system prompt and user turns too;
- `prompt`/`completion`: TRL's completion-only loss;
- `text`: every token (there is no prompt to leave out); the result says so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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

LOSS_ON = {
    "assistant_only": "assistant replies (the template's generation blocks)",
    "completion_only": "assistant replies (each reply a completion; the conversation before it is the prompt)",
    "completion": "completions only (prompts carry no loss)",
    "all": "every token (plain text: there is no prompt to leave out)",
}


def has_generation_block(tokenizer: Any) -> bool:
    """Whether the chat template marks the assistant's replies, which TRL's assistant-only loss needs."""
    template = tokenizer.chat_template or ""
    return "{% generation %}" in template or "{%- generation %}" in template


def reply_rows(rows: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    """Each assistant turn of each conversation as a conversational prompt/completion row."""
    out: list[dict[str, Any]] = []
    for number, row in enumerate(rows, 1):
        messages = row["messages"]
        turns = [i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "assistant" and i > 0]
        if not turns:
            raise GraftError(
                f"dataset {path} row {number} has no assistant reply after a prompt; there is nothing to learn from it."
            )
        out.extend({"prompt": messages[:i], "completion": [messages[i]]} for i in turns)
    return out


def loss_mode(layout: str, tokenizer: Any) -> str:
    """Which tokens carry loss for this layout and tokenizer (a key of LOSS_ON)."""
    if layout == "messages":
        return "assistant_only" if has_generation_block(tokenizer) else "completion_only"
    return "completion" if layout == "prompt+completion" else "all"


def build_sft_trainer(
    spec: TrainSpec,
    model_path: str,
    scratch: Path,
    stage_id: str = "sft",
    prior_adapters: list[str] | None = None,
    progress: Progress = silent,
) -> tuple[Any, Any, str, str, list[dict], list[dict]]:
    """(trainer, tokenizer, layout, loss mode, train rows, held-out rows) for an SFT stage, not yet trained."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    rows = load_rows(spec.dataset)
    layout = sft_format(rows, spec.dataset)
    train_rows, held_rows = split_holdout(rows, spec.eval_fraction, spec.seed)
    model, tokenizer = load_current_model(model_path, prior_adapters)
    if layout == "messages" and not tokenizer.chat_template:
        raise GraftError(f"dataset {spec.dataset} holds chat messages but {model_path} has no chat template.")
    mode = loss_mode(layout, tokenizer)
    train_data, held_data = train_rows, held_rows
    extra: dict[str, Any] = {}
    if mode == "assistant_only":
        extra["assistant_only_loss"] = True
    elif mode == "completion_only":
        train_data, held_data = reply_rows(train_rows, spec.dataset), reply_rows(held_rows, spec.dataset)
        extra["completion_only_loss"] = True
    elif mode == "completion":
        extra["completion_only_loss"] = True
    config = SFTConfig(**common_config(spec, scratch), packing=False, **extra)
    trainer = quiet(
        SFTTrainer(
            model=model,
            args=config,
            train_dataset=Dataset.from_list(train_data),
            eval_dataset=Dataset.from_list(held_data) if held_data else None,
            processing_class=tokenizer,
            peft_config=lora_config(spec, model) if spec.adapter != "none" else None,
            callbacks=[progress_callback(stage_id, progress)],
        )
    )
    return trainer, tokenizer, layout, mode, train_rows, held_rows


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

    with tempfile.TemporaryDirectory(prefix=f"graft-sft-{os.getpid()}-") as scratch:  # pid: see clean_leftovers
        trainer, tokenizer, layout, mode, train_rows, held_rows = build_sft_trainer(
            spec, model_path, Path(scratch), stage_id, prior_adapters, progress
        )
        progress({"stage": stage_id, "kind": "log", "message": f"loss on {LOSS_ON[mode]}"})
        result = finish(
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
        result.loss_on = LOSS_ON[mode]
        return result

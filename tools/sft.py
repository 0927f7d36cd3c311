"""The `sft` stage: TRL's SFTTrainer with a PEFT LoRA/DoRA adapter, or full fine-tuning.

What carries loss, by dataset layout (the person means "learn the replies", not the prompts):
- chat `messages` whose template marks replies with `{% generation %}`: TRL's assistant-only loss;
- chat `messages` whose template has no such block (SmolLM2's, Llama's): each assistant turn
  becomes a conversational prompt/completion row (the conversation before it is the prompt),
  and TRL's completion-only loss trains the reply tokens alone; TRL's own `assistant_only_loss`
  would otherwise train on the system prompt and user turns too;
- `prompt`/`completion`: TRL's completion-only loss;
- `text`: every token (there is no prompt to leave out); the result says so.

Packing (`packing: true`) is TRL's best-fit-decreasing packing with padding-free batches: rows
are concatenated into sequences of up to `max_length` with their positions restarting at 0,
and transformers turns those positions into a block-diagonal causal mask, so no row attends to
another. That holds only where the model's attention builds its mask that way, so before
training Graft runs two short rows packed and apart through the real model and refuses packing
when their logits differ.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tools.datasets_io import split_holdout, training_rows
from tools.errors import GraftError
from tools.progress import Progress, silent
from tools.training import (
    TrainResult,
    TrainSpec,
    common_config,
    finish,
    freeze_outside_selection,
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


def check_packing_exact(model: Any, tolerance: float | None = None) -> float:
    """Largest logit difference between two rows run packed (positions restarting) and each run alone.

    Raises GraftError when packed rows would see each other: packing is exact or refused.
    """
    import torch

    vocab = model.get_input_embeddings().weight.shape[0]
    first = torch.arange(5, 12)[None] % vocab
    second = torch.arange(20, 25)[None] % vocab
    was_training = model.training
    model.eval()
    with torch.no_grad():
        alone = [model(input_ids=ids, use_cache=False).logits.float() for ids in (first, second)]
        positions = torch.cat([torch.arange(first.shape[1]), torch.arange(second.shape[1])])[None]
        packed = model(input_ids=torch.cat([first, second], dim=1), position_ids=positions, use_cache=False)
    model.train(was_training)
    logits = packed.logits.float()[0]
    worst = max(
        (logits[: first.shape[1]] - alone[0][0]).abs().max().item(),
        (logits[first.shape[1] :] - alone[1][0]).abs().max().item(),
    )
    dtype = next(model.parameters()).dtype
    limit = tolerance if tolerance is not None else (1e-3 if dtype == torch.float32 else 5e-2)
    if worst > limit:
        kind = getattr(model.config, "model_type", "this model")
        raise GraftError(
            f"packing is not exact for {kind}: packed rows attend to each other "
            f"(logits differ by {worst:.3g}); set packing: false."
        )
    return worst


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

    rows, layout, _ = training_rows(spec.dataset, "sft")  # any format `graft data` names, as TRL takes it
    train_rows, held_rows = split_holdout(rows, spec.eval_fraction, spec.seed)
    model, tokenizer = load_current_model(model_path, prior_adapters)
    freeze_outside_selection(model, spec)  # full fine-tuning of some layers or modules trains only those
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
    packing = bool(getattr(spec, "packing", False))
    if packing:
        check_packing_exact(model)
    config = SFTConfig(**common_config(spec, scratch), packing=packing, **extra)
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
        packed = " · packed rows (padding-free)" if getattr(spec, "packing", False) else ""
        progress({"stage": stage_id, "kind": "log", "message": f"loss on {LOSS_ON[mode]}{packed}"})
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

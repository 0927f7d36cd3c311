"""What SFT and DPO share: the spec, model loading, LoRA/DoRA setup, progress and eval.

Both stages follow one life cycle (torchtune's habit): load the current model (folding in an
unmerged adapter from the previous stage first, so a new adapter never stacks on an old one),
hold out a slice of the data, measure eval loss, train, measure again, save atomically.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from tools.errors import GraftError
from tools.progress import Progress

# transformers' schedules that need no extra arguments (the others take lr_scheduler_kwargs).
SchedulerName = Literal[
    "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt"
]


class TrainSpec(BaseModel):
    """Hyper-parameters and targets of a training stage (the plan's sft/dpo fields)."""

    adapter: Literal["lora", "dora", "none"] = Field("lora", description="'none' is full fine-tuning.")
    target_modules: list[str] = Field(
        default_factory=list, description="Module names as the checkpoint spells them; empty: all linear layers."
    )
    layers: list[int] | None = Field(None, description="Block indices to train; null for all.")
    dataset: str = Field(description="Path to a .jsonl/.json/.parquet/.csv dataset.")
    r: int = Field(16, ge=1)
    alpha: float = Field(
        32, gt=0, description="LoRA scale is alpha/r; left out, alpha is 2·r (so changing r keeps the scale)."
    )
    dropout: float = Field(0.0, ge=0, lt=1)
    epochs: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, ge=1, description="Stop after this many optimizer steps.")
    learning_rate: float = Field(2e-4, gt=0)
    lr_scheduler_type: SchedulerName = Field("linear", description="transformers' learning-rate schedule.")
    warmup_steps: float = Field(
        0, ge=0, description="Warmup: a whole number of steps, or below 1 a share of all steps."
    )
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, ge=0, description="Gradient clipping norm; 0 turns clipping off.")
    batch_size: int = Field(4, ge=1)
    gradient_accumulation: int = Field(1, ge=1)
    max_length: int = Field(1024, ge=8)
    eval_fraction: float = Field(0.1, ge=0, lt=1, description="Held-out share for eval loss before/after.")
    seed: int = 0
    gradient_checkpointing: bool = Field(
        False, description="Recompute activations: less memory, about a third slower. Off unless memory is tight."
    )
    gpus: int = Field(1, ge=1, description="More than one launches through `accelerate launch`.")
    distributed: Literal["fsdp", "deepspeed", "ddp"] | None = None

    @field_validator("layers")
    @classmethod
    def _sorted_unique(cls, v: list[int] | None) -> list[int] | None:
        return sorted(set(v)) if v is not None else None

    @model_validator(mode="before")
    @classmethod
    def _alpha_follows_rank(cls, data: Any) -> Any:
        """alpha left out (or null) is 2·r, the common choice, so a smaller rank keeps LoRA's scale alpha/r = 2."""
        if isinstance(data, dict) and data.get("alpha") is None and data.get("r") is not None:
            data = {**data, "alpha": 2 * data["r"]}
        elif isinstance(data, dict) and "alpha" in data and data["alpha"] is None:
            data = {k: v for k, v in data.items() if k != "alpha"}
        return data

    @property
    def lora_scale(self) -> float:
        return self.alpha / self.r


class SFTSpec(TrainSpec):
    """An SFT stage: the shared training fields plus sequence packing."""

    packing: bool = Field(
        False,
        description="Pack rows into max_length sequences without padding (TRL's BFD packing, padding-free); "
        "checked exact on the model first.",
    )


PreferenceMethod = Literal["dpo", "orpo", "simpo", "kto"]
DPOLoss = Literal[
    "sigmoid",
    "hinge",
    "ipo",
    "exo_pair",
    "nca_pair",
    "robust",
    "bco_pair",
    "sppo_hard",
    "aot",
    "aot_unpaired",
    "apo_zero",
    "apo_down",
    "discopop",
    "sft",
    "sigmoid_norm",
]
KTOLoss = Literal["kto", "apo_zero_unpaired"]
DPO_LOSSES: tuple[str, ...] = DPOLoss.__args__  # type: ignore[attr-defined]
KTO_LOSSES: tuple[str, ...] = KTOLoss.__args__  # type: ignore[attr-defined]
# Methods whose trainer scores against a reference model (a frozen copy, or the base with the
# adapter switched off under LoRA). ORPO and SimPO are reference-free: nothing extra in memory.
REFERENCE_METHODS = frozenset({"dpo", "kto"})
PAIRED_METHODS = frozenset({"dpo", "orpo", "simpo"})

# Each method's own parameters, with the defaults its paper/TRL uses; a parameter of another
# method is refused, never silently ignored.
_METHOD_PARAMS: dict[str, dict[str, Any]] = {
    "dpo": {"beta": 0.1, "loss_type": "sigmoid", "label_smoothing": 0.0},
    "orpo": {"beta": 0.1},  # ORPO's lambda (TRL calls it beta)
    "simpo": {"beta": 2.0, "simpo_gamma": 0.5, "cpo_alpha": 0.0},  # cpo_alpha > 0 adds CPO's NLL term
    "kto": {"beta": 0.1, "loss_type": "kto", "desirable_weight": 1.0, "undesirable_weight": 1.0},
}
_OPTIONAL_PARAMS = (
    "loss_type",
    "loss_weights",
    "label_smoothing",
    "simpo_gamma",
    "cpo_alpha",
    "desirable_weight",
    "undesirable_weight",
)


class PreferenceSpec(TrainSpec):
    """A preference stage: DPO (any TRL loss type), ORPO, SimPO (TRL's CPO with loss_type=simpo) or KTO.

    Parameters that belong to another method are refused; the method's own are filled with
    its defaults, so a saved plan (and the provenance) states every value that was used.
    """

    method: PreferenceMethod = Field("dpo", description="dpo, orpo, simpo or kto (unpaired thumbs up/down data).")
    learning_rate: float = Field(5e-5, gt=0)
    beta: float = Field(
        0.1,
        gt=0,
        description="DPO/KTO: deviation from the reference; ORPO: the odds-ratio weight; SimPO: reward scale.",
    )
    loss_type: DPOLoss | KTOLoss | list[str] | None = Field(
        None,
        description="DPO: a TRL loss type, or a list with loss_weights; KTO: kto or apo_zero_unpaired.",
    )
    loss_weights: list[float] | None = Field(None, description="DPO: weights of a list of loss types.")
    label_smoothing: float | None = Field(None, ge=0, lt=0.5, description="DPO robust/exo_pair/aot: label noise.")
    simpo_gamma: float | None = Field(None, description="SimPO: target reward margin.")
    cpo_alpha: float | None = Field(None, ge=0, description="SimPO: weight of CPO's NLL term (0 is pure SimPO).")
    desirable_weight: float | None = Field(None, gt=0, description="KTO: weight of thumbs-up rows.")
    undesirable_weight: float | None = Field(None, gt=0, description="KTO: weight of thumbs-down rows.")

    @model_validator(mode="before")
    @classmethod
    def _method_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        method = data.get("method") or "dpo"
        own = _METHOD_PARAMS.get(method)
        if own is None:
            return data  # the Literal reports the unknown method
        for key in _OPTIONAL_PARAMS:
            if data.get(key) is not None and key not in own and not (method == "dpo" and key == "loss_weights"):
                raise ValueError(f"{key} is not a parameter of {method}; it takes {', '.join(own)}")
        for key, value in own.items():
            if data.get(key) is None:
                data[key] = value
        return data

    @model_validator(mode="after")
    def _loss_types(self) -> PreferenceSpec:
        losses = self.loss_type if isinstance(self.loss_type, list) else [self.loss_type]
        if self.method == "dpo":
            bad = [x for x in losses if x not in DPO_LOSSES]
            if bad:
                raise ValueError(f"{bad[0]} is not a DPO loss type; TRL's DPO takes {', '.join(DPO_LOSSES)}")
            if not losses:
                raise ValueError("loss_type lists at least one DPO loss type")
            if self.loss_weights is not None and len(self.loss_weights) != len(losses):
                raise ValueError(
                    f"loss_weights has {len(self.loss_weights)} values for {len(losses)} loss types; give one each"
                )
            if "exo_pair" in losses and not self.label_smoothing:
                raise ValueError("exo_pair needs label_smoothing > 0 (the EXO paper uses 1e-3)")
        elif self.method == "kto" and (isinstance(self.loss_type, list) or self.loss_type not in KTO_LOSSES):
            raise ValueError(f"KTO takes loss_type {' or '.join(KTO_LOSSES)}, not {self.loss_type}")
        return self

    @property
    def losses(self) -> list[str]:
        """The loss types as TRL's DPOConfig takes them (always a list)."""
        return list(self.loss_type) if isinstance(self.loss_type, list) else [str(self.loss_type)]

    @property
    def uses_reference(self) -> bool:
        return self.method in REFERENCE_METHODS


DPOSpec = PreferenceSpec  # the stage's old name; plans saved with `kind: dpo` load as method dpo


class TrainResult(BaseModel):
    """What a training stage produced and measured."""

    output: str
    produces: Literal["adapter", "model"]
    trainable_params: int
    target_modules: list[str]
    layers: list[int] | None
    train_rows: int
    eval_rows: int
    steps: int
    train_loss: float | None
    eval_loss_before: float | None
    eval_loss_after: float | None
    tokens: int
    seconds: float
    tokens_per_second: float
    metrics: dict[str, float] = Field(default_factory=dict)
    eval_metric: str | None = Field(None, description="What eval_loss_before/after measure, in words.")
    eval_before: dict[str, float] = Field(default_factory=dict, description="The method's held-out metrics, untrained.")
    eval_after: dict[str, float] = Field(default_factory=dict, description="The same metrics after training.")
    eval_summary: str = Field("", description="The method's held-out numbers in one line, before → after.")
    loss_on: str | None = Field(None, description="Which tokens carried the training loss (SFT), in words.")
    folded_adapters: list[str] = Field(default_factory=list)
    device: str = Field("cpu", description="Where it trained: 'cpu' or the CUDA device's name.")
    precision: str = Field("fp32", description="The trainer's arithmetic: fp32, bf16 or fp16 mixed precision.")


def device_label() -> tuple[str, str]:
    """(device, precision) a stage trains with, as device_settings() chooses them, for the provenance."""
    import torch

    settings = device_settings()
    if settings["use_cpu"]:
        return "cpu", "fp32"
    return f"cuda ({torch.cuda.get_device_name()})", "bf16" if settings["bf16"] else "fp16"


def device_settings() -> dict[str, Any]:
    """Trainer precision/device flags: bf16 on a CUDA GPU that has it, plain fp32 on CPU."""
    import torch

    if torch.cuda.is_available():
        bf16 = torch.cuda.is_bf16_supported()
        return {"use_cpu": False, "bf16": bf16, "fp16": not bf16}
    return {"use_cpu": True, "bf16": False, "fp16": False}


def hush_libraries() -> None:
    """Silence library progress bars: a stage reports through Graft's events only."""
    import datasets
    from transformers.utils import logging as hf_logging

    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def load_current_model(model_path: str, prior_adapters: list[str] | None) -> tuple[Any, Any]:
    """(model, tokenizer) of the current stage input, with an unmerged prior adapter folded in."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hush_libraries()
    dtype = torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_path)
    except (OSError, ValueError) as exc:
        raise GraftError(f"{model_path} has no usable tokenizer, which training needs ({exc}).") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype)
    if prior_adapters:
        from peft import PeftModel

        for adapter in prior_adapters:  # in training order: each was trained on the ones before it
            model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    return model, tokenizer


def layers_pattern(model: Any) -> str | None:
    """The attribute name that holds the block list (`layers`, `h`, …), for layers_to_transform."""
    from tools.naming import layer_container

    for name, _ in model.named_modules():
        found = layer_container(name)
        if found:
            return found
    return None


def in_selection(name: str, layers: list[int] | None, modules: list[str]) -> bool:
    """Whether a weight trains under full fine-tuning of a selection: inside a chosen block, and of a named module
    where modules are named. The one rule for the trainer (below) and the plan's estimate (agent/validate.py)."""
    from tools.naming import describe

    _component, layer, module = describe(name)
    return layer is not None and (layers is None or layer in layers) and (not modules or module in modules)


def freeze_outside_selection(model: Any, spec: TrainSpec) -> int:
    """Full fine-tuning of a selection ('the last 6 layers', 'attention only'): every weight outside the chosen
    blocks and modules is frozen, so what trains is what the plan shows (it had trained every weight). Embeddings,
    final norm and head sit in no block: a layer selection freezes them. Returns the count left trainable."""
    if spec.adapter != "none" or (spec.layers is None and not spec.target_modules):
        return sum(p.numel() for p in model.parameters() if p.requires_grad)
    for name, param in model.named_parameters():
        param.requires_grad_(in_selection(name, spec.layers, spec.target_modules))
    left = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if not left:
        raise GraftError(
            f"the selection (layers {spec.layers}, modules {sorted(spec.target_modules) or 'all'}) holds no weights."
        )
    return left


def linear_module_names(model: Any) -> list[str]:
    """Leaf names of the linear layers inside the blocks (what PEFT's "all-linear" means)."""
    names = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if type(module).__name__ in {"Linear", "Conv1D"} and name.rsplit(".", 1)[-1] not in {"lm_head", "score"}
    }
    return sorted(names)


def lora_config(spec: TrainSpec, model: Any, task_type: str = "CAUSAL_LM") -> Any:
    """A PEFT LoraConfig for this checkpoint: its own module names, layers and Conv1D layout."""
    from peft import LoraConfig

    targets: list[str] | str = spec.target_modules or "all-linear"
    if targets == "all-linear" and spec.layers is not None:
        # PEFT refuses layers_to_transform with the "all-linear" shortcut: spell the names out.
        targets = linear_module_names(model)
    conv1d = any(
        type(m).__name__ == "Conv1D" and (isinstance(targets, str) or name.rsplit(".", 1)[-1] in targets)
        for name, m in model.named_modules()
    )
    return LoraConfig(
        r=spec.r,
        lora_alpha=spec.alpha,
        lora_dropout=spec.dropout,
        target_modules=targets,
        layers_to_transform=spec.layers,
        layers_pattern=layers_pattern(model) if spec.layers is not None else None,
        fan_in_fan_out=conv1d,
        use_dora=spec.adapter == "dora",
        task_type=task_type,
    )


def progress_callback(stage_id: str, progress: Progress) -> Any:
    """A TrainerCallback that forwards steps and losses as Graft progress events."""
    from transformers import TrainerCallback

    class _Forward(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            progress({"stage": stage_id, "kind": "progress", "step": state.global_step, "total": state.max_steps})

        def on_log(self, args, state, control, logs=None, **kwargs):  # type: ignore[no-untyped-def]
            if logs and "loss" in logs:
                progress(
                    {
                        "stage": stage_id,
                        "kind": "progress",
                        "step": state.global_step,
                        "total": state.max_steps,
                        "loss": float(logs["loss"]),
                    }
                )

    return _Forward()


def common_config(spec: TrainSpec, output_dir: Path) -> dict[str, Any]:
    """TrainingArguments shared by SFTConfig and DPOConfig."""
    return {
        "output_dir": str(output_dir),
        "per_device_train_batch_size": spec.batch_size,
        "per_device_eval_batch_size": spec.batch_size,
        "gradient_accumulation_steps": spec.gradient_accumulation,
        "num_train_epochs": spec.epochs,
        "max_steps": spec.max_steps or -1,
        "learning_rate": spec.learning_rate,
        "lr_scheduler_type": spec.lr_scheduler_type,
        "warmup_steps": int(spec.warmup_steps) if spec.warmup_steps >= 1 else spec.warmup_steps,
        "weight_decay": spec.weight_decay,
        "max_grad_norm": spec.max_grad_norm,
        "max_length": spec.max_length,
        "logging_steps": 1,
        "save_strategy": "no",
        "eval_strategy": "no",
        "report_to": [],
        "seed": spec.seed,
        "gradient_checkpointing": spec.gradient_checkpointing,
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        **device_settings(),
    }


def count_tokens(dataset: Any) -> int:
    """Tokens per epoch the model reads, after the trainer's own tokenization.

    SFT: input_ids; DPO: prompt+chosen+rejected ids; ORPO/SimPO: the chosen and rejected
    sequences (prompt included in each); KTO: prompt+completion ids.
    """
    names = dataset.column_names
    if "chosen_input_ids" in names:  # ORPO/CPO tokenize whole sequences per answer
        columns = ["chosen_input_ids", "rejected_input_ids"]
    else:
        columns = [c for c in ("input_ids", "prompt_ids", "chosen_ids", "rejected_ids", "completion_ids") if c in names]
    return sum(len(x) for c in columns for x in dataset[c])


def trained_modules(model: Any) -> list[str]:
    """Leaf names of the modules that got an adapter, as the checkpoint spells them."""
    from tools.naming import module_name

    return sorted({module_name(name) for name, _ in model.named_parameters() if ".lora_A." in name})


def quiet(trainer: Any) -> Any:
    """Drop the Trainer's stdout printer: progress goes through Graft's events only."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    return trainer


# The held-out numbers each method's own trainer reports in `evaluate()` that mean something to a
# person (TRL's names, `eval_` prefix dropped); throughput and bookkeeping keys are left out.
_EVAL_KEYS: dict[str, tuple[str, ...]] = {
    "sft": ("loss", "mean_token_accuracy"),
    "dpo": ("loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies"),
    "orpo": (
        "loss",
        "rewards/chosen",
        "rewards/rejected",
        "rewards/margins",
        "rewards/accuracies",
        "nll_loss",
        "log_odds_ratio",
    ),
    "simpo": ("loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "nll_loss"),
    "kto": ("loss", "kl", "rewards/chosen", "rewards/rejected", "rewards/margins"),
}
# KTO's rows are unpaired: TRL's "chosen"/"rejected" are the thumbs-up and thumbs-down rows.
_KTO_NAMES = {"rewards/chosen": "rewards/desirable", "rewards/rejected": "rewards/undesirable"}

EVAL_MEANING = {
    "sft": "loss on the held-out completions (cross-entropy per trained token)",
    "dpo": "DPO loss on held-out pairs; rewards are beta-scaled log-ratios to the reference",
    "orpo": "ORPO loss (NLL of chosen + odds-ratio term) on held-out pairs; rewards are beta-scaled mean log-probs",
    "simpo": "SimPO loss on held-out pairs; rewards are beta-scaled mean log-probs (no reference)",
    "kto": "KTO loss on held-out thumbs-up/down rows; kl is the policy-reference KL estimate",
}


_SUMMARY_KEYS = {  # what a person reads first, per method: (metric, label)
    "sft": (("loss", "completion loss"),),
    "dpo": (("loss", "DPO loss"), ("rewards/margins", "margin"), ("rewards/accuracies", "accuracy")),
    "orpo": (
        ("loss", "ORPO loss"),
        ("nll_loss", "NLL"),
        ("rewards/margins", "margin"),
        ("rewards/accuracies", "accuracy"),
    ),
    "simpo": (("loss", "SimPO loss"), ("rewards/margins", "margin"), ("rewards/accuracies", "accuracy")),
    "kto": (
        ("loss", "KTO loss"),
        ("kl", "KL"),
        ("rewards/desirable", "desirable reward"),
        ("rewards/undesirable", "undesirable reward"),
    ),
}


def heldout_summary(method: str, before: dict[str, float], after: dict[str, float]) -> str:
    """One line for the run view: the method's own held-out numbers, before → after."""
    parts = [
        f"{label} {before[key]:.4g} → {after[key]:.4g}"
        for key, label in _SUMMARY_KEYS.get(method, ())
        if key in before and key in after
    ]
    return "held-out " + " · ".join(parts) if parts else ""


def heldout_metrics(trainer: Any, method: str) -> dict[str, float]:
    """The method's own held-out metrics from its trainer's `evaluate()`, each dataset in its own format."""
    raw = trainer.evaluate()
    out: dict[str, float] = {}
    for key in _EVAL_KEYS[method]:
        value = raw.get(f"eval_{key}")
        if isinstance(value, (int, float)):
            out[_KTO_NAMES.get(key, key) if method == "kto" else key] = float(value)
    if method == "simpo" and not getattr(trainer.args, "cpo_alpha", 0):
        out.pop("nll_loss", None)  # pure SimPO computes no NLL term; TRL logs a placeholder 0
    return out


def finish(
    trainer: Any,
    spec: TrainSpec,
    tokenizer: Any,
    output: Path,
    stage_id: str,
    progress: Progress,
    train_rows: list[dict],
    held_rows: list[dict],
    prior_adapters: list[str] | None,
    method: str = "sft",
    layout: str = "",
) -> TrainResult:
    """Evaluate, train, evaluate, save: the part of the life cycle every training stage shares."""
    from tools.heldout import write_meta
    from tools.safetensors_writer import atomic_folder

    before = heldout_metrics(trainer, method) if held_rows else {}
    if before:
        progress({"stage": stage_id, "kind": "eval", "when": "before", "method": method, "metrics": before})
    start = time.perf_counter()
    outcome = trainer.train()
    seconds = time.perf_counter() - start
    after = heldout_metrics(trainer, method) if held_rows else {}
    if after:
        progress({"stage": stage_id, "kind": "eval", "when": "after", "method": method, "metrics": after})
    model = trainer.model
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    targets = trained_modules(model)
    tokens_per_epoch = count_tokens(trainer.train_dataset)
    steps = trainer.state.global_step
    epochs_seen = trainer.state.epoch or 1.0
    tokens = int(tokens_per_epoch * epochs_seen)
    with atomic_folder(output) as tmp:
        if spec.adapter == "none":
            trainer.save_model(str(tmp))
            (tmp / "training_args.bin").unlink(missing_ok=True)  # a pickle; the provenance records the args
        else:
            model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        with open(tmp / "heldout.jsonl", "w", encoding="utf-8") as handle:
            for row in held_rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        write_meta(tmp, method, layout, len(held_rows))  # what the rows are, for the final write's per-stage check
    metrics = {k: float(v) for k, v in outcome.metrics.items() if isinstance(v, (int, float))}
    return TrainResult(
        output=str(output),
        produces="model" if spec.adapter == "none" else "adapter",
        trainable_params=trainable,
        target_modules=targets,
        layers=spec.layers,
        train_rows=len(train_rows),
        eval_rows=len(held_rows),
        steps=steps,
        train_loss=metrics.get("train_loss"),
        eval_loss_before=before.get("loss"),
        eval_loss_after=after.get("loss"),
        tokens=tokens,
        seconds=seconds,
        tokens_per_second=tokens / seconds if seconds > 0 else 0.0,
        metrics=metrics,
        eval_metric=EVAL_MEANING[method] if held_rows else None,
        eval_summary=heldout_summary(method, before, after),
        eval_before=before,
        eval_after=after,
        folded_adapters=list(prior_adapters or []),
        device=device_label()[0],
        precision=device_label()[1],
    )


def training_cost(kind: str, method: str | None = None, loss_type: Any = None) -> tuple[int, float]:
    """(sequences per data row, compute relative to plain SFT on those sequences) of a training stage.

    Paired methods run the chosen and the rejected answer (2 sequences per row). DPO adds a
    no-grad reference forward (2 of SFT's 6 FLOPs per parameter-token: x4/3); ORPO and SimPO have
    none. KTO runs one sequence per row, plus the reference forward and, for the `kto` loss, a
    no-grad KL pass of policy and reference on mismatched completions (6+2+2+2: x2).
    """
    if kind != "preference":
        return 1, 1.0
    if method == "kto":
        return 1, 2.0 if loss_type in (None, "kto") else 4 / 3
    if method == "dpo":
        return 2, 4 / 3
    return 2, 1.0

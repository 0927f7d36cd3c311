"""Check a plan against the real checkpoint and data before anything runs, and estimate it.

Each failure names the stage and the fix. Estimates per stage: trainable parameters, peak
memory (weights, gradients, optimizer states, activations) against what the device has,
disk for outputs, and a rough time. A stage that cannot fit is refused with the number.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agent.plan import Plan
from tools.checkpoint import load_headers, resolve_checkpoint
from tools.datasets_io import training_rows
from tools.errors import GraftError
from tools.inspect import InspectArgs, InspectResult, inspect_checkpoint
from tools.naming import describe

# Measured on this project's reference machine (2-core x86 CPU, Python 3.11, torch 2.13 CPU):
# peak RSS of a stage child that trains a 140k-parameter model is 515 MiB (imports of torch,
# transformers, peft, trl and datasets alone: 470 MiB); bench/bench_estimates.py checks the rest.
# What a stage takes before its model: on the CPU the interpreter and libraries; on a GPU the CUDA
# context, cuBLAS workspaces and the caching allocator's slack (H200, bench/gpu_check.sh).
RUNTIME_BYTES = {"cpu": 515 * 2**20, "cuda": 1250 * 2**20}
# A stage's own process: imports, model load, tokenization, held-out evaluation, save; on a GPU also
# the CUDA context and the kernels' first loads (H200, bench/gpu_check.sh: 15-17 s around 2 s of steps).
STARTUP_SECONDS = {"cpu": 8.0, "cuda": 18.0}
CPU_FLOPS_PER_CORE = 6e9  # sustained fp32 training throughput per core on small matrices (bench_estimates)
GPU_FLOPS = 2e14  # bf16, a modern data-centre GPU at realistic utilisation
# Logits, log-softmax, their gradient and the trainer's accuracy/entropy metrics, counted in fp32
# copies, with the allocator's slack for per-step temporaries (fitted with bench/bench_estimates.py:
# the CPU on 2 cores; CUDA on an H200, where the logits stay bf16 until the loss upcasts them).
LOGIT_COPIES = {"cpu": 7, "cuda": 2}
# On a GPU autograd keeps bf16 activations and the caching allocator reuses freed blocks within a
# step: what stays at the peak is about 0.6 of the CPU fit's count (7 H200 runs, two model shapes).
ACTIVATION_SCALE = {"cpu": 1.0, "cuda": 0.6}
# Conv1D layers (GPT-2 family) store weights as (in, out); everything else as (out, in).
CONV1D_MODEL_TYPES = frozenset({"gpt2", "openai-gpt", "imagegpt", "decision_transformer"})


class StageEstimate(BaseModel):
    stage: str
    kind: str
    trainable_params: int = 0
    memory_bytes: int = 0
    memory_breakdown: dict[str, int] = Field(default_factory=dict)
    disk_bytes: int = 0
    seconds: float = 0.0
    rows: int | None = None


class PlanReport(BaseModel):
    """A validated plan's estimates and the notes the person should read before approving."""

    device: str
    device_memory_bytes: int
    estimates: list[StageEstimate]
    notes: list[str] = Field(default_factory=list)
    base: dict[str, Any] = Field(default_factory=dict)


def device_memory() -> tuple[str, int]:
    """('cuda'|'cpu', bytes available): the device the stages will train on.

    torch (seconds to import) is imported only on a machine with an NVIDIA driver, so a GPU user's
    plan is estimated for the GPU even when nothing has loaded torch yet, and a CPU box pays nothing.
    """
    import sys

    torch = sys.modules.get("torch")
    if torch is None and nvidia_driver_present():
        import torch
    if torch is not None and torch.cuda.is_available():
        free, _ = torch.cuda.mem_get_info()
        return "cuda", int(free)
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return "cpu", int(line.split()[1]) * 1024
    except OSError:
        pass
    return "cpu", os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def nvidia_driver_present() -> bool:
    """An NVIDIA device node or driver, and CUDA_VISIBLE_DEVICES not emptied by the person."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return os.path.exists("/dev/nvidiactl") or os.path.exists("/proc/driver/nvidia/version")


def _fail(stage: Any, message: str) -> GraftError:
    return GraftError(f"stage {stage.id} ({stage.kind}): {message}")


def _resolve_ref(ref: str, plan: Plan, outputs: dict[str, str], stage: Any) -> str:
    """'@base' / '@stage-id' / a path → what it stands for ('model', 'adapter' or a path)."""
    if ref == "@base":
        return plan.base_model
    if ref.startswith("@"):
        sid = ref[1:]
        if sid not in outputs:
            earlier = ", ".join(outputs) or "none"
            raise _fail(stage, f"{ref} is not an earlier stage (earlier stages: {earlier}).")
        return ref
    if not Path(ref).exists():
        raise _fail(stage, f"{ref} does not exist.")
    return ref


def _adapted_modules(shapes: dict[str, tuple[int, ...]], stage: Any) -> list[tuple[str, int, tuple[int, ...]]]:
    """(name, layer, weight shape) of every module PEFT will put an adapter on, as `lora_config` asks it to:
    the named target modules (by leaf name), or all linear layers of the blocks, within `layers`."""
    targets = set(stage.target_modules)
    found = []
    for name, shape in shapes.items():
        component, layer, module = describe(name)
        if len(shape) != 2 or not name.endswith(".weight"):
            continue
        if targets and module not in targets:
            continue
        if not targets and (component not in ("attention", "mlp") or layer is None):
            continue
        if stage.layers is not None and layer not in stage.layers:
            continue
        found.append((name, -1 if layer is None else layer, shape))
    return found


def _lora_params(shapes: dict[str, tuple[int, ...]], stage: Any, model_type: str | None) -> int:
    """Trainable parameters of a LoRA/DoRA adapter, as PEFT counts them: r·(in + out) per adapted
    module, plus DoRA's magnitude vector, one value per output feature."""
    conv1d = model_type in CONV1D_MODEL_TYPES
    total = 0
    for _name, _layer, shape in _adapted_modules(shapes, stage):
        total += stage.r * (shape[0] + shape[1])
        if stage.adapter == "dora":
            total += shape[1] if conv1d else shape[0]
    return total


def _row_texts(row: dict, kind: str) -> list[str]:
    """The sequences a trainer builds from one row (a preference pair gives two)."""

    def text(value: Any) -> str:
        if isinstance(value, list):  # conversational: a list of messages
            return " ".join(str(m.get("content", "")) for m in value if isinstance(m, dict))
        return str(value)

    if "messages" in row:
        return [text(row["messages"])]
    prompt = text(row.get("prompt", ""))
    if kind == "preference" and "chosen" in row:
        return [prompt + " " + text(row["chosen"]), prompt + " " + text(row.get("rejected", ""))]
    if "completion" in row:
        return [prompt + " " + text(row["completion"])]
    return [text(row.get("text", prompt))]


def _sequence_lengths(rows: list[dict], kind: str, max_length: int, tokenizer_dir: Path | None) -> list[int]:
    """Token lengths of the sequences the trainer will see (up to 400 rows sampled), with the tokenizer's
    own counts when the model has a tokenizer.json, else about 3.5 characters a token."""
    sample = rows[:400]
    texts = [t for row in sample for t in _row_texts(row, kind)]
    overhead = 8  # chat template tokens around the messages, bos/eos
    counts: list[int] | None = None
    if tokenizer_dir is not None and (tokenizer_dir / "tokenizer.json").is_file():
        try:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
            counts = [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)]
        except Exception:  # an unusual tokenizer file: fall back to characters
            counts = None
    if counts is None:
        counts = [int(len(t) / 3.5) for t in texts]
    return [max(2, min(max_length, c + overhead)) for c in counts] or [min(max_length, 8)]


def _estimate_training(
    stage: Any,
    base: InspectResult,
    shapes: dict[str, tuple[int, ...]],
    rows: list[dict],
    device: str,
    tokenizer_dir: Path | None = None,
    config: dict[str, Any] | None = None,
) -> StageEstimate:
    """Peak memory and time of a training stage, component by component.

    Memory: the stage process's runtime (interpreter and libraries, measured), the weights, the
    trainable parameters' gradients and Adam's two moments, and the activations autograd keeps for
    the longest batch — only in the blocks that backward reaches (from the lowest trained layer up) —
    plus the logits over the vocabulary. Time: a fixed start-up, then forward over every layer,
    backward through the reached layers, weight gradients for what trains, the reference model's
    forward (DPO/KTO) and the held-out evaluation before and after.
    """
    import math

    from tools.training import in_selection, training_cost

    config = config or {}
    text_config = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
    total = base.total_params or 0
    hidden, layers = base.hidden_size or 0, base.num_layers or 0
    vocab = base.vocab_size or 0
    inner = int(text_config.get("intermediate_size") or text_config.get("n_inner") or 4 * hidden)
    model_type = config.get("model_type")
    bf16 = device == "cuda"
    weight_bytes = 2 if bf16 else 4
    act_bytes = 2 if bf16 else 4
    full = stage.adapter == "none"
    trainable = total if full else _lora_params(shapes, stage, model_type)
    selected = full and (stage.layers is not None or bool(stage.target_modules))
    if selected:  # full fine-tuning of some blocks or modules: only their weights train (tools/training.py)
        trainable = sum(
            math.prod(shape) for name, shape in shapes.items() if in_selection(name, stage.layers, stage.target_modules)
        )
    sequences, compute = training_cost(stage.kind, getattr(stage, "method", None), getattr(stage, "loss_type", None))

    # Parameters per block, the head, and which blocks backward reaches.
    per_layer: dict[int, int] = {}
    embed = head = 0
    for name, shape in shapes.items():
        component, layer, _ = describe(name)
        n = math.prod(shape)
        if layer is not None:
            per_layer[layer] = per_layer.get(layer, 0) + n
        elif component == "embedding":
            embed += n
        else:
            head += n
    if not any(describe(n)[0] == "lm_head" for n in shapes):  # tied: the embedding is the output layer too
        head += vocab * hidden
    if full and selected:
        chosen = [describe(n)[1] for n in shapes if in_selection(n, stage.layers, stage.target_modules)]
        lowest = min(chosen, default=0)
    elif full:
        lowest = 0
    else:
        adapted = [layer for _n, layer, _s in _adapted_modules(shapes, stage) if layer >= 0]
        lowest = min(adapted) if adapted else 0
    reached_layers = max(0, layers - lowest)
    forward_params = sum(per_layer.values()) + head
    backward_params = sum(n for i, n in per_layer.items() if i >= lowest) + head

    lengths = _sequence_lengths(rows, stage.kind, stage.max_length, tokenizer_dir)
    longest = max(lengths)
    peak_tokens = stage.batch_size * sequences * longest
    # What autograd keeps per token in a block (norm inputs/outputs, q/k/v, attention output, MLP
    # gate/up/product), with the allocator's slack, fitted with bench/bench_estimates.py; with
    # checkpointing only each block's input is kept (plus one block recomputed at a time).
    block = (16 * hidden + 6 * inner) * act_bytes
    kept = reached_layers * (2 * hidden * act_bytes) + block if stage.gradient_checkpointing else reached_layers * block
    breakdown = {
        "runtime": RUNTIME_BYTES[device],
        "weights": total * weight_bytes,
        "gradients": trainable * (weight_bytes if full else 4),  # PEFT keeps adapters in fp32
        "optimizer": trainable * (2 * weight_bytes if full else 8),  # Adam's two moments, in the parameters' dtype
        "activations": int(peak_tokens * kept * ACTIVATION_SCALE[device]) if reached_layers else 0,
        "logits": peak_tokens * vocab * 4 * LOGIT_COPIES[device],
    }
    if not full:
        breakdown["adapter"] = trainable * 4
    if getattr(stage, "uses_reference", False) and full:  # DPO/KTO; ORPO/SimPO hold none
        breakdown["reference_model"] = total * weight_bytes

    # Tokens processed: batches padded to their longest sequence.
    held = int(len(rows) * stage.eval_fraction) if len(rows) >= 2 else 0
    train_rows = max(1, len(rows) - held)
    per_step = stage.batch_size * stage.gradient_accumulation
    steps = math.ceil(train_rows / per_step) * stage.epochs
    if stage.max_steps:
        steps = min(steps, stage.max_steps)
    chunk = stage.batch_size * sequences
    padded = [max(lengths[i : i + chunk]) for i in range(0, len(lengths), chunk)]
    mean_padded = sum(padded) / len(padded)
    train_tokens = steps * per_step * sequences * mean_padded
    eval_tokens = 2 * held * sequences * mean_padded  # before and after
    grads = forward_params if full else trainable
    per_token = 2 * forward_params + 2 * backward_params + 2 * grads + (compute - 1) * 6 * forward_params
    eval_per_token = 2 * forward_params * (1 + (compute - 1) * 3)  # policy (and reference) forward
    flops = train_tokens * per_token + eval_tokens * eval_per_token
    throughput = GPU_FLOPS if device == "cuda" else CPU_FLOPS_PER_CORE * max(1, min(os.cpu_count() or 1, 64))
    disk = total * 4 if full else trainable * 4
    return StageEstimate(
        stage=stage.id,
        kind=stage.kind,
        trainable_params=trainable,
        memory_bytes=sum(breakdown.values()),
        memory_breakdown=breakdown,
        disk_bytes=disk,
        seconds=STARTUP_SECONDS[device] + flops / throughput,
        rows=len(rows),
    )


def validate_plan(plan: Plan, check_output: bool = True) -> PlanReport:
    """Validate every stage against the files; raise GraftError naming the stage and the fix."""
    if not plan.goal.strip():
        raise GraftError("the plan has no goal.")
    if not plan.stages:
        raise GraftError("the plan has no stages.")
    first = plan.stages[0]
    base_path = Path(plan.base_model)
    if not base_path.exists():
        raise GraftError(f"base model {plan.base_model} does not exist.")
    ckpt = resolve_checkpoint(base_path)
    if ckpt.format == "pickle" and first.kind != "convert":
        raise GraftError(
            f"base model {plan.base_model} is a pickle checkpoint; add a convert stage first "
            f"(or run `graft convert {plan.base_model} OUT`)."
        )
    device, available = device_memory()
    report = PlanReport(device=device, device_memory_bytes=available, estimates=[])
    # A pickle base converted by the plan's first stage: later stages are checked against what the convert
    # stage will give (the same config, layers and datasets); tensor-level checks wait for the converted files.
    deferred = ckpt.format == "pickle" and first.kind == "convert" and _same_file(first.source, base_path)
    base = inspect_checkpoint(InspectArgs(path=str(base_path))) if ckpt.format == "safetensors" or deferred else None
    if deferred:
        report.notes.append(
            f"{plan.base_model} is a pickle checkpoint: stages after {first.id} are checked against its config; "
            "module names, shapes and estimates are checked on the converted files when the plan runs."
        )
    if base is not None and base.kind == "adapter":
        raise GraftError(f"base model {plan.base_model} is an adapter, not a model; name its base model instead.")
    shapes = {n: i.shape for h in load_headers(ckpt) for n, i in h.tensors.items()} if base and not deferred else {}
    if base:
        report.base = {"architecture": base.architecture, "params": base.total_params, "layers": base.num_layers}
    modules = sorted({m for mods in (base.modules.values() if base else []) for m in mods})
    linear_modules = sorted(
        {m for c, ms in (base.modules.items() if base else []) if c in ("attention", "mlp") for m in ms}
    )
    outputs: dict[str, str] = {}  # stage id -> "model" | "adapter"
    pending_adapter: str | None = None  # an adapter produced and not yet folded in
    model_bytes = (base.total_params or 0) * 4 if base else 0

    for stage in plan.stages:
        if stage.input:
            _resolve_ref(stage.input, plan, outputs, stage)
        if stage.kind == "convert":
            source = resolve_checkpoint(stage.source)
            if source.format != "pickle":
                raise _fail(stage, f"{stage.source} is already safetensors; drop this stage.")
            outputs[stage.id] = "model"
            report.estimates.append(
                StageEstimate(stage=stage.id, kind="convert", disk_bytes=source.files[0].stat().st_size)
            )
            continue
        if base is None:
            raise _fail(stage, "the base model must be converted to safetensors first.")
        if stage.kind in ("sft", "preference"):
            if stage.adapter != "none" and not deferred:
                unknown = [m for m in stage.target_modules if m not in modules]
                if unknown:
                    raise _fail(
                        stage,
                        f"{', '.join(unknown)} is not a module of {base.architecture}; "
                        f"its trainable modules are {', '.join(linear_modules)}.",
                    )
            if stage.layers is not None and not stage.layers:  # PEFT's layers_to_transform=[] would train nothing
                raise _fail(stage, "its layer list is empty: it would train nothing; name the layers, or all of them.")
            if stage.layers is not None and base.num_layers is not None:
                bad = [i for i in stage.layers if not 0 <= i < base.num_layers]
                if bad:
                    raise _fail(stage, f"layer {bad[0]} is out of range: the model has layers 0-{base.num_layers - 1}.")
            if getattr(stage, "lr_scheduler_type", None) == "constant" and getattr(stage, "warmup_steps", 0) > 0:
                raise _fail(  # transformers' "constant" returns before it reads num_warmup_steps: the warmup never runs
                    stage,
                    f"lr_scheduler_type constant runs no warmup, so warmup_steps {stage.warmup_steps:g} would be "
                    "ignored; use constant_with_warmup, or warmup 0.",
                )
            if not Path(stage.dataset).exists():
                raise _fail(
                    stage,
                    f"dataset {stage.dataset} does not exist; give a .jsonl, .json, .csv, .parquet or .arrow "
                    "file, or a datasets.save_to_disk folder.",
                )
            try:  # the rows as the stage will train on them: any format `graft data` names
                rows, layout, _ = training_rows(stage.dataset, "sft" if stage.kind == "sft" else stage.method)
            except GraftError as exc:
                raise _fail(stage, str(exc)) from None
            if layout == "text":
                report.notes.append(
                    f"stage {stage.id}: plain-text rows have no prompt, so every token carries loss; "
                    "give messages or prompt/completion rows to train on the replies only."
                )
            if getattr(stage, "packing", False):
                lengths = _sequence_lengths(rows, stage.kind, stage.max_length, None)
                mean = sum(lengths) / len(lengths)
                report.notes.append(
                    f"stage {stage.id}: packing fills each of the {stage.batch_size} sequences of a step up to "
                    f"max_length: up to {stage.batch_size * stage.max_length:,} tokens (about "
                    f"{stage.batch_size * stage.max_length / mean:.0f} rows) per step, against {stage.batch_size} rows "
                    f"(about {stage.batch_size * mean:,.0f} tokens) unpacked; packed rows do not attend to each other "
                    "(checked on the model before training)."
                )
            if stage.adapter != "none" and stage.lora_scale != 2:
                report.notes.append(
                    f"stage {stage.id}: LoRA scale alpha/r = {stage.alpha:g}/{stage.r} = {stage.lora_scale:g} "
                    "(2 is the usual); the adapter's update is multiplied by it."
                )
            if len(rows) < 2 and stage.eval_fraction > 0:
                report.notes.append(f"stage {stage.id}: too few rows to hold any out; no eval loss will be measured.")
            if stage.gpus == 1 and stage.distributed is not None:  # the runner starts a one-GPU stage as one process
                raise _fail(
                    stage,
                    f"distributed '{stage.distributed}' is set, but the stage runs on 1 GPU and would run without it; "
                    "set gpus above 1 or drop distributed.",
                )
            if stage.gpus > 1 and stage.distributed is None:
                report.notes.append(f"stage {stage.id}: {stage.gpus} GPUs with no strategy named; FSDP will be used.")
            if stage.kind == "preference" and stage.uses_reference and pending_adapter:
                report.notes.append(
                    f"stage {stage.id}: the adapter from {pending_adapter} is folded in before "
                    f"{stage.method.upper()}, so its reference is the fine-tuned model."
                )
            elif stage.kind == "preference" and pending_adapter:
                report.notes.append(
                    f"stage {stage.id}: the adapter from {pending_adapter} is folded in before "
                    f"{'SimPO' if stage.method == 'simpo' else 'ORPO'} (reference-free: no reference model is loaded)."
                )
            est = (
                _estimate_training(stage, base, shapes, rows, device, ckpt.folder, ckpt.config)
                if not deferred
                else StageEstimate(stage=stage.id, kind=stage.kind, rows=len(rows))
            )
            if est.memory_bytes > available:
                fix = (
                    "use LoRA instead of full fine-tuning"
                    if stage.adapter == "none"
                    else "set gradient_checkpointing: true, or lower batch_size, max_length or r"
                )
                raise _fail(
                    stage,
                    f"needs about {est.memory_bytes / 2**30:.1f} GiB but the {device} has "
                    f"{available / 2**30:.1f} GiB available; {fix}.",
                )
            report.estimates.append(est)
            outputs[stage.id] = "model" if stage.adapter == "none" else "adapter"
            pending_adapter = stage.id if stage.adapter != "none" else None
        elif stage.kind == "merge_adapter":
            if not stage.adapters and not pending_adapter:
                raise _fail(stage, "no earlier stage produced an adapter to merge; name one in adapters.")
            from tools.merge_adapter import _check_against_base, read_adapter_layout

            for ref in stage.adapters:
                resolved = _resolve_ref(ref, plan, outputs, stage)
                if resolved.startswith("@"):
                    if outputs[resolved[1:]] != "adapter":
                        raise _fail(stage, f"{ref} produces a model, not an adapter.")
                    continue
                if deferred:
                    continue  # checked against the converted base when the plan runs
                try:
                    _check_against_base(read_adapter_layout(Path(resolved)), shapes, plan.base_model)
                except GraftError as exc:
                    raise _fail(stage, str(exc)) from None
            if stage.weights and len(stage.weights) != max(1, len(stage.adapters)):
                raise _fail(stage, f"{len(stage.weights)} weights for {max(1, len(stage.adapters))} adapter(s).")
            outputs[stage.id] = "model"
            pending_adapter = None
            report.estimates.append(
                StageEstimate(
                    stage=stage.id,
                    kind=stage.kind,
                    disk_bytes=model_bytes,
                    # a merge runs in its own CPU process: the runtime, then the model streamed tensor by tensor
                    memory_bytes=RUNTIME_BYTES["cpu"] + max(shapes_bytes(shapes), 1),
                )
            )
        elif stage.kind == "merge_models":
            if pending_adapter:
                raise _fail(
                    stage, f"the adapter from {pending_adapter} is not merged yet; add a merge_adapter stage first."
                )
            for ref in [*stage.models, stage.base]:
                resolved = _resolve_ref(ref, plan, outputs, stage)
                if resolved.startswith("@"):
                    if outputs[resolved[1:]] != "model":
                        raise _fail(stage, f"{ref} is an adapter; merge it into a model first.")
                    continue
                other = inspect_checkpoint(InspectArgs(path=resolved))
                if (
                    other.kind != "model"
                    or other.architecture != base.architecture
                    or other.vocab_size != base.vocab_size
                ):
                    raise _fail(
                        stage,
                        f"{ref} is {other.architecture} with vocab {other.vocab_size}; it must match the base "
                        f"({base.architecture}, vocab {base.vocab_size}).",
                    )
            from tools.merge_models import check_merge_inputs

            try:
                check_merge_inputs(stage.method, list(stage.models), stage.base or None, stage.weights)
            except GraftError as exc:
                raise _fail(stage, str(exc)) from None
            outputs[stage.id] = "model"
            report.estimates.append(
                StageEstimate(
                    stage=stage.id,
                    kind=stage.kind,
                    disk_bytes=model_bytes,
                    memory_bytes=RUNTIME_BYTES["cpu"] + model_bytes * (len(stage.models) + 1),
                )
            )
        elif stage.kind == "write":
            if pending_adapter:
                report.notes.append(
                    f"stage {stage.id}: the adapter from {pending_adapter} is folded in before writing."
                )
            out = Path(stage.output or plan.output)
            size = (base.total_params or 0) * (2 if stage.dtype in ("bfloat16", "float16") else 4)
            if check_output:
                _check_output(stage, out, size, report)
            # an adapter still pending is folded into a float32 copy in the run folder first, removed after the write
            fold = model_bytes if pending_adapter else 0
            report.estimates.append(StageEstimate(stage=stage.id, kind="write", disk_bytes=size + fold))
    return report


def _same_file(source: str, base: Path) -> bool:
    try:
        return Path(source).expanduser().resolve() == base.expanduser().resolve()
    except OSError:
        return False


def shapes_bytes(shapes: dict[str, tuple[int, ...]]) -> int:
    """Bytes of the largest tensor in float32: the streaming merge's working set."""
    import math

    return max((math.prod(s) * 4 for s in shapes.values()), default=0)


def _check_output(stage: Any, out: Path, size: int, report: PlanReport) -> None:
    parent = out.parent if str(out.parent) else Path(".")
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if not os.access(existing, os.W_OK):
        raise _fail(stage, f"cannot write into {existing}: permission denied; choose another output.")
    free = shutil.disk_usage(existing).free
    if size * 1.05 > free:
        raise _fail(stage, f"the output needs {size / 1e9:.2f} GB but {existing} has {free / 1e9:.2f} GB free.")
    if out.exists():
        report.notes.append(f"{out} already exists: Graft will ask before replacing it.")

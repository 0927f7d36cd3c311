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
from tools.datasets_io import check_preference, load_rows, sft_format
from tools.errors import GraftError
from tools.inspect import InspectArgs, InspectResult, inspect_checkpoint
from tools.naming import describe

CPU_FLOPS = 5e10  # sustained fp32 training throughput assumed for a CPU
GPU_FLOPS = 2e14  # bf16, a modern data-centre GPU at realistic utilisation


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
    """('cuda'|'cpu', bytes available), without importing torch unless it is already loaded."""
    import sys

    torch = sys.modules.get("torch")
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


def _lora_params(base: InspectResult, shapes: dict[str, tuple[int, ...]], stage: Any) -> int:
    targets = set(stage.target_modules)
    total = 0
    for name, shape in shapes.items():
        component, layer, module = describe(name)
        if len(shape) != 2 or not name.endswith(".weight") or layer is None:
            continue
        if targets and module not in targets:
            continue
        if not targets and component not in ("attention", "mlp"):
            continue
        if stage.layers is not None and layer not in stage.layers:
            continue
        total += stage.r * (shape[0] + shape[1]) + (max(shape) if stage.adapter == "dora" else 0)
    return total


def _estimate_training(
    stage: Any, base: InspectResult, shapes: dict[str, tuple[int, ...]], rows: list[dict], device: str
) -> StageEstimate:
    total = base.total_params or 0
    weight_bytes = 2 if device == "cuda" else 4
    trainable = total if stage.adapter == "none" else _lora_params(base, shapes, stage)
    chars = sum(len(str(r)) for r in rows[:200]) / max(1, min(len(rows), 200))
    tokens_per_row = min(stage.max_length, max(8, int(chars / 3.5)))
    hidden, layers = base.hidden_size or 0, base.num_layers or 0
    from tools.training import training_cost

    sequences, compute = training_cost(stage.kind, getattr(stage, "method", None), getattr(stage, "loss_type", None))
    batch_tokens = stage.batch_size * tokens_per_row * sequences
    breakdown = {
        "weights": total * weight_bytes,
        "gradients": trainable * 4,
        "optimizer": trainable * 8,
        "activations": batch_tokens
        * hidden
        * layers
        * (2 if stage.gradient_checkpointing else 34)
        * (weight_bytes // 2 or 1),
    }
    if getattr(stage, "uses_reference", False) and stage.adapter == "none":  # DPO/KTO; ORPO/SimPO hold none
        breakdown["reference_model"] = total * weight_bytes
    steps_tokens = len(rows) * tokens_per_row * stage.epochs * sequences
    if stage.max_steps:
        steps_tokens = min(
            steps_tokens, stage.max_steps * stage.batch_size * stage.gradient_accumulation * tokens_per_row
        )
    flops = 6 * total * steps_tokens * compute
    disk = total * 4 if stage.adapter == "none" else trainable * 4
    return StageEstimate(
        stage=stage.id,
        kind=stage.kind,
        trainable_params=trainable,
        memory_bytes=sum(breakdown.values()),
        memory_breakdown=breakdown,
        disk_bytes=disk,
        seconds=flops / (GPU_FLOPS if device == "cuda" else CPU_FLOPS),
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
    base = inspect_checkpoint(InspectArgs(path=str(base_path))) if ckpt.format == "safetensors" else None
    if base is not None and base.kind == "adapter":
        raise GraftError(f"base model {plan.base_model} is an adapter, not a model; name its base model instead.")
    shapes = {n: i.shape for h in load_headers(ckpt) for n, i in h.tensors.items()} if base else {}
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
            if stage.adapter != "none":
                unknown = [m for m in stage.target_modules if m not in modules]
                if unknown:
                    raise _fail(
                        stage,
                        f"{', '.join(unknown)} is not a module of {base.architecture}; "
                        f"its trainable modules are {', '.join(linear_modules)}.",
                    )
            if stage.layers is not None and base.num_layers is not None:
                bad = [i for i in stage.layers if not 0 <= i < base.num_layers]
                if bad:
                    raise _fail(stage, f"layer {bad[0]} is out of range: the model has layers 0-{base.num_layers - 1}.")
            if not Path(stage.dataset).is_file():
                raise _fail(
                    stage,
                    f"dataset {stage.dataset} does not exist; give the path of a .jsonl, .json, .csv or .parquet file.",
                )
            try:
                rows = load_rows(stage.dataset)
            except GraftError as exc:
                raise _fail(stage, str(exc)) from None
            try:
                layout = (
                    sft_format(rows, stage.dataset)
                    if stage.kind == "sft"
                    else check_preference(rows, stage.dataset, stage.method)
                )
            except GraftError as exc:
                raise _fail(stage, str(exc)) from None
            if layout == "text":
                report.notes.append(
                    f"stage {stage.id}: plain-text rows have no prompt, so every token carries loss; "
                    "give messages or prompt/completion rows to train on the replies only."
                )
            if stage.adapter != "none" and stage.lora_scale != 2:
                report.notes.append(
                    f"stage {stage.id}: LoRA scale alpha/r = {stage.alpha:g}/{stage.r} = {stage.lora_scale:g} "
                    "(2 is the usual); the adapter's update is multiplied by it."
                )
            if len(rows) < 2 and stage.eval_fraction > 0:
                report.notes.append(f"stage {stage.id}: too few rows to hold any out; no eval loss will be measured.")
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
            est = _estimate_training(stage, base, shapes, rows, device)
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
            from tools.merge_adapter import _check_against_base, _read_adapter

            for ref in stage.adapters:
                resolved = _resolve_ref(ref, plan, outputs, stage)
                if resolved.startswith("@"):
                    if outputs[resolved[1:]] != "adapter":
                        raise _fail(stage, f"{ref} produces a model, not an adapter.")
                    continue
                try:
                    _check_against_base(_read_adapter(Path(resolved)), shapes, plan.base_model)
                except GraftError as exc:
                    raise _fail(stage, str(exc)) from None
            if stage.weights and len(stage.weights) != max(1, len(stage.adapters)):
                raise _fail(stage, f"{len(stage.weights)} weights for {max(1, len(stage.adapters))} adapter(s).")
            outputs[stage.id] = "model"
            pending_adapter = None
            report.estimates.append(
                StageEstimate(
                    stage=stage.id, kind=stage.kind, disk_bytes=model_bytes, memory_bytes=max(shapes_bytes(shapes), 1)
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
                    memory_bytes=model_bytes * (len(stage.models) + 1),
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
            report.estimates.append(StageEstimate(stage=stage.id, kind="write", disk_bytes=size))
    return report


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

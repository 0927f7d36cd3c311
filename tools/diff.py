"""Answer "what did that stage change?": per-tensor, per-layer and per-component differences.

Tensors are streamed one pair at a time through `safe_open`, so memory stays near the largest
tensor, not the model. The measure is the relative Frobenius norm of ΔW, ‖B − A‖_F / ‖A‖_F,
computed in float32; per layer, per component and per layer × component it is the norm of all
their differences over the norm of all their weights.

Two checkpoints of different float dtypes (an fp32 base, a bf16 output) are still compared:
both sides are upcast to float32, and the wider side is first rounded to the narrower dtype the
way a cast would round it, so a tensor that was only cast counts as unchanged and what remains
is what training or merging changed. The dtype change is reported, never silently absorbed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

from pydantic import BaseModel, Field

from tools.checkpoint import load_headers, resolve_checkpoint
from tools.naming import describe

MEASURE = "relative Frobenius norm of ΔW: ‖B − A‖_F / ‖A‖_F, in float32"
_FLOAT_WIDTH = {"float64": 8, "float32": 4, "bfloat16": 2, "float16": 2}


class DiffArgs(BaseModel):
    """Arguments of `diff_checkpoints`."""

    a: str = Field(description="The checkpoint before (file or folder).")
    b: str = Field(description="The checkpoint after (file or folder).")
    tolerance: float = Field(0.0, description="Relative changes at or below this count as unchanged.")


class TensorChange(BaseModel):
    name: str
    layer: int | None
    component: str
    relative_change: float
    max_abs_diff: float


class GroupChange(BaseModel):
    relative_change: float
    changed_tensors: int
    tensors: int


class Mismatch(BaseModel):
    name: str
    a: str
    b: str


class DiffResult(BaseModel):
    """Which tensors differ and by how much; `identical` is true only if nothing differs at all."""

    a: str
    b: str
    identical: bool
    compared: int
    changed: list[TensorChange] = Field(default_factory=list)
    unchanged: int = 0
    only_in_a: list[str] = Field(default_factory=list)
    only_in_b: list[str] = Field(default_factory=list)
    mismatched: list[Mismatch] = Field(default_factory=list)
    layers: dict[int, GroupChange] = Field(default_factory=dict)
    components: dict[str, GroupChange] = Field(default_factory=dict)
    grid: dict[int, dict[str, GroupChange]] = Field(
        default_factory=dict, description="Per layer, per component: the picture of what changed where."
    )
    measure: str = Field(MEASURE, description="What `relative_change` measures.")
    dtype_changes: dict[str, int] = Field(
        default_factory=dict, description="'float32 → bfloat16': how many compared tensors changed dtype."
    )
    notes: list[str] = Field(default_factory=list)


Located = dict[str, tuple[Path, str, str, tuple[int, ...]]]
_PEFT_PREFIX = "base_model.model."


def _locate(path: str) -> Located:
    """Comparable name → (file, stored name, dtype, shape) for every tensor of a checkpoint.

    PEFT adapters prefix every key with `base_model.model.`; it is dropped so an adapter's
    tensors line up with another adapter's or a model's.
    """
    ckpt = resolve_checkpoint(path)
    stored = [(h.path, info) for h in load_headers(ckpt) for info in h.tensors.values()]
    strip = bool(stored) and all(info.name.startswith(_PEFT_PREFIX) for _, info in stored)
    return {
        (info.name[len(_PEFT_PREFIX) :] if strip else info.name): (file, info.name, info.dtype_name, info.shape)
        for file, info in stored
    }


def diff_checkpoints(args: DiffArgs) -> DiffResult:
    """Compare two safetensors checkpoints tensor by tensor."""
    import torch
    from safetensors import safe_open

    side_a = _locate(args.a)
    side_b = _locate(args.b)
    result = DiffResult(a=args.a, b=args.b, identical=True, compared=0)
    result.only_in_a = sorted(set(side_a) - set(side_b))
    result.only_in_b = sorted(set(side_b) - set(side_a))

    handles: dict[Path, object] = {}

    def tensor(path: Path, stored_name: str, round_to: str | None = None) -> torch.Tensor:
        if path not in handles:
            handles[path] = safe_open(str(path), framework="pt", device="cpu")
        t = handles[path].get_tensor(stored_name)  # type: ignore[attr-defined]
        if round_to is not None:
            t = t.to(getattr(torch, round_to))  # the cast the other side went through
        return t.to(torch.float32)

    sq_diff_layer: dict[int, float] = defaultdict(float)
    sq_norm_layer: dict[int, float] = defaultdict(float)
    sq_diff_comp: dict[str, float] = defaultdict(float)
    sq_norm_comp: dict[str, float] = defaultdict(float)
    count_layer: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    count_comp: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    sq_cell: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0, 0])

    for name in sorted(set(side_a) & set(side_b), key=_natural_key):
        path_a, stored_a, dtype_a, shape_a = side_a[name]
        path_b, stored_b, dtype_b, shape_b = side_b[name]
        floats = dtype_a in _FLOAT_WIDTH and dtype_b in _FLOAT_WIDTH
        if shape_a != shape_b or (dtype_a != dtype_b and not floats):
            result.mismatched.append(
                Mismatch(name=name, a=f"{list(shape_a)} {dtype_a}", b=f"{list(shape_b)} {dtype_b}")
            )
            continue
        round_a = round_b = None
        if dtype_a != dtype_b:
            change = f"{dtype_a} → {dtype_b}"
            result.dtype_changes[change] = result.dtype_changes.get(change, 0) + 1
            if _FLOAT_WIDTH[dtype_a] > _FLOAT_WIDTH[dtype_b]:
                round_a = dtype_b
            elif _FLOAT_WIDTH[dtype_b] > _FLOAT_WIDTH[dtype_a]:
                round_b = dtype_a
        ta = tensor(path_a, stored_a, round_a)
        tb = tensor(path_b, stored_b, round_b)
        delta = tb - ta
        diff_sq = float(torch.sum(delta * delta))
        norm_sq = float(torch.sum(ta * ta))
        max_abs = float(delta.abs().max()) if delta.numel() else 0.0
        del ta, tb, delta
        result.compared += 1
        rel = math.sqrt(diff_sq / norm_sq) if norm_sq > 0 else (math.inf if diff_sq > 0 else 0.0)
        component, layer, _ = describe(name)
        changed = rel > args.tolerance and diff_sq > 0
        if changed:
            result.changed.append(
                TensorChange(name=name, layer=layer, component=component, relative_change=rel, max_abs_diff=max_abs)
            )
        else:
            result.unchanged += 1
        sq_diff_comp[component] += diff_sq
        sq_norm_comp[component] += norm_sq
        count_comp[component][0] += int(changed)
        count_comp[component][1] += 1
        if layer is not None:
            sq_diff_layer[layer] += diff_sq
            sq_norm_layer[layer] += norm_sq
            count_layer[layer][0] += int(changed)
            count_layer[layer][1] += 1
            cell = sq_cell[(layer, component)]
            cell[0] += diff_sq
            cell[1] += norm_sq
            cell[2] += int(changed)
            cell[3] += 1

    def group(d: float, n: float, counts: list[int]) -> GroupChange:
        rel = math.sqrt(d / n) if n > 0 else (math.inf if d > 0 else 0.0)
        return GroupChange(relative_change=rel, changed_tensors=counts[0], tensors=counts[1])

    result.layers = {k: group(sq_diff_layer[k], sq_norm_layer[k], count_layer[k]) for k in sorted(count_layer)}
    result.components = {k: group(sq_diff_comp[k], sq_norm_comp[k], count_comp[k]) for k in sorted(count_comp)}
    for (layer, component), (d, n, changed_count, total) in sorted(sq_cell.items()):
        result.grid.setdefault(layer, {})[component] = group(d, n, [int(changed_count), int(total)])
    result.identical = not (
        result.changed or result.only_in_a or result.only_in_b or result.mismatched or result.dtype_changes
    )
    for change, count in result.dtype_changes.items():
        dtype_a, dtype_b = change.split(" → ")
        if _FLOAT_WIDTH[dtype_a] != _FLOAT_WIDTH[dtype_b]:
            low = min(dtype_a, dtype_b, key=_FLOAT_WIDTH.__getitem__)
            how = f"both upcast to float32 after rounding the wider side to {low}, so a plain cast counts as unchanged"
        else:
            how = "both upcast to float32 (equal widths: the rounding difference counts as change)"
        result.notes.append(f"dtype changed {change} in {count} tensors; compared with {how}.")
    if not result.compared:
        result.notes.append("the two checkpoints share no tensor names: they are different architectures.")
    elif result.mismatched:
        result.notes.append(
            f"{len(result.mismatched)} tensors differ in shape (or are not floats) and were not compared."
        )
    return result


def _natural_key(name: str) -> list[object]:
    return [int(p) if p.isdigit() else p for p in name.split(".")]

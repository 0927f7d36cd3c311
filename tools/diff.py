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

    tally = _Tally(result, args.tolerance)

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
        tally.add(name, ta, tb)
        del ta, tb

    tally.finish()
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


class _Tally:
    """Sums of squared differences and norms per tensor, layer, component and layer × component."""

    def __init__(self, result: DiffResult, tolerance: float) -> None:
        self.result, self.tolerance = result, tolerance
        self.diff: dict[object, float] = defaultdict(float)
        self.norm: dict[object, float] = defaultdict(float)
        self.count: dict[object, list[int]] = defaultdict(lambda: [0, 0])

    def add(self, name: str, ta: object, tb: object | None) -> None:
        """One tensor before (ta) and after (tb, None: unchanged), both float32."""
        import torch

        assert isinstance(ta, torch.Tensor)
        norm_sq = float(torch.sum(ta * ta))
        if tb is None:
            diff_sq = max_abs = 0.0
        else:
            assert isinstance(tb, torch.Tensor)
            delta = tb - ta
            diff_sq = float(torch.sum(delta * delta))
            max_abs = float(delta.abs().max()) if delta.numel() else 0.0
            del delta
        self.result.compared += 1
        rel = math.sqrt(diff_sq / norm_sq) if norm_sq > 0 else (math.inf if diff_sq > 0 else 0.0)
        component, layer, _ = describe(name)
        changed = rel > self.tolerance and diff_sq > 0
        if changed:
            self.result.changed.append(
                TensorChange(name=name, layer=layer, component=component, relative_change=rel, max_abs_diff=max_abs)
            )
        else:
            self.result.unchanged += 1
        keys: list[object] = [("c", component)]
        if layer is not None:
            keys += [("l", layer), ("g", layer, component)]
        for key in keys:
            self.diff[key] += diff_sq
            self.norm[key] += norm_sq
            self.count[key][0] += int(changed)
            self.count[key][1] += 1

    def finish(self) -> None:
        def group(key: object) -> GroupChange:
            d, n = self.diff[key], self.norm[key]
            rel = math.sqrt(d / n) if n > 0 else (math.inf if d > 0 else 0.0)
            return GroupChange(relative_change=rel, changed_tensors=self.count[key][0], tensors=self.count[key][1])

        keys = sorted(self.count, key=str)
        self.result.layers = {k[1]: group(k) for k in sorted((k for k in keys if k[0] == "l"), key=lambda k: k[1])}
        self.result.components = {k[1]: group(k) for k in sorted((k for k in keys if k[0] == "c"), key=lambda k: k[1])}
        for key in sorted((k for k in keys if k[0] == "g"), key=lambda k: (k[1], k[2])):
            self.result.grid.setdefault(key[1], {})[key[2]] = group(key)


def diff_adapter(base: str, adapter: str, before: list[str] | None = None) -> DiffResult:
    """What one adapter changes in the model it was trained on (`base` with the `before` adapters folded in, in
    order), tensor by tensor as `diff_checkpoints` measures it, without writing a merged model: "which layers did
    the SFT change" is the SFT adapter's own change, not the combined result of the run."""
    import torch

    from tools.checkpoint import resolve_checkpoint
    from tools.merge_adapter import _apply, _plan, read_adapter_layout
    from tools.tensor_reader import TensorReader

    earlier = [read_adapter_layout(Path(a)) for a in before or []]
    mine = read_adapter_layout(Path(adapter))
    plan = _plan([*earlier, mine], [1.0] * (len(earlier) + 1), base)
    where = {info.name: h.path for h in load_headers(resolve_checkpoint(base)) for info in h.tensors.values()}
    result = DiffResult(a=base, b=adapter, identical=True, compared=0)
    tally = _Tally(result, 0.0)
    reader = TensorReader()
    try:
        for spec in sorted(plan.specs, key=lambda t: _natural_key(t.name)):
            steps = plan.ops.get(spec.name) or []
            source = plan.source[spec.name]
            weight = (
                None if steps and steps[0].kind == "replace" else reader.get(where[source], source).to(torch.float32)
            )
            for op in (o for o in steps if o.adapter is not mine):
                weight = _apply(weight, op, reader.get)
            own = [o for o in steps if o.adapter is mine]
            after = None
            if own:
                after = weight.clone()
                for op in own:
                    after = _apply(after, op, reader.get)
            tally.add(spec.name, weight, after)
    finally:
        reader.close()
    tally.finish()
    result.identical = not result.changed
    return result


def _natural_key(name: str) -> list[object]:
    return [int(p) if p.isdigit() else p for p in name.split(".")]

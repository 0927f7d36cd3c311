"""The `merge_adapter` stage: fold LoRA/DoRA adapters into their base, tensor by tensor.

PEFT's `merge_and_unload` needs the whole model in memory. Here each base tensor is read
(memory-mapped), the adapter's delta is added in float32, the result is cast back to the
base's own dtype and streamed to disk: peak memory is about one tensor, so an adapter can be
folded into a model larger than RAM. The result equals `merge_and_unload` (tests pin it).
Several adapters combine as a weighted sum of their deltas (PEFT's "cat" combination, exact);
other PEFT combinations (linear, ties, dare_*, svd) go through `add_weighted_adapter` in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.checkpoint import load_headers, resolve_checkpoint
from tools.errors import GraftError
from tools.progress import Progress, silent
from tools.safetensors_writer import (
    SIDE_FILES,
    TensorSpec,
    atomic_folder,
    check_free_space,
    copy_side_files,
    write_sharded,
)

_PREFIX = "base_model.model."


class MergeAdapterSpec(BaseModel):
    """How to fold adapters (the plan's merge_adapter fields)."""

    adapters: list[str] = Field(default_factory=list, description="Empty: the adapter the previous stage produced.")
    weights: list[float] = Field(default_factory=list, description="One per adapter; default 1.0 each.")
    combination: Literal["cat", "linear", "ties", "dare_ties", "dare_linear", "svd"] = "cat"
    density: float = Field(0.5, gt=0, le=1, description="Kept share for ties/dare combinations.")
    max_shard_size: str = "5GB"


class MergeAdapterResult(BaseModel):
    output: str
    merged_tensors: int
    adapters: list[str]
    method: str
    seconds: float


@dataclass
class _Adapter:
    path: Path
    file: Path
    scale: float
    fan_in_fan_out: bool
    dora: bool
    modules: dict[str, dict[str, str]]  # base weight name -> {"A": key, "B": key, "m": key}


def _read_adapter(path: Path) -> _Adapter:
    ckpt = resolve_checkpoint(path)
    if ckpt.adapter_config is None or ckpt.format != "safetensors":
        raise GraftError(f"{path} is not a PEFT adapter folder (adapter_config.json and adapter_model.safetensors).")
    cfg = ckpt.adapter_config
    if cfg.get("peft_type", "LORA") != "LORA":
        raise GraftError(f"{path} is a {cfg.get('peft_type')} adapter; only LoRA and DoRA adapters can be folded.")
    if cfg.get("rank_pattern") or cfg.get("alpha_pattern"):
        raise GraftError(f"{path} uses per-module rank/alpha patterns, which streaming merge does not fold yet.")
    r, alpha = cfg["r"], cfg["lora_alpha"]
    scale = alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r
    header = load_headers(ckpt)[0]
    modules: dict[str, dict[str, str]] = {}
    for key in header.tensors:
        name = key[len(_PREFIX) :] if key.startswith(_PREFIX) else key
        for marker, slot in ((".lora_A.weight", "A"), (".lora_B.weight", "B"), (".lora_magnitude_vector", "m")):
            if name.endswith(marker):
                modules.setdefault(name[: -len(marker)] + ".weight", {})[slot] = key
    if not modules:
        raise GraftError(f"{path} holds no LoRA weights.")
    for base_name, parts in modules.items():
        if "A" not in parts or "B" not in parts:
            raise GraftError(f"{path} is incomplete: {base_name} lacks lora_A or lora_B.")
    return _Adapter(path, header.path, scale, bool(cfg.get("fan_in_fan_out")), bool(cfg.get("use_dora")), modules)


def _check_against_base(adapter: _Adapter, base_shapes: dict[str, tuple[int, ...]], base_path: str) -> None:
    from tools.safetensors_header import read_header

    shapes = {k: v.shape for k, v in read_header(adapter.file).tensors.items()}
    for base_name, parts in adapter.modules.items():
        if base_name not in base_shapes:
            raise GraftError(f"adapter {adapter.path} is for a different base: {base_path} has no {base_name}.")
        out_dim, in_dim = base_shapes[base_name][:2] if not adapter.fan_in_fan_out else base_shapes[base_name][1::-1]
        a, b = shapes[parts["A"]], shapes[parts["B"]]
        if len(a) != 2 or len(b) != 2 or a[1] != in_dim or b[0] != out_dim or a[0] != b[1]:
            raise GraftError(
                f"adapter {adapter.path} is for a different base: {base_name} is {list(base_shapes[base_name])} "
                f"in {base_path}, but the adapter expects [{b[0] if len(b) else '?'}, {a[1] if len(a) > 1 else '?'}]."
            )


def merge_adapter(
    spec: MergeAdapterSpec,
    base: str,
    adapters: list[str],
    output: str,
    stage_id: str = "merge_adapter",
    progress: Progress = silent,
    overwrite: bool = False,
) -> MergeAdapterResult:
    """Fold `adapters` into the model at `base`, writing a full model folder at `output`."""
    import time

    start = time.perf_counter()
    if not adapters:
        raise GraftError(f"stage {stage_id}: there is no adapter to merge.")
    weights = spec.weights or [1.0] * len(adapters)
    if len(weights) != len(adapters):
        raise GraftError(f"stage {stage_id}: {len(adapters)} adapters but {len(weights)} weights.")
    if len(adapters) > 1 and spec.combination != "cat":
        return _merge_in_memory(spec, base, adapters, weights, output, stage_id, progress, overwrite, start)
    parsed = [_read_adapter(Path(a)) for a in adapters]
    ckpt = resolve_checkpoint(base)
    headers = load_headers(ckpt)
    base_shapes = {name: info.shape for h in headers for name, info in h.tensors.items()}
    for adapter in parsed:
        _check_against_base(adapter, base_shapes, base)
    specs = [TensorSpec(info.name, info.dtype, info.shape) for h in headers for info in h.tensors.values()]
    where = {info.name: h.path for h in headers for info in h.tensors.values()}
    check_free_space(Path(output).parent, sum(s.nbytes for s in specs))
    merged = 0

    from tools.tensor_reader import TensorReader

    reader = TensorReader()

    def produce(tspec: TensorSpec) -> Any:
        nonlocal merged
        import torch

        tensor = reader.get(where[tspec.name], tspec.name)
        touching = [(a, w) for a, w in zip(parsed, weights, strict=True) if tspec.name in a.modules]
        if not touching:
            return tensor
        weight = tensor.to(torch.float32)
        for adapter, w in touching:
            parts = adapter.modules[tspec.name]
            lora_a = reader.get(adapter.file, parts["A"]).to(torch.float32)
            lora_b = reader.get(adapter.file, parts["B"]).to(torch.float32)
            delta = (lora_b @ lora_a) * (adapter.scale * w)
            if adapter.fan_in_fan_out:
                delta = delta.T
            if adapter.dora:
                magnitude = reader.get(adapter.file, parts["m"]).to(torch.float32)
                combined = weight + delta
                norm = torch.linalg.norm(combined.T if adapter.fan_in_fan_out else combined, dim=1)
                factor = (magnitude / norm).view(-1, 1)
                weight = factor * (combined.T if adapter.fan_in_fan_out else combined)
                weight = weight.T if adapter.fan_in_fan_out else weight
            else:
                weight = weight + delta
        merged += 1
        return weight.to(tensor.dtype)

    def report(done: int, total: int) -> None:
        progress({"stage": stage_id, "kind": "progress", "step": done, "total": total})

    with atomic_folder(Path(output), overwrite) as tmp:
        write_sharded(tmp, specs, produce, {"format": "pt"}, spec.max_shard_size, on_tensor=report)
        copy_side_files(ckpt.folder or Path(base).parent, tmp, [f for f in SIDE_FILES if f != "adapter_config.json"])
    reader.close()
    return MergeAdapterResult(
        output=output,
        merged_tensors=merged,
        adapters=adapters,
        method="stream-cat",
        seconds=time.perf_counter() - start,
    )


def _merge_in_memory(
    spec: MergeAdapterSpec,
    base: str,
    adapters: list[str],
    weights: list[float],
    output: str,
    stage_id: str,
    progress: Progress,
    overwrite: bool,
    start: float,
) -> MergeAdapterResult:
    """PEFT's add_weighted_adapter for combinations that are not a plain sum of deltas."""
    import time

    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    modules = {m for a in adapters for m in _read_adapter(Path(a)).modules}
    model = AutoModelForCausalLM.from_pretrained(base)
    names = [f"a{i}" for i in range(len(adapters))]
    peft_model = PeftModel.from_pretrained(model, adapters[0], adapter_name=names[0])
    for name, path in zip(names[1:], adapters[1:], strict=True):
        peft_model.load_adapter(path, adapter_name=name)
    kwargs: dict[str, Any] = {}
    if spec.combination in ("ties", "dare_ties", "dare_linear"):
        kwargs["density"] = spec.density
    peft_model.add_weighted_adapter(names, weights, "combined", combination_type=spec.combination, **kwargs)
    peft_model.set_adapter("combined")
    for name in names:
        peft_model.delete_adapter(name)
    merged_model = peft_model.merge_and_unload()
    progress({"stage": stage_id, "kind": "progress", "step": 1, "total": 1})
    with atomic_folder(Path(output), overwrite) as tmp:
        merged_model.save_pretrained(str(tmp), max_shard_size=spec.max_shard_size)
        src = Path(base)
        copy_side_files(src, tmp, [f for f in SIDE_FILES if f not in ("adapter_config.json", "config.json")])
    return MergeAdapterResult(
        output=output,
        merged_tensors=len(modules),
        adapters=adapters,
        method=f"peft-{spec.combination}",
        seconds=time.perf_counter() - start,
    )

"""Pickle checkpoints (`.bin`, `.pt`) → safetensors, without ever running pickled code.

Two gates: the opcode scan of every pickle in the file (tools/pickle_scan.py) refuses one that
names anything torch's weights-only loader does not allow, before torch sees it, and
`torch.load(weights_only=True)` is the only loader. A refusal never repeats torch's advice to
retry with `weights_only=False`.
Tensors that share storage (tied embeddings) are written once each as their own copy, since
safetensors cannot express aliasing.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from tools.checkpoint import resolve_checkpoint
from tools.errors import GraftError
from tools.pickle_scan import scan_pickle
from tools.safetensors_writer import (
    SIDE_FILES,
    TORCH_TO_ST,
    TensorSpec,
    atomic_folder,
    check_destination,
    check_free_space,
    check_output_path,
    copy_side_files,
    write_file,
    write_sharded,
)


class ConvertArgs(BaseModel):
    """Arguments of `convert_checkpoint`."""

    source: str = Field(description="A .bin/.pt file or a folder of them (with pytorch_model.bin.index.json).")
    destination: str = Field(description="A .safetensors file (for a single file) or a new folder.")
    max_shard_size: str = "5GB"
    overwrite: bool = False


class ConvertResult(BaseModel):
    """What was written."""

    destination: str
    files: list[str]
    tensors: int
    total_params: int
    shared_tensors: list[str] = Field(default_factory=list)
    dropped_tied: list[str] = Field(default_factory=list)
    copied: list[str] = Field(default_factory=list)


_LOADER_REASON = re.compile(
    r"(Unsupported global: GLOBAL [\w.]+|Unsupported operand \d+|Invalid magic number|"
    r"Can only [^.\n]*|Trying to [^.\n]*|persistent_load[^.\n]*|Only persistent_load[^.\n]*)"
)


def _loader_reason(exc: BaseException) -> str:
    """What torch's loader objected to, without its advice to retry with `weights_only=False`."""
    text = str(exc)
    match = _LOADER_REASON.search(text)
    if match:
        return match.group(1).replace("Unsupported global: GLOBAL ", "it names ").strip()
    return "it does not load as plain tensors"


def _load_state_dict(path: Path) -> dict[str, Any]:
    report = scan_pickle(path)  # before torch is even imported
    reason = report.refusal()
    if reason:
        raise GraftError(f"refusing to convert {path}: {reason}.")
    import pickle

    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=report.container == "zip")
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, AttributeError) as exc:
        # torch's message suggests `weights_only=False`; Graft never passes that advice on.
        raise GraftError(
            f"refusing to convert {path}: torch's weights-only loader rejected it ({_loader_reason(exc)})."
        ) from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise GraftError(f"{path} holds a {type(obj).__name__}, not a state dict of tensors.")
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise GraftError(f"{path} holds no tensors.")
    return tensors


_OUTPUT_EMBEDDINGS = ("lm_head.weight", "embed_out.weight", "output.weight")


def _untie(tensors: dict[str, Any], tied_embeddings: bool) -> tuple[list[str], list[str]]:
    """Resolve tensors that alias an earlier one's storage, as safetensors cannot store aliases.

    A tied output embedding in a model whose config ties embeddings is dropped, as
    `save_pretrained` does (transformers re-ties it on load); any other alias gets its own copy.
    Returns (copied names, dropped names).
    """
    groups: dict[int, list[str]] = {}
    for name, tensor in tensors.items():
        if tensor.numel():
            groups.setdefault(tensor.untyped_storage().data_ptr(), []).append(name)
    copied, dropped = [], []
    for names in groups.values():
        if len(names) < 2:
            continue
        outputs = [n for n in names if n.endswith(_OUTPUT_EMBEDDINGS)]
        keep = next((n for n in names if n not in outputs), names[0])
        for name in names:
            if name == keep:
                continue
            if tied_embeddings and name in outputs:
                del tensors[name]
                dropped.append(name)
            else:
                tensors[name] = tensors[name].clone()
                copied.append(name)
    return copied, dropped


def _specs(tensors: dict[str, Any]) -> list[TensorSpec]:
    specs = []
    for name, tensor in tensors.items():
        dtype = TORCH_TO_ST.get(str(tensor.dtype).removeprefix("torch."))
        if dtype is None:
            raise GraftError(f"tensor {name!r} has dtype {tensor.dtype}, which safetensors cannot store.")
        specs.append(TensorSpec(name, dtype, tuple(tensor.shape)))
    return specs


def convert_checkpoint(args: ConvertArgs) -> ConvertResult:
    """Convert a pickle checkpoint into safetensors at `args.destination`, atomically."""
    ckpt = resolve_checkpoint(args.source)
    if ckpt.format != "pickle":
        raise GraftError(f"{args.source} is already safetensors; nothing to convert.")
    dest = Path(args.destination)
    source = Path(args.source).resolve()
    keep = {source: "the source", Path.cwd().resolve(): "the working folder", Path.home().resolve(): "your home folder"}
    if source.is_file():
        keep[source.parent] = "the source's folder"
    check_output_path(args.destination, keep, args.overwrite, what="destination")  # before anything is loaded
    # graft.converted_from marks the output as Graft's own, so --overwrite may replace it later.
    metadata = {"format": "pt", "graft.converted_from": Path(args.source).name}
    tensors: dict[str, Any] = {}
    for file in ckpt.files:
        part = _load_state_dict(file)
        clash = set(part) & set(tensors)
        if clash:
            raise GraftError(f"{file} repeats tensor {sorted(clash)[0]!r} from another shard.")
        tensors.update(part)
    tied = bool(ckpt.config and ckpt.config.get("tie_word_embeddings", True))
    shared, dropped = _untie(tensors, tied)
    specs = _specs(tensors)
    total_bytes = sum(s.nbytes for s in specs)

    if ckpt.folder is None and dest.suffix == ".safetensors":
        check_destination(dest, args.overwrite)
        parent = dest.parent if str(dest.parent) else Path(".")
        check_free_space(parent, total_bytes)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.tmp-", dir=parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            write_file(tmp, specs, lambda s: tensors[s.name], metadata)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        files = [dest.name]
        copied: list[str] = []
    else:
        check_destination(dest, args.overwrite)
        check_free_space(dest.parent if str(dest.parent) else Path("."), total_bytes)
        prefix = "adapter_model" if ckpt.is_adapter else "model"
        with atomic_folder(dest, args.overwrite) as tmp:
            paths = write_sharded(tmp, specs, lambda s: tensors[s.name], metadata, args.max_shard_size, prefix)
            copied = copy_side_files(ckpt.folder, tmp, SIDE_FILES) if ckpt.folder else []
        files = [p.name for p in paths]
    return ConvertResult(
        destination=str(dest),
        files=files,
        tensors=len(specs),
        total_params=sum(t.numel() for t in tensors.values()),
        shared_tensors=shared,
        dropped_tied=dropped,
        copied=copied,
    )

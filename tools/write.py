"""The `write` stage: the one final artifact, streamed, verified, with its provenance inside.

Tensors stream from the current model into a temporary folder beside the destination (peak
memory about one tensor), cast to the chosen dtype; `__metadata__` keeps `"format": "pt"` and
adds `graft.provenance`. Every tensor is then read back from disk and checked for shape, dtype
and SHA-256 before the folder is renamed into place. Loading and generating runs in a child
process, only when the model has a tokenizer and fits comfortably in memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.checkpoint import load_headers, resolve_checkpoint
from tools.errors import GraftError
from tools.progress import Progress, silent
from tools.safetensors_header import read_header
from tools.safetensors_writer import (
    TensorSpec,
    atomic_folder,
    check_free_space,
    tensor_bytes,
    write_json,
    write_sharded,
)

_FLOAT_CODES = {"F32", "F16", "BF16", "F64"}
_CODE = {"float32": "F32", "bfloat16": "BF16", "float16": "F16"}


class WriteSpec(BaseModel):
    """The final write (the plan's write fields)."""

    output: str | None = Field(None, description="Final folder; defaults to the plan's output.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    max_shard_size: str = "5GB"


class WriteResult(BaseModel):
    output: str
    files: list[str]
    tensors: int
    total_bytes: int
    dtype: str
    verified_tensors: int
    generate_check: str
    heldout: dict[str, Any] = Field(
        default_factory=dict, description="Per training stage: its held-out numbers on base and final."
    )
    warnings: list[str] = Field(default_factory=list)
    seconds: float


def _available_memory() -> int:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def run_check(mode: str, payload: dict[str, Any], timeout: float = 600) -> dict[str, Any]:
    """Run tools.model_check in a child process; a crash there cannot take Graft down."""
    proc = subprocess.run(
        [sys.executable, "-m", "tools.model_check", mode, json.dumps(payload)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("GRAFT_RESULT "):
            return json.loads(line[len("GRAFT_RESULT ") :])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    raise GraftError(f"the {mode} check failed: {tail}")


def write_final(
    spec: WriteSpec,
    model: str,
    output: str,
    provenance: dict[str, Any],
    base_model: str | None = None,
    heldout_files: list[str] | None = None,
    overwrite: bool = False,
    stage_id: str = "write",
    progress: Progress = silent,
) -> WriteResult:
    """Write the model at `model` as the final artifact at `output`."""
    start = time.perf_counter()
    ckpt = resolve_checkpoint(model)
    headers = load_headers(ckpt)
    source_folder = ckpt.folder or Path(model).parent
    infos = [(h.path, info) for h in headers for info in h.tensors.values()]
    source_codes = {info.dtype for _, info in infos if info.dtype in _FLOAT_CODES}
    if spec.dtype == "auto":
        target = next(iter(source_codes)) if len(source_codes) == 1 else "F32"
    else:
        target = _CODE[spec.dtype]
    target_name = {v: k for k, v in _CODE.items()}.get(target, "float32")
    specs = [TensorSpec(i.name, target if i.dtype in _FLOAT_CODES else i.dtype, i.shape) for _, i in infos]
    where = {i.name: p for p, i in infos}
    total_bytes = sum(s.nbytes for s in specs)
    out = Path(output)
    check_free_space(out.parent if str(out.parent) else Path("."), total_bytes)
    try:  # `out/final` with no `out/` yet: the person named a new folder; make its parents
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GraftError(f"cannot create {out.parent}: {exc.strerror or exc}.") from None
    from tools.model_card import build_model_card, carry_side_files
    from tools.model_card import has_tokenizer as folder_has_tokenizer

    base_folder = None
    if base_model and Path(base_model).exists():
        base_folder = resolve_checkpoint(base_model).folder or Path(base_model).parent
    # Side files come from the model being written, else from the base (a stage may have dropped them).
    side_sources = [source_folder, *([base_folder] if base_folder else [])]
    has_tokenizer = any(folder_has_tokenizer(f) for f in side_sources)
    fits = total_bytes * 3 < _available_memory()
    warnings: list[str] = []
    if not has_tokenizer:
        warnings.append("the model has no tokenizer files: none was carried, and the generate check is skipped.")

    heldout: dict[str, Any] = {}
    if heldout_files and has_tokenizer and fits:
        progress({"stage": stage_id, "kind": "log", "message": "scoring each stage's held-out rows on base and final"})
        from tools.heldout import compare_files

        heldout = compare_files(model, base_model, heldout_files)
    provenance = {
        **provenance,
        "final": {
            "dtype": target_name,
            "heldout": heldout,
            "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    }
    metadata = {"format": "pt", "graft.provenance": json.dumps(provenance, ensure_ascii=False, sort_keys=True)}

    import torch

    from tools.tensor_reader import TensorReader

    digests: dict[str, str] = {}
    reader = TensorReader()
    torch_target = getattr(torch, target_name)

    def produce(tspec: TensorSpec) -> Any:
        tensor = reader.get(where[tspec.name], tspec.name)
        if tensor.is_floating_point() and tensor.dtype != torch_target:
            tensor = tensor.to(torch_target)
        digests[tspec.name] = hashlib.sha256(tensor_bytes(tensor)).hexdigest()
        return tensor

    with atomic_folder(out, overwrite) as tmp:
        files = write_sharded(
            tmp,
            specs,
            produce,
            metadata,
            spec.max_shard_size,
            on_tensor=lambda d, t: progress(
                {"stage": stage_id, "kind": "progress", "step": d, "total": t, "unit": "tensor"}
            ),
        )
        reader.close()
        carry_side_files(side_sources, tmp)
        _set_config_dtype(tmp / "config.json", target_name)
        verified = verify_written(tmp, specs, digests)
        card, card_notes = build_model_card(provenance, target_name, base_folder)
        warnings += card_notes
        (tmp / "README.md").write_text(card, encoding="utf-8")
        if has_tokenizer and fits:
            text = run_check("generate", {"model": str(tmp)})["text"]
            generate_check = f"ok: generated {text!r}"
        else:
            reason = "no tokenizer" if not has_tokenizer else "model too large for a memory check"
            generate_check = f"skipped: {reason}"
    return WriteResult(
        output=str(out),
        files=[f.name for f in files],
        tensors=len(specs),
        total_bytes=total_bytes,
        dtype=target_name,
        verified_tensors=verified,
        generate_check=generate_check,
        heldout=heldout,
        warnings=warnings,
        seconds=time.perf_counter() - start,
    )


def _set_config_dtype(path: Path, dtype: str) -> None:
    if not path.is_file():
        return
    config = json.loads(path.read_text(encoding="utf-8"))
    config["dtype"] = dtype
    config.pop("torch_dtype", None)
    if os.path.isabs(str(config.get("_name_or_path") or "")):  # older transformers saved this machine's path
        config.pop("_name_or_path")
    write_json(path, config)


def verify_written(folder: Path, specs: list[TensorSpec], digests: dict[str, str]) -> int:
    """Read every tensor back from disk, streaming, and check shape, dtype and checksum."""
    expected = {s.name: s for s in specs}
    seen = 0
    for file in sorted(folder.glob("*.safetensors")):
        header = read_header(file)
        with open(file, "rb") as handle:
            for info in header.tensors.values():
                want = expected.get(info.name)
                if want is None or want.shape != info.shape or want.dtype != info.dtype:
                    raise GraftError(f"verification failed: {info.name} in {file.name} is not what was written.")
                handle.seek(header.data_start + info.begin)
                digest = hashlib.sha256()
                remaining = info.end - info.begin
                while remaining:
                    block = handle.read(min(remaining, 1 << 24))
                    if not block:
                        raise GraftError(f"verification failed: {file.name} ends inside {info.name}.")
                    digest.update(block)
                    remaining -= len(block)
                if digest.hexdigest() != digests[info.name]:
                    raise GraftError(f"verification failed: {info.name} in {file.name} does not read back as written.")
                seen += 1
    if seen != len(specs):
        raise GraftError(f"verification failed: {seen} tensors read back, {len(specs)} written.")
    return seen

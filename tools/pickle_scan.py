"""Describe a pickle checkpoint without unpickling it.

`pickletools.genops` walks opcodes without executing any of them, so we can list every
global a file would import (and so whether `torch.load(weights_only=True)` could accept it)
while no code in the file runs.
"""

from __future__ import annotations

import io
import pickletools
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from tools.errors import GraftError

# Globals a plain state dict needs; anything else means the file wants to run code or build
# arbitrary objects on load.
_SAFE_MODULE_PREFIXES = ("torch._utils", "torch._tensor", "torch.storage", "collections")
_SAFE_TORCH_NAMES = {"Size", "device", "dtype", "float32", "float16", "bfloat16", "_utils"}


@dataclass
class PickleReport:
    """What a pickle checkpoint holds, read from its opcodes only."""

    path: Path
    container: str  # "zip" (torch.save since 1.6) or "legacy"
    size_bytes: int
    globals: list[str] = field(default_factory=list)
    unsafe_globals: list[str] = field(default_factory=list)
    storages: int = 0

    @property
    def loadable_weights_only(self) -> bool:
        return not self.unsafe_globals


def _is_safe(ref: str) -> bool:
    module, _, name = ref.rpartition(".")
    if module.startswith(_SAFE_MODULE_PREFIXES):
        return True
    if module == "torch":
        return name.endswith("Storage") or name in _SAFE_TORCH_NAMES
    return False


def _scan_stream(stream: io.BufferedIOBase, max_pickles: int) -> tuple[list[str], int]:
    found: dict[str, None] = {}
    persistent = 0
    for _ in range(max_pickles):
        strings: list[str] = []
        try:
            for opcode, arg, _pos in pickletools.genops(stream):
                if opcode.name in ("GLOBAL", "INST") and isinstance(arg, str):
                    found[arg.replace(" ", ".")] = None
                elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                    found[f"{strings[-2]}.{strings[-1]}"] = None
                elif opcode.name in ("BINPERSID", "PERSID"):
                    persistent += 1
                if isinstance(arg, str):
                    strings.append(arg)
        except Exception:
            break
    return list(found), persistent


def scan_pickle(path: str | Path) -> PickleReport:
    """List a pickle file's imports and storages; raise GraftError if it is not a pickle."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                pkl = next((n for n in names if n.endswith("data.pkl")), None)
                if pkl is None:
                    raise GraftError(f"{path} is a zip archive but not a torch checkpoint (no data.pkl).")
                with archive.open(pkl) as handle:
                    refs, _ = _scan_stream(io.BufferedReader(handle), 1)  # type: ignore[arg-type]
                storages = sum(1 for n in names if "/data/" in n and not n.endswith("/"))
                container = "zip"
        else:
            with open(path, "rb") as handle:
                if handle.read(1) != b"\x80":
                    raise GraftError(f"{path} is neither safetensors nor a pickle checkpoint.")
                handle.seek(0)
                refs, storages = _scan_stream(handle, 4)  # type: ignore[arg-type]
                container = "legacy"
    except OSError as exc:
        raise GraftError(f"cannot read {path}: {exc.strerror or exc}.") from exc
    except zipfile.BadZipFile as exc:
        raise GraftError(f"{path} is a damaged zip archive: {exc}.") from exc
    unsafe = [r for r in refs if not _is_safe(r)]
    return PickleReport(path, container, size, refs, unsafe, storages)

"""Read and check a safetensors header without torch and without touching tensor data.

`safetensors.safe_open` needs a framework (and so torch) to open a file; `graft inspect` must
start fast and must explain a broken file in one sentence, so the header is parsed here with
`struct` and `json`, and every offset is checked against the real file size.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import stat
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from tools.errors import GraftError

# Bytes per element for the dtypes safetensors defines (sub-byte float formats excluded).
DTYPE_SIZES: dict[str, int] = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "F8_E8M0": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}

# The names people know these dtypes by (torch spelling).
DTYPE_NAMES: dict[str, str] = {
    "BOOL": "bool",
    "U8": "uint8",
    "I8": "int8",
    "F8_E5M2": "float8_e5m2",
    "F8_E4M3": "float8_e4m3fn",
    "F8_E8M0": "float8_e8m0fnu",
    "I16": "int16",
    "U16": "uint16",
    "F16": "float16",
    "BF16": "bfloat16",
    "I32": "int32",
    "U32": "uint32",
    "F32": "float32",
    "I64": "int64",
    "U64": "uint64",
    "F64": "float64",
}

# safetensors itself refuses headers above 100 MB; a larger length means a broken file.
MAX_HEADER_BYTES = 100 * 1024 * 1024


class TensorInfo(NamedTuple):
    """One tensor as the header describes it (offsets relative to the data section)."""

    name: str
    dtype: str  # safetensors spelling, e.g. "BF16"
    shape: tuple[int, ...]
    begin: int
    end: int
    numel: int

    @property
    def dtype_name(self) -> str:
        return DTYPE_NAMES.get(self.dtype, self.dtype.lower())


@dataclass
class SafetensorsHeader:
    """The parsed header of one file: its tensors in file order and its `__metadata__`."""

    path: Path
    tensors: dict[str, TensorInfo]
    metadata: dict[str, str] = field(default_factory=dict)
    data_start: int = 0
    file_size: int = 0


def read_header(path: str | os.PathLike[str]) -> SafetensorsHeader:
    """Parse and validate the header of `path`, raising GraftError with the exact defect."""
    path = Path(path)
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):  # a FIFO or device named *.safetensors would block the read
            raise GraftError(f"{path} is not a regular file.")
        size = st.st_size
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise GraftError(
                    f"{path} is truncated: a safetensors file starts with an 8-byte header "
                    f"length, but the file has only {size} bytes."
                )
            (header_len,) = struct.unpack("<Q", prefix)
            if header_len > MAX_HEADER_BYTES:
                raise GraftError(
                    f"{path} is not a valid safetensors file: its header claims {header_len:,} "
                    f"bytes (the format allows at most {MAX_HEADER_BYTES:,})."
                )
            if header_len > size - 8:
                raise GraftError(
                    f"{path} is truncated or corrupt: its header claims {header_len:,} bytes "
                    f"but only {size - 8:,} follow the length prefix."
                )
            raw = handle.read(header_len)
    except OSError as exc:
        raise GraftError(f"cannot read {path}: {exc.strerror or exc}.") from exc
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GraftError(f"{path} is not a valid safetensors file: its header is not JSON ({exc}).") from exc
    except RecursionError:
        raise GraftError(f"{path} is not a valid safetensors file: its header is nested too deeply.") from None
    if not isinstance(header, dict):
        raise GraftError(f"{path} is not a valid safetensors file: its header is not a JSON object.")

    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise GraftError(f"{path} has a malformed __metadata__: it must map strings to strings.")

    data_size = size - 8 - header_len
    tensors: dict[str, TensorInfo] = {}
    for name, entry in header.items():
        tensors[name] = _check_entry(path, name, entry, data_size)
    _check_no_overlap(path, tensors)
    return SafetensorsHeader(path, tensors, metadata, data_start=8 + header_len, file_size=size)


def _check_entry(path: Path, name: str, entry: object, data_size: int) -> TensorInfo:
    # Hot path: one call per tensor, so types are checked with `type(...) is` and one prod.
    try:
        dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]  # type: ignore[index]
        ok = (
            type(dtype) is str
            and type(shape) is list
            and type(begin) is int
            and type(end) is int
            and 0 <= begin <= end
            and all(type(d) is int and d >= 0 for d in shape)
        )
    except (TypeError, KeyError, ValueError):
        ok = False
    if not ok:
        raise GraftError(f"{path}: tensor {name!r} has a malformed header entry {entry!r}.")
    if end > data_size:
        raise GraftError(
            f"{path}: tensor {name!r} lies outside the file (bytes {begin:,}-{end:,} of a {data_size:,}-byte "
            "data section): the file is truncated or corrupt."
        )
    numel = math.prod(shape)
    itemsize = DTYPE_SIZES.get(dtype)
    if itemsize is not None and (end - begin) != numel * itemsize:
        raise GraftError(
            f"{path}: tensor {name!r} is {end - begin:,} bytes but shape {shape} of {dtype} needs "
            f"{numel * itemsize:,}: the header is corrupt."
        )
    return TensorInfo(name, dtype, tuple(shape), begin, end, numel)


def _check_no_overlap(path: Path, tensors: dict[str, TensorInfo]) -> None:
    spans = sorted((t.begin, t.end, t.name) for t in tensors.values() if t.end > t.begin)
    for (_, end_a, name_a), (begin_b, _, name_b) in itertools.pairwise(spans):
        if begin_b < end_a:
            raise GraftError(f"{path}: tensors {name_a!r} and {name_b!r} overlap: the header is corrupt.")

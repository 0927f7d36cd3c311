"""Read one safetensors tensor at a time with `pread`, not `mmap`.

`safe_open` maps the whole file; every page a merge touches then counts in the process's
resident set until the file is closed, so streaming a 14 GB model through it still shows
14 GB of RSS and can be OOM-killed under a memory limit. Reading each tensor into its own
buffer keeps the resident set near the largest tensor; the bytes still go through the page
cache, so repeated reads stay fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tools.safetensors_header import SafetensorsHeader, read_header
from tools.safetensors_writer import TORCH_TO_ST

ST_TO_TORCH = {st: name for name, st in TORCH_TO_ST.items()}


def return_big_frees_to_the_os(threshold: int = 1 << 20) -> None:
    """Make glibc hand large freed buffers straight back to the OS.

    glibc raises its mmap threshold after each large free, so the fp32 working tensors of a
    streaming merge end up in the heap and stay resident after use: about 80 MB extra on a
    1 GB model. A fixed 1 MiB threshold keeps every tensor-sized buffer in its own mapping,
    released on free. A no-op where glibc's mallopt is not available.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, threshold)  # M_MMAP_THRESHOLD (a fixed value also stops the dynamic raise)
        libc.mallopt(-1, threshold)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


class TensorReader:
    """Tensors by name from one or more safetensors files, read on demand."""

    def __init__(self) -> None:
        self._files: dict[Path, tuple[int, SafetensorsHeader]] = {}
        return_big_frees_to_the_os()

    def _open(self, path: Path) -> tuple[int, SafetensorsHeader]:
        if path not in self._files:
            header = read_header(path)
            self._files[path] = (os.open(path, os.O_RDONLY), header)
        return self._files[path]

    def get(self, path: Path, name: str) -> Any:
        """The tensor `name` stored in `path`, as a torch tensor that owns its memory."""
        import torch

        fd, header = self._open(Path(path))
        info = header.tensors[name]
        size = info.end - info.begin
        buffer = bytearray(size)
        view, done = memoryview(buffer), 0
        while done < size:
            got = os.preadv(fd, [view[done:]], header.data_start + info.begin + done)
            if got <= 0:
                raise OSError(f"{path} ended while reading {name}")
            done += got
        dtype = getattr(torch, ST_TO_TORCH[info.dtype])
        if size == 0:
            return torch.empty(info.shape, dtype=dtype)
        return torch.frombuffer(buffer, dtype=dtype).reshape(info.shape)

    def close(self) -> None:
        for fd, _ in self._files.values():
            os.close(fd)
        self._files.clear()

    def __enter__(self) -> TensorReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Identity by content: a digest of every byte of a checkpoint, dataset or adapter.

A stage is reused only when its inputs are the same *bytes*: headers, sizes and configs are
identical for a model retrained with another seed, so they cannot be identity. Hashing is
streamed (xxh3-128, several GB/s, disk-bound) and remembered per file by (path, size, mtime,
ctime, inode), so the second look at an unchanged file costs one `stat`.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
from pathlib import Path

from tools.errors import GraftError

ALGORITHM = "xxh3_128"
_BLOCK = 8 << 20
# Files in a model or adapter folder that do not change what the weights compute.
_IGNORED_SUFFIXES = (".md",)
_lock = threading.Lock()
_memory: dict[str, tuple[list[int], str]] = {}


def _new_hasher():
    try:
        import xxhash

        return xxhash.xxh3_128()
    except ImportError:  # pragma: no cover - xxhash comes with datasets
        return hashlib.blake2b(digest_size=16)


def _stamp(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


class HashCache:
    """A small JSON file of {real path: (stat stamp, digest)}; a corrupt one is simply rebuilt."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, tuple[list[int], str]] = {}
        self.dirty = False
        if path is not None and path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(data, dict):
                    self.entries = {k: (list(v[0]), str(v[1])) for k, v in data.items()}
            except (OSError, ValueError, TypeError, IndexError, KeyError):
                self.entries = {}

    def get(self, key: str, stamp: list[int]) -> str | None:
        hit = self.entries.get(key) or _memory.get(key)
        return hit[1] if hit and hit[0] == stamp else None

    def put(self, key: str, stamp: list[int], digest: str) -> None:
        self.entries[key] = (stamp, digest)
        _memory[key] = (stamp, digest)
        self.dirty = True

    def save(self) -> None:
        """Best effort: a cache that cannot be written only costs a re-hash next time."""
        if self.path is None or not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self.entries), encoding="utf-8")
            os.replace(tmp, self.path)
            self.dirty = False
        except OSError:
            pass


def file_digest(path: str | Path, cache: HashCache | None = None) -> str:
    """Content digest of one regular file (refuses FIFOs, devices and folders by name)."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError as exc:
        raise GraftError(f"cannot read {path}: {exc.strerror or exc}.") from None
    if not stat.S_ISREG(st.st_mode):
        raise GraftError(f"{path} is not a regular file.")
    key = str(path.resolve())
    stamp = _stamp(st)
    with _lock:
        hit = (cache or HashCache(None)).get(key, stamp)
    if hit:
        return hit
    hasher = _new_hasher()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(_BLOCK), b""):
                hasher.update(block)
    except OSError as exc:
        raise GraftError(f"cannot read {path}: {exc.strerror or exc}.") from None
    digest = f"{ALGORITHM}:{hasher.hexdigest()}"
    with _lock:
        if cache is not None:
            cache.put(key, stamp, digest)
        else:
            _memory[key] = (stamp, digest)
    return digest


def _folder_files(folder: Path) -> list[Path]:
    files = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name.endswith(_IGNORED_SUFFIXES):
            continue
        if entry.is_file():
            files.append(entry)
    return files


def _dataset_dict_files(folder: Path) -> list[Path]:
    """Every file of a `datasets` save_to_disk DatasetDict: its splits are sub-folders."""
    return sorted(
        f for f in folder.rglob("*") if f.is_file() and not any(p.startswith(".") for p in f.relative_to(folder).parts)
    )


def content_digest(path: str | Path, cache: HashCache | None = None) -> str:
    """Digest of a file, or of every regular file directly inside a folder (names and bytes).

    Sub-folders (a trainer's `checkpoint-N`, a run's scratch) and dotfiles are not part of a
    checkpoint's identity; model cards (`*.md`) are documentation, not weights. A `datasets`
    save_to_disk DatasetDict (`dataset_dict.json`) is the exception: its splits' Arrow files live
    in sub-folders, so every file under it counts.
    """
    path = Path(path)
    if not path.exists():
        raise GraftError(f"{path} does not exist.")
    if not path.is_dir():
        return file_digest(path, cache)
    outer = hashlib.blake2b(digest_size=16)
    files = _dataset_dict_files(path) if (path / "dataset_dict.json").is_file() else _folder_files(path)
    for file in files:
        outer.update(f"{file.relative_to(path).as_posix()}\0{file_digest(file, cache)}\n".encode())
    return f"{ALGORITHM}-tree:{outer.hexdigest()}"

"""Write safetensors tensor by tensor, sharded, into a temporary folder renamed into place.

`safetensors.torch.save_file` needs every tensor of a file in memory at once. Graft's
writers (convert, adapter merge, final write) know every name, dtype and shape up front, so
the header is written first and each tensor's bytes are streamed after it: peak memory is one
tensor, and a model larger than RAM can be written. Output is byte-compatible with safetensors.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.errors import GraftError
from tools.safetensors_header import DTYPE_SIZES

if TYPE_CHECKING:
    import torch

TORCH_TO_ST = {
    "float32": "F32",
    "float16": "F16",
    "bfloat16": "BF16",
    "float64": "F64",
    "int64": "I64",
    "int32": "I32",
    "int16": "I16",
    "int8": "I8",
    "uint8": "U8",
    "bool": "BOOL",
    "float8_e4m3fn": "F8_E4M3",
    "float8_e5m2": "F8_E5M2",
}


@dataclass(frozen=True)
class TensorSpec:
    """A tensor to be written: its name, safetensors dtype and shape."""

    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * DTYPE_SIZES[self.dtype]


def parse_size(text: str | int) -> int:
    """'5GB', '500MB', '2GiB' or a byte count → bytes (the units transformers accepts)."""
    if isinstance(text, int):
        return text
    units = {
        "KIB": 2**10,
        "MIB": 2**20,
        "GIB": 2**30,
        "TIB": 2**40,
        "KB": 10**3,
        "MB": 10**6,
        "GB": 10**9,
        "TB": 10**12,
        "B": 1,
    }
    cleaned = text.strip().upper().replace(" ", "")
    for unit, factor in units.items():
        if cleaned.endswith(unit):
            try:
                return int(float(cleaned[: -len(unit)]) * factor)
            except ValueError:
                break
    try:
        return int(cleaned)
    except ValueError:
        raise GraftError(f"cannot read {text!r} as a size; write it like 5GB or 500MB.") from None


def plan_shards(specs: list[TensorSpec], max_shard_bytes: int) -> list[list[TensorSpec]]:
    """Group tensors, in order, into shards no larger than `max_shard_bytes` (one tensor may exceed it)."""
    shards: list[list[TensorSpec]] = [[]]
    size = 0
    for spec in specs:
        if shards[-1] and size + spec.nbytes > max_shard_bytes:
            shards.append([])
            size = 0
        shards[-1].append(spec)
        size += spec.nbytes
    return shards


def shard_names(count: int, prefix: str = "model") -> list[str]:
    if count == 1:
        return [f"{prefix}.safetensors"]
    return [f"{prefix}-{i:05d}-of-{count:05d}.safetensors" for i in range(1, count + 1)]


def _header_bytes(specs: list[TensorSpec], metadata: dict[str, str]) -> bytes:
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    for spec in specs:
        header[spec.name] = {
            "dtype": spec.dtype,
            "shape": list(spec.shape),
            "data_offsets": [offset, offset + spec.nbytes],
        }
        offset += spec.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # safetensors aligns the data section to 8 bytes
    return struct.pack("<Q", len(raw)) + raw


def tensor_bytes(tensor: torch.Tensor) -> memoryview:
    """The raw little-endian bytes of a CPU tensor, without a copy when it is contiguous."""
    import torch

    flat = tensor.detach().contiguous().reshape(-1)
    if flat.dtype == torch.bool:
        flat = flat.to(torch.uint8)
    return memoryview(flat.view(torch.uint8).numpy())


def write_file(
    path: Path,
    specs: list[TensorSpec],
    produce: Callable[[TensorSpec], torch.Tensor],
    metadata: dict[str, str] | None = None,
) -> None:
    """Write one safetensors file, asking `produce` for each tensor in turn and fsyncing at the end."""
    from tools.safetensors_header import DTYPE_NAMES

    with open(path, "wb") as handle:
        handle.write(_header_bytes(specs, metadata or {}))
        for spec in specs:
            tensor = produce(spec)
            got = TORCH_TO_ST.get(str(tensor.dtype).removeprefix("torch."))
            if got != spec.dtype or tuple(tensor.shape) != spec.shape:
                raise GraftError(
                    f"tensor {spec.name!r} came out as {tuple(tensor.shape)} {got}, expected "
                    f"{spec.shape} {DTYPE_NAMES.get(spec.dtype, spec.dtype)}: refusing to write it."
                )
            handle.write(tensor_bytes(tensor))
        handle.flush()
        os.fsync(handle.fileno())


def write_sharded(
    folder: Path,
    specs: list[TensorSpec],
    produce: Callable[[TensorSpec], torch.Tensor],
    metadata: dict[str, str] | None = None,
    max_shard_size: str | int = "5GB",
    prefix: str = "model",
    on_tensor: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Write `specs` as one file or several shards plus an index into `folder` (which exists)."""
    groups = plan_shards(specs, parse_size(max_shard_size))
    names = shard_names(len(groups), prefix)
    done = 0
    total = len(specs)

    def counted(spec: TensorSpec) -> torch.Tensor:
        nonlocal done
        tensor = produce(spec)
        done += 1
        if on_tensor:
            on_tensor(done, total)
        return tensor

    paths = []
    for name, group in zip(names, groups, strict=True):
        write_file(folder / name, group, counted, metadata)
        paths.append(folder / name)
    if len(groups) > 1:
        index = {  # the two fields transformers' save_pretrained writes
            "metadata": {
                "total_parameters": sum(math.prod(s.shape) for s in specs),
                "total_size": sum(s.nbytes for s in specs),
            },
            "weight_map": {s.name: n for n, g in zip(names, groups, strict=True) for s in g},
        }
        write_json(folder / f"{prefix}.safetensors.index.json", index)
    return paths


def write_json(path: Path, data: Any) -> None:
    """Write JSON and fsync it (used inside a temporary output folder)."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write_text(path: Path, text: str, overwrite: bool = False) -> None:
    """A small text file written beside its destination, fsynced, then renamed into place."""
    import tempfile

    check_destination(path, overwrite, graft_only=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent if str(path.parent) else Path("."))


def current_umask() -> int:
    """The process umask, read without changing it (mkstemp/mkdtemp ignore it; outputs should not)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable; a file system that cannot sync a folder (EINVAL) is let be."""
    import errno

    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
    finally:
        os.close(fd)


def is_graft_output(path: Path) -> bool:
    """True for a file or folder Graft wrote: its safetensors carry a `graft.*` metadata entry."""
    from tools.safetensors_header import read_header

    path = Path(path)
    if path.is_file() and path.suffix == ".safetensors":
        files = [path]
    elif path.is_dir() and not path.is_symlink():
        files = sorted(path.glob("*.safetensors"))
    else:
        return False
    if not files:
        return False
    for file in files:
        try:
            metadata = read_header(file).metadata or {}
        except (GraftError, OSError):
            return False
        if not any(key.startswith("graft.") for key in metadata):
            return False
    return True


def check_output_path(output: str, protected: dict[Path, str], overwrite: bool, what: str = "output") -> None:
    """Refuse an output that is, or contains, something the person keeps; or that exists and isn't Graft's."""
    if not output or not output.strip():
        raise GraftError(f"the {what} path is empty.")
    dest = Path(output)
    resolved = dest.resolve()
    if resolved == Path(resolved.anchor):
        raise GraftError(f"the {what} {output} is the root folder; choose a new folder for the model.")
    for path, name in protected.items():
        if resolved == path:
            raise GraftError(f"the {what} {output} is {name}; choose a new folder for the model.")
    for path, name in protected.items():
        if path.is_relative_to(resolved):
            raise GraftError(f"the {what} {output} holds {name} ({path.name}); choose a new folder for the model.")
    if dest.exists() or dest.is_symlink():
        if not overwrite:
            raise GraftError(f"{output} already exists; pass --overwrite to replace it, or choose another {what}.")
        if not is_graft_output(dest):
            raise GraftError(
                f"{output} exists and was not written by Graft (no graft provenance in its safetensors); "
                "--overwrite replaces only Graft's own outputs: move it away or choose another path."
            )


def check_destination(dest: Path, overwrite: bool, graft_only: bool = True) -> None:
    """Refuse to replace an existing path unless the person said so, and then only Graft's own output."""
    dest = Path(dest)
    if dest.exists() or dest.is_symlink():
        if not overwrite:
            raise GraftError(f"{dest} already exists; pass --overwrite to replace it, or choose another path.")
        if graft_only and not is_graft_output(dest):
            raise GraftError(
                f"{dest} was not written by Graft (no graft provenance in its safetensors); "
                "Graft replaces only its own outputs: move it away or choose another path."
            )
        if not graft_only and dest.is_dir():
            raise GraftError(f"{dest} is a folder; choose a file path.")
    parent = dest.parent if dest.parent != Path("") else Path(".")
    if not parent.exists():
        raise GraftError(f"the folder {parent} does not exist.")
    if not os.access(parent, os.W_OK):
        raise GraftError(f"cannot write into {parent}: permission denied.")


def check_free_space(folder: Path, needed: int) -> None:
    """Refuse before writing when the disk cannot hold the output (with a 5% margin)."""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # a folder the write will create: ask the disk it will be on
    free = shutil.disk_usage(folder).free
    if needed * 1.05 > free:
        raise GraftError(
            f"not enough free disk in {folder}: the output needs {needed / 1e9:.2f} GB, {free / 1e9:.2f} GB is free."
        )


def pid_alive(pid: int) -> bool:
    """Whether a process of this machine with that id still runs (to tell stale temporaries from live ones)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temporaries(dest: Path) -> list[str]:
    """Remove `.NAME.tmp-PID-*` / `.NAME.old-PID` beside `dest` left by a Graft process that no longer runs."""
    dest = Path(dest)
    parent = dest.parent if str(dest.parent) else Path(".")
    removed: list[str] = []
    if not parent.is_dir():
        return removed
    for kind in ("tmp", "old"):
        for entry in parent.glob(f".{dest.name}.{kind}-*"):
            pid_text = entry.name[len(f".{dest.name}.{kind}-") :].split("-", 1)[0]
            if not pid_text.isdigit() or pid_alive(int(pid_text)):
                continue
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
            removed.append(entry.name)
    return removed


@contextmanager
def atomic_folder(dest: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside `dest`; rename it into place only if the block succeeds."""
    dest = Path(dest)
    check_destination(dest, overwrite)
    parent = dest.parent if str(dest.parent) else Path(".")
    clean_stale_temporaries(dest)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-{os.getpid()}-", dir=parent))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())
        yield tmp
        fsync_dir(tmp)
        if dest.exists():
            old = parent / f".{dest.name}.old-{os.getpid()}"
            os.rename(dest, old)
            os.rename(tmp, dest)
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
        else:
            os.rename(tmp, dest)
        fsync_dir(parent)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.errno == 28:
            raise GraftError(f"the disk is full while writing {dest}; nothing was written.") from exc
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def copy_side_files(src: Path, dst: Path, names: Iterable[str]) -> list[str]:
    """Copy config/tokenizer files that exist in `src` into `dst`; return what was copied."""
    copied = []
    for name in names:
        if (src / name).is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / name, dst / name)
            copied.append(name)
    return copied


TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "tokenizer.model",
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
    "chat_template.jinja",
    "chat_template.json",
)
SIDE_FILES = (
    "config.json",
    "generation_config.json",
    *TOKENIZER_FILES,
    "adapter_config.json",
    "LICENSE",
    "LICENSE.txt",
    "LICENSE.md",
    "NOTICE",
    "NOTICE.txt",
    "NOTICE.md",
    "USE_POLICY.md",
)


def code_files(folder: Path) -> list[str]:
    """The custom code files a model folder needs to load: those named by `auto_map` in config.json and
    tokenizer_config.json, and the files they import relatively (found the way transformers finds them)."""
    names: list[str] = []
    for config_name in ("config.json", "tokenizer_config.json"):
        try:
            auto_map = json.loads((folder / config_name).read_text(encoding="utf-8")).get("auto_map") or {}
        except (OSError, ValueError, AttributeError):
            continue
        if not isinstance(auto_map, dict):
            continue
        for value in auto_map.values():
            for ref in value if isinstance(value, list) else [value]:
                if isinstance(ref, str) and "." in ref:
                    module = ref.split("--")[-1].rsplit(".", 1)[0]  # "repo--modeling_x.Class" → modeling_x
                    names.append(module.replace(".", "/") + ".py")
    found: list[str] = []
    for name in dict.fromkeys(names):
        path = folder / name
        if not path.is_file() or not path.resolve().is_relative_to(folder.resolve()):
            continue
        from transformers.dynamic_module_utils import get_relative_import_files

        try:
            imported = get_relative_import_files(path)
        except OSError:  # it imports a file the folder lacks: carry what is there
            imported = []
        for file in [str(path), *imported]:
            rel = os.path.relpath(file, folder)
            if not rel.startswith("..") and rel not in found:
                found.append(rel)
    return found


def license_files(folder: Path) -> list[str]:
    """LICENSE*, NOTICE* and COPYING* files of a model folder (the terms the weights come under)."""
    if not folder.is_dir():
        return []
    prefixes = ("LICENSE", "LICENCE", "NOTICE", "COPYING", "USE_POLICY")
    return sorted(p.name for p in folder.iterdir() if p.is_file() and p.name.upper().startswith(prefixes))

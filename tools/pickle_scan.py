"""Say what `torch.load(weights_only=True)` will accept in a pickle checkpoint, without unpickling it.

Graft never calls a pickle "safe". A pickle is a program; what Graft can honestly say is
whether every pickle in the file names only the globals and opcodes that torch's weights-only
loader allows, and that loader is the only one `graft convert` uses. So this module reads the
opcodes (`pickletools.genops` executes nothing) of *every* pickle a loader would read:

- a zip archive (torch.save since 1.6): every `.pkl` record, not only the first `data.pkl`;
  duplicate record names and several `data.pkl` are refused, since Graft cannot tell which
  one torch would read;
- a legacy torch file: its five pickles in sequence (magic number, protocol, system info, the
  object, the storage keys), then raw storage bytes that no loader unpickles;
- a bare pickle: every pickle in sequence (torch refuses it as weights anyway).

Globals are resolved by a small symbolic run of the unpickler's stack and memo, so a global
built from memoized strings (`BINGET` + `STACK_GLOBAL`) is named for what it is; one whose
name cannot be known without running the pickle is refused. Anything the scan cannot read to
the end (a junk opcode, a truncated stream, a memo slot never written) is refused as well.

Why not a third-party scanner: picklescan (MIT) caught the obfuscated payloads in
tests/test_pickle_scan.py but is a deny-list (an unknown global is only "suspicious");
fickling 0.1.12 (LGPL) called the fifth-pickle payload "likely safe" and failed on the zip
archive; modelscan 0.8.8 pins rich<15, which conflicts with Graft's stack. An allow-list that
mirrors torch's own is narrower than all three and needs no dependency.
"""

from __future__ import annotations

import _compat_pickle
import io
import pickletools
import tarfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tools.errors import GraftError

# What torch's weights-only unpickler allows by default (torch/_weights_only_unpickler.py,
# `_get_allowed_globals`), kept to the part a checkpoint of tensors needs. A test checks this
# set stays a subset of torch's, so "weights_only allows it" is never claimed wrongly.
_STORAGES = (
    "Float Double Half BFloat16 Long Int Short Char Byte Bool ComplexFloat ComplexDouble "
    "QUInt8 QInt8 QInt32 QUInt4x2 QUInt2x4"
).split()
_DTYPES = (
    "float16 float32 float64 bfloat16 complex32 complex64 complex128 uint8 uint16 uint32 uint64 int8 int16 int32 int64 bool "
    "quint8 qint8 qint32 quint4x2 quint2x4 float8_e4m3fn float8_e5m2 float8_e4m3fnuz float8_e5m2fnuz"
).split()
_REBUILDS = (
    "_rebuild_tensor _rebuild_tensor_v2 _rebuild_tensor_v3 _rebuild_parameter _rebuild_parameter_with_state "
    "_rebuild_qtensor _rebuild_sparse_tensor _rebuild_meta_tensor_no_storage _rebuild_wrapper_subclass "
    "_rebuild_device_tensor_from_numpy _rebuild_nested_tensor"
).split()
WEIGHTS_ONLY_GLOBALS: frozenset[str] = frozenset(
    [
        "collections.OrderedDict",
        "collections.Counter",
        "torch.nn.parameter.Parameter",
        "torch.serialization._get_layout",
        "torch.Size",
        "torch.Tensor",
        "torch.device",
        "torch._tensor._rebuild_from_type_v2",
        "_codecs.encode",
        "builtins.bytearray",
        "builtins.set",
        "builtins.complex",
        "torch.per_tensor_affine",
        "torch.per_tensor_symmetric",
        "torch.per_channel_affine",
        "torch.per_channel_symmetric",
        "torch.per_channel_affine_float_qparams",
    ]
    + [f"torch.{s}Storage" for s in _STORAGES]
    + [f"torch.cuda.{s}Storage" for s in _STORAGES if not s.startswith("Q")]  # saved from a GPU
    + ["torch.storage.UntypedStorage", "torch.storage.TypedStorage"]
    + [f"torch.{d}" for d in _DTYPES]
    + [f"torch._utils.{f}" for f in _REBUILDS]
)

# The opcodes torch's weights-only unpickler reads; it stops at any other.
WEIGHTS_ONLY_OPCODES: frozenset[str] = frozenset(
    "GLOBAL NEWOBJ REDUCE BUILD APPEND APPENDS SETITEM SETITEMS MARK TUPLE TUPLE1 TUPLE2 TUPLE3 NONE "
    "NEWFALSE NEWTRUE EMPTY_TUPLE EMPTY_LIST EMPTY_DICT EMPTY_SET BININT BININT1 BININT2 BINFLOAT "
    "BINUNICODE SHORT_BINSTRING BINPERSID BINGET LONG_BINGET BINPUT LONG_BINPUT LONG1 PROTO STOP".split()
)

TORCH_MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER
TORCH_PROTOCOL = 1001  # torch.serialization.PROTOCOL_VERSION
_LEGACY_PICKLES = 5
_MAX_PICKLES = 64  # no real checkpoint has more; a file that does is refused, not scanned for ever

_STRING_OPS = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"}
_INT_OPS = {"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"}
_UNKNOWN = object()  # a stack item whose value the scan does not track


class _Damaged(Exception):
    """The opcode stream does not run as a pickle (the real unpickler would stop here too)."""


@dataclass
class _Pickle:
    """One pickle stream, read from its opcodes."""

    globals: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)  # imports whose name is only known at load time
    opcodes: set[str] = field(default_factory=set)
    persistent: int = 0
    value: Any = _UNKNOWN  # the pickle's result, when it is a plain int or str constant
    ops: int = 0
    error: str | None = None


@dataclass
class PickleReport:
    """What torch's weights-only loader would make of a pickle checkpoint, read from opcodes only."""

    path: Path
    container: str  # "zip" (torch.save since 1.6), "legacy" (torch.save before 1.6) or "pickle" (bare)
    size_bytes: int
    pickles: int = 0  # pickle streams read
    globals: list[str] = field(default_factory=list)
    disallowed: list[str] = field(default_factory=list)  # imports weights_only refuses (or cannot be named)
    problems: list[str] = field(default_factory=list)  # other reasons weights_only (or Graft) refuses it
    storages: int = 0

    @property
    def weights_only_accepts(self) -> bool:
        """True when every pickle names only what torch's weights-only loader allows."""
        return not self.disallowed and not self.problems

    def refusal(self) -> str | None:
        """Why Graft will not load this file, as a clause for one sentence; None if weights_only accepts it."""
        if self.disallowed:
            return (
                f"unpickling it would import {', '.join(self.disallowed)}, which torch's weights-only loader "
                "does not allow because it can run code"
            )
        if self.problems:
            return self.problems[0]
        return None


def _global_name(module: str, name: str, protocol: int) -> str:
    """The global the unpickler would import: protocol 0-2 names are mapped as Python 3 (and torch) map them."""
    if protocol < 3:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
    return f"{module}.{name}"


def _read_one(stream: IO[bytes]) -> _Pickle:
    """Read one pickle's opcodes, running its stack and memo symbolically (no object is built)."""
    result = _Pickle()
    stack: list[Any] = []
    metastack: list[list[Any]] = []
    memo: dict[int, Any] = {}
    protocol = 0

    def pop() -> Any:
        if not stack:
            raise _Damaged("it pops from an empty stack")
        return stack.pop()

    def pop_mark() -> list[Any]:
        nonlocal stack
        if not metastack:
            raise _Damaged("it closes a mark that was never set")
        items, stack = stack, metastack.pop()
        return items

    try:
        for op, arg, pos in pickletools.genops(stream):
            result.ops += 1
            name = op.name
            result.opcodes.add(name)
            if name in _STRING_OPS:
                stack.append(arg if isinstance(arg, str) else _UNKNOWN)
            elif name in _INT_OPS:
                stack.append(int(arg) if isinstance(arg, int) else _UNKNOWN)
            elif name == "PROTO":
                protocol = int(arg)
            elif name == "MEMOIZE":
                if not stack:
                    raise _Damaged(f"byte {pos}: it memoizes an empty stack")
                memo[len(memo)] = stack[-1]
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                if not stack:
                    raise _Damaged(f"byte {pos}: it memoizes an empty stack")
                memo[int(arg)] = stack[-1]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                if int(arg) not in memo:
                    raise _Damaged(f"byte {pos}: it reads memo slot {arg}, which was never written")
                stack.append(memo[int(arg)])
            elif name == "GLOBAL":
                module, _, attr = str(arg).partition(" ")
                result.globals.append(_global_name(module, attr, protocol))
                stack.append(_UNKNOWN)
            elif name == "INST":
                module, _, attr = str(arg).partition(" ")
                result.globals.append(_global_name(module, attr, protocol))
                pop_mark()
                stack.append(_UNKNOWN)
            elif name == "STACK_GLOBAL":
                attr, module = pop(), pop()
                if isinstance(module, str) and isinstance(attr, str):
                    result.globals.append(_global_name(module, attr, protocol))
                else:
                    result.unresolved.append(f"a global whose name is computed at load time (byte {pos})")
                stack.append(_UNKNOWN)
            elif name in ("EXT1", "EXT2", "EXT4"):
                result.unresolved.append(f"copyreg extension {arg} (byte {pos})")
                stack.append(_UNKNOWN)
            elif name in ("PERSID", "BINPERSID"):
                result.persistent += 1
                if name == "BINPERSID":
                    pop()
                stack.append(_UNKNOWN)
            elif name == "MARK":
                metastack.append(stack)
                stack = []
            elif name == "POP":
                if stack:
                    stack.pop()
                else:
                    pop_mark()
            elif name == "POP_MARK":
                pop_mark()
            elif name == "DUP":
                if not stack:
                    raise _Damaged(f"byte {pos}: it duplicates an empty stack")
                stack.append(stack[-1])
            elif name == "STOP":
                result.value = pop()
            else:  # every other opcode: its documented stack effect, values untracked
                before, after = op.stack_before, op.stack_after
                if pickletools.markobject in before:
                    pop_mark()
                    for _ in range(before.index(pickletools.markobject)):
                        pop()
                else:
                    for _ in before:
                        pop()
                stack.extend(_UNKNOWN for _ in after)
    except _Damaged as exc:
        result.error = str(exc)
    except (ValueError, EOFError, OverflowError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        result.error = str(exc) or type(exc).__name__
    return result


def _absorb(report: PickleReport, one: _Pickle, where: str) -> None:
    report.pickles += 1
    for name in one.globals:
        if name not in report.globals:
            report.globals.append(name)
        if name not in WEIGHTS_ONLY_GLOBALS and name not in report.disallowed:
            report.disallowed.append(name)
    report.disallowed.extend(u for u in one.unresolved if u not in report.disallowed)
    odd = sorted(one.opcodes - WEIGHTS_ONLY_OPCODES)
    if odd:
        report.problems.append(
            f"{where} uses the pickle opcode{'s' if len(odd) > 1 else ''} {', '.join(odd)}, "
            "which torch's weights-only loader does not read"
        )
    if one.error:
        report.problems.append(f"{where} cannot be read to its end ({one.error})")


def _scan_stream_file(path: Path, size: int) -> PickleReport:
    """A legacy torch file or a bare pickle: every pickle in sequence."""
    report = PickleReport(path, "pickle", size)
    values: list[Any] = []
    with open(path, "rb") as handle:
        while handle.tell() < size:
            if report.container == "legacy" and len(values) == _LEGACY_PICKLES:
                break  # raw storage bytes follow, which torch reads as data and never unpickles
            if len(values) == _MAX_PICKLES:
                report.problems.append(f"it holds more than {_MAX_PICKLES} pickles in sequence")
                break
            start = handle.tell()
            one = _read_one(handle)  # type: ignore[arg-type]
            if one.error and not one.globals and not one.unresolved:
                if not values and one.ops <= 1:
                    raise GraftError(f"{path} is neither safetensors nor a pickle checkpoint ({one.error}).")
                if report.container == "pickle" and values:
                    break  # trailing bytes after a bare pickle: no loader reads them as a pickle
            _absorb(report, one, f"pickle {len(values) + 1} (at byte {start})")
            if one.error:
                break
            values.append(one.value)
            if len(values) == 2 and values == [TORCH_MAGIC, TORCH_PROTOCOL]:
                report.container = "legacy"
            report.storages += one.persistent if len(values) == 4 else 0
    if report.container == "pickle":
        if values[:1] == [TORCH_MAGIC]:
            report.problems.append("it is a torch file of an unknown protocol version")
        else:
            report.problems.append("it is a bare pickle, not a torch checkpoint, so torch does not read it as weights")
    elif len(values) < _LEGACY_PICKLES and not report.problems:
        report.problems.append(f"it ends after {len(values)} of the {_LEGACY_PICKLES} pickles of a torch file")
    if zipfile.is_zipfile(path):
        report.problems.append("it also reads as a zip archive, and a file that reads two ways is not converted")
    elif _is_tar(path):
        report.problems.append("it is a tar archive (torch's pre-0.4 format), which Graft does not read")
    return report


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except (OSError, tarfile.TarError, ValueError):
        return False


def _scan_zip(path: Path, size: int) -> PickleReport:
    """A torch zip archive: every .pkl record, and the records torch would pick between."""
    report = PickleReport(path, "zip", size)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        counts = Counter(i.filename for i in infos)
        twice = sorted(n for n, c in counts.items() if c > 1)
        if twice:
            report.problems.append(f"the archive holds more than one record named {twice[0]}")
        pickles = [i for i in infos if i.filename.endswith(".pkl")]
        roots = [i for i in pickles if i.filename.rsplit("/", 1)[-1] == "data.pkl"]
        if not roots:
            raise GraftError(f"{path} is a zip archive but not a torch checkpoint (no data.pkl).")
        if len({i.filename for i in roots}) > 1:
            report.problems.append(f"the archive holds {len(roots)} data.pkl records")
        if any(i.filename.rsplit("/", 1)[-1] == "constants.pkl" for i in pickles):
            report.problems.append("it is a TorchScript archive, which holds code")
        for info in pickles:
            with archive.open(info) as raw:
                stream = io.BufferedReader(raw)  # type: ignore[arg-type]
                count = 0
                while stream.peek(1):
                    if count == _MAX_PICKLES:
                        report.problems.append(f"{info.filename} holds more than {_MAX_PICKLES} pickles")
                        break
                    one = _read_one(stream)  # type: ignore[arg-type]
                    _absorb(report, one, info.filename if count == 0 else f"pickle {count + 1} of {info.filename}")
                    count += 1
                    if one.error:
                        break
                if count == 0:
                    report.problems.append(f"{info.filename} is empty")
        report.storages = sum(1 for i in infos if "/data/" in i.filename and not i.filename.endswith((".pkl", "/")))
    return report


def scan_pickle(path: str | Path) -> PickleReport:
    """Read every pickle in a checkpoint file; raise GraftError if it is not a pickle checkpoint at all."""
    path = Path(path)
    try:
        if not path.is_file():
            raise GraftError(f"{path} is not a regular file.")
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(4)
        if head == b"PK\x03\x04":  # what torch itself tests to choose the zip reader
            return _scan_zip(path, size)
        return _scan_stream_file(path, size)
    except OSError as exc:
        raise GraftError(f"cannot read {path}: {exc.strerror or exc}.") from exc
    except zipfile.BadZipFile as exc:
        raise GraftError(f"{path} is a damaged zip archive: {exc}.") from exc
    except (zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise GraftError(f"{path} is a zip archive Graft cannot read: {exc}.") from exc

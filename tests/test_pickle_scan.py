"""No false "safe": obfuscated pickle payloads are named, refused, and never run.

Each payload, if unpickled, runs `touch MARKER` through `os.system`. Every test first proves
its payload is live (a loader really runs it, into a separate proof file), so a scanner that
merely chokes on odd bytes could not pass; then `graft inspect` and `graft convert` must give
no "safe" verdict, convert must refuse in one sentence with exit 2, and the marker must not exist.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import re
import shlex
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.test_cli import assert_refused, graft
from tools.convert import ConvertArgs, _loader_reason, convert_checkpoint
from tools.errors import GraftError
from tools.inspect import InspectArgs, inspect_checkpoint
from tools.pickle_scan import WEIGHTS_ONLY_GLOBALS, scan_pickle

SAFE_WORD = re.compile(r"\bsafe(ly)?\b", re.IGNORECASE)


def _u(text: str) -> bytes:
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data  # SHORT_BINUNICODE


def call_system(marker: Path) -> bytes:
    """Opcodes that leave os.system('touch MARKER')'s result on the stack.

    'os' and 'system' are memoized and popped; decoy strings naming an allowed global are pushed
    and popped just before STACK_GLOBAL fetches the real names back from the memo (BINGET), so a
    scanner that takes "the last two strings" reads collections.OrderedDict.
    """
    cmd = "touch " + shlex.quote(str(marker))
    return (
        _u("os") + b"\x94" + b"0" + _u("system") + b"\x94" + b"0"  # push, MEMOIZE, POP
        + _u("collections") + _u("OrderedDict") + b"00"  # decoys
        + b"h\x00h\x01\x93"  # BINGET 0, BINGET 1, STACK_GLOBAL
        + _u(cmd) + b"\x85R"  # TUPLE1, REDUCE
    )  # fmt: skip


def memo_global(marker: Path) -> bytes:
    """A pickle of {'w': os.system(...)}."""
    return b"\x80\x04}" + _u("w") + call_system(marker) + b"s."


def _legacy_bytes() -> tuple[bytes, list[tuple[int, int]]]:
    buf = io.BytesIO()
    torch.save({"w": torch.ones(3)}, buf, _use_new_zipfile_serialization=False)
    data = buf.getvalue()
    stream, bounds = io.BytesIO(data), []
    for _ in range(5):
        start = stream.tell()
        for _op in pickletools.genops(stream):
            pass
        bounds.append((start, stream.tell()))
    return data, bounds


def build_memo(tmp: Path, marker: Path) -> Path:
    (tmp / "memo.bin").write_bytes(memo_global(marker))
    return tmp / "memo.bin"


def build_junk_first(tmp: Path, marker: Path) -> Path:
    # NONE, POP, MARK, POP_MARK: opcodes the unpickler accepts, before the protocol opcode.
    (tmp / "junk.bin").write_bytes(b"N0(1" + memo_global(marker))
    return tmp / "junk.bin"


def build_legacy_fifth(tmp: Path, marker: Path) -> Path:
    """A real legacy torch file whose fifth pickle (the storage keys) calls os.system first."""
    data, bounds = _legacy_bytes()
    start, end = bounds[4]
    fifth = data[start:end]
    evil = fifth[:2] + b"\x80\x04" + call_system(marker) + b"0" + fifth[2:]  # result popped, keys kept
    (tmp / "legacy.pt").write_bytes(data[:start] + evil + data[end:])
    return tmp / "legacy.pt"


def build_zip_second_pkl(tmp: Path, marker: Path) -> Path:
    path = tmp / "second.pt"
    torch.save({"w": torch.ones(3)}, path)
    with zipfile.ZipFile(path) as archive:
        prefix = archive.namelist()[0].split("/")[0]
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(f"{prefix}/extra.pkl", memo_global(marker))
    return path


def build_zip_twice_data_pkl(tmp: Path, marker: Path) -> Path:
    path = tmp / "twice.pt"
    torch.save({"w": torch.ones(3)}, path)
    with zipfile.ZipFile(path) as archive:
        prefix = archive.namelist()[0].split("/")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(f"{prefix}/data.pkl", memo_global(marker))
    return path


def build_polyglot(tmp: Path, marker: Path) -> Path:
    """A pickle with a benign torch zip appended: zipfile reads the zip, torch and pickle read the pickle."""
    buf = io.BytesIO()
    torch.save({"w": torch.ones(3)}, buf)
    (tmp / "polyglot.pt").write_bytes(memo_global(marker) + buf.getvalue())
    return tmp / "polyglot.pt"


def _run_pickle(path: Path) -> None:
    pickle.loads(path.read_bytes())


def _run_torch(path: Path) -> None:
    torch.load(path, weights_only=False)


def _run_member(name: str) -> Callable[[Path], None]:
    def run(path: Path) -> None:
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if i.filename.endswith(name)]
            pickle.loads(archive.open(infos[-1]).read())

    return run


PAYLOADS = {
    "memo-built os.system": (build_memo, _run_pickle),
    "junk opcodes first": (build_junk_first, _run_pickle),
    "fifth pickle of a legacy torch file": (build_legacy_fifth, _run_torch),
    "second .pkl in a zip archive": (build_zip_second_pkl, _run_member("extra.pkl")),
    "second data.pkl record": (build_zip_twice_data_pkl, _run_member("data.pkl")),
    "pickle with a zip appended": (build_polyglot, _run_torch),
}


@pytest.mark.parametrize("label", list(PAYLOADS))
def test_obfuscated_payload_is_named_refused_and_never_runs(tmp_path, label):
    build, run = PAYLOADS[label]
    proof = tmp_path / "proof" / "ran"
    proof.parent.mkdir()
    live = build(proof.parent, proof)
    try:
        run(live)
    except Exception:
        pass  # torch may stop after the payload ran (a bare pickle has no magic number)
    assert proof.exists(), f"{label}: the payload is not live, so this test could not fail"

    marker = tmp_path / "marker"
    path = build(tmp_path, marker)
    report = scan_pickle(path)
    assert not report.weights_only_accepts
    assert "os.system" in report.disallowed, (label, report)

    text = inspect_checkpoint(InspectArgs(path=str(path)))
    assert any("os.system" in n and "`graft convert` will refuse it" in n for n in text.notes), text.notes
    assert not any(SAFE_WORD.search(n) for n in text.notes), text.notes

    cli = graft("inspect", str(path))
    assert cli.returncode == 0, cli.stderr
    assert "os.system" in cli.stdout and not SAFE_WORD.search(cli.stdout + cli.stderr), cli.stdout

    dest = tmp_path / "out.safetensors"
    refused = graft("convert", str(path), str(dest))
    assert_refused(refused, "refusing to convert")
    assert "os.system" in refused.stderr and "weights_only=False" not in refused.stderr
    with pytest.raises(GraftError, match="refusing to convert"):
        convert_checkpoint(ConvertArgs(source=str(path), destination=str(dest)))
    assert not marker.exists(), f"{label}: the payload ran"
    assert not dest.exists()


def test_unknown_opcode_first_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "junk.bin"
    path.write_bytes(b"\xff" + memo_global(tmp_path / "marker"))
    assert_refused(graft("inspect", str(path)), "neither safetensors nor a pickle")
    assert_refused(graft("convert", str(path), str(tmp_path / "o.safetensors")), "neither safetensors nor a pickle")
    assert not (tmp_path / "marker").exists()


def test_torchs_advice_to_drop_weights_only_is_never_passed_on(tmp_path):
    path = tmp_path / "legacy.pt"
    path.write_bytes(build_legacy_fifth(tmp_path, tmp_path / "marker").read_bytes())
    with pytest.raises(pickle.UnpicklingError) as caught:
        torch.load(path, weights_only=True)
    assert "weights_only` set to `False`" in str(caught.value)  # torch's hint, which Graft drops
    reason = _loader_reason(caught.value)
    assert "False" not in reason and "weights_only" not in reason
    assert not (tmp_path / "marker").exists()


def test_archive_torch_rejects_is_refused_in_one_sentence(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"w": torch.ones(3)}, path)
    broken = tmp_path / "broken.pt"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            if "/data/" not in info.filename:  # drop the storage record the pickle points to
                dst.writestr(info, src.read(info))
    assert scan_pickle(broken).weights_only_accepts  # the pickle itself names only tensors
    proc = graft("convert", str(broken), str(tmp_path / "o.safetensors"))
    assert_refused(proc, "torch's weights-only loader rejected it")
    assert "weights_only=False" not in proc.stderr


@pytest.mark.parametrize("zipped", [True, False])
def test_plain_checkpoints_are_described_without_a_safe_verdict_and_convert_exactly(tmp_path, zipped):
    tensors = {"a": torch.randn(3, 2), "b": torch.arange(4), "c": torch.randn(5, dtype=torch.bfloat16)}
    path = tmp_path / "w.pt"
    payload = {"state_dict": tensors, "epoch": 3, "tags": {"x"}, "raw": b"\x00\x01"}
    torch.save(payload, path, _use_new_zipfile_serialization=zipped)
    report = scan_pickle(path)
    assert report.container == ("zip" if zipped else "legacy")
    assert report.weights_only_accepts, report
    notes = inspect_checkpoint(InspectArgs(path=str(path))).notes
    assert any("torch.load(weights_only=True) allows" in n for n in notes)
    assert not any(SAFE_WORD.search(n) for n in notes)
    convert_checkpoint(ConvertArgs(source=str(path), destination=str(tmp_path / "w.safetensors")))
    loaded = load_file(tmp_path / "w.safetensors")
    for name, tensor in tensors.items():
        assert torch.equal(loaded[name], tensor) and loaded[name].dtype == tensor.dtype


def test_allowed_globals_are_a_subset_of_torchs_weights_only_allowlist():
    from torch._weights_only_unpickler import _get_allowed_globals

    assert WEIGHTS_ONLY_GLOBALS <= set(_get_allowed_globals())

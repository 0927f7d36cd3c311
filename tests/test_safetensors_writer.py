"""The streaming writer: byte-compatible with safetensors, sharded, atomic, never overwriting."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open

from tools.errors import GraftError
from tools.safetensors_writer import TensorSpec, atomic_folder, parse_size, write_sharded


def test_streamed_shards_read_back_with_safetensors(tmp_path):
    tensors = {f"t{i}": torch.randn(32, 32).to(torch.bfloat16 if i % 2 else torch.float32) for i in range(6)}
    tensors["mask"] = torch.tensor([True, False, True])
    specs = [
        TensorSpec(
            n, {"torch.float32": "F32", "torch.bfloat16": "BF16", "torch.bool": "BOOL"}[str(t.dtype)], tuple(t.shape)
        )
        for n, t in tensors.items()
    ]
    with atomic_folder(tmp_path / "out") as tmp:
        paths = write_sharded(tmp, specs, lambda s: tensors[s.name], {"format": "pt"}, max_shard_size=5000)
    assert len(paths) > 1 and (tmp_path / "out" / "model.safetensors.index.json").is_file()
    seen = {}
    for p in sorted((tmp_path / "out").glob("*.safetensors")):
        with safe_open(p, framework="pt") as f:
            assert f.metadata() == {"format": "pt"}
            seen.update({k: f.get_tensor(k) for k in f.keys()})
    assert seen.keys() == tensors.keys()
    for name, tensor in tensors.items():
        assert torch.equal(seen[name], tensor)


def test_failed_write_leaves_nothing_behind(tmp_path):
    def broken(spec):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError), atomic_folder(tmp_path / "out") as tmp:
        write_sharded(tmp, [TensorSpec("a", "F32", (2,))], broken)
    assert list(tmp_path.iterdir()) == []


def test_wrong_tensor_is_refused(tmp_path):
    with pytest.raises(GraftError, match="expected"), atomic_folder(tmp_path / "out") as tmp:
        write_sharded(tmp, [TensorSpec("a", "F32", (2,))], lambda s: torch.zeros(3))
    assert not (tmp_path / "out").exists()


def test_existing_folder_needs_consent(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep").write_text("mine")
    with pytest.raises(GraftError, match="already exists"), atomic_folder(tmp_path / "out"):
        pass
    assert (tmp_path / "out" / "keep").read_text() == "mine"


def test_sizes():
    assert parse_size("5GB") == 5 * 10**9 and parse_size("2GiB") == 2 * 2**30 and parse_size("500MB") == 5 * 10**8
    with pytest.raises(GraftError):
        parse_size("lots")

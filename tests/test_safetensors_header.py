"""Header parsing: good files agree with safetensors itself; every broken file gets one sentence."""

from __future__ import annotations

import struct

import pytest
import torch
from safetensors.torch import save_file

from tests.conftest import write_raw_safetensors
from tools.errors import GraftError
from tools.safetensors_header import read_header


def test_header_matches_what_safetensors_wrote(tmp_path):
    tensors = {"a": torch.zeros(3, 4, dtype=torch.bfloat16), "b": torch.ones(5, dtype=torch.int64)}
    save_file(tensors, tmp_path / "x.safetensors", metadata={"format": "pt", "k": "v"})
    header = read_header(tmp_path / "x.safetensors")
    assert header.metadata == {"format": "pt", "k": "v"}
    assert header.tensors["a"].shape == (3, 4) and header.tensors["a"].dtype_name == "bfloat16"
    assert header.tensors["b"].numel == 5 and header.tensors["b"].dtype == "I64"


def test_shorter_than_length_prefix_is_truncated(tmp_path):
    (tmp_path / "t.safetensors").write_bytes(b"\x01\x02\x03")
    with pytest.raises(GraftError, match="truncated"):
        read_header(tmp_path / "t.safetensors")


def test_header_length_beyond_file_is_refused(tmp_path):
    path = write_raw_safetensors(tmp_path / "t.safetensors", b"{}", length=4096)
    with pytest.raises(GraftError, match=r"truncated or corrupt.*4,096"):
        read_header(path)


def test_absurd_header_length_is_refused_without_reading(tmp_path):
    path = tmp_path / "t.safetensors"
    path.write_bytes(struct.pack("<Q", 2**60) + b"{}")
    with pytest.raises(GraftError, match="allows at most"):
        read_header(path)


def test_header_that_is_not_json(tmp_path):
    path = write_raw_safetensors(tmp_path / "t.safetensors", b"{not json at all")
    with pytest.raises(GraftError, match="not JSON"):
        read_header(path)


def test_header_that_is_a_json_list(tmp_path):
    path = write_raw_safetensors(tmp_path / "t.safetensors", b"[1, 2]")
    with pytest.raises(GraftError, match="not a JSON object"):
        read_header(path)


def test_offsets_outside_the_data(tmp_path):
    header = {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}
    path = write_raw_safetensors(tmp_path / "t.safetensors", header, data=b"\0" * 8)
    with pytest.raises(GraftError, match="lies outside the file"):
        read_header(path)


def test_size_that_disagrees_with_shape(tmp_path):
    header = {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}}
    path = write_raw_safetensors(tmp_path / "t.safetensors", header, data=b"\0" * 16)
    with pytest.raises(GraftError, match="needs 16"):
        read_header(path)


def test_overlapping_tensors(tmp_path):
    header = {
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
    }
    path = write_raw_safetensors(tmp_path / "t.safetensors", header, data=b"\0" * 12)
    with pytest.raises(GraftError, match="overlap"):
        read_header(path)


def test_metadata_must_be_strings(tmp_path):
    path = write_raw_safetensors(tmp_path / "t.safetensors", {"__metadata__": {"n": 3}})
    with pytest.raises(GraftError, match="__metadata__"):
        read_header(path)


def test_truncated_real_file(tmp_path):
    save_file({"w": torch.randn(64, 64)}, tmp_path / "full.safetensors")
    raw = (tmp_path / "full.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(GraftError, match="truncated"):
        read_header(tmp_path / "cut.safetensors")

"""Path resolution: what counts as a checkpoint, and shard indexes as untrusted input."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from tools.checkpoint import load_headers, resolve_checkpoint
from tools.errors import GraftError


def _sharded(folder, weight_map):
    folder.mkdir()
    save_file({"a": torch.zeros(2)}, folder / "model-00001-of-00002.safetensors")
    save_file({"b": torch.zeros(3)}, folder / "model-00002-of-00002.safetensors")
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    return folder


def test_index_naming_a_file_outside_the_folder_is_refused(tmp_path):
    folder = _sharded(tmp_path / "m", {"a": "model-00001-of-00002.safetensors", "b": "../../etc/passwd"})
    with pytest.raises(GraftError, match="outside the checkpoint folder"):
        resolve_checkpoint(folder)


def test_index_naming_an_absolute_path_is_refused(tmp_path):
    folder = _sharded(tmp_path / "m", {"a": "/etc/passwd"})
    with pytest.raises(GraftError, match="outside the checkpoint folder"):
        resolve_checkpoint(folder)


def test_index_naming_a_missing_shard(tmp_path):
    folder = _sharded(tmp_path / "m", {"a": "model-00001-of-00002.safetensors", "b": "model-00009.safetensors"})
    with pytest.raises(GraftError, match="missing"):
        resolve_checkpoint(folder)


def test_index_that_lies_about_a_tensor(tmp_path):
    folder = _sharded(
        tmp_path / "m", {"a": "model-00002-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}
    )
    with pytest.raises(GraftError, match="not there"):
        load_headers(resolve_checkpoint(folder))


def test_good_index_resolves_every_shard(tmp_path):
    folder = _sharded(
        tmp_path / "m", {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}
    )
    ckpt = resolve_checkpoint(folder)
    assert [f.name for f in ckpt.files] == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    assert sum(len(h.tensors) for h in load_headers(ckpt)) == 2


def test_missing_path_and_non_checkpoints(tmp_path):
    with pytest.raises(GraftError, match="does not exist"):
        resolve_checkpoint(tmp_path / "nothing")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(GraftError, match="not a checkpoint"):
        resolve_checkpoint(tmp_path / "notes.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GraftError, match="not a checkpoint"):
        resolve_checkpoint(tmp_path / "empty")

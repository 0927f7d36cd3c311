"""convert: pickle → safetensors with weights_only, tied tensors, shards, and refusal of code."""

from __future__ import annotations

import pickle
import re

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from tools.convert import ConvertArgs, convert_checkpoint
from tools.errors import GraftError
from tools.inspect import InspectArgs, inspect_checkpoint


class RunsCode:
    """Unpickling this writes a marker file: proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def test_state_dict_round_trips_exactly(tmp_path):
    tensors = {
        "w": torch.randn(4, 5),
        "b": torch.arange(3, dtype=torch.int64),
        "h": torch.randn(2, dtype=torch.bfloat16),
    }
    torch.save(tensors, tmp_path / "weights.pt")
    result = convert_checkpoint(
        ConvertArgs(source=str(tmp_path / "weights.pt"), destination=str(tmp_path / "w.safetensors"))
    )
    loaded = load_file(tmp_path / "w.safetensors")
    assert result.tensors == 3 and result.total_params == 4 * 5 + 3 + 2
    for name, tensor in tensors.items():
        assert torch.equal(loaded[name], tensor) and loaded[name].dtype == tensor.dtype
    with safe_open(tmp_path / "w.safetensors", framework="pt") as f:
        assert f.metadata() == {"format": "pt", "graft.converted_from": "weights.pt"}


def test_tied_tensors_are_written_as_copies(tmp_path):
    shared = torch.randn(6, 4)
    torch.save({"embed.weight": shared, "lm_head.weight": shared}, tmp_path / "tied.bin")
    result = convert_checkpoint(
        ConvertArgs(source=str(tmp_path / "tied.bin"), destination=str(tmp_path / "t.safetensors"))
    )
    assert result.shared_tensors == ["lm_head.weight"]
    loaded = load_file(tmp_path / "t.safetensors")
    assert torch.equal(loaded["embed.weight"], loaded["lm_head.weight"])


def test_hf_folder_with_pickle_index_becomes_sharded_safetensors(tiny, tmp_path):
    model = AutoModelForCausalLM.from_pretrained(tiny("gpt2"))
    state = model.state_dict()
    names = ["lm_head.weight"] + [n for n in state if n != "lm_head.weight"]  # tied pair in one shard
    half = len(names) // 2
    src = tmp_path / "src"
    src.mkdir()
    torch.save({n: state[n] for n in names[:half]}, src / "pytorch_model-00001-of-00002.bin")
    torch.save({n: state[n] for n in names[half:]}, src / "pytorch_model-00002-of-00002.bin")
    weight_map = {n: f"pytorch_model-0000{1 if i < half else 2}-of-00002.bin" for i, n in enumerate(names)}
    (src / "pytorch_model.bin.index.json").write_text(__import__("json").dumps({"weight_map": weight_map}))
    for side in ("config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        (src / side).write_bytes((tiny("gpt2") / side).read_bytes())

    result = convert_checkpoint(ConvertArgs(source=str(src), destination=str(tmp_path / "out"), max_shard_size="200KB"))
    assert len(result.files) > 1 and (tmp_path / "out" / "model.safetensors.index.json").is_file()
    assert "config.json" in result.copied and "tokenizer.json" in result.copied
    assert result.dropped_tied == ["lm_head.weight"]  # tied to wte, as save_pretrained stores it
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "out")
    for name, tensor in reloaded.state_dict().items():
        assert torch.equal(tensor, state[name]), name
    assert inspect_checkpoint(InspectArgs(path=str(tmp_path / "out"))).total_params == model.num_parameters()


@pytest.mark.parametrize("container", ["legacy", "zip"])
def test_pickle_that_runs_code_is_refused_and_the_code_never_runs(tmp_path, container):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.bin"
    payload = {"w": torch.zeros(2), "x": RunsCode(str(marker))}
    if container == "zip":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    report = inspect_checkpoint(InspectArgs(path=str(path)))
    assert any("can run code" in n and "will refuse" in n for n in report.notes)
    assert not any(re.search(r"\bsafe(ly)?\b", n, re.I) for n in report.notes)
    with pytest.raises(GraftError, match="refusing to convert"):
        convert_checkpoint(ConvertArgs(source=str(path), destination=str(tmp_path / "out.safetensors")))
    assert not marker.exists()
    assert not (tmp_path / "out.safetensors").exists()


def test_existing_destination_is_not_overwritten_without_consent(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "a.pt")
    torch.save({"w": torch.zeros(2)}, tmp_path / "b.pt")
    precious = tmp_path / "precious.safetensors"
    precious.write_bytes(b"precious")
    with pytest.raises(GraftError, match="already exists"):
        convert_checkpoint(ConvertArgs(source=str(tmp_path / "a.pt"), destination=str(precious)))
    assert precious.read_bytes() == b"precious"
    dest = tmp_path / "out.safetensors"
    convert_checkpoint(ConvertArgs(source=str(tmp_path / "b.pt"), destination=str(dest)))
    with pytest.raises(GraftError, match="already exists"):
        convert_checkpoint(ConvertArgs(source=str(tmp_path / "a.pt"), destination=str(dest)))
    assert torch.equal(load_file(dest)["w"], torch.zeros(2))
    convert_checkpoint(ConvertArgs(source=str(tmp_path / "a.pt"), destination=str(dest), overwrite=True))
    assert torch.equal(load_file(dest)["w"], torch.ones(2))


def test_safetensors_input_is_not_converted(tiny, tmp_path):
    with pytest.raises(GraftError, match="already safetensors"):
        convert_checkpoint(ConvertArgs(source=str(tiny("llama")), destination=str(tmp_path / "x")))

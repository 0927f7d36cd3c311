"""`graft export MODEL --as gguf`: llama.cpp's own converter, checked by reading the file back with `gguf`.

The tiny Llama here has a SentencePiece tokenizer: llama.cpp's converter refuses a BPE vocabulary whose
pre-tokenizer hash it has not registered (a freshly trained one), and that refusal is tested too.
Every tensor of the file is compared with the Hugging Face model's tensor of the same name (the
converter's own name map in `gguf`), not just counted.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.graft_cli import graft

pytestmark = pytest.mark.slow


def refused(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("graft: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def no_temporaries(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture(scope="module")
def spm_llama(tiny) -> Path:
    return tiny("llama", tokenizer_kind="sentencepiece")


@pytest.fixture(scope="module")
def exported(spm_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("gguf")
    files = {}
    for outtype in ("f16", "q8_0"):
        dest = out / f"tiny-{outtype}.gguf"
        proc = graft("export", str(spm_llama), "--as", "gguf", "--outtype", outtype, "-o", str(dest), home=out)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == "", proc.stderr  # the converter's log stays out of stderr without -v
        assert f"wrote {dest}" in proc.stdout and "architecture llama" in proc.stdout
        files[outtype] = dest
    no_temporaries(out)
    return files


def hf_tensors(folder: Path) -> tuple[dict[str, torch.Tensor], object]:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    state = dict(model.state_dict())
    if model.config.tie_word_embeddings:  # one tensor in the checkpoint, and in the GGUF (llama.cpp reuses it)
        state.pop("lm_head.weight", None)
    return state, model.config


def llama_cpp_rope_permute(w: torch.Tensor, n_head: int) -> torch.Tensor:
    """llama.cpp's rotary layout for Llama's q/k projections (what its converter applies, in one line)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def expected_by_gguf_name(folder: Path) -> dict[str, torch.Tensor]:
    """Each HF tensor under the name the converter gives it, through the `gguf` package's own name map."""
    import gguf

    state, config = hf_tensors(folder)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    out = {}
    for key, value in state.items():
        name = names.get_name(key, try_suffixes=(".weight", ".bias"))
        assert name is not None, key
        if key.endswith("q_proj.weight"):
            value = llama_cpp_rope_permute(value, config.num_attention_heads)
        elif key.endswith("k_proj.weight"):
            value = llama_cpp_rope_permute(value, config.num_key_value_heads)
        out[name] = value
    return out


def test_f16_reads_back_with_every_tensor_equal(exported: dict[str, Path], spm_llama: Path) -> None:
    import gguf

    reader = gguf.GGUFReader(exported["f16"])
    expected = expected_by_gguf_name(spm_llama)
    state, config = hf_tensors(spm_llama)
    assert len(reader.tensors) == len(state) == len(expected)
    assert reader.fields["general.architecture"].contents() == "llama"
    assert reader.fields["llama.block_count"].contents() == config.num_hidden_layers
    assert reader.fields["llama.embedding_length"].contents() == config.hidden_size
    for tensor in reader.tensors:
        want = expected[tensor.name]
        got = np.asarray(tensor.data).reshape(want.shape)
        if tensor.tensor_type == gguf.GGMLQuantizationType.F16:  # f16: torch's rounding, bit for bit
            assert np.array_equal(got, want.to(torch.float16).numpy()), tensor.name
        else:  # the converter keeps 1-D tensors (norms) in f32
            assert tensor.tensor_type == gguf.GGMLQuantizationType.F32 and want.dim() == 1, tensor.name
            assert np.array_equal(got, want.numpy()), tensor.name
    embd = next(t for t in reader.tensors if t.name == "token_embd.weight")
    assert embd.tensor_type == gguf.GGMLQuantizationType.F16
    assert np.array_equal(np.asarray(embd.data), state["model.embed_tokens.weight"].half().numpy())


def test_tokenizer_metadata_is_the_models(exported: dict[str, Path], spm_llama: Path) -> None:
    import gguf
    import sentencepiece as spm

    reader = gguf.GGUFReader(exported["f16"])
    config = json.loads((spm_llama / "config.json").read_text())
    sp = spm.SentencePieceProcessor(model_file=str(spm_llama / "tokenizer.model"))
    assert reader.fields["tokenizer.ggml.model"].contents() == "llama"
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    assert len(tokens) == config["vocab_size"]
    assert tokens[: sp.vocab_size()] == [sp.IdToPiece(i) for i in range(sp.vocab_size())]
    assert reader.fields["tokenizer.ggml.bos_token_id"].contents() == config["bos_token_id"]
    assert reader.fields["tokenizer.ggml.eos_token_id"].contents() == config["eos_token_id"]
    assert reader.fields["tokenizer.ggml.padding_token_id"].contents() == config["pad_token_id"]
    template = (spm_llama / "chat_template.jinja").read_text()
    assert reader.fields["tokenizer.chat_template"].contents() == template


def test_q8_0_is_ggufs_own_quantisation_of_the_hf_tensors(exported: dict[str, Path], spm_llama: Path) -> None:
    import gguf

    reader = gguf.GGUFReader(exported["q8_0"])
    expected = expected_by_gguf_name(spm_llama)
    assert len(reader.tensors) == len(expected)
    assert reader.fields["general.architecture"].contents() == "llama"
    quantised = 0
    for tensor in reader.tensors:
        want = expected[tensor.name].numpy()
        if tensor.tensor_type == gguf.GGMLQuantizationType.Q8_0:
            quantised += 1
            raw = np.asarray(tensor.data)
            assert np.array_equal(raw, gguf.quants.quantize(want, gguf.GGMLQuantizationType.Q8_0)), tensor.name
            back = gguf.quants.dequantize(raw, gguf.GGMLQuantizationType.Q8_0).reshape(want.shape)
            # one scale d = max|block|/127 per 32 values, stored in f16: |error| <= d/2 + 127·d·2^-11 < 0.57·d
            step = np.abs(want).reshape(-1, 32).max(axis=1, keepdims=True) / 127
            assert (np.abs(back - want).reshape(-1, 32) <= 0.57 * step + 1e-9).all(), tensor.name
        else:
            assert tensor.tensor_type == gguf.GGMLQuantizationType.F32 and want.ndim == 1, tensor.name
            assert np.array_equal(np.asarray(tensor.data).reshape(want.shape), want), tensor.name
    assert quantised == sum(1 for v in expected.values() if v.dim() == 2)


def test_unsupported_architecture_is_refused_with_the_supported_ones(spm_llama: Path, tmp_path: Path) -> None:
    from tools.gguf_export import supported_architectures

    toy = tmp_path / "toy"
    shutil.copytree(spm_llama, toy)
    config = json.loads((toy / "config.json").read_text())
    config["architectures"] = ["GraftToyForCausalLM"]
    (toy / "config.json").write_text(json.dumps(config))
    proc = graft("export", str(toy), "--as", "gguf", "-o", str(tmp_path / "toy.gguf"), home=tmp_path)
    line = refused(proc, "does not support the architecture GraftToyForCausalLM", "LlamaForCausalLM")
    known = supported_architectures()
    assert "LlamaForCausalLM" in known and "GraftToyForCausalLM" not in known
    assert f"{len(known)} text architectures" in line
    assert not (tmp_path / "toy.gguf").exists()
    no_temporaries(tmp_path)


def test_unregistered_bpe_tokenizer_is_refused_with_the_reason(tiny, tmp_path: Path) -> None:
    proc = graft("export", str(tiny("llama")), "--as", "gguf", "-o", str(tmp_path / "bpe.gguf"), home=tmp_path)
    refused(proc, "does not recognise the BPE tokenizer", "pre-tokenizer hash")
    assert not (tmp_path / "bpe.gguf").exists()
    no_temporaries(tmp_path)


def test_existing_output_is_kept_without_overwrite(spm_llama: Path, tmp_path: Path) -> None:
    import gguf

    dest = tmp_path / "model.gguf"
    dest.write_bytes(b"keep me")
    proc = graft("export", str(spm_llama), "--as", "gguf", "-o", str(dest), home=tmp_path)
    refused(proc, "already exists", "--overwrite")
    assert dest.read_bytes() == b"keep me"
    proc = graft("export", str(spm_llama), "--as", "gguf", "-o", str(dest), "--overwrite", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert gguf.GGUFReader(dest).fields["general.architecture"].contents() == "llama"
    no_temporaries(tmp_path)


def test_what_is_not_a_model_or_has_no_converter_is_refused(
    spm_llama: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(graft("export", str(empty), "--as", "gguf", home=tmp_path), "has no config.json")
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    refused(graft("export", str(adapter), "--as", "gguf", home=tmp_path), "LoRA adapter")
    refused(graft("export", str(tmp_path / "nowhere"), "--as", "gguf", home=tmp_path), "does not exist")
    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    shutil.copy(spm_llama / "config.json", no_weights)
    refused(graft("export", str(no_weights), "--as", "gguf", home=tmp_path), "no weights")

    monkeypatch.setenv("GRAFT_LLAMA_CPP", str(empty))  # graft() passes the environment on
    proc = graft("export", str(spm_llama), "--as", "gguf", "-o", str(tmp_path / "x.gguf"), home=tmp_path)
    refused(proc, "converter is not installed", "make install")


def test_tied_embeddings_give_one_tensor_not_two(spm_llama: Path, tmp_path: Path) -> None:
    """A tied lm_head is stored once in the checkpoint; the GGUF has token_embd and no output tensor
    (llama.cpp falls back to token_embd), so the count is the state dict's minus one."""
    import gguf
    from transformers import AutoModelForCausalLM

    tied = tmp_path / "tied"
    model = AutoModelForCausalLM.from_pretrained(spm_llama, tie_word_embeddings=True)
    model.tie_weights()
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    model.save_pretrained(tied)
    for side in spm_llama.iterdir():
        if side.name.startswith(("tokenizer", "chat_template")):
            shutil.copy(side, tied)
    proc = graft("export", str(tied), "--as", "gguf", "-o", str(tmp_path / "tied.gguf"), home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    reader = gguf.GGUFReader(tmp_path / "tied.gguf")
    names = {t.name for t in reader.tensors}
    assert len(reader.tensors) == len(model.state_dict()) - 1
    assert "token_embd.weight" in names and "output.weight" not in names


def test_sentencepiece_vocab_without_its_model_file_is_refused(spm_llama: Path, tmp_path: Path) -> None:
    """Without tokenizer.model the converter reads tokenizer.json and writes every score as -1000; llama.cpp
    merges SentencePiece pieces by score, so the file would tokenise differently: refused, not published."""
    folder = tmp_path / "no-spm"
    shutil.copytree(spm_llama, folder)
    (folder / "tokenizer.model").unlink()
    proc = graft("export", str(folder), "--as", "gguf", "-o", str(tmp_path / "x.gguf"), home=tmp_path)
    refused(proc, "no tokenizer.model", "same score")
    assert not (tmp_path / "x.gguf").exists()
    no_temporaries(tmp_path)

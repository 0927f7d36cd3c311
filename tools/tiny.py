"""Tiny random-weight checkpoints of real architectures, built offline.

Tests and the demo need real model classes (so PEFT, TRL and mergekit see real module names)
but no hub: the config and model classes come from transformers, the weights are random, and
a byte-level BPE tokenizer is trained on the spot on a small English and Russian corpus.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

Architecture = Literal["llama", "qwen2", "mistral", "gpt2", "phi3", "gpt_neox"]
ARCHITECTURES: tuple[Architecture, ...] = ("llama", "qwen2", "mistral", "gpt2", "phi3", "gpt_neox")

SPECIAL_TOKENS = ["<|endoftext|>", "<|pad|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['role'] == 'assistant' %}{% generation %}"
    "{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{% else %}{{ message['content'] + '<|im_end|>' }}{% endif %}{{ '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_SUBJECTS = ["the model", "a student", "the cat", "our team", "the river", "a teacher", "the city"]
_VERBS = ["answers", "reads", "writes", "learns", "sees", "builds", "explains"]
_OBJECTS = ["a short answer", "the question", "a long story", "the lesson", "a small poem", "the plan"]
_RU = [
    "модель отвечает коротко",
    "кошка спит на окне",
    "учитель объясняет урок",
    "река течёт быстро",
    "студент читает книгу",
    "мы строим новый план",
    "ответь по-русски",
]


class TinyModelArgs(BaseModel):
    """What tiny checkpoint to build."""

    architecture: Architecture = "llama"
    output: str = Field(description="Folder to create; it must not exist yet or be empty.")
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    intermediate_size: int = 128
    vocab_size: int = 512
    seed: int = 0
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    tokenizer: bool = True
    tokenizer_kind: Literal["byte_bpe", "sentencepiece"] = Field(
        default="byte_bpe",
        description="byte_bpe: GPT-2-style byte-level BPE. sentencepiece: a Llama-2-style SentencePiece model "
        "(tokenizer.model kept beside tokenizer.json), the kind llama.cpp's converter reads without a "
        "registry of known pre-tokenizers.",
    )


class TinyModelResult(BaseModel):
    """Where the checkpoint went and how big it is."""

    path: str
    architecture: str
    num_parameters: int
    vocab_size: int


def corpus(seed: int = 0, sentences: int = 400) -> list[str]:
    """Deterministic English and Russian sentences to train the tokenizer and fill datasets."""
    rng = random.Random(seed)
    lines = []
    for _ in range(sentences):
        if rng.random() < 0.3:
            lines.append(rng.choice(_RU).capitalize() + ".")
        else:
            lines.append(f"{rng.choice(_SUBJECTS).capitalize()} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}.")
    return lines


def build_tokenizer(vocab_size: int = 512, seed: int = 0) -> Any:
    """Train a byte-level BPE on the local corpus and wrap it for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    text = [*corpus(seed), "user", "assistant", "system"]
    raw.train_from_iterator(text, trainer=trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|pad|>",
        unk_token=None,
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def build_sentencepiece_tokenizer(folder: Path, vocab_size: int = 512, seed: int = 0) -> Any:
    """Train a Llama-2-style SentencePiece BPE (byte fallback) into folder/tokenizer.model and wrap it.

    Why: a freshly trained byte-level BPE has a vocabulary no tool knows, and llama.cpp's converter
    identifies BPE pre-tokenizers by a hash of known vocabularies, so it refuses it (rightly: it could
    not tokenise the same way). SentencePiece models carry their own rules and convert as they are.
    """
    import io

    import sentencepiece as spm
    from transformers import LlamaTokenizer

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([*corpus(seed), "user", "assistant", "system"]),
        model_writer=buf,
        vocab_size=vocab_size,
        model_type="bpe",
        byte_fallback=True,
        character_coverage=1.0,
        user_defined_symbols=SPECIAL_TOKENS[1:],
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        num_threads=1,
        minloglevel=2,
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer.model").write_bytes(buf.getvalue())
    tok = LlamaTokenizer.from_pretrained(folder, eos_token="<|im_end|>", pad_token="<|pad|>", legacy=False)
    tok.chat_template = CHAT_TEMPLATE
    return tok


def _config(args: TinyModelArgs, vocab: int, bos: int, eos: int, pad: int) -> Any:
    import transformers as tf

    ids = {"bos_token_id": bos, "eos_token_id": eos, "pad_token_id": pad, "vocab_size": vocab}
    common = dict(
        hidden_size=args.hidden_size,
        num_hidden_layers=args.num_layers,
        num_attention_heads=args.num_heads,
        intermediate_size=args.intermediate_size,
        max_position_embeddings=256,
        **ids,
    )
    if args.architecture == "gpt2":
        return tf.GPT2Config(
            n_embd=args.hidden_size,
            n_layer=args.num_layers,
            n_head=args.num_heads,
            n_inner=args.intermediate_size,
            n_positions=256,
            **ids,
        )
    if args.architecture == "gpt_neox":
        return tf.GPTNeoXConfig(**common, tie_word_embeddings=False)
    if args.architecture == "phi3":
        return tf.Phi3Config(**common, num_key_value_heads=args.num_kv_heads, tie_word_embeddings=False)
    cls = {"llama": tf.LlamaConfig, "qwen2": tf.Qwen2Config, "mistral": tf.MistralConfig}[args.architecture]
    return cls(**common, num_key_value_heads=args.num_kv_heads, tie_word_embeddings=False)


def build_tiny_model(args: TinyModelArgs) -> TinyModelResult:
    """Build, save and describe one tiny checkpoint (safetensors, config, tokenizer)."""
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    from tools.errors import GraftError

    hf_logging.disable_progress_bar()

    out = Path(args.output)
    if out.exists() and any(out.iterdir()):
        raise GraftError(f"{out} already exists and is not empty; choose a new folder.")
    spm_dir = None
    if args.tokenizer_kind == "sentencepiece":
        spm_dir = Path(tempfile.mkdtemp(prefix="graft-spm-"))
        tok = build_sentencepiece_tokenizer(spm_dir, args.vocab_size, args.seed)
    else:
        tok = build_tokenizer(args.vocab_size, args.seed)
    vocab = len(tok)
    config = _config(args, vocab, tok.bos_token_id, tok.eos_token_id, tok.pad_token_id)
    torch.manual_seed(args.seed)
    model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, args.dtype))
    model.generation_config.pad_token_id = tok.pad_token_id
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    if args.tokenizer:
        tok.save_pretrained(out)
        if spm_dir is not None:  # transformers 5 saves only tokenizer.json; real Llama-2 repos ship both
            shutil.copyfile(spm_dir / "tokenizer.model", out / "tokenizer.model")
    if spm_dir is not None:
        shutil.rmtree(spm_dir, ignore_errors=True)
    return TinyModelResult(
        path=str(out),
        architecture=args.architecture,
        num_parameters=model.num_parameters(),
        vocab_size=vocab,
    )

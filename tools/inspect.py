"""Answer "what does this checkpoint contain?" from headers and side files alone.

For safetensors only the JSON headers are read (never tensor data, never torch), so a
checkpoint of hundreds of GB is described in milliseconds. Pickle files are described from
their opcodes, without being unpickled.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.checkpoint import SINGLE_SAFETENSORS, CheckpointFiles, load_headers, resolve_checkpoint
from tools.naming import COMPONENTS, describe
from tools.pickle_scan import scan_pickle
from tools.safetensors_header import DTYPE_NAMES


class InspectArgs(BaseModel):
    """Arguments of `inspect_checkpoint`."""

    path: str = Field(description="A .safetensors file, a model or adapter folder, or a .bin/.pt file.")


class AdapterInfo(BaseModel):
    """The PEFT adapter's own description of itself (adapter_config.json)."""

    peft_type: str | None = None
    r: int | None = None
    alpha: float | None = None
    target_modules: list[str] = Field(default_factory=list)
    base_model: str | None = None
    use_dora: bool = False
    layers_to_transform: list[int] | None = None
    layers_touched: list[int] = Field(default_factory=list, description="Block indices its tensors touch.")
    base_found: bool | None = Field(None, description="Whether base_model names a folder on this machine.")


class TrainerCheckpoint(BaseModel):
    """A Trainer/TRL `checkpoint-N` save: where it stood, and which files are training state, not weights."""

    step: int | None = None
    max_steps: int | None = None
    epoch: float | None = None
    state_files: list[str] = Field(default_factory=list)


class ShardInfo(BaseModel):
    """One file of the checkpoint."""

    file: str
    tensors: int
    bytes: int


class InspectResult(BaseModel):
    """What a checkpoint holds; the same model is the `--json` output and the LLM tool result."""

    path: str
    kind: Literal["model", "adapter", "training_state"]
    format: Literal["safetensors", "pickle"]
    architecture: str | None = None
    model_type: str | None = None
    total_params: int | None = None
    num_layers: int | None = None
    hidden_size: int | None = None
    vocab_size: int | None = None
    num_tensors: int | None = None
    dtypes: dict[str, int] = Field(default_factory=dict)
    components: dict[str, int] = Field(default_factory=dict)
    layers: dict[int, dict[str, int]] = Field(default_factory=dict)
    modules: dict[str, list[str]] = Field(default_factory=dict)
    adapter: AdapterInfo | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    shards: list[ShardInfo] = Field(default_factory=list)
    has_tokenizer: bool = False
    has_chat_template: bool = False
    tied_embeddings: bool | None = Field(None, description="lm_head reuses the input embedding (stored once).")
    trainer_checkpoint: TrainerCheckpoint | None = None
    notes: list[str] = Field(default_factory=list)


def _adapter_info(cfg: dict[str, Any]) -> AdapterInfo:
    targets = cfg.get("target_modules") or []
    if isinstance(targets, str):  # PEFT allows a regex string
        targets = [targets]
    layers = cfg.get("layers_to_transform")
    if isinstance(layers, int):
        layers = [layers]
    return AdapterInfo(
        peft_type=cfg.get("peft_type"),
        r=cfg.get("r"),
        alpha=cfg.get("lora_alpha"),
        target_modules=sorted(targets),
        base_model=cfg.get("base_model_name_or_path"),
        use_dora=bool(cfg.get("use_dora", False)),
        layers_to_transform=layers,
    )


def _config_facts(config: dict[str, Any] | None) -> dict[str, Any]:
    if not config:
        return {}
    archs = config.get("architectures") or []
    text = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
    return {
        "architecture": archs[0] if archs else None,
        "model_type": config.get("model_type"),
        "num_layers": text.get("num_hidden_layers", text.get("n_layer")),
        "hidden_size": text.get("hidden_size", text.get("n_embd")),
        "vocab_size": text.get("vocab_size"),
    }


def _has_tokenizer(folder: Path | None) -> bool:
    if folder is None:
        return False
    return any((folder / n).is_file() for n in ("tokenizer.json", "tokenizer.model", "vocab.json"))


def _has_chat_template(folder: Path | None) -> bool:
    """transformers 5 saves the template as chat_template.jinja; older folders keep it in tokenizer_config.json."""
    if folder is None:
        return False
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    config = folder / "tokenizer_config.json"
    try:
        return (
            config.is_file()
            and config.stat().st_size < 50_000_000
            and "chat_template" in json.loads(config.read_text())
        )
    except (OSError, ValueError):
        return False


def inspect_checkpoint(args: InspectArgs) -> InspectResult:
    """Describe the checkpoint at `args.path`; raises GraftError for anything unreadable."""
    given = Path(args.path)
    if given.is_file() and training_state_kind(given.name):
        return _inspect_training_state(given, [given])
    ckpt = resolve_checkpoint(args.path)
    weights = [f for f in ckpt.files if not training_state_kind(f.name)]
    if not weights:  # only optimizer.pt, scheduler.pt, rng_state.pth…: a Trainer save without its weights
        return _inspect_training_state(ckpt.path, ckpt.files)
    ckpt.files = weights
    result = _inspect_pickle(ckpt) if ckpt.format == "pickle" else _inspect_safetensors(ckpt)
    if ckpt.folder is not None:
        _add_trainer_checkpoint(result, ckpt.folder)
    if ckpt.is_adapter and result.adapter is not None:
        _add_adapter_base(result, ckpt)
    return result


# Files a transformers Trainer (and TRL's trainers) save beside the weights in `checkpoint-N`.
_TRAINING_STATE = (
    (re.compile(r"^optimizer(\.pt|\.bin|\.pth)$"), "the optimizer's state (moments for every trained parameter)"),
    (re.compile(r"^scheduler(\.pt|\.bin|\.pth)$"), "the learning-rate scheduler's state"),
    (re.compile(r"^scaler(\.pt|\.bin|\.pth)$"), "the mixed-precision grad scaler's state"),
    (re.compile(r"^rng_state(_\d+)?\.pth$"), "the random number generators' state"),
    (re.compile(r"^training_args\.bin$"), "the pickled TrainingArguments"),
)


def training_state_kind(name: str) -> str | None:
    """What a Trainer training-state file holds, by its Trainer name; None for anything else."""
    for pattern, what in _TRAINING_STATE:
        if pattern.match(name):
            return what
    return None


def _inspect_training_state(path: Path, files: list[Path]) -> InspectResult:
    notes = [
        f"{f.name} is {training_state_kind(f.name)}, saved by a Trainer to resume training: not model weights, "
        "so there is nothing in it to convert, merge or train from."
        for f in files
    ]
    folder = path if path.is_dir() else path.parent
    beside = [n for n in (*SINGLE_SAFETENSORS, "pytorch_model.bin", "adapter_model.bin") if (folder / n).is_file()]
    if beside:
        notes.append(f"the weights of this save are {', '.join(beside)} in {folder}.")
    result = InspectResult(
        path=str(path),
        kind="training_state",
        format="pickle",
        shards=[ShardInfo(file=f.name, tensors=0, bytes=f.stat().st_size) for f in files],
        notes=notes,
    )
    _add_trainer_checkpoint(result, folder)
    return result


def _add_trainer_checkpoint(result: InspectResult, folder: Path) -> None:
    """Recognise a Trainer `checkpoint-N` folder (trainer_state.json, optimizer.pt…) and say what it is."""
    state_files = sorted(p.name for p in folder.iterdir() if p.is_file() and training_state_kind(p.name))
    trainer_state = folder / "trainer_state.json"
    if not trainer_state.is_file() and not (state_files and re.fullmatch(r"checkpoint-\d+", folder.name)):
        return
    info = TrainerCheckpoint(state_files=[*state_files, *(["trainer_state.json"] if trainer_state.is_file() else [])])
    if trainer_state.is_file():
        try:
            data = json.loads(trainer_state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if isinstance(data, dict):
            step, total, epoch = data.get("global_step"), data.get("max_steps"), data.get("epoch")
            info.step = step if isinstance(step, int) else None
            info.max_steps = total if isinstance(total, int) else None
            info.epoch = float(epoch) if isinstance(epoch, int | float) else None
    if info.step is None and re.fullmatch(r"checkpoint-\d+", folder.name):
        info.step = int(folder.name.split("-")[1])
    result.trainer_checkpoint = info
    where = f"step {info.step}" + (f" of {info.max_steps}" if info.max_steps else "")
    where += f", epoch {info.epoch:g}" if info.epoch is not None else ""
    if result.kind != "training_state":
        result.notes.append(
            f"a Trainer checkpoint ({where}): the {result.kind} weights are read here; "
            f"{', '.join(info.state_files)} are training state for resuming, not weights."
        )
    else:
        result.notes.append(f"a Trainer checkpoint ({where}).")


def _add_adapter_base(result: InspectResult, ckpt: CheckpointFiles) -> None:
    """Read the adapter's base from adapter_config.json when that path is on this machine."""
    adapter = result.adapter
    assert adapter is not None
    adapter.layers_touched = sorted(result.layers)
    name = adapter.base_model
    if not name:
        return
    candidates = [Path(name)]
    if ckpt.folder is not None and not Path(name).is_absolute():
        candidates.append(ckpt.folder / name)
    base = next((c for c in candidates if (c / "config.json").is_file()), None)
    adapter.base_found = base is not None
    if base is None:
        looks_local = Path(name).is_absolute() or name.startswith((".", "~")) or name.count("/") > 1
        if looks_local:
            result.notes.append(f"the adapter's base {name} is not on this machine.")
        return
    try:
        config = json.loads((base / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    facts = _config_facts(config if isinstance(config, dict) else None)
    for key, value in facts.items():
        if value is not None and (getattr(result, key) is None or key == "num_layers"):
            setattr(result, key, value)


def _inspect_safetensors(ckpt: CheckpointFiles) -> InspectResult:
    headers = load_headers(ckpt)
    dtypes: dict[str, int] = defaultdict(int)
    components: dict[str, int] = dict.fromkeys(COMPONENTS, 0)
    layers: dict[int, dict[str, int]] = {}
    modules: dict[str, set[str]] = defaultdict(set)
    total = 0
    count = 0
    for header in headers:
        for info in header.tensors.values():
            n = info.numel
            total += n
            count += 1
            dtypes[info.dtype] += n
            component, idx, module = describe(info.name)
            components[component] += n
            if idx is not None:
                per_layer = layers.setdefault(idx, dict.fromkeys(COMPONENTS, 0))
                per_layer[component] += n
                if info.name.endswith("weight") or ".lora_" in info.name:
                    modules[component].add(module)
    facts = _config_facts(ckpt.config)
    if facts.get("num_layers") is None and layers:
        facts["num_layers"] = max(layers) + 1
    metadata = dict(headers[0].metadata) if headers else {}
    notes = []
    if ckpt.index is not None and len(headers) > 1:
        for h in headers[1:]:
            if h.metadata != metadata:
                notes.append(f"shard {h.path.name} carries different __metadata__ from the first shard.")
                break
    tied = None
    if not ckpt.is_adapter and components.get("embedding") and not components.get("lm_head"):
        config = ckpt.config or {}
        text = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
        flag = text.get("tie_word_embeddings", config.get("tie_word_embeddings"))
        if flag is False:
            notes.append(
                "no lm_head weight is stored, yet config.json says tie_word_embeddings false: "
                "transformers would start the output layer from random weights."
            )
        else:
            tied = True
            notes.append(
                "lm_head is tied to the input embedding (tie_word_embeddings): it reuses those weights, "
                "stored once, so it counts no parameters of its own."
            )
    elif not ckpt.is_adapter and components.get("lm_head"):
        tied = False
    return InspectResult(
        path=str(ckpt.path),
        kind="adapter" if ckpt.is_adapter else "model",
        format="safetensors",
        tied_embeddings=tied,
        total_params=total,
        num_tensors=count,
        dtypes={DTYPE_NAMES.get(k, k.lower()): v for k, v in dtypes.items()},
        components=components,
        layers=dict(sorted(layers.items())),
        modules={k: sorted(v) for k, v in sorted(modules.items())},
        adapter=_adapter_info(ckpt.adapter_config) if ckpt.adapter_config else None,
        metadata=metadata,
        shards=[ShardInfo(file=h.path.name, tensors=len(h.tensors), bytes=h.file_size) for h in headers],
        has_tokenizer=_has_tokenizer(ckpt.folder),
        has_chat_template=_has_chat_template(ckpt.folder),
        notes=notes,
        **facts,
    )


def _inspect_pickle(ckpt: CheckpointFiles) -> InspectResult:
    reports = [scan_pickle(f) for f in ckpt.files]
    notes = [
        f"pickle checkpoint ({r.container} format, {r.pickles} pickle(s), {r.size_bytes:,} bytes): {r.path.name}"
        for r in reports
    ]
    # Never a "safe" verdict: only what torch's weights-only loader (the one `graft convert` uses) accepts.
    refused = [r for r in reports if not r.weights_only_accepts]
    for r in refused:
        notes.append(f"{r.path.name}: {r.refusal()}; `graft convert` will refuse it.")
    if not refused:
        notes.append(
            "every pickle in it names only tensor-rebuilding globals that torch.load(weights_only=True) allows; "
            "`graft convert` loads it only through that loader. This is not a promise that the file is harmless."
        )
    notes.append("tensor names and counts are read after conversion; run `graft convert PATH OUT`.")
    return InspectResult(
        path=str(ckpt.path),
        kind="adapter" if ckpt.is_adapter else "model",
        format="pickle",
        adapter=_adapter_info(ckpt.adapter_config) if ckpt.adapter_config else None,
        shards=[ShardInfo(file=r.path.name, tensors=r.storages, bytes=r.size_bytes) for r in reports],
        has_tokenizer=_has_tokenizer(ckpt.folder),
        has_chat_template=_has_chat_template(ckpt.folder),
        notes=notes,
        **_config_facts(ckpt.config),
    )

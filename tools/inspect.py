"""Answer "what does this checkpoint contain?" from headers and side files alone.

For safetensors only the JSON headers are read (never tensor data, never torch), so a
checkpoint of hundreds of GB is described in milliseconds. Pickle files are described from
their opcodes, without being unpickled.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.checkpoint import CheckpointFiles, load_headers, resolve_checkpoint
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


class ShardInfo(BaseModel):
    """One file of the checkpoint."""

    file: str
    tensors: int
    bytes: int


class InspectResult(BaseModel):
    """What a checkpoint holds; the same model is the `--json` output and the LLM tool result."""

    path: str
    kind: Literal["model", "adapter"]
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


def inspect_checkpoint(args: InspectArgs) -> InspectResult:
    """Describe the checkpoint at `args.path`; raises GraftError for anything unreadable."""
    ckpt = resolve_checkpoint(args.path)
    if ckpt.format == "pickle":
        return _inspect_pickle(ckpt)
    return _inspect_safetensors(ckpt)


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
    return InspectResult(
        path=str(ckpt.path),
        kind="adapter" if ckpt.is_adapter else "model",
        format="safetensors",
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
        notes=notes,
        **_config_facts(ckpt.config),
    )

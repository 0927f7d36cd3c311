"""The `merge_adapter` stage: fold PEFT LoRA adapters into their base, tensor by tensor.

PEFT's `merge_and_unload` needs the whole model in memory. Here each base tensor is read on
its own, the adapter's changes are applied in float32 exactly as PEFT applies them, the result
is cast back to the base's own dtype and streamed to disk: peak memory is about one tensor, so
an adapter can be folded into a model larger than RAM.

Exact or refused. Every tensor in `adapter_model.safetensors` and every field of
`adapter_config.json` that changes the merged weights is accounted for: LoRA on Linear, GPT-2
Conv1D (fan_in_fan_out) and Embedding layers (`lora_embedding_A/B`), DoRA on all three,
rsLoRA, `rank_pattern`/`alpha_pattern` (the rank is read from the tensors, the alpha per
module as PEFT matches it), `lora_bias` (`lora_B.bias`), `bias="all"/"lora_only"`,
`modules_to_save` (including the lm_head of a tied model, which PEFT unties: the output then
stores its own lm_head and says `tie_word_embeddings: false`), saved embedding layers and
`trainable_token_indices`. Anything else (an unknown key, a variant such as aLoRA, BD-LoRA,
KaSA or `target_parameters`, an init that rewrites the base such as PiSSA, a target that is
not Linear, Conv1D or Embedding) is refused with one sentence naming it.

Several adapters combine as a weighted sum of their deltas, applied one adapter after the
other (PEFT's "cat" combination; equal to sequential `merge_and_unload` at weight 1); other
PEFT combinations (linear, ties, dare_*, svd) go through `add_weighted_adapter` in memory.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.checkpoint import load_headers, resolve_checkpoint
from tools.errors import GraftError
from tools.progress import Progress, silent
from tools.safetensors_writer import (
    SIDE_FILES,
    TensorSpec,
    atomic_folder,
    check_free_space,
    copy_side_files,
    write_sharded,
)

_PREFIX = "base_model.model."
_EMBEDDING_LAYER_NAMES = ("embed_tokens", "lm_head")  # peft.utils.other.EMBEDDING_LAYER_NAMES

# adapter_config.json fields that do not change the merged weights (PEFT reads them to build
# or train the adapter; which modules carry LoRA is read from the tensors themselves).
_HARMLESS_FIELDS = {
    "task_type",
    "peft_type",
    "auto_mapping",
    "peft_version",
    "base_model_name_or_path",
    "revision",
    "inference_mode",
    "target_modules",
    "exclude_modules",
    "lora_dropout",
    "fan_in_fan_out",  # PEFT decides it per layer from the layer's type; so does Graft
    "layers_to_transform",
    "layers_pattern",
    "megatron_core",
    "loftq_config",  # used only with init_lora_weights="loftq", which is refused
    "eva_config",
    "corda_config",
    "lora_ga_config",
    "use_qalora",  # only GPTQ layers have a QALoRA variant; on plain layers PEFT ignores it
    "qalora_group_size",
    "runtime_config",
}
# Fields Graft folds exactly (read below).
_HANDLED_FIELDS = {
    "r",
    "lora_alpha",
    "use_rslora",
    "rank_pattern",
    "alpha_pattern",
    "use_dora",
    "bias",
    "lora_bias",
    "modules_to_save",
    "trainable_token_indices",
    "init_lora_weights",
    "ensure_weight_tying",
}
# Fields that change the math in ways Graft does not fold: refused when set.
_REFUSED_FIELDS = {
    "target_parameters": "LoRA on raw parameters (target_parameters)",
    "alora_invocation_tokens": "Activated LoRA (alora_invocation_tokens), which PEFT itself cannot merge",
    "use_bdlora": "block-diagonal LoRA (use_bdlora)",
    "arrow_config": "Arrow routing (arrow_config)",
    "kasa_config": "KaSA (kasa_config)",
    "monteclora_config": "MonteCLoRA (monteclora_config)",
    "velora_config": "VeLoRA (velora_config)",
    "megatron_config": "Megatron parallel layers (megatron_config)",
    "layer_replication": "layer replication (layer_replication), which changes the model's depth",
}
# init_lora_weights values after which the saved A/B apply to the untouched base weights.
_SAFE_INITS = {True, False, "gaussian", "orthogonal", "eva", "mica"}


class MergeAdapterSpec(BaseModel):
    """How to fold adapters (the plan's merge_adapter fields)."""

    adapters: list[str] = Field(default_factory=list, description="Empty: the adapter the previous stage produced.")
    weights: list[float] = Field(default_factory=list, description="One per adapter; default 1.0 each.")
    combination: Literal["cat", "linear", "ties", "dare_ties", "dare_linear", "svd"] = "cat"
    density: float = Field(0.5, gt=0, le=1, description="Kept share for ties/dare combinations.")
    max_shard_size: str = "5GB"


class MergeAdapterResult(BaseModel):
    output: str
    merged_tensors: int
    adapters: list[str]
    method: str
    seconds: float
    features: list[str] = Field(default_factory=list, description="Adapter features folded (lora, dora, ...).")
    untied: list[str] = Field(default_factory=list, description="Weights PEFT unties from the input embedding.")


@dataclass
class _Module:
    """One LoRA-wrapped layer of one adapter."""

    name: str  # module path in the base model, e.g. model.layers.0.self_attn.q_proj
    embedding: bool
    a: str
    b: str
    r: int
    scale: float
    m: str | None = None  # DoRA magnitude
    bias: str | None = None  # lora_B.bias


@dataclass
class _Adapter:
    path: Path
    file: Path
    config: dict[str, Any]
    shapes: dict[str, tuple[int, ...]]
    modules: dict[str, _Module] = field(default_factory=dict)  # module path -> LoRA layer
    replace: dict[str, str] = field(default_factory=dict)  # base tensor name -> adapter key holding its new value
    copies: set[str] = field(default_factory=set)  # replaced names that are modules_to_save copies (PEFT unties)
    tokens: dict[str, tuple[str, list[int]]] = field(default_factory=dict)  # embedding weight -> (key, token ids)
    features: list[str] = field(default_factory=list)

    @property
    def dora(self) -> bool:
        return bool(self.config.get("use_dora"))


def pattern_value(patterns: dict[str, Any], module: str, default: Any) -> Any:
    """PEFT's `get_pattern_key`: the first pattern that matches the end of the module's name."""
    for key in patterns:
        if re.match(rf"(.*\.)?({key})$", module):
            return patterns[key]
    return patterns.get(module, default)


def _check_config(cfg: dict[str, Any], path: Path) -> None:
    if cfg.get("peft_type", "LORA") != "LORA":
        raise GraftError(f"{path} is a {cfg.get('peft_type')} adapter; only LoRA and DoRA adapters can be folded.")
    for name, value in cfg.items():
        if name in _REFUSED_FIELDS:
            if value:
                raise GraftError(f"adapter {path} uses {_REFUSED_FIELDS[name]}, which Graft does not fold.")
        elif name not in _HARMLESS_FIELDS and name not in _HANDLED_FIELDS and value not in (None, False, [], {}, ""):
            raise GraftError(
                f"adapter {path} sets {name}={value!r} in adapter_config.json, a field Graft does not know; "
                "it refuses rather than merge it differently from PEFT."
            )
    init = cfg.get("init_lora_weights", True)
    if init not in _SAFE_INITS:
        raise GraftError(
            f"adapter {path} was initialised with init_lora_weights={init!r}, which rewrites the base weights when "
            "PEFT loads it; save it with path_initial_model_for_weight_conversion first."
        )
    if cfg.get("bias", "none") not in ("none", "all", "lora_only"):
        raise GraftError(f"adapter {path} has bias={cfg.get('bias')!r}; PEFT knows none, all and lora_only.")


def read_adapter_layout(path: Path) -> _Adapter:
    """Read an adapter folder and account for every tensor in it, or refuse naming the first it cannot."""
    from tools.safetensors_header import read_header

    ckpt = resolve_checkpoint(path)
    if ckpt.adapter_config is None or ckpt.format != "safetensors":
        raise GraftError(f"{path} is not a PEFT adapter folder (adapter_config.json and adapter_model.safetensors).")
    cfg = ckpt.adapter_config
    _check_config(cfg, path)
    headers = load_headers(ckpt)
    if len(headers) != 1:  # reading only the first file would silently drop the others' tensors
        raise GraftError(
            f"adapter {path} is split over {len(headers)} safetensors files; Graft reads one-file adapters."
        )
    file = headers[0].path
    shapes = {k: tuple(v.shape) for k, v in read_header(file).tensors.items()}
    adapter = _Adapter(Path(path), file, cfg, shapes)
    to_save = list(cfg.get("modules_to_save") or [])
    bias_mode = cfg.get("bias", "none")
    parts: dict[str, dict[str, str]] = {}
    token_keys: dict[str, str] = {}
    for key in shapes:
        name = key[len(_PREFIX) :] if key.startswith(_PREFIX) else key
        for marker, slot in (
            (".lora_A.weight", "A"),
            (".lora_B.weight", "B"),
            (".lora_B.bias", "bias"),
            (".lora_embedding_A", "eA"),
            (".lora_embedding_B", "eB"),
            (".lora_magnitude_vector", "m"),
        ):
            if name.endswith(marker):
                parts.setdefault(name[: -len(marker)], {})[slot] = key
                break
        else:
            if name.endswith(".token_adapter.trainable_tokens_delta"):
                token_keys[name[: -len(".token_adapter.trainable_tokens_delta")]] = key
                continue
            module, _, param = name.rpartition(".")
            if module.endswith(".base_layer"):
                module = module[: -len(".base_layer")]
                saved_embedding = param == "weight" and module.rpartition(".")[2] in _EMBEDDING_LAYER_NAMES
                if (param == "bias" and bias_mode != "none") or saved_embedding:
                    adapter.replace[f"{module}.{param}"] = key
                    continue
            elif ".modules_to_save" in module:
                module = module.split(".modules_to_save")[0]
                if any(module.endswith(m) for m in to_save):
                    adapter.replace[f"{module}.{param}"] = key
                    adapter.copies.add(f"{module}.{param}")
                    continue
            elif any(module.endswith(m) for m in to_save):
                adapter.replace[name] = key
                adapter.copies.add(name)
                continue
            elif (param == "bias" and bias_mode == "all") or (
                param == "weight" and module.rpartition(".")[2] in _EMBEDDING_LAYER_NAMES
            ):
                adapter.replace[name] = key
                continue
            raise GraftError(f"adapter {path} holds {key}, a tensor Graft does not recognise; it refuses to guess.")
    rank_pattern = cfg.get("rank_pattern") or {}
    alpha_pattern = cfg.get("alpha_pattern") or {}
    for module, slots in parts.items():
        embedding = "eA" in slots or "eB" in slots
        a, b = (slots.get("eA"), slots.get("eB")) if embedding else (slots.get("A"), slots.get("B"))
        if a is None or b is None or (embedding and ("A" in slots or "B" in slots)):
            raise GraftError(f"adapter {path} is incomplete: {module} lacks its lora_A or lora_B weight.")
        sa, sb = shapes[a], shapes[b]
        if len(sa) != 2 or len(sb) != 2:
            raise GraftError(
                f"adapter {path} has a {len(sa)}-D {a}: LoRA on convolutions is not folded, only on Linear, "
                "Conv1D and Embedding layers."
            )
        r = sa[0]
        if sb[1] != r:
            raise GraftError(f"adapter {path} is inconsistent: {a} has rank {r} but {b} has {sb[1]}.")
        expected_r = pattern_value(rank_pattern, module, cfg.get("r", r))
        if expected_r != r:
            raise GraftError(f"adapter {path} says rank {expected_r} for {module}, but its tensors have rank {r}.")
        if "m" in slots and not cfg.get("use_dora"):
            raise GraftError(f"adapter {path} holds DoRA magnitudes ({slots['m']}) but use_dora is not set.")
        if cfg.get("use_dora") and "m" not in slots:
            raise GraftError(f"adapter {path} sets use_dora but has no lora_magnitude_vector for {module}.")
        if "bias" in slots and not cfg.get("lora_bias"):
            raise GraftError(f"adapter {path} holds {slots['bias']} but lora_bias is not set in its config.")
        alpha = pattern_value(alpha_pattern, module, cfg.get("lora_alpha", 8))
        scale = alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r
        adapter.modules[module] = _Module(module, embedding, a, b, r, scale, slots.get("m"), slots.get("bias"))
    indices = cfg.get("trainable_token_indices")
    for module, key in token_keys.items():
        if isinstance(indices, dict):
            found = [v for k, v in indices.items() if module.endswith(k)]
            ids = found[0] if len(found) == 1 else None
        else:
            ids = indices if len(token_keys) == 1 else None
        if not ids:
            raise GraftError(f"adapter {path} holds {key} but its trainable_token_indices do not say which tokens.")
        ids = [int(i) for i in ids]
        if len(set(ids)) != len(ids) or shapes[key][0] != len(ids):
            raise GraftError(f"adapter {path}: {key} has {shapes[key][0]} rows for token ids {ids}.")
        adapter.tokens[f"{module}.weight"] = (key, ids)
    if indices and not token_keys:
        raise GraftError(f"adapter {path} sets trainable_token_indices but holds no trainable_tokens_delta.")
    if not adapter.modules and not adapter.replace and not adapter.tokens:
        raise GraftError(f"{path} holds no LoRA weights.")
    features = ["dora" if adapter.dora else "lora"] if adapter.modules else []
    if any(m.embedding for m in adapter.modules.values()):
        features.append("embedding lora")
    if cfg.get("use_rslora"):
        features.append("rslora")
    if rank_pattern or alpha_pattern:
        features.append("rank/alpha pattern")
    if any(m.bias for m in adapter.modules.values()):
        features.append("lora_bias")
    if any(n.endswith(".bias") for n in adapter.replace):
        features.append(f"bias={bias_mode}")
    if adapter.copies:
        features.append("modules_to_save")
    if any(n.endswith(".weight") and n not in adapter.copies for n in adapter.replace):
        features.append("saved embedding layer")
    if adapter.tokens:
        features.append("trainable tokens")
    adapter.features = features
    return adapter


@dataclass
class _BaseFacts:
    """What only the model's classes know: each module's type, tied weights, module order."""

    kinds: dict[str, str]  # module path -> "linear" | "conv1d" | "embedding" | class name
    order: dict[str, int]
    tied: dict[str, str]  # weight not stored in the checkpoint -> the stored weight it shares memory with


@lru_cache(maxsize=8)
def _base_facts(folder: str, stored: frozenset[str]) -> _BaseFacts:
    """Build the base's model class on the meta device (no memory, no weights) and read its layers."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.pytorch_utils import Conv1D

    try:
        config = AutoConfig.from_pretrained(folder)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
    except (OSError, ValueError, KeyError, TypeError, ImportError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GraftError(f"cannot tell the layer types of {folder}: transformers cannot build it ({first}).") from None
    kinds, order = {}, {}
    for i, (name, module) in enumerate(model.named_modules()):
        order[name] = i
        if isinstance(module, torch.nn.Embedding):
            kinds[name] = "embedding"
        elif isinstance(module, Conv1D):
            kinds[name] = "conv1d"
        elif isinstance(module, torch.nn.Linear):
            kinds[name] = "linear"
        else:
            kinds[name] = type(module).__name__
    groups: dict[int, list[str]] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        groups.setdefault(id(param), []).append(name)
    tied: dict[str, str] = {}
    for names in groups.values():
        kept = [n for n in names if n in stored]
        if len(names) > 1 and len(kept) == 1:
            tied.update({n: kept[0] for n in names if n != kept[0]})
    return _BaseFacts(kinds, order, tied)


@lru_cache(maxsize=32)
def _may_use_conv1d(model_type: str) -> bool:
    """Whether transformers' source for this architecture mentions Conv1D (read as text, no import)."""
    import importlib.util

    spec = importlib.util.find_spec("transformers")
    if spec is None or not spec.submodule_search_locations:
        return True
    folder = Path(next(iter(spec.submodule_search_locations))) / "models" / model_type.replace("-", "_")
    files = list(folder.glob("modeling_*.py"))
    return not files or any("Conv1D" in f.read_text(encoding="utf-8", errors="replace") for f in files)


@dataclass
class _Op:
    kind: Literal["replace", "lora", "lora_bias", "tokens"]
    adapter: _Adapter
    key: str = ""
    module: _Module | None = None
    layer: str = "linear"  # linear | conv1d | embedding
    weight: float = 1.0
    ids: list[int] = field(default_factory=list)


@dataclass
class _MergePlan:
    """For every tensor to write: which base tensor it starts from and the operations, in PEFT's order."""

    specs: list[TensorSpec]
    source: dict[str, str]
    ops: dict[str, list[_Op]]
    untied: list[str]


def _plan(
    adapters: list[_Adapter], weights: list[float], base: str, base_shapes: dict[str, tuple[int, ...]] | None = None
) -> _MergePlan:
    """Check every adapter against the base and lay out the merge; one sentence on the first misfit."""
    ckpt = resolve_checkpoint(base)
    headers = load_headers(ckpt)
    infos = {name: info for h in headers for name, info in h.tensors.items()}
    shapes = base_shapes if base_shapes is not None else {n: tuple(i.shape) for n, i in infos.items()}
    folder = ckpt.folder or Path(base).parent
    config: dict[str, Any] = {}
    if (folder / "config.json").is_file():
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    tie_possible = config.get("tie_word_embeddings", True) is not False
    facts: _BaseFacts | None = None

    def get_facts() -> _BaseFacts:
        nonlocal facts
        if facts is None:
            facts = _base_facts(str(folder), frozenset(shapes))
        return facts

    def stored(name: str) -> str | None:
        if name in shapes:
            return name
        if tie_possible:
            return get_facts().tied.get(name)
        return None

    for index, adapter in enumerate(adapters):
        if weights[index] != 1.0 and (adapter.replace or adapter.tokens):
            raise GraftError(
                f"adapter {adapter.path} replaces whole tensors (modules_to_save, biases or trainable tokens), "
                "which cannot be weighted; give it weight 1.0."
            )
        touches_tied = adapter.replace or adapter.tokens or any(m.embedding for m in adapter.modules.values())
        missing = any(f"{m.name}.weight" not in shapes for m in adapter.modules.values())
        if tie_possible and (touches_tied or missing):
            get_facts()
    source = {name: name for name in shapes}
    ops: dict[str, list[_Op]] = {name: [] for name in shapes}
    alias = dict(facts.tied) if facts else {}
    extra: dict[str, str] = {}  # untied name -> the stored name it was tied to
    model_type = str(config.get("model_type", ""))

    def fail(adapter: _Adapter, message: str) -> GraftError:
        return GraftError(f"adapter {adapter.path} is for a different base than {base}: {message}")

    def unfit(adapter: _Adapter, message: str) -> GraftError:
        return GraftError(f"adapter {adapter.path} cannot be folded into {base}: {message}")

    for index, adapter in enumerate(adapters):
        weight = weights[index]
        # Load time: saved tensors overwrite the base's. A modules_to_save copy is a new tensor (PEFT
        # unties it from a shared embedding); anything else is loaded into the parameter in place.
        for name, key in adapter.replace.items():
            target = name if name in extra else stored(name)
            if target is None:
                raise fail(adapter, f"it replaces {name}, which the base does not have.")
            have = shapes[extra.get(target, target)]
            if tuple(adapter.shapes[key]) != tuple(have):
                raise fail(
                    adapter,
                    f"{key} is {list(adapter.shapes[key])} but the base's {name} is {list(have)} "
                    "(a resized vocabulary is not folded).",
                )
            if name not in adapter.copies:
                ops[target].append(_Op("replace", adapter, key))
                continue
            if name in alias:  # the tied copy gets its own tensor from here on
                alias.pop(name)
                extra[name] = target
                source[name], ops[name] = source[target], list(ops[target])
                ops[name].append(_Op("replace", adapter, key))
                continue
            for other in [n for n, s in alias.items() if s == name]:  # replacing the stored one unties the others
                alias.pop(other)
                extra[other] = name
                source[other], ops[other] = source[name], list(ops[name])
            ops[target].append(_Op("replace", adapter, key))
        # Merge time: LoRA deltas in module order, then LoRA biases and trainable tokens.
        modules = list(adapter.modules.values())
        if facts:
            modules.sort(key=lambda m: facts.order.get(m.name, 1 << 30))
        for module in modules:
            name = f"{module.name}.weight"
            target = name if name in extra else alias.get(name) or (name if name in shapes else None)
            if target is None:
                raise fail(adapter, f"the base has no {name}.")
            if (
                name in alias
                and adapter.config.get("ensure_weight_tying")
                and _tied_to_embedding(adapter, module, target)
            ):
                continue  # PEFT ties this LoRA to the embedding's and merges the shared weight once
            base_shape = shapes[extra.get(target, target)]
            sa, sb = adapter.shapes[module.a], adapter.shapes[module.b]
            if len(base_shape) != 2:
                raise unfit(adapter, f"{name} is {len(base_shape)}-D; LoRA folds only into 2-D weights.")
            if module.embedding:
                layer = "embedding"
                fits = base_shape == (sa[1], sb[0])
                if facts and facts.kinds.get(module.name) not in (None, "embedding"):
                    raise unfit(
                        adapter, f"{module.name} is not an embedding but the adapter has embedding LoRA for it."
                    )
            else:
                linear, conv = base_shape == (sb[0], sa[1]), base_shape == (sa[1], sb[0])
                if linear and conv and (facts is not None or _may_use_conv1d(model_type)):
                    kind = get_facts().kinds.get(module.name)
                    layer = kind if kind in ("linear", "conv1d") else "other"
                    if layer == "other":
                        raise unfit(
                            adapter, f"{module.name} is a {kind}; LoRA folds only into Linear, Conv1D and Embedding."
                        )
                elif facts is not None and facts.kinds.get(module.name) in ("linear", "conv1d"):
                    layer = facts.kinds[module.name]
                else:
                    layer = "linear" if linear else "conv1d"
                fits = linear if layer == "linear" else conv
                if facts and facts.kinds.get(module.name) == "embedding":
                    raise unfit(adapter, f"{module.name} is an embedding but the adapter has Linear LoRA for it.")
            if not fits:
                expects = [sb[0], sa[1]] if layer == "linear" else [sa[1], sb[0]]
                raise fail(adapter, f"{name} is {list(base_shape)} but the adapter expects {expects}.")
            if module.m is not None:
                want = (sb[0],)
                if tuple(adapter.shapes[module.m]) != want:
                    raise fail(adapter, f"{module.m} is {list(adapter.shapes[module.m])}, expected {list(want)}.")
            ops[target].append(_Op("lora", adapter, module=module, layer=layer, weight=weight))
            if module.bias is not None:
                bias = f"{module.name}.bias"
                if bias not in shapes:
                    raise fail(adapter, f"it has lora_bias for {module.name}, which has no bias in the base.")
                if tuple(adapter.shapes[module.bias]) != tuple(shapes[bias]):
                    raise fail(
                        adapter, f"{module.bias} is {list(adapter.shapes[module.bias])}, not {list(shapes[bias])}."
                    )
                ops[bias].append(_Op("lora_bias", adapter, module=module, weight=weight))
        for name, (key, ids) in adapter.tokens.items():
            target = name if name in extra else alias.get(name) or (name if name in shapes else None)
            if target is None:
                raise fail(adapter, f"the base has no {name} for its trainable tokens.")
            rows, dim = shapes[extra.get(target, target)]
            if tuple(adapter.shapes[key]) != (len(ids), dim) or max(ids) >= rows or min(ids) < 0:
                raise fail(adapter, f"its trainable tokens {ids} do not fit {name} of shape {[rows, dim]}.")
            ops[target].append(_Op("tokens", adapter, key=key, ids=ids))
    specs = [TensorSpec(info.name, info.dtype, info.shape) for h in headers for info in h.tensors.values()]
    for name, stored_as in extra.items():
        specs.append(TensorSpec(name, infos[stored_as].dtype, infos[stored_as].shape))
    return _MergePlan(specs, source, ops, sorted(extra))


def _tied_to_embedding(adapter: _Adapter, module: _Module, embedding_weight: str) -> bool:
    """With ensure_weight_tying, PEFT's LoRA on a tied lm_head is the embedding LoRA transposed; check it is."""
    import torch

    from tools.tensor_reader import TensorReader

    embedding = adapter.modules.get(embedding_weight.rpartition(".")[0])
    if embedding is None or not embedding.embedding:
        return False
    with TensorReader() as reader:
        same = torch.equal(reader.get(adapter.file, module.a), reader.get(adapter.file, embedding.b).T) and torch.equal(
            reader.get(adapter.file, module.b), reader.get(adapter.file, embedding.a).T
        )
    if not same:
        raise GraftError(
            f"adapter {adapter.path} sets ensure_weight_tying but its {module.name} LoRA differs from the tied "
            "embedding's; PEFT would keep only one of them."
        )
    return True


def _check_against_base(adapter: _Adapter, base_shapes: dict[str, tuple[int, ...]], base_path: str) -> None:
    """Refuse, in one sentence, an adapter that does not fit the base at `base_path`."""
    _plan([adapter], [1.0], base_path, {k: tuple(v) for k, v in base_shapes.items()})


def check_adapter(adapter: str, base: str) -> list[str]:
    """Check that the adapter folder fits the base model; return the features it would fold."""
    parsed = read_adapter_layout(Path(adapter))
    _plan([parsed], [1.0], base)
    return parsed.features


def _transpose(weight: Any, fan_in_fan_out: bool) -> Any:
    return weight.T if fan_in_fan_out else weight


def _apply(weight: Any, op: _Op, get: Any) -> Any:
    """One PEFT merge step on a float32 tensor, written as PEFT writes it so the rounding is the same."""
    import torch

    if op.kind == "replace":
        return get(op.adapter.file, op.key).to(torch.float32)
    if op.kind == "tokens":
        index = torch.tensor(op.ids)
        return weight.index_copy(0, index, get(op.adapter.file, op.key).to(weight))
    module = op.module
    assert module is not None
    if op.kind == "lora_bias":
        return weight + get(op.adapter.file, module.bias).to(torch.float32) * (module.scale * op.weight)
    lora_a = get(op.adapter.file, module.a).to(torch.float32)
    lora_b = get(op.adapter.file, module.b).to(torch.float32)
    scaling = module.scale * op.weight
    if op.layer == "embedding":
        if module.m is None:  # in place: the same sums and products as PEFT's, one tensor-sized buffer fewer
            return weight.add_(_transpose(lora_b @ lora_a, True).mul_(scaling))
        delta = _transpose(lora_b @ lora_a, True) * scaling
        magnitude = get(op.adapter.file, module.m).to(torch.float32)
        norm = torch.linalg.norm(weight.T + 1 * delta.T, dim=1).to(weight.dtype)
        return (magnitude / norm).view(1, -1) * (weight + delta)
    fifo = op.layer == "conv1d"
    if module.m is None:
        return weight.add_(_transpose(lora_b @ lora_a, fifo).mul_(scaling))
    delta = _transpose(lora_b @ lora_a, fifo) * scaling
    magnitude = get(op.adapter.file, module.m).to(torch.float32)
    norm = torch.linalg.norm(_transpose(weight, fifo) + 1 * _transpose(delta, fifo), dim=1).to(weight.dtype)
    factor = _transpose((magnitude / norm).view(-1, 1), fifo)
    return factor * (weight + delta)


def merge_adapter(
    spec: MergeAdapterSpec,
    base: str,
    adapters: list[str],
    output: str,
    stage_id: str = "merge_adapter",
    progress: Progress = silent,
    overwrite: bool = False,
) -> MergeAdapterResult:
    """Fold `adapters` into the model at `base`, writing a full model folder at `output`."""
    import time

    start = time.perf_counter()
    if not adapters:
        raise GraftError("there is no adapter to merge.")
    weights = spec.weights or [1.0] * len(adapters)
    if len(weights) != len(adapters):
        raise GraftError(f"{len(adapters)} adapters but {len(weights)} weights.")
    if len(adapters) > 1 and spec.combination != "cat":
        return _merge_in_memory(spec, base, adapters, weights, output, stage_id, progress, overwrite, start)
    parsed = [read_adapter_layout(Path(a)) for a in adapters]
    plan = _plan(parsed, weights, base)
    ckpt = resolve_checkpoint(base)
    headers = load_headers(ckpt)
    where = {info.name: h.path for h in headers for info in h.tensors.values()}
    check_free_space(Path(output).parent, sum(s.nbytes for s in plan.specs))
    merged = 0

    from tools.tensor_reader import TensorReader

    reader = TensorReader()

    def produce(tspec: TensorSpec) -> Any:
        nonlocal merged
        import torch

        from tools.tensor_reader import ST_TO_TORCH

        source = plan.source[tspec.name]
        steps = plan.ops.get(tspec.name) or []
        if not steps:
            return reader.get(where[source], source)
        dtype = getattr(torch, ST_TO_TORCH[tspec.dtype])
        # A tensor replaced first (modules_to_save, saved embeddings) never needs the base's copy read.
        weight = None if steps[0].kind == "replace" else reader.get(where[source], source).to(torch.float32)
        for op in steps:
            weight = _apply(weight, op, reader.get)
        merged += 1
        return weight.to(dtype)

    def report(done: int, total: int) -> None:
        progress({"stage": stage_id, "kind": "progress", "step": done, "total": total, "unit": "tensor"})

    with atomic_folder(Path(output), overwrite) as tmp:
        write_sharded(tmp, plan.specs, produce, {"format": "pt"}, spec.max_shard_size, on_tensor=report)
        copy_side_files(ckpt.folder or Path(base).parent, tmp, [f for f in SIDE_FILES if f != "adapter_config.json"])
        if plan.untied and (tmp / "config.json").is_file():
            # PEFT's merged model no longer shares the embedding with lm_head; say so, or loading re-ties them.
            config = json.loads((tmp / "config.json").read_text(encoding="utf-8"))
            config["tie_word_embeddings"] = False
            (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    reader.close()
    features = list(dict.fromkeys(f for a in parsed for f in a.features))
    return MergeAdapterResult(
        output=output,
        merged_tensors=merged,
        adapters=adapters,
        method="stream-cat",
        seconds=time.perf_counter() - start,
        features=features,
        untied=plan.untied,
    )


def _merge_in_memory(
    spec: MergeAdapterSpec,
    base: str,
    adapters: list[str],
    weights: list[float],
    output: str,
    stage_id: str,
    progress: Progress,
    overwrite: bool,
    start: float,
) -> MergeAdapterResult:
    """PEFT's add_weighted_adapter for combinations that are not a plain sum of deltas (in memory)."""
    import time

    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    parsed = [read_adapter_layout(Path(a)) for a in adapters]
    for adapter in parsed:
        _plan([adapter], [1.0], base)
        if adapter.replace or adapter.tokens or any(m.embedding or m.bias for m in adapter.modules.values()):
            raise GraftError(
                f"stage {stage_id}: adapter {adapter.path} carries {', '.join(adapter.features)}, which PEFT's "
                f"{spec.combination} combination drops; use combination: cat."
            )
    modules = {m for a in parsed for m in a.modules}
    model = AutoModelForCausalLM.from_pretrained(base)
    names = [f"a{i}" for i in range(len(adapters))]
    peft_model = PeftModel.from_pretrained(model, adapters[0], adapter_name=names[0])
    for name, path in zip(names[1:], adapters[1:], strict=True):
        peft_model.load_adapter(path, adapter_name=name)
    kwargs: dict[str, Any] = {}
    if spec.combination in ("ties", "dare_ties", "dare_linear"):
        kwargs["density"] = spec.density
    peft_model.add_weighted_adapter(names, weights, "combined", combination_type=spec.combination, **kwargs)
    peft_model.set_adapter("combined")
    for name in names:
        peft_model.delete_adapter(name)
    merged_model = peft_model.merge_and_unload()
    progress({"stage": stage_id, "kind": "progress", "step": 1, "total": 1})
    with atomic_folder(Path(output), overwrite) as tmp:
        merged_model.save_pretrained(str(tmp), max_shard_size=spec.max_shard_size)
        src = Path(base)
        copy_side_files(src, tmp, [f for f in SIDE_FILES if f not in ("adapter_config.json", "config.json")])
    return MergeAdapterResult(
        output=output,
        merged_tensors=len(modules),
        adapters=adapters,
        method=f"peft-{spec.combination}",
        seconds=time.perf_counter() - start,
        features=list(dict.fromkeys(f for a in parsed for f in a.features)),
    )

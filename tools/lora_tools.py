"""The LoRA toolbox: extract an adapter from two models, lower an adapter's rank, check adapters.

- `extract_lora`: TUNED − BASE per linear module, cut to rank R by truncated SVD (what
  `mergekit-extract-lora` does), written as a PEFT adapter that `PeftModel.from_pretrained`
  loads. Both models are streamed tensor by tensor (never both whole models in memory); only
  the adapter's own factors are held. Every tensor that differs is either captured (as LoRA
  factors, a `lora_only` bias, or a `modules_to_save` copy) or listed in `not_captured` by name.
- `resize_lora`: lower an adapter's rank by SVD of B·A, keeping `lora_alpha`, so each module's
  scale (alpha/r, or alpha/√r for rsLoRA) is accounted for in the new factors.
- `check_lora`: does an adapter fit a base (module names, shapes, architecture), which layers
  and modules does it touch, and for several adapters, how aligned their ΔW are per module.

Each tool takes a pydantic arguments model, returns a pydantic result model, reports progress
through a callback and never prints. Errors a person can fix are one-sentence `GraftError`s.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.checkpoint import load_headers, resolve_checkpoint
from tools.errors import GraftError
from tools.merge_adapter import pattern_value  # PEFT's rank/alpha pattern lookup, one copy
from tools.naming import layer_index
from tools.progress import Progress, silent

PREFIX = "base_model.model."
TOOL = "lora"

# ---------------------------------------------------------------------------------------------
# Result models


class ModuleReport(BaseModel):
    """How well one module's delta is captured at its rank."""

    module: str = Field(description="The base model's module name, e.g. model.layers.0.self_attn.q_proj.")
    kind: Literal["linear", "conv1d", "embedding"] = "linear"
    shape: list[int] = Field(description="The base weight's shape, as stored.")
    rank: int
    retained_energy: float = Field(description="Share of ‖ΔW‖² kept by the rank-r factors (1.0 is all).")
    relative_error: float = Field(description="‖ΔW − ΔW_r‖ / ‖ΔW‖: the error relative to the delta.")
    weight_relative_error: float | None = Field(
        None, description="‖W_tuned − (W_base + ΔW_r)‖ / ‖W_tuned‖ (extract only)."
    )
    old_rank: int | None = Field(None, description="The rank before resizing (resize only).")


class NotCaptured(BaseModel):
    """A tensor that differs between BASE and TUNED and is not in the adapter."""

    tensor: str
    reason: str


class ExtractArgs(BaseModel):
    """Arguments of `extract_lora`."""

    base: str = Field(description="The base model folder.")
    tuned: str = Field(description="The fine-tuned model folder (same architecture and shapes as the base).")
    rank: int = Field(gt=0, description="LoRA rank r of every extracted module.")
    output: str | None = Field(None, description="Adapter folder to write; default TUNED-lora-rR beside TUNED.")
    overwrite: bool = False
    modules_to_save: bool = Field(
        True,
        description="Keep differing embeddings, norms and heads whole (PEFT modules_to_save); "
        "when false they are listed as not captured.",
    )
    dtype: Literal["float32", "bfloat16", "float16"] = Field("float32", description="dtype of the LoRA factors.")


class ExtractResult(BaseModel):
    """What was extracted and how faithful it is."""

    output: str
    rank: int
    modules: list[ModuleReport]
    modules_to_save: list[str] = Field(default_factory=list, description="Modules stored whole.")
    biases: list[str] = Field(default_factory=list, description="Modules whose tuned bias is stored (lora_only).")
    not_captured: list[NotCaptured] = Field(default_factory=list)
    identical_tensors: int = 0
    retained_energy: float = Field(description="Share of the total ‖ΔW‖² over all LoRA modules kept.")
    relative_error: float = Field(description="‖ΔW − ΔW_r‖ / ‖ΔW‖ over all LoRA modules together.")
    weight_relative_error: float = Field(description="‖W_tuned − W_merged‖ / ‖W_tuned‖ over all LoRA modules.")
    adapter_bytes: int
    seconds: float
    notes: list[str] = Field(default_factory=list)


class ResizeArgs(BaseModel):
    """Arguments of `resize_lora`."""

    adapter: str = Field(description="A PEFT LoRA adapter folder (or a trainer checkpoint-N folder holding one).")
    rank: int = Field(gt=0, description="The new, lower rank.")
    output: str | None = Field(None, description="Adapter folder to write; default ADAPTER-rR beside it.")
    overwrite: bool = False


class ResizeResult(BaseModel):
    """The resized adapter and what each module kept."""

    output: str
    rank: int
    modules: list[ModuleReport]
    copied: list[str] = Field(default_factory=list, description="Adapter tensors carried over unchanged.")
    retained_energy: float
    relative_error: float
    adapter_bytes: int
    seconds: float


class CheckArgs(BaseModel):
    """Arguments of `check_lora`."""

    adapter: str = Field(description="The adapter to check.")
    base: str | None = Field(None, description="A base model to check it (and the others) against.")
    others: list[str] = Field(default_factory=list, description="More adapters, compared with the first.")


class AdapterSummary(BaseModel):
    """What an adapter touches, read from its config and tensor names."""

    path: str
    peft_type: str | None = None
    r: int | None = None
    alpha: float | None = None
    use_dora: bool = False
    use_rslora: bool = False
    base_model: str | None = Field(None, description="base_model_name_or_path from adapter_config.json.")
    modules: list[str] = Field(default_factory=list, description="Base modules with LoRA factors.")
    module_names: dict[str, int] = Field(default_factory=dict, description="Short module name → how many.")
    layers: list[int] = Field(default_factory=list, description="Blocks it touches.")
    ranks: dict[str, int] = Field(default_factory=dict, description="Rank → module count, when ranks differ.")
    whole_tensors: list[str] = Field(
        default_factory=list, description="Tensors stored whole (modules_to_save, biases)."
    )


class Fit(BaseModel):
    adapter: str
    fits: bool
    problems: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class ModuleCosine(BaseModel):
    module: str
    cosine: float


class Overlap(BaseModel):
    """How two adapters meet: shared modules and the cosine of their ΔW in each."""

    a: str
    b: str
    shared: list[ModuleCosine] = Field(default_factory=list)
    only_a: int = 0
    only_b: int = 0
    mean_cosine: float | None = None
    min_cosine: float | None = None
    opposed: int = Field(0, description="Shared modules with cosine below -0.2.")
    verdict: str = ""


class CheckResult(BaseModel):
    adapters: list[AdapterSummary]
    base: str | None = None
    fits: list[Fit] = Field(default_factory=list)
    overlaps: list[Overlap] = Field(default_factory=list)
    ok: bool = True
    problem: str | None = Field(None, description="The first reason something does not fit, as one sentence.")


# ---------------------------------------------------------------------------------------------
# Reading adapters (read-only, headers first)


@dataclass
class LoraModule:
    """One adapted module: the keys of its factors and what scale PEFT applies."""

    module: str
    a: str
    b: str
    rank: int
    scale: float
    kind: Literal["linear", "embedding"] = "linear"
    magnitude: str | None = None
    lora_bias: str | None = None


@dataclass
class AdapterFile:
    path: Path
    file: Path
    config: dict[str, Any]
    shapes: dict[str, tuple[int, ...]]
    modules: dict[str, LoraModule] = field(default_factory=dict)
    whole: dict[str, str] = field(default_factory=dict)  # adapter key -> base tensor name it replaces
    unknown: list[str] = field(default_factory=list)

    @property
    def fan_in_fan_out(self) -> bool:
        return bool(self.config.get("fan_in_fan_out"))


def read_adapter(path: str | Path) -> AdapterFile:
    """Parse a PEFT LoRA adapter folder (or a trainer `checkpoint-N` holding one) from its header.

    The merge's reader does the parsing, so the toolbox and `merge_adapter` account for every tensor
    and config field the same way and refuse the same things by name.
    """
    from tools.merge_adapter import read_adapter_layout

    path = Path(path)
    ckpt = resolve_checkpoint(path)
    if ckpt.adapter_config is None:
        raise GraftError(f"{path} is not a PEFT adapter: it has no adapter_config.json.")
    if ckpt.format != "safetensors":
        raise GraftError(f"{path} stores its adapter as a pickle; run `graft convert {path} OUT` first.")
    if ckpt.adapter_config.get("peft_type", "LORA") != "LORA":
        raise GraftError(
            f"{path} is a {ckpt.adapter_config.get('peft_type')} adapter; the LoRA tools read only LoRA and DoRA adapters."
        )
    parsed = read_adapter_layout(path)
    adapter = AdapterFile(path, parsed.file, parsed.config, parsed.shapes)
    for name, mod in sorted(parsed.modules.items()):
        kind: Literal["linear", "embedding"] = "embedding" if mod.embedding else "linear"
        adapter.modules[name] = LoraModule(name, mod.a, mod.b, mod.r, mod.scale, kind, mod.m, mod.bias)
    adapter.whole = {key: name for name, key in parsed.replace.items()}
    adapter.unknown = [key for key, _ids in parsed.tokens.values()]  # trainable-token rows: not a LoRA factor
    if not adapter.modules:
        raise GraftError(f"{path} holds no LoRA factors (lora_A/lora_B or lora_embedding_A/B).")
    return adapter


def _delta_orientation(adapter: AdapterFile, mod: LoraModule) -> bool:
    """True when ΔW in the base's storage layout is (B·A)ᵀ rather than B·A."""
    return mod.kind == "embedding" or adapter.fan_in_fan_out


# ---------------------------------------------------------------------------------------------
# Extract


def _module_kinds(folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    """module name → 'linear' | 'conv1d' | 'embedding' | 'other', and tied output → input module.

    The model class is built on the meta device (no memory, no weights) so the kinds are the
    ones PEFT will see when it loads the adapter.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.pytorch_utils import Conv1D

    try:
        config = AutoConfig.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise GraftError(f"{folder} has no usable config.json, so its module types are unknown: {exc}") from None
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    kinds: dict[str, str] = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            kinds[name] = "linear"
        elif isinstance(module, Conv1D):
            kinds[name] = "conv1d"
        elif isinstance(module, torch.nn.Embedding):
            kinds[name] = "embedding"
        elif any(True for _ in module.parameters(recurse=False)):
            kinds[name] = "other"
    tied: dict[str, str] = {}
    out, inp = model.get_output_embeddings(), model.get_input_embeddings()
    if out is not None and inp is not None and out.weight is inp.weight:
        names = {id(m): n for n, m in model.named_modules()}
        tied[names[id(out)]] = names[id(inp)]
    return kinds, tied


def _short_or_full_targets(targets: set[str], kinds: dict[str, str]) -> list[str]:
    """Short module names where they pick out exactly `targets` (PEFT's suffix match), else full names."""
    short: dict[str, set[str]] = {}
    for name in targets:
        short.setdefault(name.rsplit(".", 1)[-1], set()).add(name)
    chosen: list[str] = []
    for leaf, names in sorted(short.items()):
        matches = {n for n in kinds if n == leaf or n.endswith("." + leaf)}
        chosen.extend([leaf] if matches == names else sorted(names))
    return chosen


def _svd_factors(delta: Any, rank: int) -> tuple[Any, Any, float, int]:
    """B, A (rank `rank`, zero-padded when the matrix is smaller), retained energy, kept rank."""
    import torch

    u, s, vh = torch.linalg.svd(delta, full_matrices=False)
    kept = min(rank, s.numel())
    total = float((s.double() ** 2).sum())
    energy = float((s[:kept].double() ** 2).sum()) / total if total > 0 else 1.0
    root = s[:kept].sqrt()
    b = torch.zeros(delta.shape[0], rank, dtype=delta.dtype)
    a = torch.zeros(rank, delta.shape[1], dtype=delta.dtype)
    b[:, :kept] = u[:, :kept] * root
    a[:kept] = root[:, None] * vh[:kept]
    return b, a, energy, kept


def _check_output(output: str, inputs: dict[str, str], overwrite: bool) -> None:
    """The output may not be, or hold, an input, the working folder or home; an existing one only with overwrite."""
    from tools.safetensors_writer import check_destination

    resolved = Path(output).resolve()
    keep = {Path.cwd().resolve(): "the working folder", Path.home().resolve(): "your home folder"}
    keep.update({Path(p).resolve(): what for p, what in inputs.items()})
    for path, what in keep.items():
        if path == resolved or path.is_relative_to(resolved):
            raise GraftError(
                f"the output {output} {'is' if path == resolved else 'holds'} {what}; choose a new folder."
            )
    check_destination(Path(output), overwrite)


def _metadata(tool: str, **facts: Any) -> dict[str, str]:
    """safetensors metadata: PEFT's "format" plus what made the adapter (bare names, never absolute paths)."""
    record = {"tool": tool, **{k: Path(v).name if isinstance(v, str) else v for k, v in facts.items()}}
    return {"format": "pt", "graft.lora": json.dumps(record, sort_keys=True)}


def _default_output(source: str, suffix: str) -> str:
    src = Path(source)
    return str(src.with_name(src.name.rstrip("/") + suffix))


def extract_lora(args: ExtractArgs, progress: Progress = silent) -> ExtractResult:
    """A PEFT adapter that approximates TUNED − BASE at rank R, streamed tensor by tensor."""
    import torch

    from tools.safetensors_writer import TORCH_TO_ST, TensorSpec, atomic_folder, write_sharded
    from tools.tensor_reader import TensorReader

    start = time.perf_counter()
    output = args.output or _default_output(args.tuned, f"-lora-r{args.rank}")
    _check_output(output, {args.base: "BASE", args.tuned: "TUNED"}, args.overwrite)
    cb, ct = resolve_checkpoint(args.base), resolve_checkpoint(args.tuned)
    for ck, role in ((cb, "BASE"), (ct, "TUNED")):
        if ck.is_adapter:
            raise GraftError(f"{role} {ck.path} is an adapter; extract needs two full models.")
    hb, ht = load_headers(cb), load_headers(ct)
    base_where = {n: (h.path, i) for h in hb for n, i in h.tensors.items()}
    tuned_where = {n: (h.path, i) for h in ht for n, i in h.tensors.items()}
    for name in tuned_where:
        if name not in base_where:
            raise GraftError(f"TUNED has {name}, which BASE lacks: they are not the same architecture.")
    for name in base_where:
        if name not in tuned_where:
            raise GraftError(f"BASE has {name}, which TUNED lacks: they are not the same architecture.")
    for name, (_, info) in tuned_where.items():
        if tuple(info.shape) != tuple(base_where[name][1].shape):
            raise GraftError(
                f"{name} is {list(base_where[name][1].shape)} in BASE but {list(info.shape)} in TUNED "
                "(a resized vocabulary?); a LoRA adapter cannot change a tensor's shape."
            )
    if cb.config and ct.config and cb.config.get("model_type") != ct.config.get("model_type"):
        raise GraftError(
            f"BASE is a {cb.config.get('model_type')} model but TUNED is a {ct.config.get('model_type')} model."
        )
    kinds, tied = _module_kinds(cb.folder or Path(args.base).parent)
    dtype = getattr(torch, args.dtype)

    factors: dict[str, tuple[Any, Any]] = {}
    reports: list[ModuleReport] = []
    bias_modules: set[str] = set()
    save_modules: set[str] = set()
    not_captured: list[NotCaptured] = []
    identical = 0
    sums = {"delta": 0.0, "resid": 0.0, "tuned": 0.0}
    names = list(tuned_where)
    reader = TensorReader()
    try:
        for step, name in enumerate(names, 1):
            progress({"stage": TOOL, "kind": "progress", "step": step, "total": len(names), "message": name})
            tuned = reader.get(tuned_where[name][0], name)
            base = reader.get(base_where[name][0], name)
            if torch.equal(tuned, base):
                identical += 1
                continue
            module, _, leaf = name.rpartition(".")
            kind = kinds.get(module)
            if kind in ("linear", "conv1d") and leaf == "weight" and tuned.dim() == 2:
                delta = tuned.to(torch.float32) - base.to(torch.float32)
                matrix = delta.T if kind == "conv1d" else delta
                b, a, energy, _kept = _svd_factors(matrix, args.rank)
                b, a = b.to(dtype), a.to(dtype)  # the error reported is the error of the factors as stored
                resid = float(torch.linalg.norm(matrix - b.to(torch.float32) @ a.to(torch.float32))) ** 2
                dn = float(torch.linalg.norm(delta)) ** 2
                tn = float(torch.linalg.norm(tuned.to(torch.float32))) ** 2
                sums["delta"] += dn
                sums["resid"] += resid
                sums["tuned"] += tn
                factors[module] = (b, a)
                reports.append(
                    ModuleReport(
                        module=module,
                        kind=kind,  # type: ignore[arg-type]
                        shape=list(tuned.shape),
                        rank=args.rank,
                        retained_energy=energy,
                        relative_error=math.sqrt(resid / dn) if dn else 0.0,
                        weight_relative_error=math.sqrt(resid / tn) if tn else 0.0,
                    )
                )
            elif kind in ("linear", "conv1d") and leaf == "bias":
                bias_modules.add(module)
            elif kind in ("embedding", "other", "linear") and args.modules_to_save:
                save_modules.add(module)
            elif kind is None:
                not_captured.append(
                    NotCaptured(tensor=name, reason=f"the {type_name(cb)} model class has no module {module}.")
                )
            else:
                not_captured.append(
                    NotCaptured(tensor=name, reason="not a linear weight, and modules_to_save was turned off.")
                )
    finally:
        reader.close()

    notes: list[str] = []
    # A tied head (GPT-2's lm_head shares wte) is not stored; PEFT unties it, so save the head too.
    for out_module, in_module in tied.items():
        if in_module in save_modules:
            save_modules.add(out_module)
            notes.append(
                f"{out_module} is tied to {in_module}, which changed; both are stored whole, "
                "since PEFT unties them when it loads the adapter."
            )
    for module in bias_modules - set(factors):
        w = tuned_where[module + ".weight"][1]
        shape = tuple(w.shape) if kinds[module] == "linear" else tuple(w.shape)[::-1]
        factors[module] = (torch.zeros(shape[0], args.rank, dtype=dtype), torch.zeros(args.rank, shape[1], dtype=dtype))
        reports.append(
            ModuleReport(
                module=module,
                kind=kinds[module],  # type: ignore[arg-type]
                shape=list(w.shape),
                rank=args.rank,
                retained_energy=1.0,
                relative_error=0.0,
                weight_relative_error=0.0,
            )
        )
        notes.append(f"{module}: only its bias changed; it is targeted with zero LoRA factors to carry the bias.")
    if not factors and not save_modules:
        raise GraftError(
            f"{args.tuned} and {args.base} have no linear weights that differ"
            + (f"; {len(not_captured)} other tensor(s) do." if not_captured else ": the models are identical.")
        )

    # Tensors written: LoRA factors, lora_only biases, whole modules (from TUNED, read again at write time).
    st = TORCH_TO_ST[args.dtype]
    specs: list[TensorSpec] = []
    sources: dict[str, Any] = {}
    for module in sorted(factors):
        b, a = factors[module]
        for key, tensor in ((f"{PREFIX}{module}.lora_A.weight", a), (f"{PREFIX}{module}.lora_B.weight", b)):
            specs.append(TensorSpec(key, st, tuple(tensor.shape)))
            sources[key] = tensor
    bias_all = sorted(m for m in factors if m + ".bias" in tuned_where) if bias_modules else []
    for module in bias_all:
        info = tuned_where[module + ".bias"][1]
        key = f"{PREFIX}{module}.base_layer.bias"
        specs.append(TensorSpec(key, info.dtype, tuple(info.shape)))
        sources[key] = module + ".bias"
    for module in sorted(save_modules):
        params = [n for n in tuned_where if n.rpartition(".")[0] == module]
        if not params and module in tied:
            params = [tied[module] + ".weight"]
        for tname in sorted(params):
            leaf = tname.rpartition(".")[2]
            info = tuned_where[tname][1]
            key = f"{PREFIX}{module}.{leaf}"
            specs.append(TensorSpec(key, info.dtype, tuple(info.shape)))
            sources[key] = tname

    reader = TensorReader()

    def produce(spec: TensorSpec) -> Any:
        source = sources[spec.name]
        if isinstance(source, str):
            return reader.get(tuned_where[source][0], source)
        return source.contiguous()

    conv = {m for m in factors if kinds[m] == "conv1d"}
    if conv and conv != set(factors):
        notes.append("the targets mix Conv1D and Linear modules; PEFT sets fan_in_fan_out per module when it loads.")
    config = _lora_config(
        base=args.base,
        rank=args.rank,
        targets=_short_or_full_targets(set(factors), kinds),
        fan_in_fan_out=bool(conv) and conv == set(factors),
        modules_to_save=sorted(save_modules) or None,
        bias="lora_only" if bias_all else "none",
    )
    try:
        with atomic_folder(Path(output), args.overwrite) as tmp:
            meta = _metadata("extract", base=args.base, tuned=args.tuned, rank=args.rank, dtype=args.dtype)
            write_sharded(tmp, specs, produce, meta, "1000GB", prefix="adapter_model")
            _write_json(tmp / "adapter_config.json", config)
    finally:
        reader.close()
    for nc in not_captured:
        notes.append(f"not captured: {nc.tensor} ({nc.reason})")
    return ExtractResult(
        output=output,
        rank=args.rank,
        modules=reports,
        modules_to_save=sorted(save_modules),
        biases=bias_all,
        not_captured=not_captured,
        identical_tensors=identical,
        retained_energy=1 - sums["resid"] / sums["delta"] if sums["delta"] else 1.0,
        relative_error=math.sqrt(sums["resid"] / sums["delta"]) if sums["delta"] else 0.0,
        weight_relative_error=math.sqrt(sums["resid"] / sums["tuned"]) if sums["tuned"] else 0.0,
        adapter_bytes=sum(s.nbytes for s in specs),
        seconds=time.perf_counter() - start,
        notes=notes,
    )


def type_name(ckpt: Any) -> str:
    return (ckpt.config or {}).get("model_type") or "base"


def _lora_config(**kw: Any) -> dict[str, Any]:
    """adapter_config.json exactly as this PEFT version writes it for these settings."""
    from peft import LoraConfig

    config = LoraConfig(
        r=kw["rank"],
        lora_alpha=kw["rank"],  # scale 1: the factors carry ΔW itself
        target_modules=kw["targets"],
        fan_in_fan_out=kw["fan_in_fan_out"],
        modules_to_save=kw["modules_to_save"],
        bias=kw["bias"],
        base_model_name_or_path=kw["base"],
        task_type="CAUSAL_LM",
    )
    data = config.to_dict()
    for key, value in list(data.items()):
        if isinstance(value, set):
            data[key] = sorted(value)
    return json.loads(json.dumps(data, default=str))


def _write_json(path: Path, data: dict[str, Any]) -> None:
    from tools.safetensors_writer import write_json

    write_json(path, data)


# ---------------------------------------------------------------------------------------------
# Resize


def _lowrank_svd(b: Any, a: Any) -> tuple[Any, Any, Any]:
    """SVD of B·A (B: out×r, A: r×in) through two thin QRs: U, S, Vh of rank ≤ r, exact."""
    import torch

    qb, rb = torch.linalg.qr(b)
    qa, ra = torch.linalg.qr(a.T)
    u, s, vh = torch.linalg.svd(rb @ ra.T)
    return qb @ u, s, vh @ qa.T


def resize_lora(args: ResizeArgs, progress: Progress = silent) -> ResizeResult:
    """Lower an adapter's rank by SVD of B·A, keeping lora_alpha and putting the scale change into the factors."""
    import torch

    from tools.safetensors_writer import TORCH_TO_ST, TensorSpec, atomic_folder, write_sharded
    from tools.tensor_reader import TensorReader

    start = time.perf_counter()
    adapter = read_adapter(args.adapter)
    cfg = adapter.config
    if cfg.get("use_dora") or any(m.magnitude for m in adapter.modules.values()):
        raise GraftError(
            f"{args.adapter} is a DoRA adapter; its magnitude is normalised against B·A, "
            "so lowering the rank would change it: resizing DoRA is refused."
        )
    if adapter.unknown:
        raise GraftError(f"{args.adapter} holds {adapter.unknown[0]}, which resize does not know how to carry.")
    top = max(m.rank for m in adapter.modules.values())
    if args.rank >= top:
        raise GraftError(f"{args.adapter} already has rank {top}; give a lower --rank to resize it.")
    output = args.output or _default_output(args.adapter, f"-r{args.rank}")
    _check_output(output, {args.adapter: "the adapter being resized"}, args.overwrite)
    rslora = bool(cfg.get("use_rslora"))
    reader = TensorReader()
    produced: dict[str, Any] = {}
    reports: list[ModuleReport] = []
    rank_pattern: dict[str, int] = {}
    total_energy = kept_energy = 0.0
    handled: set[str] = set()
    try:
        for step, (name, mod) in enumerate(adapter.modules.items(), 1):
            progress({"stage": TOOL, "kind": "progress", "step": step, "total": len(adapter.modules), "message": name})
            a = reader.get(adapter.file, mod.a)
            b = reader.get(adapter.file, mod.b)
            handled.update({mod.a, mod.b})
            new_rank = min(args.rank, mod.rank)
            if new_rank != args.rank:
                rank_pattern[name] = new_rank
            alpha = float(pattern_value(cfg.get("alpha_pattern") or {}, name, cfg.get("lora_alpha", 8)))
            new_scale = alpha / math.sqrt(new_rank) if rslora else alpha / new_rank
            ratio = mod.scale / new_scale
            u, s, vh = _lowrank_svd(b.to(torch.float32), a.to(torch.float32))
            total = float((s.double() ** 2).sum())
            kept = float((s[:new_rank].double() ** 2).sum())
            total_energy += total * mod.scale**2
            kept_energy += kept * mod.scale**2
            root = (s[:new_rank] * ratio).sqrt()
            produced[mod.b] = (u[:, :new_rank] * root).to(b.dtype).contiguous()
            produced[mod.a] = (root[:, None] * vh[:new_rank]).to(a.dtype).contiguous()
            if mod.lora_bias:  # PEFT scales lora_B's bias together with B·A
                bias = reader.get(adapter.file, mod.lora_bias)
                produced[mod.lora_bias] = (bias.to(torch.float32) * ratio).to(bias.dtype)
                handled.add(mod.lora_bias)
            energy = kept / total if total > 0 else 1.0
            reports.append(
                ModuleReport(
                    module=name,
                    kind="embedding" if mod.kind == "embedding" else ("conv1d" if adapter.fan_in_fan_out else "linear"),
                    shape=[b.shape[0], a.shape[1]],
                    rank=new_rank,
                    old_rank=mod.rank,
                    retained_energy=energy,
                    relative_error=math.sqrt(max(0.0, 1 - energy)),
                )
            )
        header_specs = [(k, shape) for k, shape in adapter.shapes.items()]
        from tools.safetensors_header import read_header

        dtypes = {k: v.dtype for k, v in read_header(adapter.file).tensors.items()}
        specs: list[TensorSpec] = []
        for key, shape in header_specs:
            if key in produced:
                t = produced[key]
                specs.append(TensorSpec(key, TORCH_TO_ST[str(t.dtype).removeprefix("torch.")], tuple(t.shape)))
            else:
                specs.append(TensorSpec(key, dtypes[key], tuple(shape)))
        copied = [k for k in adapter.shapes if k not in handled]

        def produce(spec: TensorSpec) -> Any:
            return produced[spec.name] if spec.name in produced else reader.get(adapter.file, spec.name)

        new_cfg = dict(cfg)
        new_cfg["r"] = args.rank
        new_cfg["rank_pattern"] = rank_pattern
        folder = resolve_checkpoint(args.adapter).folder or adapter.file.parent
        with atomic_folder(Path(output), args.overwrite) as tmp:
            meta = _metadata("resize", adapter=args.adapter, rank=args.rank)
            write_sharded(tmp, specs, produce, meta, "1000GB", prefix="adapter_model")
            _write_json(tmp / "adapter_config.json", new_cfg)
            for side in ("README.md",):
                if (folder / side).is_file():
                    (tmp / side).write_bytes((folder / side).read_bytes())
    finally:
        reader.close()
    retained = kept_energy / total_energy if total_energy else 1.0
    return ResizeResult(
        output=output,
        rank=args.rank,
        modules=reports,
        copied=copied,
        retained_energy=retained,
        relative_error=math.sqrt(max(0.0, 1 - retained)),
        adapter_bytes=sum(s.nbytes for s in specs),
        seconds=time.perf_counter() - start,
    )


# ---------------------------------------------------------------------------------------------
# Check


def summarise_adapter(adapter: AdapterFile) -> AdapterSummary:
    cfg = adapter.config
    short: dict[str, int] = {}
    for name in adapter.modules:
        leaf = name.rsplit(".", 1)[-1]
        short[leaf] = short.get(leaf, 0) + 1
    layers = sorted({i for n in adapter.modules if (i := layer_index(n)) is not None})
    ranks: dict[str, int] = {}
    for m in adapter.modules.values():
        ranks[str(m.rank)] = ranks.get(str(m.rank), 0) + 1
    return AdapterSummary(
        path=str(adapter.path),
        peft_type=cfg.get("peft_type"),
        r=cfg.get("r"),
        alpha=cfg.get("lora_alpha"),
        use_dora=bool(cfg.get("use_dora")),
        use_rslora=bool(cfg.get("use_rslora")),
        base_model=cfg.get("base_model_name_or_path"),
        modules=sorted(adapter.modules),
        module_names=dict(sorted(short.items())),
        layers=layers,
        ranks=ranks if len(ranks) > 1 else {},
        whole_tensors=sorted(adapter.whole),
    )


def fit_adapter(adapter: AdapterFile, base: str) -> Fit:
    """Does `adapter` fit the model at `base`: module names, shapes, and (when known) architecture."""
    fit = Fit(adapter=str(adapter.path), fits=True)
    ckpt = resolve_checkpoint(base)
    if ckpt.is_adapter:
        raise GraftError(f"{base} is an adapter, not a base model.")
    shapes = {n: tuple(i.shape) for h in load_headers(ckpt) for n, i in h.tensors.items()}
    problems = fit.problems
    made_for = adapter.config.get("base_model_name_or_path")
    if made_for and ckpt.config and (Path(made_for) / "config.json").is_file():
        try:
            theirs = json.loads((Path(made_for) / "config.json").read_text(encoding="utf-8")).get("model_type")
        except (OSError, ValueError):
            theirs = None
        ours = ckpt.config.get("model_type")
        if theirs and ours and theirs != ours:
            problems.append(
                f"{adapter.path} was trained on a {theirs} model ({made_for}), but {base} is a {ours} model."
            )
    for name, mod in adapter.modules.items():
        weight = shapes.get(name + ".weight")
        if weight is None:
            problems.append(f"{adapter.path} adapts {name}, which {base} does not have.")
            continue
        a, b = adapter.shapes[mod.a], adapter.shapes[mod.b]
        if mod.kind == "embedding":  # A: r × num_embeddings, B: dim × r; weight: num × dim
            got = (a[1], b[0]) if len(a) == 2 and len(b) == 2 else None
            expect = tuple(weight)
        else:  # A: r × in, B: out × r
            got = (b[0], a[1]) if len(a) == 2 and len(b) == 2 else None
            expect = tuple(weight)[::-1] if adapter.fan_in_fan_out else tuple(weight)
        if got != expect:
            if got is not None and got == expect[::-1] and mod.kind != "embedding":
                fit.notes.append(
                    f"{name}: the factors fit the transposed weight; adapter_config.json's fan_in_fan_out "
                    "does not match this layer type (PEFT corrects it per layer when it loads)."
                )
                continue
            implied = got if got is None or mod.kind == "embedding" or not adapter.fan_in_fan_out else got[::-1]
            problems.append(
                f"{adapter.path} expects {name} to be {list(implied) if implied else 'a matrix'}, "
                f"but it is {list(weight)} in {base}."
            )
    for key, target in adapter.whole.items():
        if target not in shapes:
            problems.append(f"{adapter.path} stores {target} whole, which {base} does not have.")
        elif tuple(shapes[target]) != tuple(adapter.shapes[key]):
            problems.append(
                f"{adapter.path} stores {target} as {list(adapter.shapes[key])}, but it is {list(shapes[target])} in {base}."
            )
    for key in adapter.unknown:
        fit.notes.append(f"{key}: a tensor kind the check does not read.")
    fit.fits = not problems
    return fit


def _factor_gram(reader: Any, adapter: AdapterFile, mod: LoraModule) -> tuple[Any, Any]:
    import torch

    return (
        reader.get(adapter.file, mod.b).to(torch.float64) * mod.scale,
        reader.get(adapter.file, mod.a).to(torch.float64),
    )


def overlap(x: AdapterFile, y: AdapterFile, progress: Progress = silent) -> Overlap:
    """Shared modules of two adapters and the cosine of their ΔW in each (from the factors, never forming ΔW)."""
    import torch

    from tools.tensor_reader import TensorReader

    shared = sorted(set(x.modules) & set(y.modules))
    result = Overlap(
        a=str(x.path),
        b=str(y.path),
        only_a=len(set(x.modules) - set(y.modules)),
        only_b=len(set(y.modules) - set(x.modules)),
    )
    with TensorReader() as reader:
        for step, name in enumerate(shared, 1):
            progress({"stage": TOOL, "kind": "progress", "step": step, "total": len(shared), "message": name})
            mx, my = x.modules[name], y.modules[name]
            bx, ax = _factor_gram(reader, x, mx)
            by, ay = _factor_gram(reader, y, my)
            if _delta_orientation(x, mx) == _delta_orientation(y, my):
                inner = float(torch.trace((bx.T @ by) @ (ay @ ax.T)))
            else:
                inner = float((bx @ ax * (by @ ay).T).sum())
            nx = float(torch.trace((bx.T @ bx) @ (ax @ ax.T))) ** 0.5
            ny = float(torch.trace((by.T @ by) @ (ay @ ay.T))) ** 0.5
            cosine = inner / (nx * ny) if nx > 0 and ny > 0 else 0.0
            result.shared.append(ModuleCosine(module=name, cosine=round(cosine, 6)))
    cosines = [m.cosine for m in result.shared]
    dora = [str(f.path) for f in (x, y) if f.config.get("use_dora")]
    if not cosines:
        result.verdict = "they touch no module in common, so merging them cannot fight."
        return result
    result.mean_cosine = sum(cosines) / len(cosines)
    result.min_cosine = min(cosines)
    result.opposed = sum(c < -0.2 for c in cosines)
    if result.opposed:
        result.verdict = (
            f"they pull in opposite directions in {result.opposed} of {len(cosines)} shared modules "
            f"(cosine down to {result.min_cosine:.2f}): a plain sum partly cancels them; TIES resolves sign conflicts."
        )
    elif result.mean_cosine > 0.2:
        result.verdict = (
            f"they push the same way (mean cosine {result.mean_cosine:.2f} over {len(cosines)} shared modules): "
            "summing them amplifies the shared direction; consider weights below 1."
        )
    else:
        result.verdict = (
            f"they are nearly orthogonal (mean cosine {result.mean_cosine:.2f} over {len(cosines)} shared modules): "
            "a merge should not fight."
        )
    if dora:
        result.verdict += f" ({', '.join(dora)} is DoRA: the cosine compares B·A, not the magnitude rescaling.)"
    return result


def check_lora(args: CheckArgs, progress: Progress = silent) -> CheckResult:
    """Describe an adapter, check it (and the others) against a base, and compare the adapters pairwise."""
    adapters = [read_adapter(p) for p in [args.adapter, *args.others]]
    result = CheckResult(adapters=[summarise_adapter(a) for a in adapters], base=args.base)
    if args.base:
        for adapter in adapters:
            fit = fit_adapter(adapter, args.base)
            result.fits.append(fit)
            if not fit.fits and result.problem is None:
                extra = len(fit.problems) - 1
                result.problem = fit.problems[0] + (f" ({extra} more problem(s))" if extra > 0 else "")
    for i, x in enumerate(adapters):
        for y in adapters[i + 1 :]:
            result.overlaps.append(overlap(x, y, progress))
    result.ok = result.problem is None
    return result

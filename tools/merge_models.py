"""The `merge_models` stage: mergekit through its Python API (MergeConfiguration, run_merge).

The mergekit YAML that was run is saved beside the output, so the person can rerun or tweak
it with `mergekit-yaml` directly. Randomised methods (DARE, DELLA) draw their masks from a
seed that is part of the spec, passed to mergekit as `random_seed` and written into that
YAML's header: the same plan gives the same bytes. Each method gets the inputs it needs
(a base for task-vector methods and nearswap, `t` for slerp and nearswap) or is refused
before anything runs, in one sentence.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from tools.errors import GraftError
from tools.progress import Progress, silent
from tools.safetensors_writer import atomic_folder

MergeMethod = Literal[
    "linear",
    "slerp",
    "ties",
    "dare_ties",
    "dare_linear",
    "task_arithmetic",
    "breadcrumbs",
    "della",
    "della_linear",
    "model_stock",
    "nearswap",
]
_NEEDS_BASE = set(get_args(MergeMethod)) - {"linear", "slerp"}  # every other method merges task vectors
_USES_DENSITY = {"ties", "dare_ties", "dare_linear", "breadcrumbs", "della", "della_linear"}
RANDOMISED = {"dare_ties", "dare_linear", "della", "della_linear"}


class MergeModelsSpec(BaseModel):
    """A mergekit merge (the plan's merge_models fields)."""

    method: MergeMethod = "ties"
    models: list[str] = Field(description="Models to merge: '@<stage-id>', '@base' or paths.")
    weights: list[float] = Field(default_factory=list, description="One per model; default equal.")
    base: str = Field("@base", description="The common ancestor for task-vector methods.")
    density: float = Field(0.5, gt=0, le=1)
    t: float = Field(
        0.5, ge=0, le=1, description="SLERP: interpolation factor (0 = first model); nearswap: similarity threshold."
    )
    seed: int = Field(0, ge=0, description="Seed for the random masks of dare_* and della*: same plan, same bytes.")
    max_shard_size: str = "5GB"


class MergeModelsResult(BaseModel):
    output: str
    method: str
    models: list[str]
    config_yaml: str
    seconds: float
    seed: int | None = None


def check_merge_inputs(method: str, models: list[str], base: str | None, weights: list[float]) -> None:
    """Refuse, in one sentence and before anything runs, a merge that its method cannot take."""
    if method == "slerp" and len(models) != 2:
        raise GraftError(f"SLERP merges exactly two models; {len(models)} were given.")
    if method in _NEEDS_BASE and not base:
        raise GraftError(f"a {method} merge needs a base model (the models' common ancestor).")
    others = [m for m in models if m != base]
    if method == "nearswap" and len(others) != 1:
        raise GraftError(f"nearswap merges the base with exactly one other model; {len(others)} were given.")
    if method == "model_stock" and len(others) < 2:
        raise GraftError(f"model_stock needs at least two models besides the base; {len(others)} were given.")
    if len(models) < 2 and method not in _NEEDS_BASE:
        raise GraftError(f"a {method} merge needs at least two models.")
    if weights and len(weights) != len(models):
        raise GraftError(f"{len(models)} models but {len(weights)} weights.")
    if method in _NEEDS_BASE and base in models and weights:
        # mergekit merges the others' task vectors against the base: the base's own weight is read and ignored
        raise GraftError(
            f"a {method} merge adds the other models' differences from the base to it, and mergekit gives the base "
            f"itself no weight: its weight {weights[models.index(base)]:g} would not be applied. Leave the base out "
            "of the weights (the others' weights are normalised), or merge with linear."
        )


def mergekit_config(spec: MergeModelsSpec, models: list[str], base: str | None) -> dict[str, Any]:
    """The mergekit configuration dict for this merge (resolved paths)."""
    check_merge_inputs(spec.method, models, base, spec.weights)
    weights = spec.weights or [round(1.0 / len(models), 6)] * len(models)
    config: dict[str, Any] = {"merge_method": spec.method, "dtype": "float32"}
    if spec.method == "slerp":
        config.update(base_model=models[0], models=[{"model": m} for m in models], parameters={"t": spec.t})
    elif spec.method == "nearswap":
        other = next(m for m in models if m != base)
        config.update(base_model=base, models=[{"model": base}, {"model": other}], parameters={"t": spec.t})
    else:
        entries = []
        for model, weight in zip(models, weights, strict=True):
            params: dict[str, float] = {"weight": weight}
            if spec.method in _USES_DENSITY:
                params["density"] = spec.density
            entries.append({"model": model, "parameters": params})
        config["models"] = entries
        if spec.method in _NEEDS_BASE:
            config["base_model"] = base
    return config


def mergekit_yaml(spec: MergeModelsSpec, config: dict[str, Any]) -> str:
    """The YAML a person reruns with `mergekit-yaml`; a randomised method's seed is in its header."""
    import yaml

    text = yaml.safe_dump(config, sort_keys=False)
    if spec.method in RANDOMISED:
        text = (
            f"# {spec.method} draws random masks: rerun with the same seed for the same weights:\n"
            f"#   mergekit-yaml mergekit_config.yml OUT --random-seed {spec.seed}\n" + text
        )
    return text


def merge_models(
    spec: MergeModelsSpec,
    models: list[str],
    base: str | None,
    output: str,
    stage_id: str = "merge_models",
    progress: Progress = silent,
    overwrite: bool = False,
) -> MergeModelsResult:
    """Run mergekit on resolved model paths and write a model folder at `output`."""
    from mergekit.config import MergeConfiguration
    from mergekit.merge import run_merge
    from mergekit.options import MergeOptions
    from pydantic import ValidationError

    start = time.perf_counter()
    # Absolute paths: mergekit takes a relative "a/b" for a Hub repo id and would go online.
    models = [str(Path(m).resolve()) for m in models]
    base = str(Path(base).resolve()) if base else None
    for path in [*models, *([base] if base else [])]:
        if not (Path(path) / "config.json").is_file():
            raise GraftError(f"{path} is not a model folder with config.json.")
    config = mergekit_config(spec, models, base)
    try:
        merge_config = MergeConfiguration.model_validate(config)
    except ValidationError as exc:
        raise GraftError(f"mergekit rejects the merge: {exc.errors()[0]['msg']}.") from None
    text = mergekit_yaml(spec, config)
    options = MergeOptions(
        random_seed=spec.seed,
        copy_tokenizer=True,
        lazy_unpickle=False,
        low_cpu_memory=True,
        out_shard_size=_shard_bytes(spec.max_shard_size),
        safe_serialization=True,
        quiet=True,
        write_model_card=True,
        allow_crimes=False,
    )
    progress({"stage": stage_id, "kind": "progress", "step": 0, "total": 1, "message": f"mergekit {spec.method}"})
    with atomic_folder(Path(output), overwrite) as tmp:
        try:
            run_merge(merge_config, str(tmp), options=options, config_source=text)
        except (RuntimeError, ValueError, KeyError) as exc:
            raise GraftError(f"mergekit failed: {str(exc).strip().rstrip('.')}.") from None
        (tmp / "mergekit_config.yml").write_text(text, encoding="utf-8")
    progress({"stage": stage_id, "kind": "progress", "step": 1, "total": 1})
    return MergeModelsResult(
        output=output,
        method=spec.method,
        models=models,
        config_yaml=text,
        seconds=time.perf_counter() - start,
        seed=spec.seed if spec.method in RANDOMISED else None,
    )


def _shard_bytes(size: str) -> int:
    from tools.safetensors_writer import parse_size

    return parse_size(size)

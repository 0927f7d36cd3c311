"""The `merge_models` stage: mergekit through its Python API (MergeConfiguration, run_merge).

The mergekit YAML that was run is saved beside the output, so the person can rerun or tweak
it with `mergekit-yaml` directly.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

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
    "model_stock",
    "nearswap",
]
_NEEDS_BASE = {"ties", "dare_ties", "dare_linear", "task_arithmetic", "breadcrumbs", "della", "model_stock"}
_USES_DENSITY = {"ties", "dare_ties", "dare_linear", "breadcrumbs", "della"}


class MergeModelsSpec(BaseModel):
    """A mergekit merge (the plan's merge_models fields)."""

    method: MergeMethod = "ties"
    models: list[str] = Field(description="Models to merge: '@<stage-id>', '@base' or paths.")
    weights: list[float] = Field(default_factory=list, description="One per model; default equal.")
    base: str = Field("@base", description="The common ancestor for task-vector methods.")
    density: float = Field(0.5, gt=0, le=1)
    t: float = Field(0.5, ge=0, le=1, description="SLERP interpolation factor (0 = first model).")
    max_shard_size: str = "5GB"


class MergeModelsResult(BaseModel):
    output: str
    method: str
    models: list[str]
    config_yaml: str
    seconds: float


def mergekit_config(spec: MergeModelsSpec, models: list[str], base: str | None) -> dict[str, Any]:
    """The mergekit configuration dict for this merge (resolved paths)."""
    if spec.method == "slerp" and len(models) != 2:
        raise GraftError(f"SLERP merges exactly two models; this stage names {len(models)}.")
    if len(models) < 2 and spec.method not in _NEEDS_BASE:
        raise GraftError(f"a {spec.method} merge needs at least two models.")
    weights = spec.weights or [round(1.0 / len(models), 6)] * len(models)
    if len(weights) != len(models):
        raise GraftError(f"{len(models)} models but {len(weights)} weights.")
    config: dict[str, Any] = {"merge_method": spec.method, "dtype": "float32", "out_dtype": None}
    if spec.method == "slerp":
        config.update(base_model=models[0], models=[{"model": m} for m in models], parameters={"t": spec.t})
    else:
        entries = []
        for model, weight in zip(models, weights, strict=True):
            params: dict[str, float] = {"weight": weight}
            if spec.method in _USES_DENSITY:
                params["density"] = spec.density
            entries.append({"model": model, "parameters": params})
        config["models"] = entries
        if spec.method in _NEEDS_BASE:
            if base is None:
                raise GraftError(f"a {spec.method} merge needs a base model (the models' common ancestor).")
            config["base_model"] = base
    config.pop("out_dtype")
    return config


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
    import yaml
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
            raise GraftError(f"stage {stage_id}: {path} is not a model folder with config.json.")
    config = mergekit_config(spec, models, base)
    try:
        merge_config = MergeConfiguration.model_validate(config)
    except ValidationError as exc:
        raise GraftError(f"stage {stage_id}: mergekit rejects the merge: {exc.errors()[0]['msg']}.") from None
    text = yaml.safe_dump(config, sort_keys=False)
    options = MergeOptions(
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
            raise GraftError(f"stage {stage_id}: mergekit failed: {exc}.") from None
        (tmp / "mergekit_config.yml").write_text(text, encoding="utf-8")
    progress({"stage": stage_id, "kind": "progress", "step": 1, "total": 1})
    return MergeModelsResult(
        output=output, method=spec.method, models=models, config_yaml=text, seconds=time.perf_counter() - start
    )


def _shard_bytes(size: str) -> int:
    from tools.safetensors_writer import parse_size

    return parse_size(size)

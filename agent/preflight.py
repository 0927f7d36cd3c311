"""Checks on a plan's destination before its first stage runs: the person's files are never at risk.

A run that trains for an hour and then cannot write is a waste; a run whose `--overwrite`
would delete the base model, the plan's own folder or `.` is a disaster. Both are refused
here, with the reason, before anything runs.
"""

from __future__ import annotations

import os
from pathlib import Path

from agent.plan import Plan
from tools.errors import GraftError
from tools.safetensors_writer import check_free_space, check_output_path


def plan_output(plan: Plan) -> str | None:
    """Where the plan's write stage puts the final model, or None when it has no write stage."""
    for stage in plan.stages:
        if stage.kind == "write":
            return getattr(stage, "output", None) or plan.output
    return None


def protected_paths(plan: Plan, plan_path: Path | None, run_dir: Path | None) -> dict[Path, str]:
    """Every path the run reads or keeps, with what it is: an output may be none of them, nor hold one."""
    paths: dict[Path, str] = {Path.cwd().resolve(): "the working folder", Path.home().resolve(): "your home folder"}
    paths[Path(plan.base_model).resolve()] = "the base model"
    if plan_path is not None:
        paths[plan_path.resolve()] = "the plan file"
        paths[plan_path.resolve().parent] = "the plan's folder"
    if run_dir is not None:
        paths[run_dir.resolve()] = "the run folder"
    for stage in plan.stages:
        for attr in ("dataset", "source", "input", "base"):
            value = getattr(stage, attr, None)
            if isinstance(value, str) and value and not value.startswith("@"):
                paths[Path(value).resolve()] = f"an input of stage {stage.id}"
        for attr in ("models", "adapters"):
            for value in getattr(stage, attr, None) or []:
                if isinstance(value, str) and value and not value.startswith("@"):
                    paths[Path(value).resolve()] = f"an input of stage {stage.id}"
    return paths


def nearest_existing(path: Path) -> Path:
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable(output: str, needed_bytes: int | None) -> None:
    """The folder the output will be created in (or its nearest existing ancestor) is writable and has room."""
    parent = Path(output).resolve().parent
    anchor = nearest_existing(parent)
    if not anchor.is_dir():
        raise GraftError(f"cannot create {output}: {anchor} is not a folder.")
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise GraftError(f"cannot write {output}: {anchor} is not writable.")
    if needed_bytes:
        check_free_space(anchor, needed_bytes)


def preflight(
    plan: Plan,
    plan_path: Path | None = None,
    run_dir: Path | None = None,
    overwrite: bool | None = None,
    needed_bytes: int | None = None,
) -> None:
    """All destination checks for one run. `overwrite=None`: the person will be asked at the write,
    so an existing output is refused only when it could never be replaced (not Graft's own)."""
    output = plan_output(plan)
    if output is None:
        return
    protected = protected_paths(plan, plan_path, run_dir)
    check_output_path(output, protected, True if overwrite is None else overwrite)
    check_writable(output, needed_bytes)

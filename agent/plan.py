"""The plan: the one source of truth for YAML files, `graft plan --json`, the LLM's schema and the executor.

A plan is a goal, a base model, an output and ordered stages. A stage's input is the previous
stage's output unless it names one: `@base` is the base model, `@<stage-id>` a stage's output.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)

from tools.errors import GraftError
from tools.merge_adapter import MergeAdapterSpec
from tools.merge_models import MergeModelsSpec
from tools.training import PreferenceSpec, SFTSpec
from tools.write import WriteSpec

StageKind = Literal["convert", "sft", "preference", "merge_adapter", "merge_models", "write"]
STAGE_KINDS: tuple[str, ...] = ("convert", "sft", "preference", "merge_adapter", "merge_models", "write")
LEGACY_KINDS = {"dpo": ("preference", "dpo")}  # kind: dpo (plans saved before `preference`) → method dpo


class _Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: str = Field("", description="Unique stage name; also the stage's folder in the run folder.")
    input: str | None = Field(None, description="'@base', '@<stage-id>' or a path; default: previous output.")
    notes: str | None = None

    @model_serializer(mode="wrap")
    def _kind_first(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if not isinstance(data, dict):
            return data
        first = ("kind", "id", "method") if data.get("kind") == "preference" else ("kind", "id")
        head = {key: data.pop(key) for key in first if key in data}
        return {**head, **data}

    def spec_hash(self) -> str:
        """Identity of what the stage does (not its notes), for skipping unchanged reruns."""
        data = self.model_dump(exclude={"notes"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


class ConvertStage(_Stage):
    kind: Literal["convert"] = "convert"
    source: str = Field(description="A .bin/.pt file or folder to turn into safetensors.")


class SFTStage(_Stage, SFTSpec):
    kind: Literal["sft"] = "sft"


class PreferenceStage(_Stage, PreferenceSpec):
    kind: Literal["preference"] = "preference"


DPOStage = PreferenceStage  # the old name


class MergeAdapterStage(_Stage, MergeAdapterSpec):
    kind: Literal["merge_adapter"] = "merge_adapter"


class MergeModelsStage(_Stage, MergeModelsSpec):
    kind: Literal["merge_models"] = "merge_models"


class WriteStage(_Stage, WriteSpec):
    kind: Literal["write"] = "write"


Stage = Annotated[
    ConvertStage | SFTStage | PreferenceStage | MergeAdapterStage | MergeModelsStage | WriteStage,
    Field(discriminator="kind"),
]
TRAINING_KINDS = ("sft", "preference")


def upgrade_stage(data: Any) -> Any:
    """A stage saved with a legacy kind (`kind: dpo`), as the stage it is now (`preference`, method dpo)."""
    if isinstance(data, dict) and data.get("kind") in LEGACY_KINDS:
        kind, method = LEGACY_KINDS[data["kind"]]
        if data.get("method") not in (None, method):
            raise ValueError(f"a {data['kind']} stage has method {method}, not {data['method']!r}")
        data = {**data, "kind": kind, "method": method}
    return data


class Plan(BaseModel):
    """A staged post-training plan."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    goal: str
    base_model: str
    output: str = "graft-output"
    stages: list[Stage]
    notes: list[str] = Field(default_factory=list, description="What the planner assumed.")

    @model_validator(mode="before")
    @classmethod
    def _legacy_kinds(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("stages"), list):
            data = {**data, "stages": [upgrade_stage(s) for s in data["stages"]]}
        return data

    @model_validator(mode="after")
    def _ids_and_order(self) -> Plan:
        counts: dict[str, int] = {}
        for stage in self.stages:
            if not stage.id:
                counts[stage.kind] = counts.get(stage.kind, 0) + 1
                stage.id = stage.kind.replace("_", "-") + (f"-{counts[stage.kind]}" if counts[stage.kind] > 1 else "")
        ids = [s.id for s in self.stages]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"stage ids must be unique; repeated: {', '.join(sorted(dupes))}")
        for sid in ids:
            if not sid.replace("-", "").replace("_", "").isalnum():
                raise ValueError(f"stage id {sid!r} may use only letters, digits, '-' and '_'")
        writes = [i for i, s in enumerate(self.stages) if s.kind == "write"]
        if len(writes) > 1 or (writes and writes[0] != len(self.stages) - 1):
            raise ValueError("a plan has at most one write stage, and it comes last")
        return self

    def stage(self, stage_id: str) -> Stage:
        for s in self.stages:
            if s.id == stage_id:
                return s
        raise GraftError(f"the plan has no stage {stage_id!r}.")


def _format_validation(exc: ValidationError, source: str) -> str:
    first = exc.errors()[0]
    loc = first.get("loc", ())
    where = ""
    if len(loc) >= 2 and loc[0] == "stages" and isinstance(loc[1], int):
        where = f"stage {loc[1] + 1}"
        rest = [str(p) for p in loc[2:] if p not in STAGE_KINDS]
        if rest:
            where += f" field {'.'.join(rest)}"
    elif loc:
        where = "field " + ".".join(str(p) for p in loc)
    msg = first.get("msg", "invalid").removeprefix("Value error, ")
    if first.get("type") == "union_tag_invalid":
        tag = (first.get("ctx") or {}).get("tag", "?")
        msg = f"unknown stage kind {tag!r}; expected one of {', '.join(STAGE_KINDS)}"
    more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
    return f"{source}: {where + ': ' if where else ''}{msg}{more}."


def plan_from_data(data: Any, source: str = "plan") -> Plan:
    """Build a Plan from parsed YAML/JSON, turning pydantic's report into one sentence."""
    if not isinstance(data, dict):
        raise GraftError(f"{source} is not a plan: expected a mapping with goal, base_model and stages.")
    # `graft plan --json` adds who planned; a saved copy of that output still runs as the plan it holds.
    data = {k: v for k, v in data.items() if k not in ("planner", "planner_note")}
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise GraftError(_format_validation(exc, source)) from None


MAX_PLAN_BYTES = 1 << 20  # a plan is a page of YAML; anything larger is not one (and YAML parsing is slow)


def load_plan(path: str | Path) -> Plan:
    """Read a plan YAML file: a regular file of at most 1 MiB."""
    import stat

    path = Path(path)
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise GraftError(f"{path} is not a regular file.")
        if st.st_size > MAX_PLAN_BYTES:
            raise GraftError(f"{path} is {st.st_size:,} bytes; a plan file is at most {MAX_PLAN_BYTES:,}.")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GraftError(f"{path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GraftError(f"cannot read {path}: {exc}.") from None
    return plan_from_yaml(text, str(path))


def plan_from_yaml(text: str, source: str = "plan") -> Plan:
    """Parse plan YAML (a file's text or an edit in the TUI) into a Plan, or one clear GraftError."""
    import yaml

    if len(text) > MAX_PLAN_BYTES:
        raise GraftError(f"{source} is {len(text):,} characters; a plan is at most {MAX_PLAN_BYTES:,}.")
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise GraftError(f"{source} is nested too deeply to be a plan.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise GraftError(f"{source} is not valid YAML{where}.") from None
    return plan_from_data(data, source)


def plan_to_yaml(plan: Plan) -> str:
    import yaml

    return yaml.safe_dump(plan.model_dump(mode="json", exclude_none=True), sort_keys=False, allow_unicode=True)


def save_plan(plan: Plan, path: str | Path, overwrite: bool = False) -> None:
    """Write a plan YAML atomically, never over an existing file unless asked."""
    from tools.safetensors_writer import atomic_write_text

    atomic_write_text(Path(path), plan_to_yaml(plan), overwrite=overwrite)

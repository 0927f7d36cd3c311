"""The executor: a LangGraph StateGraph that runs a validated plan stage by stage.

    START → approve_plan ─(yes)→ run_stage ⟲ → confirm_write ─(yes)→ write → END
                         └(no)→ END                            └(no)→ END

Approvals are `interrupt()`s in nodes of their own (a node re-runs from its top on resume,
so nothing before an interrupt may have effects). Only the person's answer, passed back
as `Command(resume=...)` by the command line or the TUI, resumes them: nothing a model or a
file says can. Each stage runs in a child process; its progress events are forwarded
through LangGraph's custom stream.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated, Any, TypedDict

from agent.plan import Plan
from agent.runner import StageRunner, base_identity, dataset_record, library_versions, relative_path
from tools.errors import GraftError

RESET = "__graft_reset__"


def accumulate(old: list[Any] | None, new: list[Any]) -> list[Any]:
    """Append, except that a list starting with RESET starts over (a new run in the same thread)."""
    if new and new[0] == RESET:
        return list(new[1:])
    return [*(old or []), *new]


class RunState(TypedDict, total=False):
    plan: dict[str, Any]
    run_dir: str
    cursor: int
    current_model: str
    pending_adapters: list[str]
    outputs: dict[str, dict[str, str]]
    records: Annotated[list[dict[str, Any]], accumulate]
    heldout_files: Annotated[list[str], accumulate]
    status: str
    reason: str
    review_error: str | None
    final: dict[str, Any]
    plan_dir: str


def data_dir() -> Path:
    """Where conversations and plans persist: $GRAFT_HOME, else $XDG_DATA_HOME/graft."""
    root = os.environ.get("GRAFT_HOME") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "graft"
    )
    path = Path(root)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GraftError(
            f"cannot use Graft's data folder {path}: {exc.strerror or exc} (set GRAFT_HOME elsewhere)."
        ) from None
    return path


def open_checkpointer(path: Path | None = None) -> Any:
    """The SQLite checkpointer under the user's data folder; a broken database is named, not a traceback."""
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    path = path or data_dir() / "graft.sqlite"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False)
        saver = SqliteSaver(conn)
        saver.setup()
        conn.execute("SELECT count(*) FROM checkpoints").fetchone()
    except (sqlite3.Error, OSError) as exc:
        raise GraftError(
            f"cannot use Graft's conversation database {path}: {exc}; "
            "move it aside (Graft starts a new one) or set GRAFT_HOME elsewhere."
        ) from None
    return saver


def _writer() -> Any:
    try:
        from langgraph.config import get_stream_writer

        return get_stream_writer()
    except RuntimeError:
        return lambda _event: None


def _resolve(ref: str | None, state: RunState, plan: Plan) -> str | None:
    if ref is None:
        return None
    if ref == "@base":
        first = plan.stages[0]
        if first.kind == "convert" and first.id in state.get("outputs", {}):
            return state["outputs"][first.id]["path"]
        return plan.base_model
    if ref.startswith("@"):
        return state["outputs"][ref[1:]]["path"]
    return ref


def _record(
    stage: Any, result: dict[str, Any], reused: bool, runner: StageRunner, extra: dict[str, Any], root: str | None
) -> dict[str, Any]:
    """What provenance says about one stage: its real inputs (content + path relative to the plan), its time."""
    record: dict[str, Any] = {
        "id": stage.id,
        "kind": stage.kind,
        "reused_from_previous_run": reused,
        "seconds": round(runner.last_seconds, 3),
        "inputs": [{"path": relative_path(i["path"], root), "content": i["content"]} for i in runner.last_inputs],
        **{k: _relative_value(v, root) for k, v in extra.items()},
    }
    if stage.kind in ("sft", "preference"):
        record.update(
            method={"none": "full"}.get(stage.adapter, stage.adapter),
            targets=result.get("target_modules") or stage.target_modules,
            layers=stage.layers,
            dataset=dataset_record(stage.dataset, root, _rows_read(result)),
            hyperparameters={
                k: getattr(stage, k)
                for k in (
                    "r",
                    "alpha",
                    "dropout",
                    "epochs",
                    "max_steps",
                    "learning_rate",
                    "batch_size",
                    "gradient_accumulation",
                    "max_length",
                    "seed",
                )
                if stage.adapter != "none" or k not in ("r", "alpha", "dropout")
            },
            metrics={
                k: result.get(k)
                for k in (
                    "train_loss",
                    "eval_loss_before",
                    "eval_loss_after",
                    "steps",
                    "tokens",
                    "tokens_per_second",
                    "trainable_params",
                    "train_rows",
                    "eval_rows",
                )
            },
        )
        record["device"] = result.get("device")  # bf16 on a GPU and fp32 on a CPU give different weights
        record["precision"] = result.get("precision")
        # Held-out numbers in each method's own terms (SFT: completion loss; pairs: reward margins and
        # accuracies; KTO: KL and desirable/undesirable rewards), never pooled across stages.
        record["heldout"] = {
            "measures": result.get("eval_metric"),
            "before": result.get("eval_before") or {},
            "after": result.get("eval_after") or {},
        }
        if stage.kind == "preference":
            from tools.preference import method_config

            record["preference_method"] = stage.method
            record["hyperparameters"].update(method_config(stage))
    elif stage.kind == "merge_adapter":
        record.update(
            method=result.get("method"),
            adapters=_relative_value(result.get("adapters"), root),
            hyperparameters={"weights": stage.weights, "combination": stage.combination},
            features=result.get("features"),
            untied=result.get("untied"),
        )
    elif stage.kind == "merge_models":
        record.update(
            method=stage.method,
            models=_relative_value(result.get("models"), root),
            mergekit_config=_relative_text(
                result.get("config_yaml"), [*(result.get("models") or []), extra.get("base")], root
            ),
            hyperparameters={
                "weights": stage.weights,
                "density": stage.density,
                "t": stage.t,
                "seed": result.get("seed"),
            },
        )
    return record


def _relative_value(value: Any, root: str | None) -> Any:
    """Paths in provenance are relative to the plan: strings that name existing paths, in lists too."""
    if isinstance(value, list):
        return [_relative_value(v, root) for v in value]
    if isinstance(value, str) and value and (os.path.isabs(value) or os.path.exists(value)):
        return relative_path(value, root)
    return value


def _relative_text(text: str | None, paths: list[Any], root: str | None) -> str | None:
    """A config text (mergekit's YAML) with the paths it names made relative to the plan."""
    if not text:
        return text
    for path in sorted({str(p) for p in paths if p}, key=len, reverse=True):
        text = text.replace(str(Path(path).resolve()), relative_path(path, root)).replace(
            path, relative_path(path, root)
        )
    return text


def _output_bytes(model: str | None, dtype: str) -> int | None:
    """About how large the written model will be: its parameters at the target dtype (headers only)."""
    if not model:
        return None
    from tools.inspect import InspectArgs, inspect_checkpoint

    try:
        info = inspect_checkpoint(InspectArgs(path=model))
    except GraftError:
        return None
    sizes = {"float32": 4, "bfloat16": 2, "float16": 2}
    if dtype in sizes:
        return info.total_params * sizes[dtype]
    per = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I8": 1, "U8": 1, "BOOL": 1}
    return sum(n * per.get(d.upper(), 4) for d, n in info.dtypes.items())


def add_executor(graph: Any, runner_hook: Any = None, on_reject: str | None = None) -> None:
    """Add the executor's nodes (approve_plan, run_stage, confirm_write, write, finish) and their edges.

    Shared by the plain executor graph (`graft run`) and the conversation graph (TUI, `graft plan`).
    """
    from langgraph.graph import END
    from langgraph.types import interrupt

    def approve_plan(state: RunState) -> dict[str, Any]:
        payload = {"type": "approve_plan", "plan": state["plan"], "error": state.get("review_error")}
        answer = interrupt(payload)
        if not isinstance(answer, dict):
            return {"status": "rejected", "reason": "", "review_error": None}
        if "edit" in answer:  # the person edited the plan's YAML: validate it, then ask again
            from agent.plan import plan_from_yaml
            from agent.validate import validate_plan

            try:
                edited = plan_from_yaml(str(answer["edit"]), "the edited plan")
                validate_plan(edited)
            except GraftError as exc:
                return {"status": "reviewing", "review_error": str(exc)}
            return {"status": "reviewing", "review_error": None, "plan": edited.model_dump(mode="json")}
        if answer.get("approved") is True:
            return {"status": "running", "cursor": state.get("cursor", 0), "review_error": None}
        return {"status": "rejected", "reason": str(answer.get("reason", "")), "review_error": None}

    def begin(state: RunState) -> tuple[Plan, Any, Any, StageRunner]:
        """The stage under the cursor, its runner (handed to the face for cancel), a start event."""
        plan = Plan.model_validate(state["plan"])
        stage = plan.stages[state["cursor"]]
        write = _writer()
        runner = StageRunner(plan, state["run_dir"], on_event=write)
        if runner_hook:
            runner_hook(runner)
        write(
            {
                "stage": stage.id,
                "kind": "stage_start",
                "message": f"{stage.kind} {stage.id}",
                "index": state["cursor"],
                "count": len(plan.stages),
            }
        )
        return plan, stage, write, runner

    def run_stage(state: RunState) -> dict[str, Any]:
        plan, stage, write, runner = begin(state)
        if state["cursor"] == 0:
            from agent.preflight import preflight
            from agent.runner import clean_leftovers

            preflight(plan, None, runner.run_dir, overwrite=None)
            clean_leftovers(runner.run_dir)
        current = state.get("current_model") or plan.base_model
        pending = list(state.get("pending_adapters") or [])
        out = str(runner.stage_dir(stage.id))
        outputs = dict(state.get("outputs", {}))
        update: dict[str, Any] = {"cursor": state["cursor"] + 1}
        extra: dict[str, Any] = {}
        if stage.kind == "convert":
            result, reused = runner.run(
                stage, "convert", {}, {"source": stage.source, "destination": out}, [stage.source]
            )
            outputs[stage.id] = {"path": out, "produces": "model"}
            update.update(current_model=out)
        elif stage.kind in ("sft", "preference"):
            model = _resolve(stage.input, state, plan) or current
            prior = [] if stage.input else pending
            spec = stage.model_dump(exclude={"id", "kind", "input", "notes"})
            kwargs = {"model_path": model, "output": out, "stage_id": stage.id, "prior_adapters": prior}
            result, reused = runner.run(stage, stage.kind, spec, kwargs, [model, *prior])
            produces = result["produces"]
            outputs[stage.id] = {"path": out, "produces": produces}
            extra = {"input_model": model, "folded_adapters": prior}
            update["heldout_files"] = [str(Path(out) / "heldout.jsonl")]
            if produces == "adapter":
                update.update(current_model=model, pending_adapters=[*prior, out])
            else:
                update.update(current_model=out, pending_adapters=[])
        elif stage.kind == "merge_adapter":
            adapters = [_resolve(a, state, plan) for a in stage.adapters] or pending
            if not adapters or adapters[0] is None:
                raise GraftError(f"stage {stage.id}: there is no adapter to merge.")
            base = _resolve(stage.input, state, plan) or current
            spec = stage.model_dump(exclude={"id", "kind", "input", "notes"})
            kwargs = {"base": base, "adapters": adapters, "output": out, "stage_id": stage.id}
            result, reused = runner.run(stage, "merge_adapter", spec, kwargs, [base, *adapters])
            outputs[stage.id] = {"path": out, "produces": "model"}
            update.update(current_model=out, pending_adapters=[])
            extra = {"base": base}
        elif stage.kind == "merge_models":
            models = [_resolve(m, state, plan) for m in stage.models]
            base = _resolve(stage.base, state, plan)
            spec = stage.model_dump(exclude={"id", "kind", "input", "notes"})
            kwargs = {"models": models, "base": base, "output": out, "stage_id": stage.id}
            result, reused = runner.run(stage, "merge_models", spec, kwargs, [*models, *([base] if base else [])])
            outputs[stage.id] = {"path": out, "produces": "model"}
            update.update(current_model=out, pending_adapters=[])
            extra = {"base": base}
        else:
            raise GraftError(f"stage {stage.id}: {stage.kind} cannot run here.")
        update["outputs"] = outputs
        update["records"] = [_record(stage, result, reused, runner, extra, state.get("plan_dir"))]
        write({"stage": stage.id, "kind": "stage_done", "message": "reused" if reused else "done", "result": result})
        return update

    def confirm_write(state: RunState) -> dict[str, Any]:
        plan = Plan.model_validate(state["plan"])
        stage = plan.stages[state["cursor"]]
        output = stage.output or plan.output
        preview = {
            "type": "confirm_write",
            "output": output,
            "exists": Path(output).exists(),
            "dtype": stage.dtype,
            "max_shard_size": stage.max_shard_size,
            "model": state.get("current_model"),
            "pending_adapters": list(state.get("pending_adapters") or []),
            "stages": [{"id": r["id"], "kind": r["kind"], "method": r.get("method")} for r in state.get("records", [])],
            "bytes": _output_bytes(state.get("current_model"), stage.dtype),
        }
        answer = interrupt(preview)
        if isinstance(answer, dict) and answer.get("confirmed") is True:
            if preview["exists"] and answer.get("overwrite") is not True:
                return {"status": "cancelled", "reason": f"{output} exists and replacing it was not approved"}
            from agent.preflight import preflight

            try:  # the output may have appeared, or stopped being Graft's, while the stages ran
                preflight(plan, None, Path(state["run_dir"]), overwrite=bool(answer.get("overwrite")))
            except GraftError as exc:
                return {"status": "cancelled", "reason": str(exc).rstrip(".")}
            return {"status": "writing", "final": {"overwrite": bool(answer.get("overwrite"))}}
        return {"status": "cancelled", "reason": "the final write was not approved"}

    def write_node(state: RunState) -> dict[str, Any]:
        plan, stage, write, runner = begin(state)
        model = state.get("current_model") or plan.base_model
        records = list(state.get("records", []))
        if state.get("pending_adapters"):
            from agent.plan import MergeAdapterStage

            # "." cannot appear in a plan's stage ids, so this folder never collides with a stage of the plan
            fold = MergeAdapterStage(id=f"{stage.id}.fold")
            fold_out = str(runner.stage_dir(fold.id))
            adapters = list(state["pending_adapters"])
            kwargs = {"base": model, "adapters": adapters, "output": fold_out, "stage_id": fold.id}
            result, reused = runner.run(
                fold,
                "merge_adapter",
                fold.model_dump(exclude={"id", "kind", "input", "notes"}),
                kwargs,
                [model, *adapters],
            )
            records.append(_record(fold, result, reused, runner, {"base": model}, state.get("plan_dir")))
            model = fold_out
        provenance = {
            "graft_provenance_version": 1,
            "goal": plan.goal,
            "base_model": base_identity(_resolve("@base", state, plan) or plan.base_model, state.get("plan_dir")),
            "stages": records,
            "versions": library_versions(),
        }
        output = stage.output or plan.output
        kwargs = {
            "model": model,
            "output": output,
            "provenance": provenance,
            "base_model": _resolve("@base", state, plan),
            # Each training stage's held-out rows, scored on base and final in that stage's own terms.
            "heldout_files": [f for f in state.get("heldout_files", []) if Path(f).is_file()],
            "overwrite": state.get("final", {}).get("overwrite", False),
            "stage_id": stage.id,
        }
        spec = stage.model_dump(exclude={"id", "kind", "input", "notes"})
        result, _ = runner.run(stage, "write", spec, kwargs, [model], output_is_stage_dir=False)
        if state.get("pending_adapters"):
            # the fold is a float32 copy of what was just written (cast): kept, it doubled the disk a run needs; a
            # later run folds again (a streaming merge, seconds) where it would have reused it
            runner.marker(fold.id).unlink(missing_ok=True)
            shutil.rmtree(fold_out, ignore_errors=True)
            write({"stage": stage.id, "kind": "log", "message": f"removed {fold.id} (its weights are in the output)"})
        write({"stage": stage.id, "kind": "stage_done", "message": "done", "result": result})
        return {"status": "done", "final": result, "cursor": state["cursor"] + 1}

    def next_step(state: RunState) -> str:
        plan = state["plan"]
        cursor = state["cursor"]
        if cursor >= len(plan["stages"]):
            return "finish"
        return "confirm_write" if plan["stages"][cursor]["kind"] == "write" else "run_stage"

    def finish(state: RunState) -> dict[str, Any]:
        return {
            "status": "done",
            "final": {"output": (state.get("pending_adapters") or [state.get("current_model")])[-1]},
        }

    def after_confirm(state: RunState) -> str:
        return "write" if state.get("status") == "writing" else "end"

    graph.add_node("approve_plan", approve_plan)
    graph.add_node("run_stage", run_stage)
    graph.add_node("confirm_write", confirm_write)
    graph.add_node("write", write_node)
    graph.add_node("finish", finish)

    def after_review(state: RunState) -> str:
        status = state.get("status")
        if status == "reviewing":
            return "approve_plan"
        if status == "running":
            return next_step(state)
        return "rejected"

    graph.add_conditional_edges(
        "approve_plan",
        after_review,
        {
            "approve_plan": "approve_plan",
            "run_stage": "run_stage",
            "confirm_write": "confirm_write",
            "finish": "finish",
            "rejected": on_reject or END,
        },
    )
    graph.add_conditional_edges(
        "run_stage", next_step, {"run_stage": "run_stage", "confirm_write": "confirm_write", "finish": "finish"}
    )
    graph.add_conditional_edges("confirm_write", after_confirm, {"write": "write", "end": END})
    graph.add_edge("write", END)
    graph.add_edge("finish", END)


def build_graph(checkpointer: Any = None, runner_hook: Any = None) -> Any:
    """Compile the executor graph. `runner_hook(runner)` lets a face keep a handle to cancel."""
    from langgraph.graph import START, StateGraph

    graph = StateGraph(RunState)
    add_executor(graph, runner_hook)
    graph.add_edge(START, "approve_plan")
    return graph.compile(checkpointer=checkpointer)


def _rows_read(result: dict[str, Any]) -> int | None:
    """Rows the stage read (trained on plus held out), when its result says."""
    train, held = result.get("train_rows"), result.get("eval_rows")
    return train + held if isinstance(train, int) and isinstance(held, int) else None


def initial_state(plan: Plan, run_dir: str | Path, plan_dir: str | Path | None = None) -> RunState:
    """A run's whole state, every field set: a plan starts from its base_model and nothing else,
    never from a previous run's model or pending adapters in the same conversation thread."""
    return {
        "plan": plan.model_dump(mode="json"),
        "run_dir": str(run_dir),
        "plan_dir": str(Path(plan_dir) if plan_dir is not None else Path.cwd()),
        "cursor": 0,
        "current_model": plan.base_model,
        "pending_adapters": [],
        "outputs": {},
        "records": [RESET],
        "heldout_files": [RESET],
        "status": "awaiting_approval",
        "reason": "",
        "review_error": None,
        "final": {},
    }


def drive(graph: Any, config: dict[str, Any], first_input: Any, answer: Any, on_event: Any) -> dict[str, Any]:
    """Stream the graph to its end, asking `answer(payload)` at each interrupt (the person's reply)."""
    from langgraph.types import Command

    payload_in = first_input
    while True:
        pending = None
        for mode, chunk in graph.stream(payload_in, config, stream_mode=["custom", "updates"]):
            if mode == "custom":
                on_event(chunk)
            elif mode == "updates" and "__interrupt__" in chunk:
                pending = chunk["__interrupt__"][0].value
        if pending is None:
            return graph.get_state(config).values
        payload_in = Command(resume=answer(pending))

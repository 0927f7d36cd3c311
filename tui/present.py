"""Readable terminal summaries of tool results (rich tables), with untrusted text made inert."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from tui.safe_text import inert

if TYPE_CHECKING:
    from rich.console import Console

    from tools.diff import DiffResult
    from tools.inspect import InspectResult

_COMPONENT_ORDER = ("embedding", "attention", "mlp", "norm", "lm_head", "other")


def _fmt_int(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def print_inspect(console: Console, r: InspectResult) -> None:
    arch = r.architecture or "unknown architecture"
    if r.model_type:
        arch += f" ({r.model_type})"
    console.print(f"[bold]{inert(r.path)}[/]  {r.kind} · {r.format} · {inert(arch)}")
    facts = [
        f"{_fmt_int(r.total_params)} parameters" if r.total_params is not None else None,
        _layers_fact(r),
        f"hidden {r.hidden_size}" if r.hidden_size else None,
        f"vocab {r.vocab_size}" if r.vocab_size else None,
        (("tokenizer" + (" + chat template" if r.has_chat_template else "")) if r.has_tokenizer else "no tokenizer")
        if r.kind != "training_state"
        else None,
    ]
    console.print(" · ".join(f for f in facts if f))
    if r.dtypes:
        console.print("dtypes: " + ", ".join(f"{inert(k)} {v:,}" for k, v in r.dtypes.items()))

    if r.total_params:
        table = Table(title="components", title_justify="left")
        table.add_column("component")
        table.add_column("parameters", justify="right")
        table.add_column("share", justify="right")
        table.add_column("modules")
        for comp in _COMPONENT_ORDER:
            n = r.components.get(comp, 0)
            if n:
                mods = ", ".join(r.modules.get(comp, []))
                table.add_row(comp, f"{n:,}", f"{100 * n / r.total_params:.1f}%", inert(mods))
            elif comp == "lm_head" and r.tied_embeddings:
                table.add_row(comp, "tied", "", "the input embedding's weights")
        console.print(table)
    if r.layers:
        table = Table(title="layers", title_justify="left")
        table.add_column("layer", justify="right")
        cols = [c for c in _COMPONENT_ORDER if any(v.get(c) for v in r.layers.values())]
        for c in cols:
            table.add_column(c, justify="right")
        for idx, comps in r.layers.items():
            table.add_row(str(idx), *(f"{comps.get(c, 0):,}" for c in cols))
        console.print(table)
    if r.adapter:
        a = r.adapter
        console.print(
            f"adapter: {inert(a.peft_type or 'unknown')}{' (DoRA)' if a.use_dora else ''} r={a.r} alpha={a.alpha} "
            f"targets={inert(', '.join(a.target_modules))} base={inert(a.base_model or '?')}"
            + (" (found)" if a.base_found else " (not on this machine)" if a.base_found is False else "")
            + (f" layers={a.layers_to_transform}" if a.layers_to_transform else "")
        )
    if "graft.provenance" in r.metadata:
        _print_provenance(console, r.metadata["graft.provenance"])
    if r.metadata:
        console.print("metadata:")
        for key, value in r.metadata.items():
            shown = value if len(value) <= 200 else value[:120] + f"… ({len(value):,} chars; --json shows all)"
            console.print(f"  {inert(key)} = {inert(shown)}")
    if len(r.shards) > 1 or r.format == "pickle":
        console.print("files: " + ", ".join(f"{inert(s.file)} ({s.bytes:,} B)" for s in r.shards))
    for note in r.notes:
        console.print(f"note: {inert(note)}")


def _layers_fact(r: Any) -> str | None:
    """'2 layers' for a model; for an adapter, the blocks it touches (of the base's, when known)."""
    if r.kind == "adapter" and r.adapter is not None and r.adapter.layers_touched:
        touched = r.adapter.layers_touched
        of = f" of {r.num_layers}" if r.adapter.base_found and r.num_layers else ""
        return f"touches layer{'s' if len(touched) > 1 else ''} {_ranges(touched)}{of}"
    return f"{r.num_layers} layers" if r.num_layers is not None else None


def _ranges(indices: list[int]) -> str:
    """[0, 1, 2, 5] → '0-2, 5'."""
    parts: list[str] = []
    start = prev = None
    for i in sorted(indices):
        if start is None:
            start = prev = i
        elif i == prev + 1:
            prev = i
        else:
            parts.append(f"{start}-{prev}" if prev != start else str(start))
            start = prev = i
    if start is not None:
        parts.append(f"{start}-{prev}" if prev != start else str(start))
    return ", ".join(parts)


def print_diff(console: Console, r: DiffResult, top: int = 10) -> None:
    if r.identical:
        console.print(f"identical: {r.compared} tensors compared, no difference.")
        return
    console.print(
        f"{len(r.changed)} of {r.compared} compared tensors changed; "
        f"{len(r.only_in_a)} only in A, {len(r.only_in_b)} only in B, {len(r.mismatched)} not comparable."
    )
    console.print(f"measure: {r.measure}")
    for change, count in r.dtype_changes.items():
        console.print(f"dtype {change} in {count} tensors")
    if r.components:
        table = Table(title="by component", title_justify="left")
        for col, just in (("component", "left"), ("changed", "right"), ("relative ‖ΔW‖", "right")):
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        for comp, g in r.components.items():
            table.add_row(comp, f"{g.changed_tensors}/{g.tensors}", f"{g.relative_change:.3e}")
        console.print(table)
    if r.layers:
        table = Table(title="by layer", title_justify="left")
        for col, just in (("layer", "right"), ("changed", "right"), ("relative ‖ΔW‖", "right")):
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        for idx, g in r.layers.items():
            table.add_row(str(idx), f"{g.changed_tensors}/{g.tensors}", f"{g.relative_change:.3e}")
        console.print(table)
    if r.changed:
        table = Table(title=f"most changed (top {top})", title_justify="left")
        for col, just in (("tensor", "left"), ("relative", "right"), ("max |Δ|", "right")):
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        for t in sorted(r.changed, key=lambda t: -t.relative_change)[:top]:
            table.add_row(inert(t.name), f"{t.relative_change:.3e}", f"{t.max_abs_diff:.3e}")
        console.print(table)
    for name in r.only_in_a[:top]:
        console.print(f"only in A: {inert(name)}")
    for name in r.only_in_b[:top]:
        console.print(f"only in B: {inert(name)}")
    for m in r.mismatched[:top]:
        console.print(f"mismatch: {inert(m.name)}: {inert(m.a)} vs {inert(m.b)}")
    for note in r.notes:
        console.print(f"note: {inert(note)}")


def print_plan(console: Console, plan: Any, report: Any, facts: list[str] | None = None) -> None:
    """The plan as a table with its estimates, before the person approves it; under it, the facts the
    person stated and what the plan does with them ("rank 16 (you said 64, then 16)"), so drift shows."""
    console.print(f"[bold]plan[/]: {inert(plan.goal)}")
    console.print(
        f"base: {inert(plan.base_model)}  ({inert(report.base.get('architecture'))}, "
        f"{report.base.get('params') or 0:,} params) → output {inert(plan.output)}"
    )
    table = Table()
    for col in ("#", "stage", "kind", "method", "targets", "layers", "data / models", "trainable", "memory", "time"):
        table.add_column(col)
    estimates = {e.stage: e for e in report.estimates}
    for i, stage in enumerate(plan.stages, 1):
        est = estimates.get(stage.id)
        method = getattr(stage, "adapter", None) or getattr(stage, "method", None) or getattr(stage, "combination", "")
        if stage.kind == "preference":
            loss = "+".join(stage.losses) if stage.method == "dpo" or stage.loss_type == "apo_zero_unpaired" else ""
            method = f"{stage.adapter} {stage.method} {loss} β={stage.beta}".replace("  ", " ")
        targets = ", ".join(getattr(stage, "target_modules", []) or []) or (
            "all linear" if stage.kind in ("sft", "preference") else ""
        )
        layers = getattr(stage, "layers", None)
        source = getattr(stage, "dataset", None) or ", ".join(
            getattr(stage, "models", []) or getattr(stage, "adapters", []) or []
        )
        if stage.kind == "write":
            source = f"{stage.output or plan.output} ({stage.dtype})"
        table.add_row(
            str(i),
            inert(stage.id),
            stage.kind,
            inert(method or ""),
            inert(targets),
            "all" if layers is None and stage.kind in ("sft", "preference") else inert(layers or ""),
            inert(source or ""),
            f"{est.trainable_params:,}" if est and est.trainable_params else "",
            _bytes(est.memory_bytes) if est and est.memory_bytes else "",
            f"~{est.seconds:.0f}s" if est and est.seconds else "",
        )
    console.print(table)
    if facts:
        console.print("from your goal: " + inert("; ".join(facts)))
    console.print(f"device: {report.device}, {_bytes(report.device_memory_bytes)} available")
    for note in [*plan.notes, *report.notes]:
        console.print(f"note: {inert(note)}")


def _bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def print_write_preview(console: Console, payload: dict[str, Any]) -> None:
    console.print(
        f"[bold]final write[/] → {inert(payload['output'])}"
        f"{' [yellow](exists)[/]' if payload.get('exists') else ''}: dtype {payload['dtype']}, "
        f"shards ≤ {inert(payload['max_shard_size'])}, from {inert(payload.get('model'))}"
    )
    console.print("  stages: " + " → ".join(f"{inert(s['id'])} ({s['kind']})" for s in payload.get("stages", [])))


def _print_provenance(console: Console, raw: str) -> None:
    """The stages that made this checkpoint, as Graft recorded them in its header."""
    from rich.text import Text

    table, final = provenance_table(raw)
    console.print(table)
    if final:
        console.print(Text(final))  # the file's keys: never parsed as markup


def provenance_table(raw: str) -> tuple[Any, str]:
    """(a rich Table of the stages, or a one-line reason; the written model's held-out loss line).

    Every value from the header is made inert: it is the file's text, not ours.
    """
    import json

    from rich.table import Table
    from rich.text import Text

    try:
        record = json.loads(raw)
    except json.JSONDecodeError:
        return "provenance: present but not valid JSON", ""
    if not isinstance(record, dict):
        return "provenance: present but not a Graft record", ""

    def cell(value: object) -> Text:
        return Text(inert_plain(value))

    base = record.get("base_model") or {}
    table = Table(
        title=Text(f"provenance (base {inert_plain(base.get('path') or base.get('architecture') or '?')})"),
        title_justify="left",
    )
    for column in ("stage", "kind", "method", "targets", "layers", "data", "held-out loss", "time"):
        table.add_column(column, justify="right" if column == "time" else "left")
    for stage in record.get("stages", []):
        if not isinstance(stage, dict):
            continue
        metrics = stage.get("metrics") or {}
        before, after = metrics.get("eval_loss_before"), metrics.get("eval_loss_after")
        loss = f"{before:.4f} → {after:.4f}" if isinstance(before, float) and isinstance(after, float) else ""
        dataset = stage.get("dataset") or {}
        data = (
            f"{Path(str(dataset.get('path', ''))).name} ({dataset.get('rows')} rows)"
            if isinstance(dataset, dict) and dataset
            else ""
        )
        if stage.get("models"):
            data = ", ".join(Path(str(m)).name for m in stage["models"])
        training = stage.get("kind") in TRAINING_KINDS
        layers = stage.get("layers")
        seconds = stage.get("seconds", 0)
        table.add_row(
            cell(stage.get("id")),
            cell(stage.get("kind")),
            cell(stage.get("method") or ""),
            cell(", ".join(map(str, stage.get("targets") or [])) if training else ""),
            cell("all" if layers is None and training else layers or ""),
            cell(data),
            loss,
            "reused"
            if stage.get("reused_from_previous_run")
            else (f"{seconds:.1f}s" if isinstance(seconds, (int, float)) else ""),
        )
    final = ""
    heldout = (record.get("final") or {}).get("heldout") or {}
    if isinstance(heldout, dict) and heldout:
        from tools.heldout import describe_comparison

        try:
            final = "held-out, base → final: " + "; ".join(inert_plain(x) for x in describe_comparison(heldout))
        except (KeyError, TypeError, ValueError):
            final = ""
    loss = (record.get("final") or {}).get("eval_loss") or {}  # provenance written before per-stage scoring
    if not final and isinstance(loss, dict) and loss:
        final = "held-out loss of the written model: " + ", ".join(
            f"{inert_plain(k)} {v:.4f}" for k, v in loss.items() if isinstance(v, float)
        )
    return table, final


def inert_plain(value: object) -> str:
    """Untrusted text for a Text object (no markup parsing there): only control codes made visible."""
    from tui.safe_text import visible_controls

    return visible_controls(str(value))


# ---- the plan as the person reviews it (TUI plan view) ----

TRAINING_KINDS = ("sft", "dpo", "preference")
# Shown on lines of their own, not among the hyper-parameters.
_SHOWN_APART = {
    "id", "kind", "input", "notes", "target_modules", "layers", "dataset", "models", "adapters", "source",
    "output", "dtype", "max_shard_size",
}  # fmt: skip


def hyperparameters(stage: Any) -> list[tuple[str, Any, Any, bool]]:
    """(name, value, default, differs) for every flat setting of a typed plan stage, in field order."""
    from pydantic_core import PydanticUndefined

    out = []
    for name, field in type(stage).model_fields.items():
        if name in _SHOWN_APART:
            continue
        value = getattr(stage, name)
        if field.default_factory is not None:
            try:
                default = field.default_factory()  # type: ignore[call-arg]
            except TypeError:  # a factory that needs the other fields: no single default to show
                default = None
        elif field.default is PydanticUndefined:
            default = None
        else:
            default = field.default
        out.append((name, value, default, value != default))
    return out


def stage_method(stage: Any) -> str:
    """The one word (or few) that says how a stage works: lora r=8, dpo sigmoid β=0.1, ties…"""
    kind = stage.kind
    if kind in TRAINING_KINDS:
        adapter = {"none": "full"}.get(stage.adapter, stage.adapter)
        text = adapter + (f" r={stage.r}" if stage.adapter != "none" else "")
        method = getattr(stage, "method", None)
        if kind != "sft":
            extra = " ".join(
                str(x) for x in (method if isinstance(method, str) else "dpo", getattr(stage, "loss_type", None)) if x
            )
            beta = getattr(stage, "beta", None)
            text = f"{extra}{f' β={beta:g}' if beta is not None else ''} · {text}"
        return text
    if kind == "merge_adapter":
        return stage.combination
    if kind == "merge_models":
        return stage.method
    if kind == "write":
        return f"dtype {stage.dtype}"
    return kind


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return str(value)


def stage_input(plan: Any, index: int) -> str:
    stage = plan.stages[index]
    ref = stage.input
    if ref == "@base" or (ref is None and index == 0):
        return f"the base model {Path(plan.base_model).name}"
    if ref and ref.startswith("@"):
        return f"the output of {ref[1:]}"
    if ref:
        return ref
    return f"the output of {plan.stages[index - 1].id}"


def stage_output(plan: Any, index: int) -> str:
    stage = plan.stages[index]
    if stage.kind == "write":
        return f"{stage.output or plan.output} ({'dtype as the model' if stage.dtype == 'auto' else stage.dtype}, shards ≤ {stage.max_shard_size})"
    if stage.kind in TRAINING_KINDS:
        what = "a full model" if stage.adapter == "none" else f"a {stage.adapter} adapter"
        return f"{what} in the run folder ({stage.id}/)"
    if stage.kind == "convert":
        return f"a safetensors model ({stage.id}/)"
    return f"a merged model ({stage.id}/)"


def changed_fields(stage: Any, previous: Any | None) -> set[str]:
    """Which fields differ from the same stage of the previous proposal (all of them if it is new)."""
    if previous is None:
        return set()
    now, before = stage.model_dump(mode="json"), previous.model_dump(mode="json")
    return {key for key in now if now.get(key) != before.get(key)}


def size_text(n: int | None) -> str:
    if not isinstance(n, int):
        return "?"
    return _bytes(n)


def stage_detail(
    plan: Any,
    index: int,
    estimate: Any | None = None,
    show_defaults: bool = False,
    previous: Any | None = None,
    is_new: bool = False,
) -> Any:
    """Everything one stage will do, as a rich Text for the plan view's detail pane.

    Settings that differ from their defaults are listed; the rest only on demand. Fields that
    changed since the previous proposal (after a reject or an edit) are highlighted.
    """
    from rich.text import Text

    stage = plan.stages[index]
    changed = changed_fields(stage, previous)
    text = Text()
    mark = "bold yellow"

    def line(label: str, value: str, *fields: str) -> None:
        hot = is_new or any(f in changed for f in fields)
        text.append(f"{label:<9}", style="bold")
        text.append(
            inert_plain(value) + (" ✱" if hot and (previous is not None or is_new) else ""), style=mark if hot else ""
        )
        text.append("\n")

    text.append(f"{index + 1}. {inert_plain(stage.id)}", style="bold")
    text.append(f"  {stage.kind} · {inert_plain(stage_method(stage))}")
    if is_new:
        text.append("  (new since the last proposal)", style=mark)
    text.append("\n")
    settings = hyperparameters(stage)
    set_ = [(n, v, d) for n, v, d, differs in settings if differs]
    rest = [(n, v) for n, v, _, differs in settings if not differs]
    if set_:
        text.append(f"{'set':<9}", style="bold")
        for i, (name, value, default) in enumerate(set_):
            hot = is_new or name in changed
            text.append(", " if i else "")
            text.append(
                f"{name}={inert_plain(_short(value))}"
                + (f" (default {_short(default)})" if default is not None else ""),
                style=mark if hot else "",
            )
        text.append("\n")
    else:
        line("set", "all defaults")
    if stage.kind in TRAINING_KINDS:
        line("targets", ", ".join(stage.target_modules) or "all linear layers", "target_modules")
        line("layers", "all" if stage.layers is None else ", ".join(map(str, stage.layers)), "layers")
        rows = getattr(estimate, "rows", None) if estimate is not None else None
        line("data", Path(stage.dataset).name + (f" · {rows:,} rows" if isinstance(rows, int) else ""), "dataset")
    elif stage.kind == "merge_models":
        line("models", ", ".join(stage.models), "models")
    elif stage.kind == "merge_adapter":
        line("adapters", ", ".join(stage.adapters) or "the previous stage's adapter", "adapters")
    elif stage.kind == "convert":
        line("source", stage.source, "source")
    if estimate is not None:
        parts = []
        if getattr(estimate, "trainable_params", 0):
            parts.append(f"trainable {estimate.trainable_params:,}")
        if getattr(estimate, "memory_bytes", 0):
            parts.append(f"memory ~{_bytes(estimate.memory_bytes)}")
        if getattr(estimate, "disk_bytes", 0):
            parts.append(f"disk ~{_bytes(estimate.disk_bytes)}")
        if getattr(estimate, "seconds", 0):
            parts.append(f"time ~{_seconds(estimate.seconds)}")
        line("estimate", " · ".join(parts) or "negligible")
    line("input", stage_input(plan, index), "input")
    line("output", stage_output(plan, index), "output", "dtype", "max_shard_size")
    if stage.notes:
        line("note", stage.notes)
    if rest:
        if show_defaults:
            text.append(f"{'defaults':<9}", style="bold")
            text.append(", ".join(f"{n}={inert_plain(_short(v))}" for n, v in rest), style="dim")
            text.append("\n")
        else:
            text.append(f"{'defaults':<9}", style="bold")
            text.append(f"{len(rest)} more at their defaults (d shows them)", style="dim")
            text.append("\n")
    return text


def _seconds(s: float) -> str:
    if s < 1:
        return "<1 s"
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def plan_totals(report: Any) -> str:
    """One line: the whole plan's time, peak memory against the device, disk and trainable parameters."""
    if report is None:
        return "estimates: computing…"
    est = list(report.estimates)
    seconds = sum(e.seconds for e in est)
    memory = max((e.memory_bytes for e in est), default=0)
    disk = sum(e.disk_bytes for e in est)
    trainable = sum(e.trainable_params for e in est)
    return (
        f"total ~{_seconds(seconds)} · peak memory ~{_bytes(memory)} of {_bytes(report.device_memory_bytes)} "
        f"({report.device}) · disk ~{_bytes(disk)} · trainable {trainable:,}"
    )


def print_data_report(console: Console, r: Any) -> None:
    """`graft data`: the format found, rows, and token lengths under the model's template."""
    kind = "conversational" if r.conversational else "plain text"
    console.print(f"[bold]{inert(r.path)}[/]  {inert(r.format)} ({kind}) · read as {inert(r.source)}")
    console.print(f"{r.rows:,} rows · columns {inert(', '.join(r.columns))} · usable by {', '.join(r.usable_by)}")
    if r.tokens:
        t = r.tokens
        console.print(
            f"tokens under {inert(r.model)}: min {t.min:,} · median {t.median:,.0f} · p95 {t.p95:,} · "
            f"max {t.max:,} (row {r.longest_row}) · mean {t.mean:,.1f}"
        )
        console.print(f"rows over max_length {r.max_length:,}: {t.over_max_length:,}")
    for note in r.notes:
        console.print(f"note: {inert(note)}")

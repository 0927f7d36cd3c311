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
        f"{r.num_layers} layers" if r.num_layers is not None else None,
        f"hidden {r.hidden_size}" if r.hidden_size else None,
        f"vocab {r.vocab_size}" if r.vocab_size else None,
        "tokenizer" if r.has_tokenizer else "no tokenizer",
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


def print_diff(console: Console, r: DiffResult, top: int = 10) -> None:
    if r.identical:
        console.print(f"identical: {r.compared} tensors compared, no difference.")
        return
    console.print(
        f"{len(r.changed)} of {r.compared} compared tensors changed; "
        f"{len(r.only_in_a)} only in A, {len(r.only_in_b)} only in B, {len(r.mismatched)} shape/dtype mismatches."
    )
    if r.components:
        table = Table(title="by component", title_justify="left")
        for col, just in (("component", "left"), ("changed", "right"), ("relative change", "right")):
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        for comp, g in r.components.items():
            table.add_row(comp, f"{g.changed_tensors}/{g.tensors}", f"{g.relative_change:.3e}")
        console.print(table)
    if r.layers:
        table = Table(title="by layer", title_justify="left")
        for col, just in (("layer", "right"), ("changed", "right"), ("relative change", "right")):
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


def print_plan(console: Console, plan: Any, report: Any) -> None:
    """The plan as a table with its estimates, before the person approves it."""
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
        if stage.kind == "dpo":
            method = f"{method} β={stage.beta} {stage.loss_type}"
        targets = ", ".join(getattr(stage, "target_modules", []) or []) or (
            "all linear" if stage.kind in ("sft", "dpo") else ""
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
            "all" if layers is None and stage.kind in ("sft", "dpo") else inert(layers or ""),
            inert(source or ""),
            f"{est.trainable_params:,}" if est and est.trainable_params else "",
            _bytes(est.memory_bytes) if est and est.memory_bytes else "",
            f"~{est.seconds:.0f}s" if est and est.seconds else "",
        )
    console.print(table)
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
    import json

    from rich.table import Table

    try:
        record = json.loads(raw)
    except json.JSONDecodeError:
        console.print("provenance: present but not valid JSON")
        return
    if not isinstance(record, dict):
        console.print("provenance: present but not a Graft record")
        return
    base = record.get("base_model") or {}
    table = Table(title=f"provenance (base {inert(base.get('path') or base.get('architecture') or '?')})")
    for column in ("stage", "kind", "method", "targets", "layers", "data", "held-out loss", "time"):
        table.add_column(column, justify="right" if column == "time" else "left")
    for stage in record.get("stages", []):
        if not isinstance(stage, dict):
            continue
        metrics = stage.get("metrics") or {}
        before, after = metrics.get("eval_loss_before"), metrics.get("eval_loss_after")
        loss = f"{before:.4f} → {after:.4f}" if isinstance(before, float) and isinstance(after, float) else ""
        dataset = stage.get("dataset") or {}
        data = f"{Path(str(dataset.get('path', ''))).name} ({dataset.get('rows')} rows)" if dataset else ""
        if stage.get("models"):
            data = ", ".join(Path(str(m)).name for m in stage["models"])
        layers = stage.get("layers")
        table.add_row(
            inert(stage.get("id")),
            inert(stage.get("kind")),
            inert(stage.get("method") or ""),
            inert(", ".join(map(str, stage.get("targets") or [])) if stage.get("kind") in ("sft", "dpo") else ""),
            inert("all" if layers is None and stage.get("kind") in ("sft", "dpo") else layers or ""),
            inert(data),
            loss,
            "reused" if stage.get("reused_from_previous_run") else f"{stage.get('seconds', 0):.1f}s",
        )
    console.print(table)
    loss = (record.get("final") or {}).get("eval_loss") or {}
    if loss:
        console.print(
            "held-out loss of the written model: "
            + ", ".join(f"{inert(k)} {v:.4f}" for k, v in loss.items() if isinstance(v, float))
        )

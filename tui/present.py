"""Readable terminal summaries of tool results (rich tables), with untrusted text made inert."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    if r.metadata:
        console.print("metadata:")
        for key, value in r.metadata.items():
            shown = value if len(value) <= 200 else value[:200] + f"… ({len(value):,} chars)"
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

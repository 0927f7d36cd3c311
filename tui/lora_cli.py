"""`graft lora extract | resize | check`: the LoRA toolbox on the command line.

The tools live in tools/lora_tools.py; this module only parses, calls one of them and draws
the result (a rich table, or the result model as JSON with --json). Heavy imports happen in
the tool, when a subcommand runs, never when `graft --help` is printed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tools.errors import GraftError

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def add_parser(sub: Any) -> None:
    """Register `graft lora …` on the top-level subparsers."""
    p = sub.add_parser("lora", help="extract an adapter from two models, lower its rank, or check it against a base")
    lora = p.add_subparsers(dest="lora_command", metavar="ACTION", required=True, parser_class=type(p))

    q = lora.add_parser("extract", help="a PEFT adapter approximating TUNED − BASE by truncated SVD")
    q.add_argument("base", help="the model before fine-tuning")
    q.add_argument("tuned", help="the fine-tuned model; TUNED - BASE is factored into LoRA")
    q.add_argument("--rank", "-r", type=int, required=True, help="LoRA rank of every module")
    q.add_argument("-o", "--output", help="adapter folder (default: TUNED-lora-rR)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    q.add_argument(
        "--no-modules-to-save",
        dest="modules_to_save",
        action="store_false",
        help="do not store changed embeddings/norms whole; list them as not captured instead",
    )
    q.add_argument(
        "--dtype", choices=["float32", "bfloat16", "float16"], default="float32", help="dtype of the saved factors"
    )
    q.add_argument("--json", action="store_true", help="print the result as JSON")
    q.add_argument("--all", action="store_true", help="list every module, not only the 15 least faithful")

    q = lora.add_parser("resize", help="lower an adapter's rank by SVD of B·A")
    q.add_argument("adapter", help="the LoRA adapter folder to resize")
    q.add_argument("--rank", "-r", type=int, required=True, help="the new rank")
    q.add_argument("-o", "--output", help="adapter folder (default: ADAPTER-rR)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    q.add_argument("--json", action="store_true", help="print the result as JSON")
    q.add_argument("--all", action="store_true", help="list every module")

    q = lora.add_parser("check", help="does an adapter fit a base; where do several adapters overlap")
    q.add_argument("adapter", help="the LoRA adapter folder to check")
    q.add_argument("paths", nargs="*", metavar="BASE|ADAPTER", help="a base model and/or more adapters")
    q.add_argument("--json", action="store_true", help="print the result as JSON")
    q.add_argument("--all", action="store_true", help="list every shared module")


def _console():  # type: ignore[no-untyped-def]
    from tui.cli import _console

    return _console()


def _bar() -> Any:
    """A progress callback drawing one transient line on stderr (only on a terminal)."""
    if not sys.stderr.isatty():
        return lambda _event: None

    def show(event: dict) -> None:
        step, total = event.get("step"), event.get("total")
        if step and total:
            sys.stderr.write(f"\r{step}/{total} {str(event.get('message', ''))[:60]:60s}")
            if step == total:
                sys.stderr.write("\r" + " " * 80 + "\r")
            sys.stderr.flush()

    return show


def cmd_lora(args: argparse.Namespace) -> int:
    from tools.lora_tools import (
        CheckArgs,
        ExtractArgs,
        ResizeArgs,
        check_lora,
        extract_lora,
        resize_lora,
    )

    if getattr(args, "rank", 1) is not None and getattr(args, "rank", 1) <= 0:
        raise GraftError(f"--rank must be a positive whole number, not {args.rank}.")
    progress = _bar()
    if args.lora_command == "extract":
        result = extract_lora(
            ExtractArgs(
                base=args.base,
                tuned=args.tuned,
                rank=args.rank,
                output=args.output,
                overwrite=args.overwrite,
                modules_to_save=args.modules_to_save,
                dtype=args.dtype,
            ),
            progress,
        )
        if args.json:
            print(result.model_dump_json(indent=2))
        else:
            _print_extract(_console(), result, args.all)
        return EXIT_OK
    if args.lora_command == "resize":
        result = resize_lora(
            ResizeArgs(adapter=args.adapter, rank=args.rank, output=args.output, overwrite=args.overwrite), progress
        )
        if args.json:
            print(result.model_dump_json(indent=2))
        else:
            _print_resize(_console(), result, args.all)
        return EXIT_OK
    base, others = _split_check_paths(args.paths)
    check = check_lora(CheckArgs(adapter=args.adapter, base=base, others=others), progress)
    if args.json:
        print(check.model_dump_json(indent=2))
    else:
        _print_check(_console(), check, args.all)
    if not check.ok:
        print(f"graft: {check.problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _split_check_paths(paths: list[str]) -> tuple[str | None, list[str]]:
    """Of the paths after the adapter, the one full model is the base; the rest are adapters."""
    from tools.checkpoint import resolve_checkpoint

    base: str | None = None
    others: list[str] = []
    for path in paths:
        if resolve_checkpoint(path).is_adapter:
            others.append(path)
        elif base is None:
            base = path
        else:
            raise GraftError(f"both {base} and {path} are full models; name one base model.")
    return base, others


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _print_extract(console: Any, result: Any, show_all: bool) -> None:
    from rich.table import Table

    from tui.safe_text import inert

    console.print(
        f"wrote {inert(result.output)}: rank {result.rank}, {len(result.modules)} LoRA modules, "
        f"{result.adapter_bytes / 1e6:.2f} MB, {result.seconds:.1f} s"
    )
    console.print(
        f"retained energy {_pct(result.retained_energy)}; relative error of ΔW {result.relative_error:.3g}; "
        f"of the merged weights against TUNED {result.weight_relative_error:.3g}"
    )
    rows = sorted(result.modules, key=lambda m: m.retained_energy)
    if rows:
        table = Table("module", "kind", "shape", "energy kept", "error ΔW", "error W", title="least faithful first")
        for m in rows if show_all else rows[:15]:
            table.add_row(
                inert(m.module),
                m.kind,
                "×".join(map(str, m.shape)),
                _pct(m.retained_energy),
                f"{m.relative_error:.3g}",
                f"{m.weight_relative_error:.3g}",
            )
        console.print(table)
        if not show_all and len(rows) > 15:
            console.print(f"  … {len(rows) - 15} more (--all lists every module)")
    if result.modules_to_save:
        console.print("stored whole (modules_to_save): " + inert(", ".join(result.modules_to_save)))
    if result.biases:
        console.print(f"tuned biases stored (bias=lora_only) for {len(result.biases)} module(s)")
    for note in result.notes:
        console.print("note: " + inert(note))
    if result.not_captured:
        console.print(f"[bold]{len(result.not_captured)} changed tensor(s) are NOT in the adapter[/bold] (see notes).")


def _print_resize(console: Any, result: Any, show_all: bool) -> None:
    from rich.table import Table

    from tui.safe_text import inert

    console.print(
        f"wrote {inert(result.output)}: rank {result.rank}; retained energy {_pct(result.retained_energy)}, "
        f"relative error of ΔW {result.relative_error:.3g}; {result.adapter_bytes / 1e6:.2f} MB"
    )
    rows = sorted(result.modules, key=lambda m: m.retained_energy)
    table = Table("module", "rank", "energy kept", "error ΔW", title="least faithful first")
    for m in rows if show_all else rows[:15]:
        table.add_row(inert(m.module), f"{m.old_rank} → {m.rank}", _pct(m.retained_energy), f"{m.relative_error:.3g}")
    console.print(table)
    if not show_all and len(rows) > 15:
        console.print(f"  … {len(rows) - 15} more (--all lists every module)")
    if result.copied:
        console.print(f"carried over unchanged: {len(result.copied)} tensor(s)")


def _print_check(console: Any, result: Any, show_all: bool) -> None:
    from rich.table import Table

    from tui.safe_text import inert

    for s in result.adapters:
        kind = "DoRA" if s.use_dora else "LoRA"
        console.print(
            f"{inert(s.path)}: {kind} r={s.r} alpha={s.alpha}{' rsLoRA' if s.use_rslora else ''}, "
            f"for {inert(s.base_model or 'an unnamed base')}"
        )
        console.print(
            "  touches "
            + ", ".join(f"{inert(k)}×{v}" for k, v in s.module_names.items())
            + (f" in layers {_ranges(s.layers)}" if s.layers else "")
        )
        if s.ranks:
            console.print("  ranks: " + ", ".join(f"r={k}: {v}" for k, v in s.ranks.items()))
        if s.whole_tensors:
            console.print(f"  stores {len(s.whole_tensors)} tensor(s) whole (modules_to_save / biases)")
    for fit in result.fits:
        mark = "fits" if fit.fits else "does NOT fit"
        console.print(f"{inert(fit.adapter)} {mark} {inert(result.base or '')}")
        for problem in fit.problems[:5]:
            console.print("  " + inert(problem))
        for note in fit.notes[:5]:
            console.print("  note: " + inert(note))
    for o in result.overlaps:
        console.print(
            f"{inert(o.a)} and {inert(o.b)}: {len(o.shared)} shared module(s), "
            f"{o.only_a} only in the first, {o.only_b} only in the second; {inert(o.verdict)}"
        )
        if o.shared:
            table = Table("shared module", "cosine of ΔW")
            rows = sorted(o.shared, key=lambda m: m.cosine)
            for m in rows if show_all else rows[:10]:
                table.add_row(inert(m.module), f"{m.cosine:+.3f}")
            console.print(table)


def _ranges(layers: list[int]) -> str:
    parts: list[str] = []
    start = prev = None
    for i in layers:
        if start is None:
            start = prev = i
        elif i == prev + 1:
            prev = i
        else:
            parts.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = i
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ", ".join(parts)

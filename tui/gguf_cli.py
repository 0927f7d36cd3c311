"""`graft export MODEL --as gguf`: llama.cpp's converter with Graft's progress, refusals and summary."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tui.safe_text import inert


def export_gguf_command(args: argparse.Namespace, console: Any) -> int:
    """Convert, showing progress (bars on a terminal, plain lines elsewhere), then one summary line."""
    from tools.gguf_export import GgufExportArgs, export_gguf
    from tui.run_cli import progress_view

    request = GgufExportArgs(
        model=args.plan,
        output=args.out,
        outtype=args.outtype or "f16",
        overwrite=args.overwrite,
    )
    log = None
    if getattr(args, "verbose", False):  # -v: the converter's own log, on stderr like other libraries' output

        def log(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

    with progress_view(console) as view:
        result = export_gguf(request, progress=view, log=log)
    console.print(
        f"wrote {inert(result.path)}: {result.tensors} tensors, {result.outtype}, architecture "
        f"{inert(result.architecture)} ({inert(result.hf_architecture)}), {result.size_bytes / 1e6:.1f} MB "
        f"· converted by llama.cpp from {inert(result.converter)}",
        soft_wrap=True,
    )
    return 0

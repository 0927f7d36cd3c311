"""Time to the TUI's first paint vs `python -c pass`, each in a fresh process (median of runs).

The app is started headless and exits right after its first screen is painted, so the time is
interpreter start + imports + compose + first refresh. Ours must import no torch/transformers.

    .venv/bin/python -m bench.bench_tui [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys

from bench.common import run_measured, save_results

FIRST_PAINT = """
import sys
from tui.app import GraftApp

class Once(GraftApp):
    def on_mount(self):
        super().on_mount()
        self.call_after_refresh(self.exit)

Once(offline=True).run(headless=True, size=(120, 40))
heavy = [m for m in ("torch", "transformers", "peft", "trl", "mergekit") if m in sys.modules]
print(",".join(heavy) or "none")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    py = sys.executable
    bare = [run_measured([py, "-c", "pass"])[0] for _ in range(args.repeat)]
    paint, heavy = [], set()
    for _ in range(args.repeat):
        wall, _, out = run_measured([py, "-c", FIRST_PAINT])
        paint.append(wall)
        heavy.add(out.strip().splitlines()[-1] if out.strip() else "?")
    bare_s, paint_s = statistics.median(bare), statistics.median(paint)
    result = {
        "python_pass_seconds": round(bare_s, 4),
        "first_paint_seconds": round(paint_s, 4),
        "heavy_modules_imported": sorted(heavy),
        "ratios": {"first_paint_over_python_pass": round(paint_s / bare_s, 2)},
        "targets": {"first_paint_seconds": 1.0},
    }
    print(f"python -c pass     {bare_s:.3f} s")
    print(f"TUI first paint    {paint_s:.3f} s   (heavy modules imported: {', '.join(sorted(heavy))})")
    print(f"  ratio            {paint_s / bare_s:.1f}×")
    save_results("tui_first_paint", result)


if __name__ == "__main__":
    main()

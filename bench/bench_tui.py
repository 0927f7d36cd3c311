"""Time to the TUI's first paint vs `python -c pass`, each in a fresh process (median of runs).

The app is started headless and exits right after its first screen is painted, so the time is
interpreter start + imports + compose + first refresh. Ours must import no torch/transformers.
The CPU seconds of the child are reported too: on a shared, loaded machine wall time moves with
the load (the load average is recorded), CPU time much less.

    .venv/bin/python -m bench.bench_tui [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import resource
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
    paint, cpu, heavy = [], [], set()
    for _ in range(args.repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall, _, out = run_measured([py, "-c", FIRST_PAINT])
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        paint.append(wall)
        heavy.add(out.strip().splitlines()[-1] if out.strip() else "?")
    bare_s, paint_s = statistics.median(bare), statistics.median(paint)
    result = {
        "python_pass_seconds": round(bare_s, 4),
        "first_paint_seconds": round(paint_s, 4),
        "first_paint_cpu_seconds": round(statistics.median(cpu), 4),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "heavy_modules_imported": sorted(heavy),
        "ratios": {"first_paint_over_python_pass": round(paint_s / bare_s, 2)},
        "targets": {"first_paint_seconds": 1.0},
    }
    print(f"python -c pass     {bare_s:.3f} s")
    print(f"TUI first paint    {paint_s:.3f} s   (heavy modules imported: {', '.join(sorted(heavy))})")
    print(f"  ratio            {paint_s / bare_s:.1f}×")
    print(f"  CPU time         {statistics.median(cpu):.3f} s   (load average {os.getloadavg()[0]:.1f})")
    save_results("tui_first_paint", result)


if __name__ == "__main__":
    main()

"""Run every benchmark in turn (each against its baseline in the same run); results in bench/results/.

.venv/bin/python -m bench.run_all
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    "bench.bench_inspect",
    "bench.bench_identity",
    "bench.bench_merge",
    "bench.bench_extract",
    "bench.bench_sft",
    "bench.bench_packing",
    "bench.bench_estimates",
    "bench.bench_tui",
]


def main() -> int:
    failed = []
    for module in BENCHMARKS:
        print(f"\n=== {module}", flush=True)
        if subprocess.run([sys.executable, "-m", module]).returncode != 0:
            failed.append(module)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Which device does `graft plan` estimate for on this machine? (a fresh process: nothing imported torch)

.venv/bin/python -m bench.plan_device_check
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    from tools.tiny import TinyModelArgs, build_tiny_model
    from tools.tiny_data import sft_rows, write_jsonl

    with tempfile.TemporaryDirectory(prefix="graft-plan-device-") as tmp:
        model = Path(tmp) / "model"
        build_tiny_model(TinyModelArgs(architecture="llama", output=str(model)))
        data = write_jsonl(Path(tmp) / "sft.jsonl", sft_rows(32))
        out = subprocess.run(
            [sys.executable, "-m", "tui.cli", "plan", "LoRA rank 8", "--model", str(model), "--data", str(data)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        print("\n".join(line for line in out.splitlines() if line.startswith(("device:", "│ 1"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

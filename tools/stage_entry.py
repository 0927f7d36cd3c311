"""Run one stage in its own process: `python -m tools.stage_entry JOB.json`.

The executor starts every stage this way (or through `accelerate launch` for several GPUs),
so an out-of-memory kill or a crash inside a trainer ends this process, not Graft. Progress
goes to stdout as `GRAFT_EVENT {json}` lines, the outcome as one `GRAFT_RESULT {json}` or
`GRAFT_ERROR {json}` line; everything else libraries print is left to the log.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from tools.errors import GraftError

EVENT, RESULT, ERROR = "GRAFT_EVENT ", "GRAFT_RESULT ", "GRAFT_ERROR "


def _is_main_rank() -> bool:
    return os.environ.get("RANK", "0") == "0" and os.environ.get("LOCAL_RANK", "0") == "0"


def _emit(prefix: str, payload: Any) -> None:
    if _is_main_rank():
        sys.stdout.write(prefix + json.dumps(payload, default=str) + "\n")
        sys.stdout.flush()


def run_job(job: dict[str, Any]) -> Any:
    """Dispatch a job {"tool": name, "spec": {...}, "kwargs": {...}} to its tool function."""
    tool, spec_data, kwargs = job["tool"], job.get("spec", {}), job.get("kwargs", {})
    progress = lambda event: _emit(EVENT, event)  # noqa: E731
    if tool == "sft":
        from tools.sft import run_sft
        from tools.training import SFTSpec

        return run_sft(SFTSpec.model_validate(spec_data), progress=progress, **kwargs)
    if tool in ("preference", "dpo"):  # "dpo": a job written before the stage was renamed
        from tools.preference import run_preference
        from tools.training import PreferenceSpec

        return run_preference(PreferenceSpec.model_validate(spec_data), progress=progress, **kwargs)
    if tool == "merge_adapter":
        from tools.merge_adapter import MergeAdapterSpec, merge_adapter

        return merge_adapter(MergeAdapterSpec.model_validate(spec_data), progress=progress, **kwargs)
    if tool == "merge_models":
        from tools.merge_models import MergeModelsSpec, merge_models

        return merge_models(MergeModelsSpec.model_validate(spec_data), progress=progress, **kwargs)
    if tool == "write":
        from tools.write import WriteSpec, write_final

        return write_final(WriteSpec.model_validate(spec_data), progress=progress, **kwargs)
    if tool == "convert":
        from tools.convert import ConvertArgs, convert_checkpoint

        return convert_checkpoint(ConvertArgs.model_validate(kwargs))
    raise GraftError(f"unknown stage tool {tool!r}.")


def watch_parent(interval: float = 0.5) -> None:
    """Exit when the process that started us dies (`kill -9` of Graft): no orphaned trainer
    keeps writing into a stage folder that the next run will reuse or clear."""
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(137)

    threading.Thread(target=watch, name="graft-parent-watch", daemon=True).start()


def exit_on_sigterm() -> None:
    """A cancel (SIGTERM) unwinds like an exception, so `finally` blocks remove half-made temporary folders."""
    import signal

    def stop(_signum: int, _frame: Any) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, stop)


def main(argv: list[str]) -> int:
    watch_parent()
    exit_on_sigterm()
    with open(argv[0], encoding="utf-8") as handle:
        job = json.load(handle)
    try:
        result = run_job(job)
    except GraftError as exc:
        _emit(ERROR, {"kind": "input", "message": str(exc)})
        return 2
    except MemoryError:
        _emit(ERROR, {"kind": "fault", "message": "ran out of memory"})
        return 1
    except Exception as exc:
        import traceback

        traceback.print_exc()
        _emit(ERROR, {"kind": "fault", "message": f"{type(exc).__name__}: {exc}"})
        return 1
    _emit(RESULT, result.model_dump(mode="json") if hasattr(result, "model_dump") else result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

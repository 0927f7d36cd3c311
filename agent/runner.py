"""Run one plan stage in a child process, with a cache so finished stages are not run twice.

Each stage writes into `<run>/<stage-id>/` (created atomically by the tool) and, once it
has finished, `<run>/<stage-id>.done.json`: the key it ran under (spec + input identity) and
its result. A stage whose key is unchanged is skipped; after a `kill -9` mid-stage the
half-made temporary folder is ignored and the stage runs again from its start.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from agent.plan import Plan
from tools.checkpoint import load_headers, resolve_checkpoint
from tools.datasets_io import file_sha256, load_rows
from tools.errors import GraftError, GraftFault
from tools.safetensors_writer import write_json
from tools.stage_entry import ERROR, EVENT, RESULT

EventSink = Callable[[dict[str, Any]], None]


# No stage may reach a hub: every model and dataset is a local path.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


class StageFault(GraftFault):
    """A stage crashed (a fault of the stage, not the person's input): exit status 1."""


def checkpoint_identity(path: str) -> str:
    """A cheap identity for a checkpoint: SHA-256 over its headers and config, not its data."""
    ckpt = resolve_checkpoint(path)
    digest = hashlib.sha256()
    if ckpt.format == "safetensors":
        for header in load_headers(ckpt):
            with open(header.path, "rb") as handle:
                digest.update(handle.read(header.data_start))
            digest.update(str(header.file_size).encode())
    else:
        for file in ckpt.files:
            digest.update(f"{file.name}:{file.stat().st_size}:{file.stat().st_mtime_ns}".encode())
    if ckpt.folder and (ckpt.folder / "config.json").is_file():
        digest.update((ckpt.folder / "config.json").read_bytes())
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    out = {}
    for name in ("graft", "torch", "transformers", "peft", "trl", "mergekit", "safetensors", "accelerate", "datasets"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def base_identity(path: str) -> dict[str, Any]:
    from tools.inspect import InspectArgs, inspect_checkpoint

    info = inspect_checkpoint(InspectArgs(path=path))
    config_path = Path(path) / "config.json"
    return {
        "path": str(Path(path).resolve()),
        "architecture": info.architecture,
        "model_type": info.model_type,
        "total_params": info.total_params,
        "num_layers": info.num_layers,
        "config": json.loads(config_path.read_text()) if config_path.is_file() else None,
        "config_sha256": hashlib.sha256(config_path.read_bytes()).hexdigest() if config_path.is_file() else None,
        "header_sha256": checkpoint_identity(path),
    }


class StageRunner:
    """Runs stages of one plan inside one run folder."""

    def __init__(self, plan: Plan, run_dir: str | Path, on_event: EventSink | None = None) -> None:
        self.plan = plan
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.on_event = on_event or (lambda _e: None)
        self._child: subprocess.Popen[str] | None = None

    def stage_dir(self, stage_id: str) -> Path:
        return self.run_dir / stage_id

    def marker(self, stage_id: str) -> Path:
        return self.run_dir / f"{stage_id}.done.json"

    def cache_key(self, stage: Any, inputs: list[str]) -> str:
        parts = [stage.spec_hash()]
        for item in inputs:
            parts.append(checkpoint_identity(item) if Path(item).exists() else item)
        dataset = getattr(stage, "dataset", None)
        if dataset:
            parts.append(file_sha256(dataset))
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    def cached(self, stage_id: str, key: str) -> dict[str, Any] | None:
        marker = self.marker(stage_id)
        if marker.is_file() and self.stage_dir(stage_id).is_dir():
            record = json.loads(marker.read_text())
            if record.get("key") == key:
                return record
        return None

    def run(
        self,
        stage: Any,
        tool: str,
        spec: dict[str, Any],
        kwargs: dict[str, Any],
        inputs: list[str],
        output_is_stage_dir: bool = True,
    ) -> tuple[dict[str, Any], bool]:
        """Run (or reuse) one stage; returns (result, reused)."""
        key = self.cache_key(stage, inputs)
        record = self.cached(stage.id, key) if output_is_stage_dir else None
        if record is not None:
            self.on_event({"stage": stage.id, "kind": "log", "message": "unchanged since the last run; reused"})
            return record["result"], True
        out = self.stage_dir(stage.id)
        if output_is_stage_dir:
            self.marker(stage.id).unlink(missing_ok=True)
            if out.exists():
                shutil.rmtree(out)  # our own stage folder from a run whose spec or inputs changed
        started = time.time()
        result = self._execute(stage, tool, spec, kwargs)
        record = {"key": key, "result": result, "started": started, "finished": time.time()}
        if output_is_stage_dir:
            tmp = self.marker(stage.id).with_suffix(".tmp")
            write_json(tmp, record)
            os.replace(tmp, self.marker(stage.id))
        return result, False

    def _execute(self, stage: Any, tool: str, spec: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        job_file = self.run_dir / f"{stage.id}.job.json"
        write_json(job_file, {"tool": tool, "spec": spec, "kwargs": kwargs})
        gpus = getattr(stage, "gpus", 1)
        if gpus > 1:
            from tools.distributed import launch_command

            argv = launch_command(
                job_file, self.run_dir / f"{stage.id}.accelerate.yaml", gpus, stage.distributed or "fsdp"
            )
        else:
            argv = [sys.executable, "-m", "tools.stage_entry", str(job_file)]
        log_path = self.run_dir / f"{stage.id}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false", **OFFLINE_ENV}
        with open(log_path, "w", encoding="utf-8") as log:
            self._child = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
                start_new_session=True,
                cwd=os.getcwd(),
            )
            outcome: tuple[str, Any] | None = None
            try:
                assert self._child.stdout is not None
                for line in self._child.stdout:
                    if line.startswith(EVENT):
                        self.on_event(json.loads(line[len(EVENT) :]))
                    elif line.startswith(RESULT):
                        outcome = ("ok", json.loads(line[len(RESULT) :]))
                    elif line.startswith(ERROR):
                        outcome = ("error", json.loads(line[len(ERROR) :]))
                    else:
                        log.write(line)
                code = self._child.wait()
            except BaseException:
                self.cancel()
                raise
            finally:
                self._child = None
        if outcome and outcome[0] == "ok":
            return outcome[1]
        if outcome and outcome[1].get("kind") == "input":
            raise GraftError(f"stage {stage.id} ({stage.kind}): {outcome[1]['message']}")
        reason = outcome[1]["message"] if outcome else _describe_exit(code)
        raise StageFault(f"stage {stage.id} ({stage.kind}) failed: {reason}; see {log_path}.")

    def cancel(self) -> None:
        """Stop the running stage's process group (Ctrl-C, or Cancel in the TUI)."""
        child = self._child
        if child is not None and child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGTERM)
                child.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _describe_exit(code: int) -> str:
    if code == -signal.SIGKILL or code == 137:
        return "the process was killed (most often: out of memory)"
    if code < 0:
        return f"the process died from signal {-code}"
    return f"the process exited with status {code}"


def dataset_record(path: str) -> dict[str, Any]:
    return {"path": str(Path(path).resolve()), "sha256": file_sha256(path), "rows": len(load_rows(path))}

"""Run one plan stage in a child process, with a cache so finished stages are not run twice.

Each stage writes into `<run>/<stage-id>/` (created atomically by the tool) and, once it
has finished, `<run>/<stage-id>.done.json`: the key it ran under (spec + input identity) and
its result. A stage whose key is unchanged is skipped; after a `kill -9` mid-stage the
half-made temporary folder is ignored and the stage runs again from its start.
"""

from __future__ import annotations

import functools
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
from tools.content_hash import HashCache, content_digest
from tools.datasets_io import load_rows
from tools.errors import GraftCancelled, GraftError, GraftFault
from tools.safetensors_writer import write_json
from tools.stage_entry import ERROR, EVENT, RESULT

EventSink = Callable[[dict[str, Any]], None]


# No stage may reach a hub: every model and dataset is a local path.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


class StageFault(GraftFault):
    """A stage crashed (a fault of the stage, not the person's input): exit status 1."""


def hash_cache() -> HashCache:
    """The content-hash cache under Graft's data folder (a second look at an unchanged file is free).

    One per data folder per process: every stage, provenance record and dataset record shares it
    instead of re-reading the JSON file each time.
    """
    from agent.graph import data_dir

    try:
        return _cache_at(data_dir() / "content-hashes.json")
    except GraftError:
        return HashCache(None)


@functools.lru_cache(maxsize=4)
def _cache_at(path: Path) -> HashCache:
    return HashCache(path)


def checkpoint_identity(path: str, cache: HashCache | None = None) -> str:
    """Identity of a checkpoint, adapter or dataset: a digest of its bytes, not of its headers."""
    return content_digest(path, cache)


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """Graft's version and a digest of the code that runs stages: new code never reuses old results."""
    digest = hashlib.sha256()
    try:
        digest.update(metadata.version("graft").encode())
    except metadata.PackageNotFoundError:
        pass
    root = Path(__file__).resolve().parent.parent
    for folder in ("tools",):
        for source in sorted((root / folder).glob("*.py")):
            digest.update(source.name.encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def library_versions() -> dict[str, str]:
    out = {}
    for name in ("graft", "torch", "transformers", "peft", "trl", "mergekit", "safetensors", "accelerate", "datasets"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def relative_path(path: str | Path, root: str | Path | None) -> str:
    """A path as provenance records it: relative to the plan's folder, never this machine's absolute path."""
    if root is None:
        return Path(path).name
    try:
        return os.path.relpath(Path(path).resolve(), Path(root).resolve())
    except ValueError:
        return Path(path).name


def base_identity(path: str, root: str | Path | None = None) -> dict[str, Any]:
    from tools.inspect import InspectArgs, inspect_checkpoint

    info = inspect_checkpoint(InspectArgs(path=path))
    config_path = Path(path) / "config.json"
    return {
        "path": relative_path(path, root),
        "architecture": info.architecture,
        "model_type": info.model_type,
        "total_params": info.total_params,
        "num_layers": info.num_layers,
        "config": json.loads(config_path.read_text()) if config_path.is_file() else None,
        "config_sha256": hashlib.sha256(config_path.read_bytes()).hexdigest() if config_path.is_file() else None,
        "content": checkpoint_identity(path, hash_cache()),
    }


class RunLock:
    """An exclusive lock on a run folder: two runs of one plan would retrain into the same folders."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / ".lock"
        self.handle: Any = None

    def acquire(self) -> None:
        import fcntl

        try:
            self.handle = open(self.path, "a+", encoding="utf-8")
        except OSError as exc:
            raise GraftError(f"cannot lock the run folder {self.path.parent}: {exc.strerror or exc}.") from None
        try:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "another process"
            self.handle.close()
            self.handle = None
            raise GraftError(
                f"the run folder {self.path.parent} is in use by another Graft run ({holder}); "
                "wait for it to finish or pass another --run-dir."
            ) from None
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(f"pid {os.getpid()}")
        self.handle.flush()

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


_HELD_LOCKS: dict[str, RunLock] = {}


def lock_run_dir(run_dir: Path) -> None:
    """Hold the run folder's lock for the life of this process (re-entrant within it)."""
    key = str(run_dir.resolve())
    if key in _HELD_LOCKS:
        return
    lock = RunLock(run_dir)
    lock.acquire()
    _HELD_LOCKS[key] = lock


def release_run_dir(run_dir: Path) -> None:
    lock = _HELD_LOCKS.pop(str(run_dir.resolve()), None)
    if lock is not None:
        lock.release()


def clean_leftovers(run_dir: Path) -> list[str]:
    """Remove what a killed run of ours left: half-made stage folders and job files in the run folder."""
    import re
    import tempfile

    from tools.safetensors_writer import pid_alive

    removed = []
    for entry in run_dir.iterdir():
        if entry.name.startswith(".") and ".tmp-" in entry.name:
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
            removed.append(entry.name)
    # Trainers' scratch folders (`graft-sft-PID-…`) of stage processes that were killed outright.
    pattern = re.compile(r"graft-[a-z_]+-(\d+)-")
    for entry in Path(tempfile.gettempdir()).glob("graft-*-*"):
        match = pattern.match(entry.name)
        if match and entry.is_dir() and not pid_alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(str(entry))
    return removed


class StageRunner:
    """Runs stages of one plan inside one run folder (locked while a run uses it)."""

    def __init__(self, plan: Plan, run_dir: str | Path, on_event: EventSink | None = None) -> None:
        self.plan = plan
        self.run_dir = Path(run_dir)
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GraftError(f"cannot create the run folder {self.run_dir}: {exc.strerror or exc}.") from None
        lock_run_dir(self.run_dir)
        self.on_event = on_event or (lambda _e: None)
        self._child: subprocess.Popen[str] | None = None
        self.cancelled = False
        self.cache = hash_cache()
        self.last_seconds = 0.0
        self.last_inputs: list[dict[str, str]] = []

    def stage_dir(self, stage_id: str) -> Path:
        return self.run_dir / stage_id

    def marker(self, stage_id: str) -> Path:
        return self.run_dir / f"{stage_id}.done.json"

    def cache_key(self, stage: Any, inputs: list[str]) -> str:
        """Spec + Graft's code + the bytes of every input (weights, adapters, data)."""
        parts = [stage.spec_hash(), code_version()]
        identities = []
        for item in inputs:
            ident = checkpoint_identity(item, self.cache) if Path(item).exists() else f"missing:{item}"
            identities.append({"path": item, "content": ident})
            parts.append(ident)
        dataset = getattr(stage, "dataset", None)
        if dataset:
            ident = checkpoint_identity(dataset, self.cache)
            identities.append({"path": dataset, "content": ident})
            parts.append(ident)
        self.cache.save()
        self.last_inputs = identities
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    def cached(self, stage_id: str, key: str) -> dict[str, Any] | None:
        marker = self.marker(stage_id)
        if not (marker.is_file() and self.stage_dir(stage_id).is_dir()):
            return None
        try:
            record = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.on_event({"stage": stage_id, "kind": "log", "message": f"{marker.name} is unreadable; running again"})
            return None
        if not isinstance(record, dict) or record.get("key") != key or not isinstance(record.get("result"), dict):
            return None
        output = record.get("output_content")
        if output and checkpoint_identity(str(self.stage_dir(stage_id)), self.cache) != output:
            self.on_event({"stage": stage_id, "kind": "log", "message": "its output changed on disk; running again"})
            return None
        return record

    def run(
        self,
        stage: Any,
        tool: str,
        spec: dict[str, Any],
        kwargs: dict[str, Any],
        inputs: list[str],
        output_is_stage_dir: bool = True,
    ) -> tuple[dict[str, Any], bool]:
        """Run (or reuse) one stage; returns (result, reused). `last_seconds` is its real run time."""
        key = self.cache_key(stage, inputs)
        record = self.cached(stage.id, key) if output_is_stage_dir else None
        if record is not None:
            self.on_event({"stage": stage.id, "kind": "log", "message": "unchanged since the last run; reused"})
            self.last_seconds = float(record.get("finished", 0) - record.get("started", 0))
            return record["result"], True
        out = self.stage_dir(stage.id)
        if output_is_stage_dir:
            self.marker(stage.id).unlink(missing_ok=True)
            if out.exists():
                shutil.rmtree(out)  # our own stage folder from a run whose spec or inputs changed
        started = time.time()
        result = self._execute(stage, tool, spec, kwargs)
        finished = time.time()
        self.last_seconds = finished - started
        if output_is_stage_dir:
            record = {"key": key, "result": result, "started": started, "finished": finished}
            if out.exists():
                record["output_content"] = checkpoint_identity(str(out), self.cache)
                self.cache.save()
            tmp = self.marker(stage.id).with_suffix(".tmp")
            write_json(tmp, record)
            os.replace(tmp, self.marker(stage.id))
        return result, False

    def _execute(self, stage: Any, tool: str, spec: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        if self.cancelled:
            raise GraftCancelled(f"cancelled before stage {stage.id}")
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
        if self.cancelled:
            raise GraftCancelled(f"stage {stage.id} was cancelled; its half-made output was discarded")
        if outcome and outcome[0] == "ok":
            return outcome[1]
        if outcome and outcome[1].get("kind") == "input":
            raise GraftError(f"stage {stage.id} ({stage.kind}): {outcome[1]['message']}")
        reason = outcome[1]["message"] if outcome else _describe_exit(code)
        raise StageFault(f"stage {stage.id} ({stage.kind}) failed: {reason}; see {log_path}.")

    def cancel(self, hard: bool = False) -> None:
        """Stop the running stage's process group now (Ctrl-C, Cancel in the TUI); safe from a signal handler."""
        self.cancelled = True
        child = self._child
        if child is None or child.poll() is not None:
            return
        try:
            os.killpg(child.pid, signal.SIGKILL if hard else signal.SIGTERM)
        except ProcessLookupError:
            return
        if hard:
            return
        import threading

        def escalate() -> None:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

        threading.Thread(target=escalate, name="graft-cancel", daemon=True).start()


def _describe_exit(code: int) -> str:
    if code == -signal.SIGKILL or code == 137:
        return "the process was killed (most often: out of memory)"
    if code < 0:
        return f"the process died from signal {-code}"
    return f"the process exited with status {code}"


def dataset_record(path: str, root: str | Path | None = None, rows: int | None = None) -> dict[str, Any]:
    """Where a stage's data came from; `rows` from the stage's own result when it has them, so the
    file is not read a second time only to be counted."""
    return {
        "path": relative_path(path, root),
        "content": checkpoint_identity(path, hash_cache()),
        "rows": rows if rows is not None else len(load_rows(path)),
    }

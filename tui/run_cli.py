"""`graft run` and `graft demo`: drive the executor graph from a terminal.

The graph's two interrupts (run the plan? write the result?) are answered here from `--yes`
or from the person at the terminal; without a terminal and without `--yes` Graft refuses.
Progress events become rich progress bars, one per stage, with the latest loss.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any

from tools.errors import GraftError
from tui.safe_text import inert, visible_controls


class TerminalAnswers:
    """Answers the graph's interrupts: from --yes, or by asking the person."""

    def __init__(self, console: Any, yes: bool, overwrite: bool) -> None:
        self.console, self.yes, self.overwrite = console, yes, overwrite
        if not yes and not sys.stdin.isatty():
            raise GraftError("there is no terminal to ask for approval; pass --yes to approve the plan and the write.")

    def _ask(self, question: str) -> bool:
        """Yes or no from the person; end of input (Ctrl-D) is a no, never a crash."""
        from rich.prompt import Confirm

        try:
            return Confirm.ask(question, console=self.console, default=False)
        except EOFError:
            self.console.print()
            return False

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        if payload["type"] == "approve_plan":
            if self.yes:
                self.console.print("plan approved by --yes")
                return {"approved": True}
            ok = self._ask("Run this plan?")
            return {"approved": ok, "reason": "" if ok else "declined at the terminal"}
        if payload["type"] == "confirm_write":
            from tui.present import print_write_preview

            print_write_preview(self.console, payload)
            if self.yes:  # --yes approves the write, never the replacement of an existing folder
                return {"confirmed": True, "overwrite": self.overwrite}
            if not self._ask(f"Write the final model to {inert(payload['output'])}?"):
                return {"confirmed": False}
            overwrite = payload["exists"] and self._ask(f"{inert(payload['output'])} exists. Replace it?")
            return {"confirmed": True, "overwrite": overwrite}
        return {}


class LineProgress:
    """Progress as plain lines when stdout is not a terminal (`| tee`, nohup, CI logs): a stage's first
    and last step, and between them at most one line every `interval` seconds, never a redrawn bar."""

    def __init__(self, console: Any, interval: float = 15.0) -> None:
        self.console, self.interval = console, interval
        self.started: dict[str, float] = {}
        self.last_line: dict[str, float] = {}
        self.last_step: dict[str, Any] = {}
        self.loss: dict[str, float] = {}
        self.losses: dict[str, list[float]] = {}
        self.pending: dict[str, tuple[Any, Any]] = {}  # a last step whose loss is still to come

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def _line(self, stage: str, text: str) -> None:
        elapsed = time.monotonic() - self.started.get(stage, time.monotonic())
        self.console.print(f"[{visible_controls(stage)}] {text} · {elapsed:.0f} s", markup=False)

    def __call__(self, event: dict[str, Any]) -> None:
        stage = str(event.get("stage", "?"))
        kind = event.get("kind")
        now = time.monotonic()
        self.started.setdefault(stage, now)
        if kind == "progress":
            if event.get("loss") is not None:
                self.loss[stage] = event["loss"]
                self.losses.setdefault(stage, []).append(event["loss"])
            step, total = event.get("step", 0), event.get("total")
            first = stage not in self.last_line
            last = bool(total) and step >= total and self.last_step.get(stage) != step
            if last and event.get("loss") is None and stage in self.loss:
                # the trainer reports a step before that step's loss: printing now showed the step before's loss
                self.pending[stage] = (step, total)
                return
            if first or last or now - self.last_line[stage] >= self.interval:
                self.pending.pop(stage, None)
                self.last_line[stage], self.last_step[stage] = now, step
                loss = f" · loss {self.loss[stage]:.4f}" if stage in self.loss else ""
                unit = event.get("unit", "step")  # a write counts tensors, not training steps
                self._line(stage, f"{unit} {step}/{total or '?'}{loss}")
        elif kind == "stage_done":
            if stage in self.pending:  # the last step's loss never came: the step, with no stale loss beside it
                step, total = self.pending.pop(stage)
                self._line(stage, f"step {step}/{total}")
            result = event.get("result") or {}
            note = "reused" if event.get("message") == "reused" else "done"
            if result.get("eval_summary"):  # the method's own held-out terms (DPO margin, KTO rewards, SFT loss)
                note += f" · {result['eval_summary']}"
            elif result.get("eval_loss_before") is not None and result.get("eval_loss_after") is not None:
                note += f" · held-out loss {result['eval_loss_before']:.4f} → {result['eval_loss_after']:.4f}"
            elif stage in self.loss:
                note += f" · loss {self.loss[stage]:.4f}"
            self._line(stage, note)
        elif kind == "log" and event.get("message"):
            self.console.print("  " + visible_controls(f"{stage}: {event['message']}"), markup=False)


def progress_view(console: Any) -> ProgressView | LineProgress:
    """Bars on a terminal, plain lines elsewhere."""
    return ProgressView(console) if console.is_terminal else LineProgress(console)


class ProgressView:
    """Rich progress bars, one per stage, fed by the executor's events."""

    def __init__(self, console: Any) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[loss]}"),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, Any] = {}
        self.console = console
        self.losses: dict[str, list[float]] = {}

    def __enter__(self) -> ProgressView:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: dict[str, Any]) -> None:
        stage = event.get("stage", "?")
        kind = event.get("kind")
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(inert(stage), total=None, loss="")
        task = self.tasks[stage]
        if kind == "progress":
            fields: dict[str, Any] = {}
            if event.get("loss") is not None:
                self.losses.setdefault(stage, []).append(event["loss"])
                fields["loss"] = f"loss {event['loss']:.4f}"
            self.progress.update(task, completed=event.get("step", 0), total=event.get("total") or None, **fields)
        elif kind == "stage_done":
            t = self.progress.tasks[task] if isinstance(task, int) and task < len(self.progress.tasks) else None
            total = (t.total if t and t.total else 1) if t else 1
            note = "reused" if event.get("message") == "reused" else self.progress.tasks[task].fields.get("loss", "")
            result = event.get("result") or {}
            if result.get("eval_summary"):
                note = inert(result["eval_summary"])
                note += " (reused)" if event.get("message") == "reused" else ""
            elif result.get("eval_loss_before") is not None and result.get("eval_loss_after") is not None:
                note = f"held-out loss {result['eval_loss_before']:.4f} → {result['eval_loss_after']:.4f}"
                note += " (reused)" if event.get("message") == "reused" else ""
            self.progress.update(task, total=total, completed=total, loss=note)
        elif kind == "log" and event.get("message"):
            self.progress.console.print(f"  {inert(stage)}: {inert(event['message'])}")


class StopOnInterrupt:
    """Ctrl-C while a stage runs stops its worker at once (the graph's executor would otherwise wait
    for the stage to finish); a second Ctrl-C kills it outright and leaves."""

    def __init__(self, runners: list[Any], console: Any) -> None:
        self.runners, self.console, self.presses = runners, console, 0
        self.previous: Any = None

    def __enter__(self) -> StopOnInterrupt:
        import signal

        self.previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        signal.signal(signal.SIGINT, self.previous)

    def _on_sigint(self, _signum: int, _frame: Any) -> None:
        self.presses += 1
        live = [r for r in self.runners if getattr(r, "_child", None) is not None]
        if self.presses == 1 and live:
            self.console.print("[yellow]stopping the running stage… (Ctrl-C again to kill it)[/]")
            for runner in live:
                runner.cancel()
            return
        for runner in self.runners:
            runner.cancel(hard=True)
        raise KeyboardInterrupt


def execute_plan(
    plan: Any,
    run_dir: Path,
    yes: bool,
    overwrite: bool,
    console: Any,
    plan_path: Path | None = None,
) -> dict[str, Any]:
    """Validate, check the destination, show, approve, run and write a plan; return the final state."""
    from agent.graph import build_graph, drive, initial_state, open_checkpointer
    from agent.preflight import preflight
    from agent.runner import lock_run_dir, release_run_dir
    from agent.validate import validate_plan
    from tools.errors import GraftCancelled
    from tui.present import print_plan

    report = validate_plan(plan)
    # Before the first stage: the output's parent, free space, permission, and (with --yes) an existing
    # output that would be refused after an hour of training.
    preflight(plan, plan_path, run_dir, overwrite=overwrite if yes else None, needed_bytes=_needed_bytes(plan, report))
    print_plan(console, plan, report)
    answers = TerminalAnswers(console, yes, overwrite)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GraftError(f"cannot create the run folder {run_dir}: {exc.strerror or exc}.") from None
    lock_run_dir(run_dir)
    runners: list[Any] = []
    graph = build_graph(open_checkpointer(), runner_hook=runners.append)
    config = {"configurable": {"thread_id": f"run-{uuid.uuid4().hex[:12]}"}}
    plan_dir = plan_path.resolve().parent if plan_path is not None else Path.cwd()
    start = time.perf_counter()
    try:
        with progress_view(console) as view, StopOnInterrupt(runners, console):
            state = drive(graph, config, initial_state(plan, run_dir, plan_dir), answers, view)
    except GraftCancelled:
        state = {"status": "stopped", "run_dir": str(run_dir)}
    except KeyboardInterrupt:
        for runner in runners:
            runner.cancel(hard=True)
        raise
    finally:
        release_run_dir(run_dir)
    state["elapsed"] = time.perf_counter() - start
    state.setdefault("run_dir", str(run_dir))
    return state


def _needed_bytes(plan: Any, report: Any) -> int | None:
    """About how large the final write will be: the base's parameters at the write's dtype."""
    params = (getattr(report, "base", None) or {}).get("params")
    if not params:
        return None
    dtype = next((getattr(s, "dtype", "auto") for s in plan.stages if s.kind == "write"), "auto")
    return int(params) * (2 if dtype in ("bfloat16", "float16") else 4)


def cmd_run(args: Any) -> int:
    from agent.plan import load_plan
    from tui.cli import _console

    plan = load_plan(args.plan)
    run_dir = Path(args.run_dir) if args.run_dir else Path(args.plan).with_suffix(".run")
    console = _console()
    state = execute_plan(plan, run_dir, args.yes, args.overwrite, console, plan_path=Path(args.plan))
    return report_outcome(console, state, rerun=f"graft run {args.plan}")


def report_outcome(console: Any, state: dict[str, Any], rerun: str = "the same command") -> int:
    """Summarise a finished run; a declined plan or write is a refusal (exit 2), a stop exits 130."""
    status = state.get("status")
    if status == "rejected":
        raise GraftError("the plan was not approved; nothing was run.")
    if status == "stopped":
        console.print(
            f"[yellow]cancelled[/]: finished stages are kept in {inert(state.get('run_dir'))}; "
            f"`{inert(rerun)}` resumes from them without training them again."
        )
        return 130
    if status == "cancelled":
        reason = str(state.get("reason", ""))
        hint = " (pass --overwrite to replace it)" if reason.endswith("was not approved") and "exists" in reason else ""
        raise GraftError(
            f"not written: {reason}{hint}; finished stages stay in {state.get('run_dir')}, "
            f"and `{rerun}` writes from them without training again."
        )
    final = state.get("final", {})
    console.print(f"[bold green]done[/] in {state.get('elapsed', 0):.1f} s → {inert(final.get('output'))}")
    if final.get("generate_check"):
        console.print(f"  verified {final.get('verified_tensors')} tensors; {inert(final['generate_check'])}")
    if final.get("heldout"):
        from tools.heldout import describe_comparison

        console.print("  held-out, base → final, per stage:")
        for line in describe_comparison(final["heldout"]):
            console.print(f"    {inert(line)}")
    return 0


def cmd_demo(args: Any) -> int:
    """Build a tiny model and data, then run the whole seed pipeline on them."""
    from agent.plan import plan_from_data, save_plan
    from tools.inspect import InspectArgs, inspect_checkpoint
    from tools.tiny import TinyModelArgs, build_tiny_model
    from tools.tiny_data import chat_preference_rows, dpo_rows, sft_rows, write_jsonl
    from tui.cli import _console
    from tui.present import print_inspect

    console = _console()
    out = Path(args.out)
    marker = out / ".graft-demo"
    if out.exists() and any(out.iterdir()) and not marker.exists():
        raise GraftError(f"{out} exists and was not made by `graft demo`; choose another --out.")
    out.mkdir(parents=True, exist_ok=True)
    marker.write_text("made by graft demo\n")
    start = time.perf_counter()
    model = out / "model"
    if not (model / "model.safetensors").is_file():
        console.print(f"building a tiny {args.arch} model (random weights, tokenizer trained here) in {model}")
        build_tiny_model(TinyModelArgs(architecture=args.arch, output=str(model), hidden_size=64, num_layers=4))
    data = out / "data"
    write_jsonl(data / "sft.jsonl", sft_rows(64, seed=0))
    write_jsonl(data / "sft-variant.jsonl", sft_rows(64, seed=7))
    write_jsonl(data / "dpo.jsonl", dpo_rows(48, seed=0))
    write_jsonl(data / "prefs-chat.jsonl", chat_preference_rows(48, seed=3))
    steps = args.steps
    targets = ["q_proj", "k_proj", "v_proj", "o_proj"] if args.arch != "gpt2" else ["c_attn"]
    plan = plan_from_data(
        {
            "goal": "Teach the tiny model our chat answers, prefer short replies, blend in a second fine-tune "
            "tuned with ORPO on chat preference pairs, and give me one safetensors file.",
            "base_model": str(model),
            "output": str(out / "final"),
            "stages": [
                {
                    "kind": "sft",
                    "id": "sft",
                    "dataset": str(data / "sft.jsonl"),
                    "target_modules": targets,
                    "r": 8,
                    "alpha": 16,
                    "max_steps": steps,
                    "learning_rate": 5e-3,
                    "batch_size": 8,
                },
                {"kind": "merge_adapter", "id": "sft-merged"},
                {
                    "kind": "preference",
                    "id": "dpo",
                    "method": "dpo",
                    "dataset": str(data / "dpo.jsonl"),
                    "target_modules": targets,
                    "r": 8,
                    "alpha": 16,
                    "max_steps": steps,
                    "learning_rate": 1e-3,
                    "batch_size": 8,
                    "beta": 0.1,
                },
                {"kind": "merge_adapter", "id": "dpo-merged"},
                {
                    "kind": "sft",
                    "id": "variant",
                    "input": "@base",
                    "dataset": str(data / "sft-variant.jsonl"),
                    "adapter": "lora",
                    "layers": [2, 3],
                    "r": 8,
                    "alpha": 16,
                    "max_steps": steps,
                    "learning_rate": 5e-3,
                    "batch_size": 8,
                },
                {  # reference-free: ORPO trains on the folded variant adapter, no reference model in memory
                    "kind": "preference",
                    "id": "orpo",
                    "method": "orpo",
                    "dataset": str(data / "prefs-chat.jsonl"),
                    "layers": [2, 3],
                    "r": 8,
                    "alpha": 16,
                    "max_steps": steps,
                    "learning_rate": 1e-3,
                    "batch_size": 8,
                },
                {"kind": "merge_adapter", "id": "variant-merged"},
                {
                    "kind": "merge_models",
                    "id": "ties",
                    "method": "ties",
                    "models": ["@dpo-merged", "@variant-merged"],
                    "weights": [0.7, 0.3],
                    "density": 0.7,
                    "base": "@base",
                },
                {"kind": "write", "id": "write", "dtype": "bfloat16"},
            ],
        },
        "demo plan",
    )
    plan_path = out / "plan.yaml"
    save_plan(plan, plan_path, overwrite=True)
    console.print(f"plan saved to {plan_path} (rerun it with `graft run {plan_path}`)")
    state = execute_plan(plan, out / "run", yes=True, overwrite=True, console=console, plan_path=plan_path)
    code = report_outcome(console, state, rerun=f"graft run {plan_path} --yes --overwrite")
    if code == 0:
        console.print()
        print_inspect(console, inspect_checkpoint(InspectArgs(path=str(out / "final"))))
        console.print(f"demo finished in {time.perf_counter() - start:.1f} s; the artifact is {out / 'final'}")
    return code

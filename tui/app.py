"""The Textual app: chat, plan review and editing, live runs, checkpoint inspector, confirm-before-write.

It drives the same conversation graph as the command line and adds only presentation and input.
Heavy work (planning, inspecting, training) runs in worker threads and the executor's worker
processes; torch and transformers are never imported by this process before a stage needs them.
Everything from checkpoints, datasets and the LLM is shown as plain `Text` (no markup, control
codes made visible), and only the person's own key presses and clicks resume the graph.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import Hit, Hits, Provider
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    Markdown,
    ProgressBar,
    RichLog,
    Sparkline,
    Static,
    TabbedContent,
    TabPane,
    TextArea,
    Tree,
)

from tui.safe_text import visible_controls

HELP = """**Graft** — tell it what the model should become; it plans, asks, runs, and asks again before writing.

- `/open PATH` — choose the base model (also `graft --model PATH`)
- `/data FILE ...` — datasets the plan may use · `/output DIR` — where the final model goes
- type a goal in English or Russian, or a question ("what does this checkpoint contain?")
- `/plan GOAL` — plan explicitly · `/run PLAN.yaml` — run a saved plan
- `/inspect [PATH]` · `/diff A B` · `/export [script|mergekit|trl] [FILE]`
- `/resume` — reopen the last conversation · `/help`

Keys: **f6** approve · **f7** edit · **f8** reject · **ctrl+x** cancel the running stage · **f2–f5** tabs · **ctrl+q** quit"""


def plain(value: object) -> Text:
    """Untrusted text as a Text object: never parsed as markup, control codes shown as escapes."""
    return Text(visible_controls(str(value)))


def safe_markdown(value: object) -> str:
    return visible_controls(str(value))


class EditPlanScreen(ModalScreen[str | None]):
    """The plan's YAML in a TextArea; Save re-validates, errors come back inline."""

    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, text: str, error: str | None = None) -> None:
        super().__init__()
        self.text, self.error = text, error

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-box"):
            yield Label("Edit the plan (YAML). Save re-validates it against the files.")
            try:
                area = TextArea.code_editor(self.text, language="yaml", id="plan-yaml")
            except Exception:  # no YAML grammar installed: plain editing still works
                area = TextArea(self.text, id="plan-yaml")
            yield area
            yield Static(plain(self.error or ""), id="edit-error", classes="error" if self.error else "")
            with Horizontal(classes="buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        self.dismiss(self.query_one("#plan-yaml", TextArea).text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class RejectScreen(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="reject-box"):
            yield Label("Why reject it? The reason goes back to the planner (empty: drop the plan).")
            yield Input(placeholder="e.g. use DoRA, only the last 2 layers, rank 8", id="reason")
            with Horizontal(classes="buttons"):
                yield Button("Reject", id="reject", variant="error")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#reject")
    def submit(self) -> None:
        self.dismiss(self.query_one("#reason", Input).value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmWriteScreen(ModalScreen[dict | None]):
    """Before the final write: where, how big, which dtype and shards, which stages."""

    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__()
        self.payload = payload

    def compose(self) -> ComposeResult:
        p = self.payload
        lines = [
            f"output: {p.get('output')}",
            f"from: {p.get('model')}"
            + (
                f" + adapters {', '.join(p['pending_adapters'])} (folded first, in order)"
                if p.get("pending_adapters")
                else ""
            ),
            f"dtype: {p.get('dtype')} · shards ≤ {p.get('max_shard_size')} · about {_size(p.get('bytes'))}",
            "stages: " + " → ".join(f"{s['id']} ({s.get('method') or s['kind']})" for s in p.get("stages", [])),
            "provenance: base identity, every stage with its data hash, metrics and library versions",
        ]
        if p.get("exists"):
            lines.append(f"{p.get('output')} EXISTS and will be replaced.")
        with Vertical(id="confirm-box"):
            yield Label("Write the final model?")
            yield Static(plain("\n".join(lines)), id="confirm-text")
            with Horizontal(classes="buttons"):
                yield Button("Write", id="write", variant="success")
                yield Button("Cancel", id="cancel", variant="error")

    @on(Button.Pressed, "#write")
    def write(self) -> None:
        self.dismiss({"confirmed": True, "overwrite": bool(self.payload.get("exists"))})

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss({"confirmed": False})


def _size(n: object) -> str:
    if not isinstance(n, int):
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n:.1f} PiB"


class GraftCommands(Provider):
    """A command palette entry for each action of the app."""

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        app = self.app
        assert isinstance(app, GraftApp)
        for name, help_text, callback in app.palette_actions():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


class GraftApp(App[None]):
    TITLE = "Graft"
    SUB_TITLE = "post-train a model from plain words"
    CSS = """
    #chat-pane { width: 3fr; }
    #side { width: 4fr; }
    #chat { height: 1fr; padding: 0 1; }
    .user { color: $accent; margin: 1 0 0 0; }
    .assistant { margin: 0 0 1 0; }
    .error { color: $error; }
    #review { height: auto; display: none; }
    #review.shown { display: block; }
    #review Button { margin: 0 1; }
    #edit-box, #reject-box, #confirm-box { width: 90%; height: auto; max-height: 90%; border: thick $accent; background: $surface; padding: 1 2; }
    #confirm-text { height: auto; max-height: 16; overflow-y: auto; }
    #plan-yaml { height: 24; }
    EditPlanScreen, RejectScreen, ConfirmWriteScreen { align: center middle; }
    .buttons { height: auto; margin-top: 1; }
    #loss { height: 6; }
    #bars { height: auto; max-height: 14; }
    #run-log { height: 1fr; }
    """
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("ctrl+q", "quit", "Quit"),
        Binding("ctrl+x", "cancel_run", "Cancel run"),
        Binding("f1", "help", "Help"),
        Binding("f2", "tab('plan')", "Plan"),
        Binding("f3", "tab('checkpoint')", "Checkpoint"),
        Binding("f4", "tab('run')", "Run"),
        Binding("f5", "tab('diff')", "Diff"),
        Binding("f6", "review('approve')", "Approve"),
        Binding("f7", "review('edit')", "Edit"),
        Binding("f8", "review('reject')", "Reject"),
    ]

    COMMANDS = App.COMMANDS | {GraftCommands}

    def palette_actions(self) -> list[tuple[str, str, Any]]:
        def prefill(text: str) -> Any:
            def go() -> None:
                box = self.query_one("#prompt", Input)
                box.value = text
                box.focus()

            return go

        return [
            ("Approve plan", "run the proposed plan", self.approve),
            ("Edit plan", "edit the plan's YAML", self.edit),
            ("Reject plan", "reject with a reason for the planner", self.reject),
            ("Cancel run", "stop the running stage", self.action_cancel_run),
            ("Open model", "choose the base checkpoint", prefill("/open ")),
            ("Inspect checkpoint", "what a checkpoint contains", prefill("/inspect ")),
            ("Diff checkpoints", "what changed between two checkpoints", prefill("/diff ")),
            ("Datasets", "datasets the plan may use", prefill("/data ")),
            ("Run plan file", "run a saved plan YAML", prefill("/run ")),
            ("Export plan", "as a script, mergekit YAML or TRL configs", prefill("/export script ")),
            ("Resume last conversation", "reopen the last conversation", self.resume_worker),
            ("Show plan", "Plan tab", lambda: self.action_tab("plan")),
            ("Show checkpoint", "Checkpoint tab", lambda: self.action_tab("checkpoint")),
            ("Show run", "Run tab", lambda: self.action_tab("run")),
            ("Show diff", "Diff tab", lambda: self.action_tab("diff")),
            ("Help", "commands and keys", self.action_help),
        ]

    def __init__(
        self,
        model: str | None = None,
        data: list[str] | None = None,
        output: str | None = None,
        resume: bool = False,
        offline: bool | None = None,
        thread_id: str | None = None,
    ) -> None:
        super().__init__()
        self.model, self.data, self.output = model, list(data or []), output
        self.offline = offline
        self.want_resume = resume
        self.thread_id = thread_id
        self.graph: Any = None
        self.active: tuple[Any, dict[str, Any]] | None = None
        self.runners: list[Any] = []
        self.pending: dict[str, Any] | None = None
        self.shown_messages = 0
        self.last_edit: str | None = None
        self.losses: list[float] = []
        self.bars: dict[str, ProgressBar] = {}
        self.plan_data: dict[str, Any] | None = None
        self.busy = False

    # ---- layout ----
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="chat-pane"):
                yield VerticalScroll(id="chat")
                with Horizontal(id="review"):
                    yield Button("Approve", id="approve", variant="success")
                    yield Button("Edit", id="edit", variant="primary")
                    yield Button("Reject", id="reject", variant="error")
                yield Input(placeholder="a goal, a question, or /help", id="prompt")
            with TabbedContent(id="side", initial="plan"):
                with TabPane("Plan", id="plan"):
                    yield DataTable(id="plan-table", zebra_stripes=True)
                    yield Static(id="plan-notes")
                with TabPane("Checkpoint", id="checkpoint"):
                    yield Tree(Text("no checkpoint open"), id="ckpt-tree")
                with TabPane("Run", id="run"):
                    yield VerticalScroll(id="bars")
                    yield Sparkline([], id="loss")
                    yield RichLog(id="run-log", wrap=True, markup=False)
                with TabPane("Diff", id="diff"):
                    yield VerticalScroll(Static("use /diff A B", id="diff-text"), id="diff-scroll")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#plan-table", DataTable)
        table.add_columns("#", "stage", "kind", "method", "layers", "targets", "data / models", "status")
        self.query_one("#prompt", Input).focus()
        self.say(
            "assistant",
            HELP if not self.model else f"Base model: `{safe_markdown(self.model)}`. What should it become?",
        )
        if self.model:
            self.inspect_worker(self.model, open_tab=False)
        if self.want_resume:
            self.resume_worker()

    # ---- chat ----
    def say(self, role: str, text: str, error: bool = False) -> None:
        chat = self.query_one("#chat", VerticalScroll)
        if role == "user":
            widget: Any = Static(plain("› " + text), classes="user")
        else:
            widget = Markdown(safe_markdown(text), classes="assistant error" if error else "assistant")
        chat.mount(widget)
        chat.scroll_end(animate=False)

    @on(Input.Submitted, "#prompt")
    def submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.value = ""
        if not text:
            return
        self.say("user", text)
        if text.startswith("/"):
            self.run_command(text)
        elif self.pending is not None:
            self.say("assistant", "Answer the open question first: Approve, Edit or Reject the plan (or Write/Cancel).")
        else:
            self.send_goal(text)

    def send_goal(self, text: str) -> None:
        from agent.conversation import message_input

        self.advance(message_input(text, model=self.model, data=self.data, output=self.output, offline=self.offline))

    def run_command(self, text: str) -> None:
        try:
            parts = shlex.split(text)
        except ValueError as exc:
            self.say("assistant", f"Could not read that command: {exc}", error=True)
            return
        name, args = parts[0].lower(), parts[1:]
        if name == "/help":
            self.say("assistant", HELP)
        elif name == "/open" and args:
            self.model = args[0]
            self.inspect_worker(args[0], open_tab=True)
        elif name == "/inspect":
            target = args[0] if args else self.model
            if target:
                self.inspect_worker(target, open_tab=True)
            else:
                self.say("assistant", "Nothing to inspect: /open PATH first.", error=True)
        elif name == "/diff" and len(args) == 2:
            self.diff_worker(args[0], args[1])
        elif name == "/data":
            self.data = args
            self.say("assistant", "Datasets: " + (", ".join(f"`{safe_markdown(a)}`" for a in args) or "none"))
        elif name == "/output" and args:
            self.output = args[0]
            self.say("assistant", f"The final model will go to `{safe_markdown(args[0])}`.")
        elif name == "/plan" and args:
            self.send_goal(" ".join(args))
        elif name == "/run" and args:
            self.run_plan_file(args[0])
        elif name == "/export":
            self.export(args)
        elif name == "/resume":
            self.resume_worker()
        else:
            self.say("assistant", f"Unknown or incomplete command {safe_markdown(name)}; try /help.", error=True)

    # ---- the graph, in a worker thread ----
    def _conversation(self) -> Any:
        if self.graph is None:
            from agent.conversation import build_conversation, new_thread_id, remember_thread
            from agent.graph import open_checkpointer

            self.checkpointer = open_checkpointer()
            self.graph = build_conversation(self.checkpointer, runner_hook=self.runners.append)
            self.thread_id = self.thread_id or new_thread_id()
            remember_thread(self.thread_id)
        return self.graph

    def advance(self, value: Any, graph: Any = None, config: dict[str, Any] | None = None) -> None:
        if self.busy:
            self.say("assistant", "Still working on the last step; wait for it or press ctrl+x to cancel.", error=True)
            return
        self.busy = True
        self._advance(value, graph, config)

    @work(thread=True, exclusive=True, group="graph")
    def _advance(self, value: Any, graph: Any, config: dict[str, Any] | None) -> None:
        pending = None
        try:
            if graph is None:
                graph = self._conversation()
                config = {"configurable": {"thread_id": self.thread_id}}
            self.active = (graph, config)
            for mode, chunk in graph.stream(value, config, stream_mode=["updates", "custom"]):
                if mode == "custom":
                    self.call_from_thread(self.show_event, chunk)
                elif mode == "updates" and "__interrupt__" in chunk:
                    pending = chunk["__interrupt__"][0].value
            values = graph.get_state(config).values
            self.call_from_thread(self.after_step, pending, values)
        except Exception as exc:  # a stage fault or a cancelled run: tell the person, keep the app
            message = str(exc) if type(exc).__name__ in ("GraftError", "StageFault") else f"{type(exc).__name__}: {exc}"
            self.call_from_thread(self.failed, message)

    def failed(self, message: str) -> None:
        self.busy = False
        self.pending = None
        self.query_one("#review").remove_class("shown")
        self.say("assistant", f"Stopped: {message}", error=True)

    def after_step(self, pending: dict[str, Any] | None, values: dict[str, Any], replay: bool = False) -> None:
        self.busy = False
        messages = values.get("messages", [])
        for message in messages[self.shown_messages :]:
            if replay and message.get("role") == "user":
                self.say("user", message.get("content", ""))
            elif message.get("role") == "assistant":
                self.say("assistant", message.get("content", ""), error=message.get("kind") == "error")
                if message.get("shows") == "checkpoint" and self.model:
                    self.inspect_worker(self.model, open_tab=True, announce=False)
        self.shown_messages = len(messages)
        if values.get("plan"):
            self.show_plan(values["plan"], values)
        self.pending = pending
        review = self.query_one("#review")
        if pending and pending.get("type") == "approve_plan":
            review.add_class("shown")
            if pending.get("error"):
                self.say("assistant", f"The edited plan is not valid: {pending['error']}", error=True)
                self.push_screen(EditPlanScreen(self.last_edit or "", pending["error"]), self.edited)
        else:
            review.remove_class("shown")
        if pending and pending.get("type") == "confirm_write":
            self.push_screen(ConfirmWriteScreen(pending), self.confirmed)
        status = values.get("status")
        if not pending and status == "done" and values.get("final"):
            out = values["final"].get("output")
            self.say(
                "assistant",
                f"Done. The model is in `{safe_markdown(out)}`; `/inspect {safe_markdown(out)}` shows its provenance.",
            )
        elif not pending and status == "cancelled":
            self.say(
                "assistant",
                f"Not written: {safe_markdown(values.get('reason', ''))}. Finished stages stay in the run folder.",
            )

    def show_plan(self, plan: dict[str, Any], values: dict[str, Any]) -> None:
        self.plan_data = plan
        table = self.query_one("#plan-table", DataTable)
        table.clear()
        cursor = values.get("cursor", 0)
        running = values.get("status") in ("running", "writing", "done", "cancelled")
        for i, stage in enumerate(plan["stages"]):
            method = stage.get("adapter") or stage.get("method") or stage.get("combination") or ""
            targets = ", ".join(stage.get("target_modules") or []) or (
                "all linear" if stage["kind"] in ("sft", "dpo") else ""
            )
            layers = stage.get("layers")
            source = stage.get("dataset") or ", ".join(stage.get("models") or stage.get("adapters") or [])
            status = (
                ("done" if i < cursor else "next" if i == cursor and values.get("status") == "running" else "")
                if running
                else "proposed"
            )
            table.add_row(
                str(i + 1), plain(stage["id"]), stage["kind"], plain(method),
                plain("all" if layers is None and stage["kind"] in ("sft", "dpo") else layers or ""),
                plain(targets.replace(", ", ",")), plain(Path(str(source)).name if stage.get("dataset") else source), status,
            )  # fmt: skip
        notes = plan.get("notes") or []
        self.query_one("#plan-notes", Static).update(plain("\n".join(f"• {n}" for n in notes)))
        self.query_one("#side", TabbedContent).active = "plan"

    def show_event(self, event: dict[str, Any]) -> None:
        stage = str(event.get("stage", "?"))
        kind = event.get("kind")
        log = self.query_one("#run-log", RichLog)
        if kind == "stage_start":
            self.losses = []  # one stage's loss at a time: SFT and DPO losses do not share a scale
            self.query_one("#loss", Sparkline).data = []
            log.write(plain(f"— {stage} started"))
        if kind == "stage_start" or (stage not in self.bars and kind in ("progress", "stage_done")):
            if stage not in self.bars:
                bar = ProgressBar(total=None, show_eta=True, id=f"bar-{len(self.bars)}")
                self.bars[stage] = bar
                box = self.query_one("#bars", VerticalScroll)
                box.mount(Label(plain(stage)))
                box.mount(bar)
                self.query_one("#side", TabbedContent).active = "run"
        bar = self.bars.get(stage)
        if kind == "progress" and bar is not None:
            bar.update(total=event.get("total") or None, progress=event.get("step", 0))
            if event.get("loss") is not None:
                self.losses.append(float(event["loss"]))
                self.query_one("#loss", Sparkline).data = list(self.losses[-200:])
                log.write(plain(f"{stage} step {event.get('step')}/{event.get('total')} loss {event['loss']:.4f}"))
        elif kind == "stage_done" and bar is not None:
            bar.update(total=bar.total or 1, progress=bar.total or 1)
            result = event.get("result") or {}
            before, after = result.get("eval_loss_before"), result.get("eval_loss_after")
            extra = (
                f" held-out loss {before:.4f} → {after:.4f}"
                if isinstance(before, float) and isinstance(after, float)
                else ""
            )
            log.write(plain(f"{stage}: {event.get('message', 'done')}{extra}"))
        elif kind != "stage_start" and event.get("message"):
            log.write(plain(f"{stage}: {event['message']}"))

    # ---- review buttons: the only way past the graph's interrupts ----
    @on(Button.Pressed, "#approve")
    def approve(self) -> None:
        if self.pending and self.pending.get("type") == "approve_plan":
            self.query_one("#review").remove_class("shown")
            self.pending = None
            self.say("assistant", "Approved. Running the plan…")
            self.resume({"approved": True})

    @on(Button.Pressed, "#edit")
    def edit(self) -> None:
        if self.pending and self.pending.get("type") == "approve_plan":
            import yaml

            text = yaml.safe_dump(self.pending["plan"], sort_keys=False, allow_unicode=True)
            self.push_screen(EditPlanScreen(text), self.edited)

    def edited(self, text: str | None) -> None:
        if text is None:
            return
        self.last_edit = text
        self.resume({"edit": text})

    @on(Button.Pressed, "#reject")
    def reject(self) -> None:
        if self.pending and self.pending.get("type") == "approve_plan":
            self.push_screen(RejectScreen(), self.rejected)

    def rejected(self, reason: str | None) -> None:
        if reason is None:
            return
        self.query_one("#review").remove_class("shown")
        self.resume({"approved": False, "reason": reason})

    def confirmed(self, answer: dict | None) -> None:
        self.resume(answer or {"confirmed": False})

    def resume(self, answer: dict[str, Any]) -> None:
        from langgraph.types import Command

        self.pending = None
        graph, config = self.active if self.active else (None, None)
        self.advance(Command(resume=answer), graph, config)

    def action_cancel_run(self) -> None:
        live = [r for r in self.runners if getattr(r, "_child", None) is not None]
        if not live:
            self.notify("nothing is running")
            return
        for runner in live:
            runner.cancel()
        self.say("assistant", "Cancelling the running stage; finished stages stay in the run folder.")

    def action_review(self, choice: str) -> None:
        """The review buttons from the keyboard (the person's own key press, like a click)."""
        {"approve": self.approve, "edit": self.edit, "reject": self.reject}[choice]()

    def action_tab(self, tab: str) -> None:
        self.query_one("#side", TabbedContent).active = tab

    def action_help(self) -> None:
        self.say("assistant", HELP)

    # ---- tools in workers ----
    @work(thread=True, group="inspect")
    def inspect_worker(self, path: str, open_tab: bool, announce: bool = True) -> None:
        from tools.errors import GraftError
        from tools.inspect import InspectArgs, inspect_checkpoint

        try:
            result = inspect_checkpoint(InspectArgs(path=path))
        except GraftError as exc:
            self.call_from_thread(self.say, "assistant", str(exc), True)
            return
        self.call_from_thread(self.show_checkpoint, result, open_tab, announce)

    def show_checkpoint(self, r: Any, open_tab: bool, announce: bool = True) -> None:
        tree = self.query_one("#ckpt-tree", Tree)
        tree.clear()
        tree.root.set_label(plain(f"{r.path}  ({r.kind}, {r.format})"))
        summary = tree.root.add(Text("summary"), expand=True)
        for line in (
            f"architecture: {r.architecture or r.model_type or '?'}",
            f"parameters: {r.total_params:,}",
            f"layers: {r.num_layers}  hidden: {r.hidden_size}  vocab: {r.vocab_size}",
            "dtypes: " + ", ".join(f"{d} {n:,}" for d, n in r.dtypes.items()),
        ):
            summary.add_leaf(plain(line))
        comps = tree.root.add(Text("components"), expand=True)
        for name, count in r.components.items():
            if count:
                node = comps.add(plain(f"{name}: {count:,}"))
                for module in r.modules.get(name, []):
                    node.add_leaf(plain(module))
        layers = tree.root.add(Text(f"layers ({len(r.layers)})"))
        for index, parts in r.layers.items():
            layers.add_leaf(plain(f"{index}: " + ", ".join(f"{k} {v:,}" for k, v in parts.items())))
        if r.adapter:
            a = r.adapter
            node = tree.root.add(Text("adapter"), expand=True)
            for line in (
                f"type: {a.peft_type} r={a.r} alpha={a.alpha}",
                f"base: {a.base_model}",
                "targets: " + ", ".join(a.target_modules),
            ):
                node.add_leaf(plain(line))
        if r.metadata:
            meta = tree.root.add(Text("metadata"))
            for key, value in r.metadata.items():
                meta.add_leaf(plain(f"{key} = {value[:300]}" + ("…" if len(value) > 300 else "")))
        tree.root.expand()
        if open_tab:
            self.query_one("#side", TabbedContent).active = "checkpoint"
        if open_tab and announce:
            self.say(
                "assistant",
                f"`{safe_markdown(r.path)}`: {r.total_params:,} parameters, {r.num_layers} layers ({safe_markdown(r.architecture or r.kind)}).",
            )

    @work(thread=True, group="diff")
    def diff_worker(self, a: str, b: str) -> None:
        from tools.diff import DiffArgs, diff_checkpoints
        from tools.errors import GraftError

        try:
            result = diff_checkpoints(DiffArgs(a=a, b=b))
        except GraftError as exc:
            self.call_from_thread(self.say, "assistant", str(exc), True)
            return
        self.call_from_thread(self.show_diff, result)

    def show_diff(self, r: Any) -> None:
        lines = [f"{r.a} → {r.b}: {len(r.changed)} of {r.compared} tensors changed"]
        top = max((g.relative_change for g in r.layers.values()), default=0.0) or 1.0
        for index, group in sorted(r.layers.items()):
            bar = "█" * int(40 * group.relative_change / top)
            lines.append(f"layer {index:>3} {bar:<40} {group.relative_change:.3g}")
        for name, group in r.components.items():
            lines.append(f"{name:>10}: {group.relative_change:.3g} ({group.changed_tensors}/{group.tensors} tensors)")
        self.query_one("#diff-text", Static).update(plain("\n".join(lines)))
        self.query_one("#side", TabbedContent).active = "diff"
        self.say("assistant", f"{len(r.changed)} of {r.compared} tensors differ; see the Diff tab.")

    def run_plan_file(self, path: str) -> None:
        from agent.graph import build_graph, initial_state, open_checkpointer
        from agent.plan import load_plan
        from tools.errors import GraftError

        try:
            plan = load_plan(path)
        except GraftError as exc:
            self.say("assistant", str(exc), error=True)
            return
        graph = build_graph(open_checkpointer(), runner_hook=self.runners.append)
        import uuid

        config = {"configurable": {"thread_id": f"run-{uuid.uuid4().hex[:12]}"}}
        self.show_plan(plan.model_dump(mode="json"), {"status": "awaiting_approval"})
        self.advance(initial_state(plan, Path(path).with_suffix(".run")), graph, config)

    def export(self, args: list[str]) -> None:
        from agent.export import export_plan
        from agent.plan import plan_from_data
        from tools.errors import GraftError
        from tools.safetensors_writer import atomic_write_text

        if not self.plan_data:
            self.say("assistant", "There is no plan to export yet.", error=True)
            return
        form = args[0] if args and args[0] in ("script", "mergekit", "trl") else "script"
        target = (
            args[1] if len(args) > 1 else args[0] if args and args[0] not in ("script", "mergekit", "trl") else None
        )
        text = export_plan(plan_from_data(self.plan_data), form)  # type: ignore[arg-type]
        if target:
            try:
                atomic_write_text(Path(target), text)
            except GraftError as exc:
                self.say("assistant", str(exc), error=True)
                return
            self.say("assistant", f"Exported the plan as {form} to `{safe_markdown(target)}`.")
        else:
            self.say("assistant", f"```{'python' if form == 'script' else 'yaml'}\n{text}\n```")

    @work(thread=True, group="graph")
    def resume_worker(self) -> None:
        from agent.conversation import last_thread_id

        thread = self.thread_id or last_thread_id()
        if not thread:
            self.call_from_thread(self.say, "assistant", "There is no earlier conversation to resume.", True)
            return
        self.thread_id = thread
        graph = self._conversation()
        config = {"configurable": {"thread_id": thread}}
        snapshot = graph.get_state(config)
        pending = None
        for task in snapshot.tasks:
            for item in getattr(task, "interrupts", ()) or ():
                pending = item.value
        self.active = (graph, config)
        values = dict(snapshot.values)
        self.model = values.get("model") or self.model
        self.data = list(values.get("data") or self.data)
        self.output = values.get("output") or self.output
        self.shown_messages = 0
        self.call_from_thread(self.say, "assistant", f"Resumed conversation `{thread}`.")
        self.call_from_thread(self.after_step, pending, values, True)


def run_app(
    model: str | None = None, data: list[str] | None = None, resume: bool = False, offline: bool | None = None
) -> int:
    GraftApp(model=model, data=data, resume=resume, offline=offline).run()
    return 0

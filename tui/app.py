"""The Textual app: chat, plan review and editing, live runs, checkpoint inspector, confirm-before-write.

It drives the same conversation graph as the command line and adds only presentation and input.
Heavy work (planning, inspecting, training) runs in worker threads and the executor's worker
processes; torch and transformers are never imported by this process before a stage needs them.
Everything from checkpoints, datasets and the LLM is shown as plain `Text` (no markup, control
codes made visible), and only the person's own key presses and clicks resume the graph.

The person stays in control at every moment: ctrl+x (a priority binding, so it works with the
prompt focused) stops the running stage at once; ctrl+q during a run asks before stopping it;
questions are answered during a run and during a review without touching the plan; a declined or
failed write can be done later without retraining; a cancelled run resumes from its finished stages.
"""

from __future__ import annotations

import json
import shlex
import threading
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
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
- type a goal in English or Russian, or a question ("what does this checkpoint contain?") — questions are answered during a run and during a review too
- `/plan GOAL` — plan explicitly · `/run PLAN.yaml` — run a saved plan
- `/inspect [PATH]` · `/diff A B` · `/export [FILE.yaml | script|mergekit|trl FILE]`
- `/continue` — resume a cancelled or failed run (finished stages are reused) · `/write` — write now after a declined or failed write
- `/resume` — reopen the last conversation · `/help` (or `?`)

Keys: **f6** approve · **f7** edit · **f8** reject · **d** (in the plan list) all settings · **ctrl+x** cancel the run · **f9** resume a run · **f10** write now · **f2–f5** tabs · **↑/↓** earlier prompts · **ctrl+o** a prompt of several lines · **ctrl+q** quit"""


def plain(value: object) -> Text:
    """Untrusted text as a Text object: never parsed as markup, control codes shown as escapes."""
    return Text(visible_controls(str(value)))


def safe_markdown(value: object) -> str:
    return visible_controls(str(value))


class ReviewButton(Button):
    """Approve, Edit, Reject: clicked, or pressed with f6/f7/f8, never focused by Tab, so a space or Enter typed
    after tabbing around cannot approve a plan by accident."""

    can_focus = False


class EditPlanScreen(ModalScreen[str | None]):
    """The plan's YAML in a TextArea; Save re-validates, errors come back inline.

    Escape is a priority binding: the code editor would otherwise take the first press to leave
    the text box, and a person should need one press to close a dialog.
    """

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "cancel", "Cancel", priority=True),
        Binding("ctrl+s", "save", "Save", priority=True),
    ]

    def __init__(self, text: str, error: str | None = None) -> None:
        super().__init__()
        self.text, self.error = text, error

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-box"):
            yield Label("Edit the plan (YAML). Save (ctrl+s) re-validates it against the files; Escape cancels.")
            try:
                area = TextArea.code_editor(self.text, language="yaml", id="plan-yaml")
            except Exception:  # no YAML grammar installed: plain editing still works
                area = TextArea(self.text, id="plan-yaml")
            yield area
            yield Static(plain(self.error or ""), id="edit-error", classes="error" if self.error else "")
            with Horizontal(classes="buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")
        yield Footer()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        self.dismiss(self.query_one("#plan-yaml", TextArea).text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class LongPromptScreen(ModalScreen[str | None]):
    """A multi-line prompt for a long goal (several stages, each with its settings); ctrl+s sends it."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "cancel", "Cancel", priority=True),
        Binding("ctrl+s", "send", "Send", priority=True),
    ]

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-box"):
            yield Label("A long goal or question; Enter starts a new line. ctrl+s sends it, Escape cancels.")
            yield TextArea(self.text, id="long-text", soft_wrap=True)
            with Horizontal(classes="buttons"):
                yield Button("Send", id="send", variant="primary")
                yield Button("Cancel", id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#long-text", TextArea).focus()

    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        self.dismiss(self.query_one("#long-text", TextArea).text)

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
        yield Footer()

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#reject")
    def submit(self) -> None:
        self.dismiss(self.query_one("#reason", Input).value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class AskScreen(ModalScreen[bool]):
    """A yes/no question; the safe answer (No) has the focus, so a stray Enter changes nothing."""

    AUTO_FOCUS = "#no"
    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "no", "No")]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question, self.yes_label, self.no_label = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(id="ask-box"):
            yield Static(plain(self.question), id="ask-text")
            with Horizontal(classes="buttons"):
                yield Button(self.yes_label, id="yes", variant="warning")
                yield Button(self.no_label, id="no", variant="primary")
        yield Footer()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)


class ConfirmWriteScreen(ModalScreen[dict | None]):
    """Before the final write: where, how big, which dtype and shards, which stages.

    Cancel has the focus: writing (maybe over an existing folder) takes a deliberate choice.
    """

    AUTO_FOCUS = "#cancel"
    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__()
        self.payload = payload

    def compose(self) -> ComposeResult:
        p = self.payload
        adapters = p.get("pending_adapters") or ([p["pending_adapter"]] if p.get("pending_adapter") else [])
        lines = [
            f"output: {p.get('output')}",
            f"from: {p.get('model')}"
            + (f" + adapters {', '.join(adapters)} (folded first, in order)" if adapters else ""),
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
        yield Footer()

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


class PromptInput(Input):
    """The prompt, with Up/Down through what the person typed before (like a shell)."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("up", "history(-1)", "Earlier prompt", show=False),
        Binding("down", "history(1)", "Later prompt", show=False),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.history: list[str] = []
        self.position = 0
        self.draft = ""

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self.position = len(self.history)
        self.draft = ""

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        if self.position == len(self.history):
            self.draft = self.value
        self.position = max(0, min(len(self.history), self.position + step))
        self.value = self.history[self.position] if self.position < len(self.history) else self.draft
        self.cursor_position = len(self.value)


class PlanTable(DataTable):
    """The plan's stage list; `d` shows every setting of the highlighted stage, defaults included."""

    BINDINGS: ClassVar[list[Binding]] = [Binding("d", "app.toggle_defaults", "All settings")]


class ChatMarkdown(Markdown):
    """An assistant message that, while it is the newest, keeps itself in view as it takes its height.

    A Markdown lays out its blocks after it is mounted, so the chat's scroll to the end could land first
    and leave only the first line of the newest message above the prompt (seen at 80×24 after a declined
    write: "Not written: the final"). A message taller than the chat shows its beginning.
    """

    def on_resize(self) -> None:
        self.call_after_refresh(self.show_in_chat)

    def show_in_chat(self) -> None:
        chat = self.parent
        if not (isinstance(chat, VerticalScroll) and chat.children and chat.children[-1] is self):
            return
        if self.outer_size.height > chat.scrollable_content_region.height:
            chat.scroll_to(y=self.virtual_region_with_margin.y, animate=False, immediate=True)
        else:
            chat.scroll_end(animate=False, immediate=True)


class RunLog(RichLog):
    """The run's log, each line wrapped to the pane's width so nothing is cut off.

    RichLog renders a line at least `min_width` (78) columns wide and crops what its pane cannot show:
    at 80×24 the Run tab is about 44 columns, so the end of every longer line ("scoring each stage's
    held-out rows on base and final") was lost. While the Run tab is hidden its width reads 0, so the
    tab area's width, less the scrollbar, stands in.
    """

    def write(
        self,
        content: Any,
        width: int | None = None,
        expand: bool = False,
        shrink: bool = True,
        scroll_end: bool | None = None,
        animate: bool = False,
    ) -> Any:
        if width is None:
            width = self.scrollable_content_region.width
            if width <= 0:
                side = self.app.query_one("#side")
                width = side.content_region.width - int(self.styles.scrollbar_size_vertical)
            width = max(width, 20)
        return super().write(content, width=width, expand=expand, shrink=shrink, scroll_end=scroll_end, animate=animate)


class LossChart(Static):
    """The running stage's loss with labelled axes (step across, loss up), drawn with block characters."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.points: list[tuple[int, float]] = []
        self.title = ""

    def set_points(self, points: list[tuple[int, float]], title: str = "") -> None:
        self.points, self.title = list(points), title
        self.update(self.draw())

    def on_resize(self) -> None:
        self.update(self.draw())

    def draw(self) -> Text:
        rows = max(3, (self.size.height or 8) - 2)
        width = max(10, (self.size.width or 60) - 10)
        if not self.points:
            return Text("loss: no steps yet", style="dim")
        values = [v for _, v in self.points]
        if len(values) > width:  # the latest `width` buckets, each the mean of its steps
            per = len(values) / width
            values = [
                sum(values[int(i * per) : max(int((i + 1) * per), int(i * per) + 1)])
                / max(1, len(values[int(i * per) : max(int((i + 1) * per), int(i * per) + 1)]))
                for i in range(width)
            ]
        top, low = max(values), min(values)
        span = (top - low) or 1.0
        blocks = " ▁▂▃▄▅▆▇█"
        out = Text()
        out.append(f"loss {self.title}\n", style="bold")
        for row in range(rows - 1, -1, -1):
            label = f"{top:8.4f} ┤" if row == rows - 1 else f"{low:8.4f} ┤" if row == 0 else " " * 8 + " │"
            out.append(label, style="dim")
            line = []
            for v in values:
                level = (v - low) / span * rows  # 0 … rows
                fill = level - row
                line.append("█" if fill >= 1 else blocks[max(0, int(fill * 8))] if fill > 0 else " ")
            if row == 0:
                line = [c if c != " " else "▁" for c in line]
            out.append("".join(line) + "\n", style="cyan")
        first, last = self.points[0][0], self.points[-1][0]
        axis = f"step {first}"
        end = f"step {last}"
        out.append(" " * 9 + "└" + axis + " " * max(1, len(values) - len(axis) - len(end)) + end, style="dim")
        return out


class GraftCommands(Provider):
    """A command palette entry for each action of the app; all of them listed when nothing is typed."""

    async def discover(self) -> Hits:
        app = self.app
        assert isinstance(app, GraftApp)
        for name, help_text, callback in app.palette_actions():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        app = self.app
        assert isinstance(app, GraftApp)
        for name, help_text, callback in app.palette_actions():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


def _diff_cell(value: float, top: float) -> Text:
    """One heatmap cell: the relative change, its background as strong as its share of the largest."""
    if value == 0:
        return Text("   ·    ", style="dim")
    shades = ("grey23", "dark_green", "green4", "yellow4", "dark_orange3", "red3")
    level = min(len(shades) - 1, int(len(shades) * value / top)) if top > 0 else 0
    return Text(f"{value:8.1e}", style=f"bold white on {shades[level]}")


class GraftApp(App[None]):
    TITLE = "Graft"
    SUB_TITLE = "post-train a model from plain words"
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses elsewhere find it too
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        # Priority: the prompt's own ctrl+x (cut) must not swallow a stop request during a run.
        Binding("ctrl+x", "cancel_run", "Cancel run", priority=True),
        Binding("f1", "help", "Help"),
        Binding("ctrl+o", "long_prompt", "Long prompt", show=False),
        Binding("f2", "tab('plan')", "Plan", show=False),
        Binding("f3", "tab('checkpoint')", "Checkpoint", show=False),
        Binding("f4", "tab('run')", "Run", show=False),
        Binding("f5", "tab('diff')", "Diff", show=False),
        Binding("f6", "review('approve')", "Approve"),
        Binding("f7", "review('edit')", "Edit"),
        Binding("f8", "review('reject')", "Reject"),
        Binding("f9", "continue_run", "Resume run"),
        Binding("f10", "write_now", "Write now"),
    ]

    COMMANDS = App.COMMANDS | {GraftCommands}

    def palette_actions(self) -> list[tuple[str, str, Any]]:
        def prefill(text: str) -> Any:
            def go() -> None:
                box = self.query_one("#prompt", Input)
                box.value = text
                box.focus()

            return go

        actions: list[tuple[str, str, Any]] = []
        if self.review_open():
            actions += [
                ("Approve plan", "run the proposed plan", self.approve),
                ("Edit plan", "edit the plan's YAML", self.edit),
                ("Reject plan", "reject with a reason for the planner", self.reject),
            ]
        if self.run_active():
            actions.append(("Cancel run", "stop the running stage now", self.action_cancel_run))
        if self.resumable is not None and not self.busy:
            actions.append(("Resume run", "go on from the finished stages", self.action_continue_run))
        if self.write_retry is not None and not self.busy:
            actions.append(("Write now", "write the final model without retraining", self.action_write_now))
        actions += [
            ("Open model", "choose the base checkpoint", prefill("/open ")),
            ("Inspect checkpoint", "what a checkpoint contains", prefill("/inspect ")),
            ("Diff checkpoints", "what changed between two checkpoints", prefill("/diff ")),
            ("Datasets", "datasets the plan may use", prefill("/data ")),
            ("Output folder", "where the final model goes", prefill("/output ")),
            ("Run plan file", "run a saved plan YAML", prefill("/run ")),
            ("Export plan", "as plan YAML, a script, mergekit YAML or TRL configs", prefill("/export plan.yaml")),
            ("Show all plan settings", "defaults included", self.action_toggle_defaults),
            ("Resume last conversation", "reopen the last conversation", self.resume_worker),
            ("Show plan", "Plan tab (f2)", lambda: self.action_tab("plan")),
            ("Show checkpoint", "Checkpoint tab (f3)", lambda: self.action_tab("checkpoint")),
            ("Show run", "Run tab (f4)", lambda: self.action_tab("run")),
            ("Show diff", "Diff tab (f5)", lambda: self.action_tab("diff")),
            ("Help", "commands and keys", self.action_help),
        ]
        return actions

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
        self.losses: list[tuple[int, float]] = []
        self.bars: dict[str, ProgressBar] = {}
        self.bar_labels: dict[str, Label] = {}
        self.current_stage: str | None = None
        self.plan_data: dict[str, Any] | None = None
        self.plan_obj: Any = None
        self.previous_plan: Any = None
        self.compare_next = False
        self.plan_values: dict[str, Any] = {}
        self.reports: dict[str, Any] = {}
        self.detail_index = 0
        self.show_defaults = False
        self.busy = False
        self.phase = "idle"  # "plan" (planning / answering through the graph) or "run" (stages, the write)
        self.cancel_requested = False
        self.resumable: tuple[Any, dict[str, Any]] | None = None
        self.write_retry: tuple[Any, dict[str, Any], str] | None = None
        self.announced: set[str] = set()
        self.run_dir: str | None = None
        self.transcript: list[dict[str, Any]] = []
        self.transcript_path: Path | None = None
        self._transcript_lock = threading.Lock()
        self.closing = False

    # ---- layout ----
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="chat-pane"):
                yield VerticalScroll(id="chat")
                with Horizontal(id="review"):
                    yield ReviewButton("Approve", id="approve", variant="success")
                    yield ReviewButton("Edit", id="edit", variant="primary")
                    yield ReviewButton("Reject", id="reject", variant="error")
                yield PromptInput(placeholder="a goal, a question, or /help (ctrl+o: several lines)", id="prompt")
            with TabbedContent(id="side", initial="plan"):
                with TabPane("Plan", id="plan"):
                    yield Static("no plan yet: type a goal", id="plan-head")
                    yield PlanTable(id="plan-table", zebra_stripes=True, cursor_type="row")
                    yield Static(id="plan-total")
                    with VerticalScroll(id="plan-detail-scroll"):
                        yield Static(id="plan-detail")
                        yield Static(id="plan-notes")
                with TabPane("Checkpoint", id="checkpoint"):
                    with VerticalScroll(id="ckpt-scroll"):
                        yield Tree(Text("no checkpoint open"), id="ckpt-tree")
                        yield Static(id="provenance")
                with TabPane("Run", id="run"):
                    yield VerticalScroll(id="bars")
                    yield LossChart(id="loss")
                    yield RunLog(id="run-log", wrap=True, markup=False)
                with TabPane("Diff", id="diff"):
                    yield VerticalScroll(Static("use /diff A B", id="diff-text"), id="diff-scroll")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#plan-table", DataTable)
        table.add_columns("", "stage", "kind · method", "time")
        self.query_one("#prompt", Input).focus()
        self.say(
            "assistant",
            HELP if not self.model else f"Base model: `{safe_markdown(self.model)}`. What should it become?",
            record=False,
        )
        if self.model:
            self.inspect_worker(self.model, open_tab=False)
        if self.want_resume:
            self.resume_worker()

    # ---- which keys apply now (the footer shows only these) ----
    def review_open(self) -> bool:
        return bool(self.pending and self.pending.get("type") == "approve_plan" and not self.busy)

    def run_active(self) -> bool:
        return self.busy and self.phase == "run"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        in_dialog = isinstance(self.screen, ModalScreen)
        if action == "cancel_run":
            return self.run_active()
        if action == "review":
            return self.review_open() and not in_dialog
        if action == "continue_run":
            return self.resumable is not None and not self.busy and not in_dialog
        if action == "write_now":
            return self.write_retry is not None and not self.busy and not in_dialog
        if action in ("help", "tab", "long_prompt"):
            return not in_dialog
        return True

    def set_busy(self, busy: bool, phase: str | None = None) -> None:
        self.busy = busy
        if phase is not None:
            self.phase = phase
        if not busy:
            self.phase = "idle"
        self.refresh_bindings()

    # ---- chat ----
    def say(self, role: str, text: str, error: bool = False, record: bool = True) -> None:
        chat = self.query_one("#chat", VerticalScroll)
        if role == "user":
            widget: Any = Static(plain("› " + text), classes="user")
        else:
            widget = ChatMarkdown(safe_markdown(text), classes="assistant error" if error else "assistant")
        chat.mount(widget)
        chat.scroll_end(animate=False)  # a ChatMarkdown scrolls again once its blocks are laid out
        if record:
            self._record({"role": role, "text": text, "error": error})

    def _record(self, entry: dict[str, Any]) -> None:
        """Keep what the person saw, so `--resume` shows the app's own messages too, in order."""
        with self._transcript_lock:
            self.transcript.append(entry)
            if self.transcript_path is not None:
                self._append_transcript([entry])

    def _append_transcript(self, entries: list[dict[str, Any]]) -> None:
        assert self.transcript_path is not None
        try:
            with open(self.transcript_path, "a", encoding="utf-8") as handle:
                for entry in entries:
                    handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        except OSError:
            pass  # a read-only data folder loses the transcript, not the session

    def attach_transcript(self, path: Path) -> None:
        with self._transcript_lock:
            if self.transcript_path == path:
                return
            self.transcript_path = path
            path.parent.mkdir(parents=True, exist_ok=True)
            self._append_transcript(self.transcript)

    @on(Input.Submitted, "#prompt")
    def submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.value = ""
        self.handle_text(text)

    def action_long_prompt(self) -> None:
        """Several lines for a long goal; what the prompt held so far comes along."""
        prompt = self.query_one("#prompt", Input)

        def sent(text: str | None) -> None:
            if text is not None and text.strip():
                prompt.value = ""
                self.handle_text(text.strip())
            prompt.focus()

        self.push_screen(LongPromptScreen(prompt.value), sent)

    def handle_text(self, text: str) -> None:
        """One message from the person: a command, a question or a goal, routed by what is going on."""
        if not text:
            return
        prompt = self.query_one("#prompt", PromptInput)
        prompt.remember(text)
        self.say("user", text)
        if text in ("?", "/?"):
            self.say("assistant", HELP, record=False)
        elif text.startswith("/"):
            self.run_command(text)
        elif self.busy or self.pending is not None:
            self.while_working(text)
        elif (self.resumable or self.write_retry) and self._is_question(text):
            local = self.plan_answer(text)
            if local is not None:
                self.say("assistant", local)
            else:
                self.answer_worker(text)  # through the graph it would start over and drop the stopped run
        else:
            self.send_goal(text)

    @staticmethod
    def _is_question(text: str) -> bool:
        from agent.answers import looks_like_question

        return looks_like_question(text)

    def _ask_back(self, text: str) -> bool:
        """A message that is both a question and a request to act gets a question back (the graph's router)."""
        from agent.intent import classify

        intent = classify(text)
        if intent.route != "ambiguous":
            return False
        self.say("assistant", intent.question_back(text))
        return True

    def while_working(self, text: str) -> None:
        """A message during a run or a review: questions are answered at once; a goal waits or replaces."""
        if self._is_question(text):
            local = self.plan_answer(text)
            if local is not None:
                self.say("assistant", local)
            else:
                self.answer_worker(text)
        elif self._ask_back(text):
            pass
        elif self.run_active():
            self.say(
                "assistant",
                "A run is on; I'll take a new goal when it ends. Ask me anything meanwhile, or press ctrl+x to cancel.",
            )
        elif self.busy:
            self.say("assistant", "Still planning the last goal; ask a question meanwhile, or wait a moment.")
        elif self.review_open():

            def replace(yes: bool | None) -> None:
                if yes:
                    self.query_one("#review").remove_class("shown")
                    self.pending = None
                    self.send_goal(text)
                else:
                    self.say("assistant", "Kept the proposed plan.")

            self.push_screen(
                AskScreen("Replace the proposed plan with a new plan for this goal?", "Replace", "Keep"), replace
            )
        else:
            self.say("assistant", "Answer the open question first (Write or Cancel).")

    def send_goal(self, text: str) -> None:
        from agent.conversation import message_input

        self.compare_next = False
        self.previous_plan = None
        self.advance(
            message_input(text, model=self.model, data=self.data, output=self.output, offline=self.offline),
            phase="plan",
        )

    def run_command(self, text: str) -> None:
        try:
            parts = shlex.split(text)
        except ValueError as exc:
            self.say("assistant", f"Could not read that command: {exc}", error=True)
            return
        name, args = parts[0].lower(), parts[1:]
        if name == "/help":
            self.say("assistant", HELP, record=False)
        elif name == "/open" and args:
            self.inspect_worker(args[0], open_tab=True, select=True)
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
        elif name == "/plan" and args and self.review_open():
            self.while_working(" ".join(args))  # a new goal during a review: replace the plan after asking
        elif name in ("/plan", "/run") and args and (self.busy or self.pending is not None):
            self.say("assistant", "Finish or cancel the current step first.", error=True)
        elif name == "/plan" and args:
            self.send_goal(" ".join(args))
        elif name == "/run" and args:
            self.run_plan_file(args[0])
        elif name == "/export":
            self.export(args)
        elif name in ("/continue", "/retry"):
            self.action_continue_run()
        elif name == "/write":
            self.action_write_now()
        elif name == "/cancel":
            self.action_cancel_run()
        elif name == "/resume":
            self.resume_worker()
        else:
            self.say("assistant", f"Unknown or incomplete command {safe_markdown(name)}; try /help.", error=True)

    # ---- the graph, in a worker thread ----
    def _conversation(self) -> Any:
        if self.graph is None:
            from agent.conversation import build_conversation, new_thread_id, remember_thread
            from agent.graph import data_dir, open_checkpointer

            self.checkpointer = open_checkpointer()
            self.graph = build_conversation(self.checkpointer, runner_hook=self._hook_runner)
            self.thread_id = self.thread_id or new_thread_id()
            remember_thread(self.thread_id)
            self._ui(self.attach_transcript, data_dir() / "transcripts" / f"{self.thread_id}.jsonl")
        return self.graph

    def _hook_runner(self, runner: Any) -> None:
        """The executor hands over each stage's runner; a cancel pressed between stages still lands."""
        self.runners.append(runner)
        if self.cancel_requested:
            threading.Thread(target=runner.cancel, daemon=True).start()

    def _ui(self, fn: Any, *args: Any) -> None:
        """Run on the UI thread; after the app has closed there is no one to tell."""
        if self.closing:
            return
        try:
            self.call_from_thread(fn, *args)
        except RuntimeError:
            pass

    def advance(self, value: Any, graph: Any = None, config: dict[str, Any] | None = None, phase: str = "plan") -> None:
        if self.busy:
            self.say("assistant", "Still working on the last step; wait for it or press ctrl+x to cancel.", error=True)
            return
        if phase == "run":
            self.start_run_view()
        self.resumable = None
        self.write_retry = None
        self.cancel_requested = False
        self.set_busy(True, phase)
        self._advance(value, graph, config)

    @work(thread=True, exclusive=True, group="graph")
    def _advance(self, value: Any, graph: Any, config: dict[str, Any] | None) -> None:
        from tools.errors import GraftCancelled

        pending = None
        try:
            if graph is None:
                graph = self._conversation()
                config = {"configurable": {"thread_id": self.thread_id}}
            self.active = (graph, config)
            for mode, chunk in graph.stream(value, config, stream_mode=["updates", "custom"]):
                if mode == "custom":
                    self._ui(self.show_event, chunk)
                elif mode == "updates" and "__interrupt__" in chunk:
                    pending = chunk["__interrupt__"][0].value
            values = graph.get_state(config).values
            self._ui(self.after_step, pending, values)
        except Exception as exc:  # a stage fault or a cancelled run: tell the person, keep the app
            cancelled = isinstance(exc, GraftCancelled) or self.cancel_requested
            message = (
                str(exc)
                if type(exc).__name__ in ("GraftError", "StageFault", "GraftFault", "GraftCancelled")
                else f"{type(exc).__name__}: {exc}"
            )
            where = None
            try:
                where = list(graph.get_state(config).next) if graph is not None and config else None
            except Exception:
                pass
            self._ui(self.failed, message, cancelled, where)

    def failed(self, message: str, cancelled: bool = False, where: list[str] | None = None) -> None:
        """A run that stopped: cancelled by the person (resume offered) or failed (retry offered)."""
        was_run = self.phase == "run"
        self.set_busy(False)
        self.pending = None
        self.query_one("#review").remove_class("shown")
        if was_run and self.current_stage in self.bars:
            label = self.bar_labels.get(self.current_stage)
            if label is not None:
                label.update(plain(f"{self.current_stage} — {'cancelled' if cancelled else 'failed'}"))
        if was_run and self.active is not None:
            if where and "write" in where:
                self.write_retry = (self.active[0], self.active[1], "retry")
            else:
                self.resumable = self.active
        self.refresh_bindings()
        self.mark_plan_status("cancelled" if cancelled else "failed")
        if cancelled:
            self.query_one("#run-log", RichLog).write(plain(f"— cancelled {self.current_stage or ''}"))
            self.say(
                "assistant",
                "Cancelled"
                + (f" during `{safe_markdown(self.current_stage)}`" if self.current_stage else "")
                + ". Finished stages are kept in the run folder; **f9** or `/continue` resumes and reuses them.",
            )
        else:
            tail = (
                " **f10** or `/write` retries the write without retraining."
                if self.write_retry
                else " **f9** or `/continue` retries from the failed stage; finished stages are reused."
                if self.resumable
                else ""
            )
            self.say("assistant", f"Stopped: {message}.{tail}".replace("..", "."), error=True)

    def after_step(self, pending: dict[str, Any] | None, values: dict[str, Any], replay: bool = False) -> None:
        was_run = self.phase == "run"
        self.set_busy(False)
        messages = values.get("messages", [])
        if not replay:
            for message in messages[self.shown_messages :]:
                if message.get("role") == "assistant":
                    self.say("assistant", message.get("content", ""), error=message.get("kind") == "error")
                    if message.get("shows") == "checkpoint" and self.model:
                        self.inspect_worker(self.model, open_tab=True, announce=False)
        self.shown_messages = len(messages)
        if values.get("run_dir"):
            self.run_dir = values["run_dir"]
        if values.get("plan") and (pending or was_run or replay or values.get("plan") != self.plan_data):
            self.show_plan(values["plan"], values)
        self.pending = pending
        review = self.query_one("#review")
        if pending and pending.get("type") == "approve_plan":
            review.add_class("shown")
            if pending.get("error"):
                self.say("assistant", f"The edited plan is not valid: {pending['error']}", error=True)
                self.push_screen(EditPlanScreen(self.last_edit or "", pending["error"]), self.edited)
            elif self.last_edit is not None:
                self.last_edit = None
                self.say("assistant", "Edit accepted: the plan is valid; changes are marked ✱ in the Plan tab.")
        else:
            review.remove_class("shown")
        if pending and pending.get("type") == "confirm_write":
            self.push_screen(ConfirmWriteScreen(pending), self.confirmed)
        status = values.get("status")
        key = f"{values.get('run_dir')}:{status}"
        if replay and not pending and key not in self.announced:
            # The transcript already holds what was said about this run; only offer what is still possible.
            self.announced.add(key)
            if status == "cancelled" and self.active is not None and "not approved" in str(values.get("reason")):
                self.write_retry = (self.active[0], self.active[1], "confirm")
                self.say("assistant", "The last run's final write was declined; **f10** or `/write` writes it now.")
            if status == "done":
                self.mark_plan_status("done")
        if not pending and status == "done" and values.get("final") and key not in self.announced:
            self.announced.add(key)
            out = values["final"].get("output")
            self.mark_plan_status("done")
            self.say(
                "assistant",
                f"Done. The model is in `{safe_markdown(out)}`; `/inspect {safe_markdown(out)}` shows its provenance.",
            )
        elif not pending and status == "cancelled" and key not in self.announced:
            self.announced.add(key)
            if was_run and self.active is not None:
                self.write_retry = (self.active[0], self.active[1], "confirm")
            self.say(
                "assistant",
                f"Not written: {safe_markdown(values.get('reason', ''))}. Finished stages stay in the run folder"
                + ("; **f10** or `/write` writes it now, without retraining." if self.write_retry else "."),
            )
        self.refresh_bindings()

    # ---- the plan view ----
    def show_plan(self, plan: dict[str, Any], values: dict[str, Any]) -> None:
        from agent.plan import plan_from_data
        from tools.errors import GraftError

        try:
            typed = plan_from_data(plan)
        except GraftError as exc:
            self.query_one("#plan-head", Static).update(plain(f"plan not readable: {exc}"))
            return
        if self.compare_next and self.plan_obj is not None and plan != self.plan_data:
            self.previous_plan = self.plan_obj
            self.compare_next = False
        self.plan_data, self.plan_obj, self.plan_values = plan, typed, dict(values)
        self.detail_index = min(self.detail_index, len(typed.stages) - 1)
        key = json.dumps(plan, sort_keys=True)
        if key not in self.reports:
            self.reports[key] = None
            self.estimate_worker(plan, key)
        self.render_plan()
        self.call_after_refresh(self.show_plan_tab)

    def show_plan_tab(self) -> None:
        try:
            self.query_one("#side", TabbedContent).active = "plan"
        except NoMatches:  # not mounted yet: the next refresh tries again
            self.call_after_refresh(self.show_plan_tab)

    def mark_plan_status(self, status: str) -> None:
        if self.plan_data is not None:
            self.plan_values = {**self.plan_values, "status": status}
            self.render_plan()

    def render_plan(self) -> None:
        from tui.present import _seconds as _secs
        from tui.present import stage_method

        typed, values = self.plan_obj, self.plan_values
        if typed is None:
            return
        report = self.reports.get(json.dumps(self.plan_data, sort_keys=True))
        estimates = {e.stage: e for e in report.estimates} if report is not None else {}
        previous = {s.id: s for s in self.previous_plan.stages} if self.previous_plan is not None else None
        try:
            head = self.query_one("#plan-head", Static)
        except NoMatches:  # a resumed plan can arrive before the screen holding the plan view is mounted
            self.call_after_refresh(self.render_plan)
            return
        head.update(plain(f"{typed.goal}\n{Path(typed.base_model).name} → {typed.output} · {len(typed.stages)} stages"))
        table = self.query_one("#plan-table", DataTable)
        table.clear()
        cursor = values.get("cursor", 0)
        status = values.get("status")
        for i, stage in enumerate(typed.stages):
            if status in ("running", "writing"):
                mark = "✓" if i < cursor else "▶" if i == cursor else "·"
            elif status in ("done",):
                mark = "✓"
            elif status in ("cancelled", "failed"):
                mark = "✓" if i < cursor else "✗" if i == cursor else "·"
            else:
                mark = "·"
            if previous is not None and (stage.id not in previous or previous[stage.id] != stage):
                mark = "✱"
            est = estimates.get(stage.id)
            time_text = f"~{_secs(est.seconds)}" if est is not None and est.seconds else ""
            table.add_row(mark, plain(stage.id), plain(f"{stage.kind} · {stage_method(stage)}"), time_text)
        if typed.stages:
            table.move_cursor(row=self.detail_index, animate=False)
        self.render_detail()

    def render_detail(self) -> None:
        from tui.present import plan_totals, stage_detail

        typed = self.plan_obj
        if typed is None or not typed.stages:
            return
        report = self.reports.get(json.dumps(self.plan_data, sort_keys=True))
        index = self.detail_index
        stage = typed.stages[index]
        estimate = next((e for e in report.estimates if e.stage == stage.id), None) if report is not None else None
        previous = None
        is_new = False
        if self.previous_plan is not None:
            earlier = {s.id: s for s in self.previous_plan.stages}
            previous = earlier.get(stage.id)
            is_new = previous is None
        total = plan_totals(report) if not isinstance(report, str) else f"estimates unavailable: {report}"
        self.query_one("#plan-total", Static).update(plain(total))
        self.query_one("#plan-detail", Static).update(
            stage_detail(typed, index, estimate, self.show_defaults, previous, is_new)
        )
        notes = [*typed.notes, *(report.notes if report is not None and not isinstance(report, str) else [])]
        self.query_one("#plan-notes", Static).update(plain("\n".join(f"• {n}" for n in notes)))

    @on(DataTable.RowHighlighted, "#plan-table")
    def stage_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.plan_obj is not None and 0 <= event.cursor_row < len(self.plan_obj.stages):
            if event.cursor_row != self.detail_index:
                self.detail_index = event.cursor_row
                self.render_detail()

    def action_toggle_defaults(self) -> None:
        self.show_defaults = not self.show_defaults
        self.render_detail()
        self.action_tab("plan")

    @work(thread=True, group="estimate")
    def estimate_worker(self, plan: dict[str, Any], key: str) -> None:
        """The plan's estimates (trainable / memory / disk / time, rows per dataset), off the UI thread."""
        from agent.plan import plan_from_data
        from agent.validate import validate_plan
        from tools.errors import GraftError

        try:
            report: Any = validate_plan(plan_from_data(plan), check_output=False)
        except GraftError as exc:
            report = str(exc)
        except Exception as exc:  # the estimate is a help, never a reason to lose the review
            report = f"{type(exc).__name__}: {exc}"
        self._ui(self._estimated, key, report)

    def _estimated(self, key: str, report: Any) -> None:
        self.reports[key] = report
        if self.plan_data is not None and json.dumps(self.plan_data, sort_keys=True) == key:
            self.render_plan()

    # ---- the run view ----
    def start_run_view(self) -> None:
        """Each run gets fresh bars, a fresh log and a fresh chart."""
        box = self.query_one("#bars", VerticalScroll)
        box.remove_children()
        self.bars, self.bar_labels = {}, {}
        self.losses = []
        self.current_stage = None
        self.runners = []
        self.query_one("#loss", LossChart).set_points([])
        self.query_one("#run-log", RichLog).clear()

    def show_event(self, event: dict[str, Any]) -> None:
        stage = str(event.get("stage", "?"))
        kind = event.get("kind")
        log = self.query_one("#run-log", RichLog)
        chart = self.query_one("#loss", LossChart)
        if kind == "stage_start":
            self.current_stage = stage
            self.losses = []  # one stage's loss at a time: SFT and DPO losses do not share a scale
            chart.set_points([], stage)
            log.write(plain(f"— {stage} started"))
            if self.plan_data is not None and isinstance(event.get("index"), int):
                self.plan_values = {**self.plan_values, "status": "running", "cursor": event["index"]}
                self.render_plan()
        if kind == "stage_start" or (stage not in self.bars and kind in ("progress", "stage_done")):
            if stage not in self.bars:
                bar = ProgressBar(total=None, show_eta=True)
                label = Label(plain(stage))
                self.bars[stage], self.bar_labels[stage] = bar, label
                box = self.query_one("#bars", VerticalScroll)
                box.mount(label)
                box.mount(bar)
                self.query_one("#side", TabbedContent).active = "run"
        bar = self.bars.get(stage)
        if kind == "progress" and bar is not None:
            bar.update(total=event.get("total") or None, progress=event.get("step", 0))
            if event.get("loss") is not None:
                self.losses.append((int(event.get("step") or len(self.losses) + 1), float(event["loss"])))
                chart.set_points(self.losses[-400:], stage)
                log.write(plain(f"{stage} step {event.get('step')}/{event.get('total')} loss {event['loss']:.4f}"))
        elif kind == "stage_done" and bar is not None:
            bar.update(total=bar.total or 1, progress=bar.total or 1)
            label = self.bar_labels.get(stage)
            if label is not None:
                label.update(plain(f"{stage} — {'reused' if event.get('message') == 'reused' else 'done'}"))
            result = event.get("result") or {}
            before, after = result.get("eval_loss_before"), result.get("eval_loss_after")
            extra = (
                f" · {result['eval_summary']}"  # the method's own held-out terms
                if result.get("eval_summary")
                else f" held-out loss {before:.4f} → {after:.4f}"
                if isinstance(before, float) and isinstance(after, float)
                else ""
            )
            log.write(plain(f"{stage}: {event.get('message', 'done')}{extra}"))
        elif kind != "stage_start" and event.get("message"):
            log.write(plain(f"{stage}: {event['message']}"))

    # ---- review buttons: the only way past the graph's interrupts ----
    @on(Button.Pressed, "#approve")
    def approve(self) -> None:
        if self.review_open():
            self.query_one("#review").remove_class("shown")
            self.pending = None
            self.say("assistant", "Approved. Running the plan… (ctrl+x cancels; questions are answered meanwhile)")
            self.query_one("#prompt", Input).focus()  # the buttons are gone; typing goes on in the prompt
            self.resume({"approved": True}, phase="run")

    @on(Button.Pressed, "#edit")
    def edit(self) -> None:
        if self.review_open():
            import yaml

            text = yaml.safe_dump(self.pending["plan"], sort_keys=False, allow_unicode=True)  # type: ignore[index]
            self.push_screen(EditPlanScreen(text), self.edited)

    def edited(self, text: str | None) -> None:
        if text is None:
            return
        self.last_edit = text
        self.compare_next = True
        self.resume({"edit": text})

    @on(Button.Pressed, "#reject")
    def reject(self) -> None:
        if self.review_open():
            self.push_screen(RejectScreen(), self.rejected)

    def rejected(self, reason: str | None) -> None:
        if reason is None:
            return
        self.query_one("#review").remove_class("shown")
        self.compare_next = bool(reason.strip())
        self.resume({"approved": False, "reason": reason})

    def confirmed(self, answer: dict | None) -> None:
        self.resume(answer or {"confirmed": False}, phase="run", fresh=False)

    def resume(self, answer: dict[str, Any], phase: str = "plan", fresh: bool = True) -> None:
        from langgraph.types import Command

        self.pending = None
        graph, config = self.active if self.active else (None, None)
        if phase == "run" and not fresh:  # the write after a run: keep that run's bars
            self.resumable = self.write_retry = None
            self.cancel_requested = False
            self.set_busy(True, "run")
            self._advance(Command(resume=answer), graph, config)
            return
        self.advance(Command(resume=answer), graph, config, phase=phase)

    def action_cancel_run(self) -> None:
        if not self.run_active():
            self.notify("nothing is running")
            return
        if self.cancel_requested:
            return
        self.cancel_requested = True
        for runner in list(self.runners):  # off the UI thread: stopping may wait for the process group
            threading.Thread(target=runner.cancel, daemon=True).start()
        self.say("assistant", "Cancelling the running stage…")

    async def action_quit(self) -> None:
        if not self.run_active():
            self.closing = True
            self.exit()
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.stop_and_exit()

        self.push_screen(
            AskScreen(
                "A run is on. Stop the run and quit? Finished stages stay in the run folder; "
                "graft --resume and f9 go on from them.",
                "Stop and quit",
                "Keep running",
            ),
            answer,
        )

    def stop_and_exit(self) -> None:
        """Stop the stage's process group first, so nothing lingers after the screen is gone."""
        self.cancel_requested = True
        for runner in list(self.runners):
            runner.cancel()
        self.closing = True
        self.exit()

    def action_continue_run(self) -> None:
        if self.resumable is None or self.busy:
            self.say("assistant", "There is no cancelled or failed run to resume.", error=True)
            return
        graph, config = self.resumable
        self.say("assistant", "Resuming the run; finished stages are reused.")
        self.advance(None, graph, config, phase="run")

    def action_write_now(self) -> None:
        if self.write_retry is None or self.busy:
            self.say("assistant", "There is no finished run waiting for its write.", error=True)
            return
        graph, config, how = self.write_retry
        if how == "confirm":
            # The run ended at a declined confirmation: go back to it (the finished stages stay as they are).
            try:
                graph.update_state(config, {"status": "running"}, as_node="approve_plan")
            except Exception as exc:
                self.say("assistant", f"Cannot go back to the write: {exc}", error=True)
                return
        self.say("assistant", "Back to the final write; nothing is retrained.")
        self.announced = {k for k in self.announced if not k.endswith(":cancelled")}  # a second decline is said too
        self.resume_none(graph, config)

    def resume_none(self, graph: Any, config: dict[str, Any]) -> None:
        self.resumable = self.write_retry = None
        self.cancel_requested = False
        self.set_busy(True, "run")
        self._advance(None, graph, config)

    def action_review(self, choice: str) -> None:
        """The review buttons from the keyboard (the person's own key press, like a click)."""
        {"approve": self.approve, "edit": self.edit, "reject": self.reject}[choice]()

    def action_tab(self, tab: str) -> None:
        self.query_one("#side", TabbedContent).active = tab

    def action_help(self) -> None:
        self.say("assistant", HELP, record=False)

    # ---- questions while something else runs ----
    def plan_answer(self, text: str) -> str | None:
        """Questions about the plan or the running stage, answered from what the app holds (in the question's language).

        None when the question is about something else (a checkpoint): `answer_worker` takes those.
        """
        import re

        from tui.present import hyperparameters, stage_method

        typed = self.plan_obj
        if typed is None:
            return None
        q = text.lower()
        russian = bool(re.search(r"[а-яё]", q))
        about_run = re.search(
            r"\b(running|progress|step|steps|loss|eta|how far|how long|now)\b|идёт|идет|прогресс|шаг|лосс|потер|сейчас",
            q,
        )
        about_plan = re.search(
            r"\b(plan|stage|stages|rank|learning rate|lr|epochs?|alpha|beta)\b|план|этап|стади|ранг|эпох", q
        )
        if self.run_active() and about_run and self.current_stage:
            stage = self.current_stage
            bar = self.bars.get(stage)
            done = [s.id for i, s in enumerate(typed.stages) if i < int(self.plan_values.get("cursor", 0))]
            steps = f"{int(bar.progress)}/{int(bar.total)}" if bar is not None and bar.total else None
            losses = [v for _, v in self.losses]
            if russian:
                answer = f"Сейчас идёт этап {stage}: " + (f"шаг {steps}" if steps else "запускается, шагов ещё не было")
                if losses:
                    answer += f", loss {losses[-1]:.4f} (в начале {losses[0]:.4f})"
                return answer + (f". Готовы: {', '.join(done)}." if done else ".")
            answer = f"Running stage {stage}: " + (f"step {steps}" if steps else "starting, no steps yet")
            if losses:
                answer += f", loss {losses[-1]:.4f} (it started at {losses[0]:.4f})"
            return answer + (f". Finished: {', '.join(done)}." if done else ".")
        if not about_plan:
            return None
        lines = []
        for stage in typed.stages:
            settings = ", ".join(f"{n}={v}" for n, v, _, differs in hyperparameters(stage) if differs)
            data = f" · {Path(stage.dataset).name}" if getattr(stage, "dataset", None) else ""
            targets = getattr(stage, "target_modules", None)
            where = ""
            if stage.kind in ("sft", "dpo", "preference"):
                layers = "all" if stage.layers is None else ", ".join(map(str, stage.layers))
                where = f" · {', '.join(targets) if targets else 'all linear'} · layers {layers}"
            default_word = "по умолчанию" if russian else "defaults"
            lines.append(
                f"- {stage.id}: {stage.kind} · {stage_method(stage)}{where}{data} · {settings or default_word}"
            )
        head = "План" if russian else "The plan"
        return f"{head} ({len(typed.stages)}): \n" + "\n".join(lines)

    @work(thread=True, group="answer")
    def answer_worker(self, text: str) -> None:
        """Answer from the files directly: the graph is busy (a run) or waiting (a review), and stays so."""
        from agent.answers import answer_offline, answer_with_llm
        from agent.planner import LLMSettings
        from tools.errors import GraftError

        settings = None if self.offline else LLMSettings.from_env()
        try:
            if settings is not None:
                result = answer_with_llm(text, self.model, settings)
            else:
                result = answer_offline(text, self.model, None, self.run_dir)
        except GraftError as exc:
            self._ui(self.say, "assistant", str(exc), True)
            return
        except Exception as exc:  # an answer must never take the run down with it
            self._ui(self.say, "assistant", f"Could not answer: {type(exc).__name__}: {exc}", True)
            return
        self._ui(self.say, "assistant", result.text)

    # ---- tools in workers ----
    @work(thread=True, group="inspect")
    def inspect_worker(self, path: str, open_tab: bool, announce: bool = True, select: bool = False) -> None:
        from tools.errors import GraftError
        from tools.inspect import InspectArgs, inspect_checkpoint

        try:
            result = inspect_checkpoint(InspectArgs(path=path))
        except GraftError as exc:
            kept = f" The model is still `{safe_markdown(self.model)}`." if select and self.model else ""
            self._ui(self.say, "assistant", f"{exc}{kept}", True)
            return
        except Exception as exc:
            self._ui(self.say, "assistant", f"Cannot read {path}: {type(exc).__name__}: {exc}", True)
            return
        if select:
            self.model = path  # only a checkpoint that opened becomes the model
        self._ui(self.show_checkpoint, result, open_tab, announce)

    def show_checkpoint(self, r: Any, open_tab: bool, announce: bool = True) -> None:
        from tui.present import provenance_table

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
                if key == "graft.provenance":
                    meta.add_leaf(plain(f"{key}: the table below ({len(value):,} chars)"))
                    continue
                meta.add_leaf(plain(f"{key} = {value[:300]}" + ("…" if len(value) > 300 else "")))
        tree.root.expand()
        provenance = self.query_one("#provenance", Static)
        raw = r.metadata.get("graft.provenance") if r.metadata else None
        if raw:
            table, final = provenance_table(raw)
            provenance.update(table if not final else _stack(table, Text(final)))
        else:
            provenance.update(Text("no Graft provenance in this checkpoint", style="dim"))
        if open_tab:
            self.query_one("#side", TabbedContent).active = "checkpoint"
        if open_tab and announce:
            self.say(
                "assistant",
                f"`{safe_markdown(r.path)}`: {r.total_params:,} parameters, {r.num_layers} layers ({safe_markdown(r.architecture or r.kind)})"
                + ("; its provenance is in the Checkpoint tab." if raw else "."),
            )

    @work(thread=True, group="diff")
    def diff_worker(self, a: str, b: str) -> None:
        from tools.diff import DiffArgs, diff_checkpoints
        from tools.errors import GraftError

        try:
            result = diff_checkpoints(DiffArgs(a=a, b=b))
        except GraftError as exc:
            self._ui(self.say, "assistant", str(exc), True)
            return
        except Exception as exc:
            self._ui(self.say, "assistant", f"Cannot diff: {type(exc).__name__}: {exc}", True)
            return
        self._ui(self.show_diff, result)

    def show_diff(self, r: Any) -> None:
        from rich.console import Group
        from rich.table import Table

        head = Text()
        head.append(f"{visible_controls(r.a)} → {visible_controls(r.b)}\n", style="bold")
        head.append(f"{len(r.changed)} of {r.compared} tensors changed")
        if r.only_in_a or r.only_in_b or r.mismatched:
            head.append(
                f"; {len(r.only_in_a)} only in A, {len(r.only_in_b)} only in B, {len(r.mismatched)} not comparable"
            )
        head.append(f"\nmeasure: {r.measure}\n", style="dim")
        for change, count in (r.dtype_changes or {}).items():
            head.append(f"dtype {change} ({count} tensors)\n", style="yellow")
        parts: list[Any] = [head]
        components = sorted({c for row in r.grid.values() for c in row})
        cells = [g.relative_change for row in r.grid.values() for g in row.values()]
        top = max(cells, default=0.0)
        if r.grid:
            table = Table(title="per layer × component", title_justify="left", box=None, pad_edge=False)
            table.add_column("layer", justify="right")
            for comp in components:
                table.add_column(comp, justify="right")
            for layer, row in sorted(r.grid.items()):
                table.add_row(
                    str(layer),
                    *(_diff_cell(row[c].relative_change, top) if c in row else Text("") for c in components),
                )
            parts.append(table)
        if r.components:
            bars = Table(title="per component", title_justify="left", box=None, pad_edge=False)
            bars.add_column("component")
            bars.add_column("", no_wrap=True)
            bars.add_column("change", justify="right")
            bars.add_column("tensors", justify="right")
            comp_top = max((g.relative_change for g in r.components.values()), default=0.0) or 1.0
            for name, group in r.components.items():
                bars.add_row(
                    plain(name),
                    Text("█" * int(20 * group.relative_change / comp_top), style="cyan"),
                    f"{group.relative_change:.2e}",
                    f"{group.changed_tensors}/{group.tensors}",
                )
            parts.append(bars)
        for note in r.notes:
            parts.append(plain(f"note: {note}"))
        self.query_one("#diff-text", Static).update(Group(*parts))
        self.query_one("#side", TabbedContent).active = "diff"
        self.say("assistant", f"{len(r.changed)} of {r.compared} tensors differ; see the Diff tab.")

    def run_plan_file(self, path: str) -> None:
        from agent.graph import build_graph, initial_state, open_checkpointer
        from agent.plan import load_plan
        from tools.errors import GraftError

        run_dir = Path(path).with_suffix(".run")
        try:
            plan = load_plan(path)
            from agent.preflight import preflight

            # The same destination checks as `graft run`, before anything is approved or trained.
            preflight(plan, Path(path), run_dir, overwrite=None)
        except GraftError as exc:
            self.say("assistant", str(exc), error=True)
            return
        graph = build_graph(open_checkpointer(), runner_hook=self._hook_runner)
        import uuid

        config = {"configurable": {"thread_id": f"run-{uuid.uuid4().hex[:12]}"}}
        self.show_plan(plan.model_dump(mode="json"), {"status": "awaiting_approval"})
        self.advance(initial_state(plan, run_dir, Path(path).resolve().parent), graph, config)

    def export(self, args: list[str]) -> None:
        """`/export plan.yaml` writes the plan itself; `/export script|mergekit|trl [FILE]` a translation."""
        from agent.export import export_plan
        from agent.plan import plan_from_data, plan_to_yaml
        from tools.errors import GraftError
        from tools.safetensors_writer import atomic_write_text

        if not self.plan_data:
            self.say("assistant", "There is no plan to export yet.", error=True)
            return
        forms = ("script", "mergekit", "trl", "yaml")
        form = args[0] if args and args[0] in forms else None
        target = args[1] if form and len(args) > 1 else args[0] if args and not form else None
        if form is None:
            suffix = Path(target).suffix.lower() if target else ""
            form = "yaml" if suffix in (".yaml", ".yml", "") else "script" if suffix == ".py" else "yaml"
        plan = plan_from_data(self.plan_data)
        if form == "trl":  # a folder of flat configs, steps.py and chain.sh, as `graft export --as trl -o`
            from agent.export import export_trl, write_export_folder

            if not target:
                self.say("assistant", "The TRL export is a folder: `/export trl FOLDER`.", error=True)
                return
            try:
                files = write_export_folder(export_trl(plan, target), Path(target))
            except GraftError as exc:
                self.say("assistant", str(exc), error=True)
                return
            self.say("assistant", f"Exported the plan as TRL configs to `{safe_markdown(target)}`: {len(files)} files.")
            return
        # mergekit: the run folder this plan ran in (or will, once saved and run), so references resolve
        run_dir = self.run_dir or "graft-run"
        try:
            text = plan_to_yaml(plan) if form == "yaml" else export_plan(plan, form, run_dir=run_dir)  # type: ignore[arg-type]
        except GraftError as exc:
            self.say("assistant", str(exc), error=True)
            return
        what = "the plan (YAML, `graft run` reads it)" if form == "yaml" else f"the plan as {form}"
        if target:
            try:
                atomic_write_text(Path(target), text)
            except GraftError as exc:
                self.say("assistant", str(exc), error=True)
                return
            except OSError as exc:
                self.say("assistant", f"Cannot write {target}: {exc.strerror or exc}.", error=True)
                return
            self.say("assistant", f"Exported {what} to `{safe_markdown(target)}`.")
        else:
            self.say("assistant", f"```{'python' if form == 'script' else 'yaml'}\n{text}\n```")

    @work(thread=True, group="graph")
    def resume_worker(self) -> None:
        from agent.conversation import last_thread_id
        from agent.graph import data_dir

        thread = self.thread_id or last_thread_id()
        if not thread:
            self._ui(self.say, "assistant", "There is no earlier conversation to resume.", True)
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
        entries: list[dict[str, Any]] = []
        path = data_dir() / "transcripts" / f"{thread}.jsonl"
        if path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line after a crash
                if isinstance(entry, dict) and entry.get("role") in ("user", "assistant"):
                    entries.append(entry)
        if not entries:  # a conversation from before transcripts: what the graph kept
            entries = [
                {"role": m.get("role"), "text": m.get("content", ""), "error": m.get("kind") == "error"}
                for m in values.get("messages", [])
                if m.get("role") in ("user", "assistant")
            ]
        stopped = bool(snapshot.next) and pending is None  # a run that stopped mid-stage
        self._ui(self.replay, thread, entries, pending, values, stopped)

    def replay(
        self, thread: str, entries: list[dict[str, Any]], pending: Any, values: dict[str, Any], stopped: bool
    ) -> None:
        with self._transcript_lock:
            self.transcript = []
        for entry in entries:
            self.say(entry["role"], str(entry.get("text", "")), bool(entry.get("error")), record=False)
        with self._transcript_lock:
            self.transcript = list(entries)
        self.say("assistant", f"Resumed conversation `{thread}`.", record=False)
        if values.get("plan"):
            self.compare_next = False
        self.after_step(pending, values, replay=True)
        if stopped and self.active is not None:
            self.resumable = self.active
            self.say("assistant", "The last run stopped before it finished; **f9** or `/continue` resumes it.")
            self.refresh_bindings()


def _stack(*parts: Any) -> Any:
    from rich.console import Group

    return Group(*parts)


def run_app(
    model: str | None = None, data: list[str] | None = None, resume: bool = False, offline: bool | None = None
) -> int:
    GraftApp(model=model, data=data, resume=resume, offline=offline).run()
    return 0

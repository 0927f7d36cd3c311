"""The Textual app through its pilot: the whole flow on a tiny model with the offline planner."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from tools.tiny_data import sft_rows, write_jsonl
from tui.app import ConfirmWriteScreen, EditPlanScreen, GraftApp, RejectScreen

SIZE = (120, 40)


@pytest.fixture()
def world(tiny, tmp_path, offline_home):  # type: ignore[no-untyped-def]
    return {
        "model": str(tiny("llama")),
        "sft": str(write_jsonl(tmp_path / "chat.jsonl", sft_rows(12))),
        "out": tmp_path / "final",
    }


async def wait_for(pilot, condition, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.1)


async def type_text(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    pilot.app.query_one("#prompt").value = text
    await pilot.press("enter")


def chat_text(app: GraftApp) -> str:
    from textual.widgets import Markdown, Static

    parts = []
    for widget in app.query_one("#chat").children:
        if isinstance(widget, Markdown):
            parts.append(widget.source)
        elif isinstance(widget, Static):
            parts.append(str(widget.render()))
    return "\n".join(parts)


def modal_ready(app: GraftApp, screen_type: type, button: str) -> bool:
    """The modal is up and laid out (a click before layout lands at 0,0 and misses)."""
    if not isinstance(app.screen, screen_type):
        return False
    found = app.screen.query(button)
    return bool(found) and found.first().region.width > 0


def review_shown(app: GraftApp) -> bool:
    return app.query_one("#review").has_class("shown") and not app.busy


async def propose(pilot, world, goal: str) -> None:  # type: ignore[no-untyped-def]
    await type_text(pilot, goal)
    await wait_for(pilot, lambda: review_shown(pilot.app))


def test_whole_flow_goal_plan_approve_run_confirm_write(world) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        app = GraftApp(model=world["model"], data=[world["sft"]], offline=True)
        async with app.run_test(size=SIZE) as pilot:
            await propose(pilot, world, f"LoRA on attention for 3 steps, then write to {world['out']}")
            table = app.query_one("#plan-table")
            assert table.row_count == 2
            assert app.query_one("#side").active == "plan"
            await pilot.click("#approve")
            await wait_for(pilot, lambda: modal_ready(app, ConfirmWriteScreen, "#write"))
            assert app.bars, "progress bars were drawn for the stages"
            assert not world["out"].exists()
            await pilot.click("#write")
            await wait_for(pilot, lambda: "Done." in chat_text(app))
        from tools.inspect import InspectArgs, inspect_checkpoint

        provenance = json.loads(inspect_checkpoint(InspectArgs(path=str(world["out"]))).metadata["graft.provenance"])
        assert provenance["stages"][0]["id"] == "sft"

    asyncio.run(scenario())


def test_reject_then_edit_invalid_then_valid(world) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        app = GraftApp(model=world["model"], data=[world["sft"]], offline=True)
        async with app.run_test(size=SIZE) as pilot:
            await propose(pilot, world, f"LoRA for 2 steps, write to {world['out']}")
            await pilot.click("#reject")
            await wait_for(pilot, lambda: modal_ready(app, RejectScreen, "#reject"))
            app.screen.query_one("#reason").value = "use DoRA on the last 1 layers"
            await pilot.click("#reject")
            await wait_for(
                pilot,
                lambda: review_shown(app) and app.pending and app.pending["plan"]["stages"][0]["adapter"] == "dora",
            )
            assert app.pending["plan"]["stages"][0]["layers"] == [1]

            await pilot.click("#edit")
            await wait_for(pilot, lambda: modal_ready(app, EditPlanScreen, "#save"))
            area = app.screen.query_one("#plan-yaml")
            area.text = area.text.replace("layers:\n  - 1", "layers:\n  - 9")
            await pilot.click("#save")
            await wait_for(
                pilot,
                lambda: (
                    modal_ready(app, EditPlanScreen, "#save")
                    and "out of range" in str(app.screen.query_one("#edit-error").render())
                ),
            )
            area = app.screen.query_one("#plan-yaml")
            area.text = area.text.replace("- 9", "- 0")
            await pilot.click("#save")
            await wait_for(
                pilot, lambda: review_shown(app) and app.pending and app.pending["plan"]["stages"][0]["layers"] == [0]
            )
            assert not isinstance(app.screen, EditPlanScreen)

    asyncio.run(scenario())


def test_cancel_mid_run_and_keys_work_while_training(world) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        app = GraftApp(model=world["model"], data=[world["sft"]], offline=True)
        async with app.run_test(size=SIZE) as pilot:
            await propose(pilot, world, f"LoRA for 400 steps with batch size 1, write to {world['out']}")
            await pilot.click("#approve")
            await wait_for(pilot, lambda: any(r._child is not None for r in app.runners))
            # The app stays responsive while the stage trains in its worker process.
            await pilot.press("f3")
            assert app.query_one("#side").active == "checkpoint"
            await pilot.press("f4")
            assert app.query_one("#side").active == "run"
            await pilot.press("ctrl+x")
            await wait_for(pilot, lambda: "Cancelled" in chat_text(app), timeout=60)
            assert not app.busy
        assert not world["out"].exists()

    asyncio.run(scenario())


def test_cancel_at_confirm_writes_nothing(world) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        app = GraftApp(model=world["model"], data=[world["sft"]], offline=True)
        async with app.run_test(size=SIZE) as pilot:
            await propose(pilot, world, f"LoRA for 1 steps, write to {world['out']}")
            await pilot.click("#approve")
            await wait_for(pilot, lambda: modal_ready(app, ConfirmWriteScreen, "#cancel"))
            await pilot.click("#cancel")
            await wait_for(pilot, lambda: "Not written" in chat_text(app))
        assert not world["out"].exists()

    asyncio.run(scenario())


def test_questions_and_hostile_metadata_are_inert(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import write_raw_safetensors

    hostile = write_raw_safetensors(
        tmp_path / "hostile.safetensors",
        {
            "__metadata__": {"note": "[bold red]pwned[/] \x1b[31mred\x1b[0m [@click=app.approve]press[/]"},
            "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        },
        b"\0" * 8,
    )

    async def scenario() -> None:
        app = GraftApp(model=world["model"], offline=True)
        async with app.run_test(size=SIZE) as pilot:
            await type_text(pilot, "how many parameters are in the attention?")
            await wait_for(pilot, lambda: "The attention holds" in chat_text(app) and not app.busy)
            await type_text(pilot, f"/inspect {hostile}")
            await wait_for(pilot, lambda: "hostile" in str(app.query_one("#ckpt-tree").root.label))
            tree = app.query_one("#ckpt-tree")
            labels = []

            def walk(node) -> None:  # type: ignore[no-untyped-def]
                labels.append(node.label.plain)
                for child in node.children:
                    walk(child)

            walk(tree.root)
            meta = next(label for label in labels if label.startswith("note ="))
            assert "[bold red]pwned[/]" in meta and "\\x1b[31m" in meta and "\x1b" not in meta
            assert app.pending is None  # nothing was approved by the text

    asyncio.run(scenario())


def test_resume_reopens_the_plan(world) -> None:  # type: ignore[no-untyped-def]
    async def first() -> str:
        app = GraftApp(model=world["model"], data=[world["sft"]], offline=True)
        async with app.run_test(size=SIZE) as pilot:
            await propose(pilot, world, f"LoRA for 1 steps, write to {world['out']}")
            return app.thread_id or ""

    async def second(thread: str) -> None:
        app = GraftApp(resume=True, offline=True)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: review_shown(app))
            assert app.thread_id == thread
            assert app.query_one("#plan-table").row_count == 2
            assert "LoRA for 1 steps" in chat_text(app)

    thread = asyncio.run(first())
    asyncio.run(second(thread))


def test_first_paint_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = "import sys, tui.app; print([m for m in ('torch', 'transformers', 'peft', 'trl') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert out.stdout.strip() == "[]", out.stderr

"""Snapshots of the main screens at 120×40 (pytest-textual-snapshot; update with --snapshot-update)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tools.tiny_data import sft_rows, write_jsonl
from tui.app import ConfirmWriteScreen, EditPlanScreen, GraftApp

SIZE = (120, 40)
FIXED = Path("/tmp/graft-snapshots")  # fixed paths: they appear on screen


@pytest.fixture()
def fixed_world(offline_home):  # type: ignore[no-untyped-def]
    from tools.tiny import TinyModelArgs, build_tiny_model

    model = FIXED / "model"
    if not (model / "model.safetensors").is_file():
        import shutil

        shutil.rmtree(model, ignore_errors=True)
        build_tiny_model(TinyModelArgs(architecture="llama", output=str(model)))
    data = write_jsonl(FIXED / "chat.jsonl", sft_rows(12))
    return {"model": str(model), "sft": str(data)}


def still(app: GraftApp) -> GraftApp:
    """No animations (the tab underline slides): a snapshot must not catch one half-way."""
    app.animation_level = "none"
    return app


async def steady(pilot) -> None:  # type: ignore[no-untyped-def]
    """A blinking cursor is on or off depending on timing: stop it before the picture."""
    prompt = pilot.app.query_one("#prompt")
    prompt.cursor_blink = False
    await pilot.pause(0.1)


async def settle(pilot, condition, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.1)
    await pilot.pause(0.3)


def test_start_screen(snap_compare, fixed_world) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(still(GraftApp(offline=True)), terminal_size=SIZE, run_before=steady)


def test_checkpoint_tab(snap_compare, fixed_world) -> None:  # type: ignore[no-untyped-def]
    async def open_model(pilot) -> None:  # type: ignore[no-untyped-def]
        await steady(pilot)
        pilot.app.query_one("#prompt").value = f"/open {fixed_world['model']}"
        await pilot.press("enter")
        await settle(
            pilot,
            lambda: (
                pilot.app.query_one("#side").active == "checkpoint" and len(pilot.app.query_one("#chat").children) >= 3
            ),
        )
        await pilot.pause(1.0)

    assert snap_compare(still(GraftApp(offline=True)), terminal_size=SIZE, run_before=open_model)


def test_plan_review(snap_compare, fixed_world) -> None:  # type: ignore[no-untyped-def]
    async def plan(pilot) -> None:  # type: ignore[no-untyped-def]
        await steady(pilot)
        pilot.app.query_one("#prompt").value = "LoRA on attention of the last 1 layers, rank 8, then merge the adapter"
        await pilot.press("enter")
        await settle(pilot, lambda: pilot.app.query_one("#review").has_class("shown") and not pilot.app.busy)

    app = GraftApp(model=fixed_world["model"], data=[fixed_world["sft"]], offline=True)
    assert snap_compare(still(app), terminal_size=SIZE, run_before=plan)


def test_edit_modal(snap_compare, fixed_world) -> None:  # type: ignore[no-untyped-def]
    text = "goal: example\nbase_model: /tmp/graft-snapshots/model\nstages:\n  - kind: sft\n    layers: [9]\n"

    async def edit(pilot) -> None:  # type: ignore[no-untyped-def]
        await steady(pilot)
        pilot.app.push_screen(
            EditPlanScreen(text, "stage sft (sft): layer 9 is out of range: the model has layers 0-1.")
        )
        await pilot.pause(0.3)
        pilot.app.screen.query_one("#plan-yaml").cursor_blink = False
        await pilot.pause(0.2)

    assert snap_compare(still(GraftApp(offline=True)), terminal_size=SIZE, run_before=edit)


def test_confirm_write_modal(snap_compare, fixed_world) -> None:  # type: ignore[no-untyped-def]
    payload = {
        "type": "confirm_write",
        "output": "/tmp/graft-snapshots/final",
        "exists": False,
        "dtype": "bfloat16",
        "max_shard_size": "5GB",
        "model": "/tmp/graft-snapshots/run/ties",
        "pending_adapter": None,
        "bytes": 420224,
        "stages": [
            {"id": "sft", "kind": "sft", "method": "lora"},
            {"id": "sft-merged", "kind": "merge_adapter", "method": "stream-cat"},
        ],
    }

    async def confirm(pilot) -> None:  # type: ignore[no-untyped-def]
        await steady(pilot)
        pilot.app.push_screen(ConfirmWriteScreen(payload))
        await pilot.pause(0.3)

    assert snap_compare(still(GraftApp(offline=True)), terminal_size=SIZE, run_before=confirm)

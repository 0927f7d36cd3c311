"""Snapshots of the main screens at 120×40 and 80×24 (pytest-textual-snapshot; update with --snapshot-update)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tools.tiny_data import sft_rows, write_jsonl
from tui.app import ConfirmWriteScreen, EditPlanScreen, GraftApp

SIZE = (120, 40)
FIXED = Path("/tmp/graft-snapshots")  # fixed paths: they appear on screen


@pytest.fixture()
def fixed_world(offline_home, monkeypatch):  # type: ignore[no-untyped-def]
    # The memory a machine has free changes from run to run; the picture must not.
    monkeypatch.setattr("agent.validate.device_memory", lambda: ("cpu", 16 * 2**30))
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


async def propose(pilot, goal: str) -> None:  # type: ignore[no-untyped-def]
    """Type a goal and wait until the plan is up for review with its estimates."""
    await steady(pilot)
    pilot.app.query_one("#prompt").value = goal
    await pilot.press("enter")
    await settle(
        pilot,
        lambda: (
            pilot.app.query_one("#review").has_class("shown")
            and not pilot.app.busy
            and "trainable" in str(pilot.app.query_one("#plan-total").render())
        ),
    )


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
        await propose(pilot, "LoRA on attention of the last 1 layers, rank 8, then merge the adapter")

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


def test_plan_view_80x24(snap_compare, fixed_world) -> None:  # type: ignore[no-untyped-def]
    """The plan with its settings and estimates, and Approve / Edit / Reject, on the smallest usual terminal."""

    async def plan(pilot) -> None:  # type: ignore[no-untyped-def]
        await propose(pilot, "LoRA rank 8 on attention of the last 1 layers for 2 epochs, then write it")

    app = GraftApp(model=fixed_world["model"], data=[fixed_world["sft"]], offline=True)
    assert snap_compare(still(app), terminal_size=(80, 24), run_before=plan)


def test_run_tab(snap_compare, fixed_world) -> None:  # type: ignore[no-untyped-def]
    """Bars per stage, the loss chart with its axes, the log: drawn from a fixed stream of events."""
    events = [
        {"stage": "sft", "kind": "stage_start", "message": "sft sft", "index": 0, "count": 3},
        *(
            {
                "stage": "sft",
                "kind": "progress",
                "step": i,
                "total": 30,
                "loss": 3.0 - 1.6 * (1 - 0.9**i) + 0.05 * (i % 3),
            }
            for i in range(1, 31)
        ),
        {
            "stage": "sft",
            "kind": "stage_done",
            "message": "done",
            "result": {"eval_loss_before": 2.9812, "eval_loss_after": 1.6034},
        },
        {"stage": "dpo", "kind": "stage_start", "message": "dpo dpo", "index": 1, "count": 3},
        *(
            {"stage": "dpo", "kind": "progress", "step": i, "total": 20, "loss": 0.693 - 0.02 * i + 0.01 * (i % 2)}
            for i in range(1, 13)
        ),
    ]

    async def run(pilot) -> None:  # type: ignore[no-untyped-def]
        await steady(pilot)
        app = pilot.app
        app.start_run_view()
        for event in events:
            app.show_event(event)
        await pilot.pause(0.2)
        for bar in app.bars.values():
            bar.show_eta = False  # the ETA depends on the clock
        app.action_tab("run")
        await pilot.pause(0.3)

    assert snap_compare(still(GraftApp(offline=True)), terminal_size=SIZE, run_before=run)


def test_diff_tab(snap_compare, fixed_world) -> None:  # type: ignore[no-untyped-def]
    """fp32 base against a bf16 output where one layer's attention and MLP were changed."""
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    out = FIXED / "bf16"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(fixed_world["model"], out)
    tensors = load_file(out / "model.safetensors")
    generator = torch.Generator().manual_seed(0)
    for name, scale in (
        ("model.layers.1.self_attn.q_proj.weight", 0.004),
        ("model.layers.1.mlp.up_proj.weight", 0.002),
    ):
        tensors[name] = tensors[name] + scale * torch.randn(tensors[name].shape, generator=generator)
    save_file(
        {k: v.to(torch.bfloat16) for k, v in tensors.items()}, out / "model.safetensors", metadata={"format": "pt"}
    )

    async def diff(pilot) -> None:  # type: ignore[no-untyped-def]
        await steady(pilot)
        pilot.app.query_one("#prompt").value = f"/diff {fixed_world['model']} {out}"
        await pilot.press("enter")
        await settle(pilot, lambda: pilot.app.query_one("#side").active == "diff")

    assert snap_compare(still(GraftApp(offline=True)), terminal_size=SIZE, run_before=diff)

"""The Textual app through its pilot: the whole flow on a tiny model with the offline planner."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

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
            raise AssertionError("timed out waiting for the app; the chat says:\n" + chat_text(pilot.app)[-1500:])
        await pilot.pause(0.1)


async def type_text(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    prompt = pilot.app.query_one("#prompt")
    if pilot.app.focused is not prompt:
        prompt.focus()
        await pilot.pause(0.05)
    prompt.value = text
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
            # The Checkpoint tab shows the provenance as a table of stages.
            await type_text(pilot, f"/inspect {world['out']}")
            await wait_for(pilot, lambda: "provenance is in the Checkpoint tab" in chat_text(app))
            from rich.console import Console
            from rich.table import Table

            shown = app.query_one("#provenance").content
            tables = [shown] if isinstance(shown, Table) else [r for r in shown.renderables if isinstance(r, Table)]
            assert tables and tables[0].row_count == len(provenance_stages(world["out"]))
            console = Console(width=120, record=True)
            console.print(shown)
            shown_text = console.export_text()
            assert "held-out loss" in shown_text and "chat.jsonl (12" in shown_text
        from tools.inspect import InspectArgs, inspect_checkpoint

        provenance = json.loads(inspect_checkpoint(InspectArgs(path=str(world["out"]))).metadata["graft.provenance"])
        assert provenance["stages"][0]["id"] == "sft"

    asyncio.run(scenario())


def provenance_stages(path: Path) -> list[dict]:
    from tools.inspect import InspectArgs, inspect_checkpoint

    return json.loads(inspect_checkpoint(InspectArgs(path=str(path))).metadata["graft.provenance"])["stages"]


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
            # What the reject changed is marked in the stage list and the detail pane.
            assert app.query_one("#plan-table").get_row_at(0)[0] == "✱"
            assert "✱" in str(app.query_one("#plan-detail").render())

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
            assert "Edit accepted" in chat_text(app)
            assert "not valid" not in chat_text(app).rsplit("›", 1)[-1].splitlines()[-1]

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
            await wait_for(pilot, lambda: "LoRA for 1 steps" in chat_text(app), timeout=60)  # replayed transcript

    thread = asyncio.run(first())
    asyncio.run(second(thread))


def test_first_paint_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = "import sys, tui.app; print([m for m in ('torch', 'transformers', 'peft', 'trl') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert out.stdout.strip() == "[]", out.stderr


# ---- issue 13: control at any moment, the plan in full, asking while it works ----


def footer_keys(app: GraftApp) -> set[str]:
    """The keys the footer offers right now (bindings whose action applies in this context)."""
    return {key for key, active in app.screen.active_bindings.items() if active.binding.show and active.enabled}


def live_child(app: GraftApp):  # type: ignore[no-untyped-def]
    return next((r._child for r in app.runners if getattr(r, "_child", None) is not None), None)


def test_cancel_from_the_focused_prompt_answers_mid_run_and_resumes(world) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        app = GraftApp(model=world["model"], data=[world["sft"]], offline=True)
        async with app.run_test(size=SIZE) as pilot:
            await propose(pilot, world, f"LoRA for 400 steps with batch size 1, write to {world['out']}")
            assert "ctrl+x" not in footer_keys(app) and {"f6", "f7", "f8"} <= footer_keys(app)
            await pilot.click("#approve")
            await wait_for(pilot, lambda: live_child(app) is not None)
            assert "ctrl+x" in footer_keys(app) and "f6" not in footer_keys(app)
            # A question mid-run is answered from the files while the stage trains.
            app.query_one("#prompt").focus()
            await type_text(pilot, "how many parameters are in the attention?")
            await wait_for(pilot, lambda: "The attention holds" in chat_text(app), timeout=60)
            assert app.busy and app.run_active()
            await type_text(pilot, "which stage is running now?")
            await wait_for(pilot, lambda: "Running stage sft: " in chat_text(app))
            # The prompt has the focus, and its own ctrl+x is "cut": the app's priority binding wins.
            prompt = app.query_one("#prompt")
            prompt.focus()
            prompt.value = "some text"
            await pilot.pause(0.1)
            assert app.focused is prompt
            child = live_child(app)
            await pilot.press("ctrl+x")
            await wait_for(pilot, lambda: "Cancelled" in chat_text(app), timeout=60)
            assert prompt.value == "some text"  # nothing was cut
            assert child.poll() is not None  # the stage's process is gone
            text = chat_text(app)
            assert "signal" not in text and "Stopped:" not in text
            assert not app.busy and app.resumable is not None
            assert "f9" in footer_keys(app) and "ctrl+x" not in footer_keys(app)
            assert "cancelled" in str(app.bar_labels["sft"].render())
        assert not world["out"].exists()

    asyncio.run(scenario())


def test_resume_after_cancel_then_decline_then_write_now(world) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        app = GraftApp(model=world["model"], data=[world["sft"]], offline=True)
        async with app.run_test(size=SIZE) as pilot:
            await propose(pilot, world, f"LoRA for 4 steps, write to {world['out']}")
            await pilot.click("#approve")
            await wait_for(pilot, lambda: live_child(app) is not None)
            first_bars = dict(app.bars)
            await pilot.press("ctrl+x")
            await wait_for(pilot, lambda: app.resumable is not None)
            await pilot.press("f9")  # resume: the run goes on to the final write
            await wait_for(pilot, lambda: modal_ready(app, ConfirmWriteScreen, "#cancel"))
            assert all(app.bars[k] is not first_bars.get(k) for k in app.bars), "a new run draws new bars"
            # The write dialog starts on Cancel: a stray Enter writes nothing.
            assert app.focused is not None and app.focused.id == "cancel"
            await pilot.press("enter")
            await wait_for(pilot, lambda: "Not written" in chat_text(app))
            assert not world["out"].exists() and "f10" in footer_keys(app)
            await pilot.press("f10")  # write now, without retraining
            await wait_for(pilot, lambda: modal_ready(app, ConfirmWriteScreen, "#write"))
            await pilot.click("#write")
            await wait_for(pilot, lambda: "Done." in chat_text(app))
            await type_text(pilot, "how many layers does it have?")
            await wait_for(pilot, lambda: "has 2 layers" in chat_text(app) and not app.busy)
            assert chat_text(app).count("Done.") == 1, "the finished run is announced once"
        assert (world["out"] / "model.safetensors").is_file() or any(world["out"].glob("*.safetensors"))

    asyncio.run(scenario())


def test_quit_during_a_run_asks_then_stops_the_stage(world) -> None:  # type: ignore[no-untyped-def]
    from tui.app import AskScreen

    async def scenario() -> Any:
        app = GraftApp(model=world["model"], data=[world["sft"]], offline=True)
        async with app.run_test(size=SIZE) as pilot:
            await propose(pilot, world, f"LoRA for 400 steps with batch size 1, write to {world['out']}")
            await pilot.click("#approve")
            await wait_for(pilot, lambda: live_child(app) is not None)
            child = live_child(app)
            await pilot.press("ctrl+q")
            await wait_for(pilot, lambda: modal_ready(app, AskScreen, "#yes"))
            assert "Stop the run and quit?" in str(app.screen.query_one("#ask-text").render())
            assert app.focused.id == "no"
            await pilot.click("#yes")
            await pilot.pause(0.2)
            return child

    started = time.monotonic()
    child = asyncio.run(scenario())
    assert child.poll() is not None, "the stage's process was stopped before the app closed"
    assert time.monotonic() - started < 100


def test_plan_view_shows_settings_data_and_estimates(world) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        app = GraftApp(model=world["model"], data=[world["sft"]], offline=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await propose(pilot, world, f"LoRA rank 8 on attention for 2 epochs, then write to {world['out']}")
            await wait_for(pilot, lambda: "trainable" in str(app.query_one("#plan-total").render()))
            detail = str(app.query_one("#plan-detail").render())
            assert "r=8 (default 16)" in detail and "epochs=2 (default 1)" in detail
            assert "chat.jsonl · 12 rows" in detail
            assert "trainable" in detail and "memory" in detail
            assert "learning_rate" not in detail  # at its default: shown on demand
            total = str(app.query_one("#plan-total").render())
            assert "total" in total and "peak memory" in total
            app.query_one("#plan-table").focus()
            await pilot.press("d")
            assert "learning_rate=0.0002" in str(app.query_one("#plan-detail").render())
            await pilot.press("down")
            assert "final.safetensors" not in str(app.query_one("#plan-detail").render())
            assert str(world["out"]) in str(app.query_one("#plan-detail").render())
            # Every review button is on screen at 80×24.
            for button in ("#approve", "#edit", "#reject"):
                region = app.query_one(button).region
                assert region.width >= 7 and region.right <= 80 and region.bottom <= 24, button
            # A question during the review is answered; the plan stays as proposed.
            pending = app.pending
            app.query_one("#prompt").focus()
            await type_text(pilot, "how many parameters are in the mlp?")
            await wait_for(pilot, lambda: "The mlp holds" in chat_text(app))
            assert app.pending is pending and review_shown(app)
            await type_text(pilot, "какой ранг в плане?")
            await wait_for(pilot, lambda: "План (2)" in chat_text(app))
            assert "r=8" in chat_text(app).rsplit("План (2)", 1)[-1]

    asyncio.run(scenario())


def test_prompt_history_help_and_escape(world) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        app = GraftApp(offline=True)
        async with app.run_test(size=SIZE) as pilot:
            prompt = app.query_one("#prompt")
            await type_text(pilot, "/data a.jsonl")
            await type_text(pilot, "/output somewhere")
            await pilot.press("up")
            assert prompt.value == "/output somewhere"
            await pilot.press("up")
            assert prompt.value == "/data a.jsonl"
            await pilot.press("down", "down")
            assert prompt.value == ""
            await type_text(pilot, "?")
            assert "Keys:" in chat_text(app).split("› ?")[-1]
            # One Escape closes the plan editor, even with the text box focused.
            app.push_screen(EditPlanScreen("goal: x\n"))
            await wait_for(pilot, lambda: modal_ready(app, EditPlanScreen, "#save"))
            app.screen.query_one("#plan-yaml").focus()
            await pilot.press("escape")
            await pilot.pause(0.1)
            assert not isinstance(app.screen, EditPlanScreen)
            # Review keys only with a plan.
            assert not {"f6", "f7", "f8", "ctrl+x"} & footer_keys(app)
            # ctrl+o: a prompt of several lines, sent with ctrl+s.
            from tui.app import LongPromptScreen

            await pilot.press("ctrl+o")
            await wait_for(pilot, lambda: modal_ready(app, LongPromptScreen, "#send"))
            app.screen.query_one("#long-text").text = "/output\nfar/away"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: "will go to `far/away`" in chat_text(app))
            assert app.output == "far/away" and app.focused is prompt

    asyncio.run(scenario())


def test_open_export_and_resume_keep_what_the_person_saw(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from agent.plan import load_plan

    exported = tmp_path / "plan.yaml"

    async def first() -> str:
        app = GraftApp(model=world["model"], data=[world["sft"]], offline=True)
        async with app.run_test(size=SIZE) as pilot:
            await propose(pilot, world, f"LoRA for 1 steps, write to {world['out']}")
            await type_text(pilot, f"/open {tmp_path / 'nowhere'}")
            await wait_for(pilot, lambda: "is still" in chat_text(app))
            assert app.model == world["model"], "a failed /open keeps the model"
            await type_text(pilot, f"/export {exported}")
            await wait_for(pilot, lambda: "Exported" in chat_text(app))
            # the TRL export is a folder of flat configs and a chain script, as `graft export --as trl -o`
            await type_text(pilot, f"/export trl {tmp_path / 'trl'}")
            await wait_for(pilot, lambda: "as TRL configs" in chat_text(app))
            assert (tmp_path / "trl" / "chain.sh").is_file() and (tmp_path / "trl" / "sft.yaml").is_file()
            return app.thread_id or ""

    async def second(thread: str) -> None:
        app = GraftApp(resume=True, offline=True)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: review_shown(app))
            seen = ("LoRA for 1 steps", "Proposed plan", "is still", "Exported the plan")
            # The restored messages render one by one (slowly on a loaded machine): wait for all of them.
            await wait_for(pilot, lambda: all(s in chat_text(app) for s in seen), timeout=60)

    thread = asyncio.run(first())
    plan = load_plan(exported)  # YAML that `graft run` reads, not a script
    assert plan.stages[0].kind == "sft"
    asyncio.run(second(thread))


def test_diff_tab_fp32_base_against_bf16_output(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    base = Path(world["model"])
    out = tmp_path / "bf16"
    shutil.copytree(base, out)
    tensors = load_file(base / "model.safetensors")
    name = "model.layers.1.mlp.up_proj.weight"
    tensors[name] = tensors[name] + 0.05 * torch.randn_like(tensors[name])
    save_file(
        {k: v.to(torch.bfloat16) for k, v in tensors.items()}, out / "model.safetensors", metadata={"format": "pt"}
    )

    async def scenario() -> None:
        app = GraftApp(offline=True)
        async with app.run_test(size=SIZE) as pilot:
            await type_text(pilot, f"/diff {base} {out}")
            await wait_for(pilot, lambda: "tensors differ" in chat_text(app), timeout=60)
            assert "1 of 21 tensors differ" in chat_text(app)
            assert app.query_one("#side").active == "diff"
            shown = app.query_one("#diff-text").content
            from rich.console import Console

            console = Console(width=100, record=True)
            console.print(shown)
            text = console.export_text()
            assert "relative Frobenius norm of ΔW" in text
            assert "float32 → bfloat16" in text
            assert "per layer × component" in text

    asyncio.run(scenario())


def test_new_goal_during_review_replaces_the_plan_after_asking(world) -> None:  # type: ignore[no-untyped-def]
    from tui.app import AskScreen, GraftCommands

    async def scenario() -> None:
        app = GraftApp(model=world["model"], data=[world["sft"]], offline=True)
        async with app.run_test(size=SIZE) as pilot:
            await propose(pilot, world, f"LoRA for 2 steps, write to {world['out']}")
            await type_text(pilot, f"DoRA for 3 steps, write to {world['out']}")
            await wait_for(pilot, lambda: modal_ready(app, AskScreen, "#no"))
            await pilot.click("#no")  # keep: nothing changes
            await wait_for(pilot, lambda: "Kept the proposed plan" in chat_text(app))
            assert app.pending["plan"]["stages"][0]["adapter"] == "lora"
            await type_text(pilot, f"DoRA for 3 steps, write to {world['out']}")
            await wait_for(pilot, lambda: modal_ready(app, AskScreen, "#yes"))
            await pilot.click("#yes")
            await wait_for(pilot, lambda: review_shown(app) and app.pending["plan"]["stages"][0]["adapter"] == "dora")
            # The empty command palette lists Graft's own commands.
            found = [hit.text async for hit in GraftCommands(app.screen).discover()]
            assert "Approve plan" in found and "Open model" in found

    asyncio.run(scenario())


def test_resume_after_a_declined_write_offers_write_now_once(world) -> None:  # type: ignore[no-untyped-def]
    async def first() -> None:
        app = GraftApp(model=world["model"], data=[world["sft"]], offline=True)
        async with app.run_test(size=SIZE) as pilot:
            await propose(pilot, world, f"LoRA for 1 steps, write to {world['out']}")
            await pilot.click("#approve")
            await wait_for(pilot, lambda: modal_ready(app, ConfirmWriteScreen, "#cancel"))
            await pilot.click("#cancel")
            await wait_for(pilot, lambda: "Not written" in chat_text(app))

    async def second() -> None:
        app = GraftApp(resume=True, offline=True)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: "f10" in footer_keys(app))
            # The replayed transcript renders message by message: wait for it, then count.
            await wait_for(pilot, lambda: "Not written" in chat_text(app), timeout=60)
            await pilot.pause(0.5)
            assert chat_text(app).count("Not written") == 1, "the transcript is replayed, not re-announced"
            await pilot.press("f10")
            await wait_for(pilot, lambda: modal_ready(app, ConfirmWriteScreen, "#write"))
            await pilot.click("#write")
            await wait_for(pilot, lambda: "Done." in chat_text(app))
        assert any(world["out"].glob("*.safetensors"))

    asyncio.run(first())
    asyncio.run(second())


def test_run_a_saved_plan_file_and_export_it_back(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """/export plan.yaml then /run plan.yaml: the saved plan is shown for review and runs as written."""

    async def scenario() -> None:
        app = GraftApp(model=world["model"], data=[world["sft"]], offline=True)
        async with app.run_test(size=SIZE) as pilot:
            await propose(pilot, world, f"LoRA for 1 steps, write to {world['out']}")
            await type_text(pilot, f"/export {tmp_path / 'plan.yaml'}")
            await wait_for(pilot, lambda: "Exported" in chat_text(app))
            await pilot.click("#reject")
            await wait_for(pilot, lambda: modal_ready(app, RejectScreen, "#reject"))
            await pilot.click("#reject")  # empty reason: drop the plan
            await wait_for(pilot, lambda: "Plan dropped" in chat_text(app) and not app.busy)
            await type_text(pilot, f"/run {tmp_path / 'plan.yaml'}")
            await wait_for(pilot, lambda: review_shown(app))
            await pilot.click("#approve")
            await wait_for(pilot, lambda: modal_ready(app, ConfirmWriteScreen, "#write"))
            await pilot.click("#write")
            await wait_for(pilot, lambda: "Done." in chat_text(app))
        assert any(world["out"].glob("*.safetensors"))

    asyncio.run(scenario())


def test_tab_never_lands_on_approve_so_typing_cannot_approve(world) -> None:  # type: ignore[no-untyped-def]
    """Tabbing around put the focus on Approve, and the next space typed ran the plan (seen in tmux at 80x24)."""

    async def scenario() -> None:
        app = GraftApp(model=world["model"], data=[world["sft"]], offline=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await propose(pilot, world, f"LoRA on attention for 3 steps, then write to {world['out']}")
            for _ in range(12):
                await pilot.press("tab")
                assert app.focused is None or app.focused.id not in ("approve", "edit", "reject")
            await pilot.press("space", "enter")
            await pilot.pause(0.2)
            assert review_shown(app), "a key typed after tabbing approved the plan"

    asyncio.run(scenario())

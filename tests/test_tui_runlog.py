"""The Run tab's log at 80×24: every line fits the pane, whether written while it shows or while hidden."""

from __future__ import annotations

import asyncio

from tui.app import GraftApp, plain

LINE = "write: scoring each stage's held-out rows on base and final"


def test_run_log_wraps_to_the_pane_at_80x24() -> None:
    async def scenario() -> None:
        from textual.widgets import RichLog

        app = GraftApp(model=None)
        async with app.run_test(size=(80, 24)) as pilot:
            side = app.query_one("#side")
            side.active = "run"
            await pilot.pause(0.2)
            log = app.query_one("#run-log", RichLog)
            log.write(plain("shown: " + LINE))
            side.active = "plan"  # the stage events keep coming while the person reads the plan
            await pilot.pause(0.2)
            log.write(plain("hidden: " + LINE))
            side.active = "run"
            await pilot.pause(0.2)
            width = log.scrollable_content_region.width
            assert 0 < width < len("hidden: " + LINE), "the pane must be narrower than the line for this test"
            texts = [strip.text.rstrip() for strip in log.lines]
            assert all(len(text) <= width for text in texts), (width, texts)
            joined = " ".join(texts)
            assert ("shown: " + LINE) in " ".join(joined.split()) and ("hidden: " + LINE) in " ".join(joined.split())

    asyncio.run(scenario())

"""At 80×24 nothing the app says is cut off: the Run tab's log lines fit the pane (written while it shows or
while hidden), and the chat keeps its newest message in full view even when that message lays out late."""

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


NOT_WRITTEN = (
    "Not written: the final write was not approved. Finished stages stay in the run folder; "
    "**f10** or `/write` writes it now, without retraining."
)


def test_chat_keeps_the_newest_message_in_view_when_it_grows_after_mounting() -> None:
    """A Markdown lays out its blocks after it is mounted; in a real terminal the one scroll_end could land
    first, showing only 'Not written: the final' above the prompt. Growing the message after it settled
    reproduces that order deterministically."""

    async def scenario() -> None:
        from textual.containers import VerticalScroll
        from textual.widgets import Markdown

        app = GraftApp(model=None)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.2)
            for i in range(4):
                app.say("assistant", f"earlier message {i} " * 12, record=False)
            app.say("assistant", "Not written.", record=False)
            await pilot.pause(0.3)
            chat = app.query_one("#chat", VerticalScroll)
            newest = chat.children[-1]
            assert isinstance(newest, Markdown)
            await newest.update(NOT_WRITTEN)
            await pilot.pause(0.3)
            assert chat.max_scroll_y > 0, "the chat must overflow for this test"
            assert chat.scroll_y == chat.max_scroll_y, (chat.scroll_y, chat.max_scroll_y)

    asyncio.run(scenario())


def test_a_message_taller_than_the_chat_shows_its_beginning() -> None:
    """The help on the first screen at 80×24 is taller than the chat: it is read from its first line,
    not from wherever a scroll that raced its layout happened to land."""

    async def scenario() -> None:
        from textual.containers import VerticalScroll

        app = GraftApp(model=None)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.5)
            chat = app.query_one("#chat", VerticalScroll)
            assert chat.max_scroll_y > 0, "the help must be taller than the chat for this test"
            assert chat.scroll_y == 0, (chat.scroll_y, chat.max_scroll_y)

    asyncio.run(scenario())

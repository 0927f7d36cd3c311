"""Make text from checkpoints, datasets and the LLM inert before it reaches a terminal.

Such text is data: Rich markup in it must print as literal brackets, and terminal escape or
control codes must print as visible `\\x1b`-style escapes, never act on the terminal.
"""

from __future__ import annotations

import unicodedata

from rich.markup import escape


def visible_controls(text: str) -> str:
    """Replace control and format characters (except newline and tab) by visible escapes."""
    out = []
    for ch in text:
        if ch in "\n\t" or unicodedata.category(ch)[0] != "C":
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def inert(text: object) -> str:
    """Text safe to embed in Rich markup: controls shown as escapes, markup escaped."""
    return escape(visible_controls(str(text)))

"""Prompts live as text files beside this module, so they can be read and edited as prose."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent


def load_prompt(name: str) -> str:
    """The text of prompts/<name>.txt."""
    return (HERE / f"{name}.txt").read_text(encoding="utf-8")

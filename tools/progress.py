"""The progress-event shape every long tool reports through its callback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict


class ProgressEvent(TypedDict, total=False):
    stage: str
    step: int
    total: int
    loss: float | None
    message: str
    kind: str  # "progress", "log", "metric"


Progress = Callable[[ProgressEvent], Any]


def silent(_event: ProgressEvent) -> None:
    """The callback used when nobody is listening."""

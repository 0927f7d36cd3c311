"""Shared fixtures: tiny real checkpoints built once per session, and raw-file helpers."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest

# As `graft` itself runs (tui/cli.py main): nothing a test runs in-process may reach the Hub, and a
# library's download-count or metadata request would wait on DNS on a machine without network.
for _key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_key, "1")

from tools.tiny import TinyModelArgs, build_tiny_model  # noqa: E402 (after the offline switch)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    """tiny(arch, **overrides) → path of a tiny checkpoint, built once per distinct request."""
    root = tmp_path_factory.mktemp("tiny")
    cache: dict[tuple, Path] = {}

    def get(architecture: str = "llama", **overrides: object) -> Path:
        key = (architecture, tuple(sorted(overrides.items())))
        if key not in cache:
            out = root / f"{architecture}-{len(cache)}"
            build_tiny_model(TinyModelArgs(architecture=architecture, output=str(out), **overrides))
            cache[key] = out
        return cache[key]

    return get


def write_raw_safetensors(path: Path, header: dict | bytes, data: bytes = b"", length: int | None = None) -> Path:
    """Write a safetensors file byte by byte, so tests can describe broken files exactly."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    size = len(raw) if length is None else length
    path.write_bytes(struct.pack("<Q", size) + raw + data)
    return path


@pytest.fixture()
def offline_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private GRAFT_HOME and no LLM configured: the offline planner serves, nothing leaks between tests."""
    home = tmp_path / "home"
    monkeypatch.setenv("GRAFT_HOME", str(home))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return home

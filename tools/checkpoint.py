"""Find out what files make up a checkpoint path, safely, before anything reads tensors.

A path may be one `.safetensors` file, a Hugging Face folder (sharded through
`model.safetensors.index.json` or not), a PEFT adapter folder, or pickle files (`.bin`, `.pt`).
Shard indexes are untrusted input: a `weight_map` entry may only name a file inside the folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tools.errors import GraftError
from tools.safetensors_header import SafetensorsHeader, read_header

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
SAFETENSORS_INDEXES = ("model.safetensors.index.json", "adapter_model.safetensors.index.json")
PICKLE_INDEXES = ("pytorch_model.bin.index.json",)
SINGLE_SAFETENSORS = ("model.safetensors", "adapter_model.safetensors")
SINGLE_PICKLES = ("pytorch_model.bin", "adapter_model.bin", "model.pt", "consolidated.pth")


@dataclass
class CheckpointFiles:
    """The resolved files of a checkpoint and the JSON side files found beside them."""

    path: Path
    format: Literal["safetensors", "pickle"]
    files: list[Path]
    folder: Path | None = None
    index: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    adapter_config: dict[str, Any] | None = None
    headers: list[SafetensorsHeader] = field(default_factory=list)

    @property
    def is_adapter(self) -> bool:
        if self.adapter_config is not None:
            return True
        return any(f.name.startswith("adapter_model") for f in self.files)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GraftError(f"{path} is not valid JSON: {exc}.") from exc
    if not isinstance(data, dict):
        raise GraftError(f"{path} is not a JSON object.")
    return data


def _shards_from_index(folder: Path, index_path: Path) -> tuple[dict[str, Any], list[Path]]:
    index = _read_json(index_path)
    weight_map = index.get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map:
        raise GraftError(f"{index_path} has no weight_map.")
    root = folder.resolve()
    shards: list[Path] = []
    for name in dict.fromkeys(weight_map.values()):
        if not isinstance(name, str) or not name:
            raise GraftError(f"{index_path} names an invalid shard {name!r}.")
        candidate = (folder / name).resolve()
        if Path(name).is_absolute() or not candidate.is_relative_to(root):
            raise GraftError(
                f"{index_path} names shard {name!r}, which lies outside the checkpoint folder; refusing to read it."
            )
        if not candidate.is_file():
            raise GraftError(f"{index_path} names shard {name!r}, which is missing from {folder}.")
        shards.append(folder / name)
    return index, shards


def resolve_checkpoint(path: str | Path) -> CheckpointFiles:
    """Work out which files a checkpoint path stands for; raise GraftError if it is none."""
    path = Path(path)
    if not path.exists():
        raise GraftError(f"{path} does not exist.")
    if path.is_file():
        folder = path.parent
        if path.suffix == ".safetensors":
            ckpt = CheckpointFiles(path, "safetensors", [path])
        elif path.suffix in PICKLE_SUFFIXES:
            ckpt = CheckpointFiles(path, "pickle", [path])
        elif path.name.endswith(".index.json"):
            return resolve_checkpoint(folder)
        else:
            raise GraftError(
                f"{path} is not a checkpoint: expected a .safetensors, .bin or .pt file, or a model folder."
            )
        # A lone file inside a model folder still gets that folder's config.
        _attach_side_files(ckpt, folder, only_if_named_like_folder=True)
        return ckpt
    if not path.is_dir():
        raise GraftError(f"{path} is neither a file nor a folder.")

    ckpt = None
    for name in SAFETENSORS_INDEXES:
        if (path / name).is_file():
            index, shards = _shards_from_index(path, path / name)
            ckpt = CheckpointFiles(path, "safetensors", shards, folder=path, index=index)
            break
    if ckpt is None:
        singles = [path / n for n in SINGLE_SAFETENSORS if (path / n).is_file()]
        if not singles:
            singles = sorted(path.glob("*.safetensors"))
        if singles:
            ckpt = CheckpointFiles(path, "safetensors", singles[:1] if len(singles) == 1 else singles, folder=path)
    if ckpt is None:
        for name in PICKLE_INDEXES:
            if (path / name).is_file():
                index, shards = _shards_from_index(path, path / name)
                ckpt = CheckpointFiles(path, "pickle", shards, folder=path, index=index)
                break
    if ckpt is None:
        pickles = [path / n for n in SINGLE_PICKLES if (path / n).is_file()]
        if not pickles:
            pickles = sorted(p for p in path.iterdir() if p.suffix in PICKLE_SUFFIXES and p.is_file())
        if pickles:
            ckpt = CheckpointFiles(path, "pickle", pickles, folder=path)
    if ckpt is None:
        saves = _trainer_checkpoints(path)
        if saves:
            raise GraftError(
                f"{path} holds no weights itself, only trainer checkpoints ({', '.join(p.name for p in saves[-3:])}); "
                f"name one of them, e.g. {saves[-1]}."
            )
        raise GraftError(f"{path} is not a checkpoint: it holds no .safetensors, .bin or .pt weights.")
    _attach_side_files(ckpt, path)
    return ckpt


def _trainer_checkpoints(folder: Path) -> list[Path]:
    """A Trainer/TRL output folder's `checkpoint-N` saves, oldest first (each one is a checkpoint itself)."""
    found = [p for p in folder.glob("checkpoint-*") if p.is_dir() and p.name.removeprefix("checkpoint-").isdigit()]
    return sorted(found, key=lambda p: int(p.name.removeprefix("checkpoint-")))


def _attach_side_files(ckpt: CheckpointFiles, folder: Path, only_if_named_like_folder: bool = False) -> None:
    if only_if_named_like_folder and ckpt.files[0].name not in SINGLE_SAFETENSORS + SINGLE_PICKLES:
        return
    if (folder / "adapter_config.json").is_file():
        ckpt.adapter_config = _read_json(folder / "adapter_config.json")
    if (folder / "config.json").is_file():
        ckpt.config = _read_json(folder / "config.json")


def load_headers(ckpt: CheckpointFiles) -> list[SafetensorsHeader]:
    """Parse every shard's header once, and check the index agrees with the shards."""
    if ckpt.format != "safetensors":
        raise GraftError(
            f"{ckpt.path} is a pickle checkpoint; run `graft convert {ckpt.path} OUT` to get safetensors first."
        )
    if not ckpt.headers:
        ckpt.headers = [read_header(f) for f in ckpt.files]
        if ckpt.index is not None:
            by_file = {str(h.path.relative_to(ckpt.folder)) if ckpt.folder else h.path.name: h for h in ckpt.headers}
            by_file.update({os.path.normpath(k): v for k, v in by_file.items()})
            for tensor, shard in ckpt.index["weight_map"].items():
                header = by_file.get(shard) or by_file.get(os.path.normpath(shard))
                if header is None or tensor not in header.tensors:
                    raise GraftError(
                        f"{ckpt.path}: the shard index says {tensor!r} is in {shard}, but it is not there."
                    )
    return ckpt.headers

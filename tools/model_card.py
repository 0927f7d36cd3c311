"""The final folder's README.md (a Hub model card) and the files that travel with the weights.

The card is built with `huggingface_hub.ModelCard`/`ModelCardData`, so its front matter is what
the Hub reads: `base_model` and `base_model_relation`, the base's `license`, `datasets`,
`pipeline_tag`, `library_name` and a tag for each method used. Its body lists the stages, their
hyper-parameters and held-out results from the provenance. Paths in it are names, never this
machine's absolute paths.

Side files (config, generation config, tokenizer, LICENSE/NOTICE, custom code named by
`auto_map`) come from the model being written, and where a stage dropped them, from the base.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tools.safetensors_writer import TOKENIZER_FILES, code_files, copy_side_files, license_files

_TOKENIZER_MARKERS = ("tokenizer.json", "tokenizer.model", "vocab.json")

# Well-known license texts, by a phrase each carries, as the Hub's `license` identifiers.
_LICENSE_TEXTS = (
    ("LLAMA 3.3 COMMUNITY LICENSE", "llama3.3"),
    ("LLAMA 3.2 COMMUNITY LICENSE", "llama3.2"),
    ("LLAMA 3.1 COMMUNITY LICENSE", "llama3.1"),
    ("META LLAMA 3 COMMUNITY LICENSE", "llama3"),
    ("LLAMA 2 COMMUNITY LICENSE", "llama2"),
    ("GEMMA TERMS OF USE", "gemma"),
    ("APACHE LICENSE", "apache-2.0"),
    ("PERMISSION IS HEREBY GRANTED, FREE OF CHARGE", "mit"),
    ("GNU AFFERO GENERAL PUBLIC LICENSE", "agpl-3.0"),
    ("GNU LESSER GENERAL PUBLIC LICENSE", "lgpl-3.0"),
    ("GNU GENERAL PUBLIC LICENSE", "gpl-3.0"),
    ("ATTRIBUTION-NONCOMMERCIAL-SHAREALIKE 4.0", "cc-by-nc-sa-4.0"),
    ("ATTRIBUTION-NONCOMMERCIAL 4.0", "cc-by-nc-4.0"),
    ("ATTRIBUTION-SHAREALIKE 4.0", "cc-by-sa-4.0"),
    ("ATTRIBUTION 4.0 INTERNATIONAL", "cc-by-4.0"),
    ("BSD 3-CLAUSE", "bsd-3-clause"),
)
_PREFERENCE_TAGS = {"dpo": "dpo", "orpo": "orpo", "simpo": "simpo", "kto": "kto"}


def has_tokenizer(folder: Path | None) -> bool:
    """Whether a folder holds tokenizer files transformers can load."""
    return folder is not None and any((folder / n).is_file() for n in _TOKENIZER_MARKERS)


def carry_side_files(sources: list[Path], dst: Path) -> list[str]:
    """Copy the non-weight files of the output into `dst`, each group from the first source that has it.

    `sources` is the model being written first, then the base: an adapter merge or a mergekit stage
    may have dropped the base's LICENSE, its custom code or its tokenizer, and without them a model
    whose config names its own code would not load. The tokenizer comes whole from one folder.
    """
    folders = [Path(s) for s in sources if s is not None and Path(s).is_dir()]
    copied: list[str] = []

    def first(names: list[str] | tuple[str, ...]) -> list[str]:
        for folder in folders:
            if any((folder / n).is_file() for n in names):
                return copy_side_files(folder, dst, names)
        return []

    copied += first(("config.json",))
    copied += first(("generation_config.json",))
    tokenizer_home = next((f for f in folders if has_tokenizer(f)), None)
    if tokenizer_home is not None:
        copied += copy_side_files(tokenizer_home, dst, TOKENIZER_FILES)
        if not (tokenizer_home / "tokenizer.model").is_file():
            # transformers re-saves a SentencePiece tokenizer as tokenizer.json alone; llama.cpp's converter
            # and slow tokenizers need the original model file, which only the base still has.
            spm = next((f for f in folders if (f / "tokenizer.model").is_file()), None)
            if spm is not None:
                copied += copy_side_files(spm, dst, ("tokenizer.model",))
    for folder in folders:  # LICENSE/NOTICE: the first folder that has any carries them all
        names = license_files(folder)
        if names:
            copied += copy_side_files(folder, dst, names)
            break
    for folder in folders:  # custom code named by auto_map, with the files it imports
        names = [n for n in code_files(folder) if n not in copied]
        if names:
            copied += copy_side_files(folder, dst, names)
            break
    return copied


def hub_name(path: str | Path | None) -> str | None:
    """A path as the Hub would name it: `org/name` from a Hub cache folder, else the folder's own name."""
    if not path:
        return None
    text = str(path)
    match = re.search(r"(?:models|datasets)--([^/\\]+?)--([^/\\]+)", text)
    if match:
        return f"{match.group(1)}/{match.group(2)}"
    name = Path(text.rstrip("/\\")).name
    return name or None


def detect_license(folder: Path | None) -> dict[str, str]:
    """The base's license as card fields: from its README front matter, else from its LICENSE text.

    A license text that matches none of the known ones is `other`, linked to the carried file.
    """
    if folder is None or not Path(folder).is_dir():
        return {}
    folder = Path(folder)
    readme = folder / "README.md"
    if readme.is_file():
        from huggingface_hub import ModelCard

        try:
            data = ModelCard.load(readme, ignore_metadata_errors=True).data
        except Exception:  # a README without (valid) front matter says nothing about the license
            data = None
        if data is not None and data.license:
            found = {"license": str(data.license)}
            for key in ("license_name", "license_link"):
                if getattr(data, key, None):
                    found[key] = str(getattr(data, key))
            return found
    for name in license_files(folder):
        if not name.upper().startswith(("LICENSE", "LICENCE", "COPYING")):
            continue
        try:
            text = (folder / name).read_text(encoding="utf-8", errors="replace")[:20000].upper()
        except OSError:
            continue
        flat = " ".join(text.split())
        for phrase, ident in _LICENSE_TEXTS:
            if phrase in flat:
                return {"license": ident}
        return {"license": "other", "license_name": "base-model-license", "license_link": name}
    return {}


def _stage_tags(stage: dict[str, Any]) -> list[str]:
    kind = stage.get("kind")
    tags: list[str] = []
    if kind in ("sft", "preference"):
        tags.append("trl")
        tags.append("sft" if kind == "sft" else _PREFERENCE_TAGS.get(str(stage.get("preference_method")), "dpo"))
        method = stage.get("method")
        if method in ("lora", "dora"):
            tags += ["peft", "lora"] + (["dora"] if method == "dora" else [])
        elif method == "full":
            tags.append("full-fine-tune")
    elif kind == "merge_adapter":
        tags += ["peft", "lora"]
    elif kind == "merge_models":
        tags += ["mergekit", "merge"]
        if stage.get("method"):
            tags.append(str(stage["method"]))
    return tags


def base_model_relation(stages: list[dict[str, Any]]) -> str | None:
    """The Hub's relation of the output to its base: a merge when mergekit combined models, else a fine-tune."""
    kinds = {s.get("kind") for s in stages}
    if "merge_models" in kinds:
        return "merge"
    if kinds & {"sft", "preference", "merge_adapter"}:
        return "finetune"
    return None


def _layers(stage: dict[str, Any]) -> str:
    if stage.get("kind") not in ("sft", "preference"):
        return ""
    return str(stage.get("layers") or "all")


def _applies(stage: dict[str, Any], key: str, value: Any) -> bool:
    """A hyper-parameter worth showing: set, and one the stage's method reads (mergekit's t is slerp's only)."""
    if value is None or value == [] or value == {}:
        return False
    method = str(stage.get("method") or "")
    if stage.get("kind") == "merge_models":
        if key == "t":
            return "slerp" in method
        if key == "density":
            return any(m in method for m in ("ties", "dare", "breadcrumbs", "della"))
    return True


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _cell(value)
    return f"{value:.4g}" if isinstance(value, float) else f"{value:,}"


def build_model_card(
    provenance: dict[str, Any], dtype: str, base_folder: str | Path | None = None
) -> tuple[str, list[str]]:
    """The README.md text for the output, and notes for the person (e.g. no license was found)."""
    from huggingface_hub import ModelCard, ModelCardData

    base = provenance.get("base_model") or {}
    stages = list(provenance.get("stages") or [])
    notes: list[str] = []
    base_name = hub_name(base_folder) or hub_name(base.get("path")) or "model"
    license_fields = detect_license(Path(base_folder) if base_folder else None)
    if not license_fields:
        notes.append("the base model names no license (no README front matter, no LICENSE file); the card has none.")
    datasets = [hub_name((s.get("dataset") or {}).get("path")) for s in stages if (s.get("dataset") or {}).get("path")]
    tags = ["graft"]
    for stage in stages:
        tags += [t for t in _stage_tags(stage) if t not in tags]
    data = ModelCardData(
        base_model=base_name,
        base_model_relation=base_model_relation(stages),
        datasets=list(dict.fromkeys(d for d in datasets if d)) or None,
        library_name="transformers",
        pipeline_tag="text-generation",
        tags=tags,
        **license_fields,
    )
    lines = [
        f"# {base_name} — post-trained with Graft",
        "",
        f"Goal: {provenance.get('goal', '')}",
        "",
        f"Base: `{base_name}` ({base.get('architecture')}, {_number(base.get('total_params'))} parameters). "
        f"Weights: {dtype}.",
        "",
        "## Stages",
        "",
        "| # | stage | kind | method | targets | layers | dataset | rows |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, stage in enumerate(stages, 1):
        record = stage.get("dataset") or {}
        method = stage.get("method") or ""
        if stage.get("preference_method"):
            method = f"{method} {stage['preference_method']}".strip()
        lines.append(
            f"| {i} | {_cell(stage.get('id'))} | {_cell(stage.get('kind'))} | {_cell(method)} | "
            f"{_cell(', '.join(stage.get('targets') or []))} | {_cell(_layers(stage))} | "
            f"{_cell(hub_name(record.get('path')) or '')} | {_number(record.get('rows')) if record else ''} |"
        )
    tuned = [s for s in stages if s.get("hyperparameters")]
    if tuned:
        lines += ["", "## Hyper-parameters", ""]
        for stage in tuned:
            params = {k: v for k, v in stage["hyperparameters"].items() if _applies(stage, k, v)}
            shown = ", ".join(f"{k} {_number(v)}" for k, v in params.items())
            lines.append(f"- **{_cell(stage.get('id'))}**: {shown}")
    held = [(s, s.get("heldout") or {}) for s in stages if (s.get("heldout") or {}).get("after")]
    final_heldout = (provenance.get("final") or {}).get("heldout") or {}
    if held or final_heldout:
        lines += ["", "## Held-out results", ""]
        if held:
            lines += ["| stage | measures | before | after |", "|---|---|---|---|"]
            for stage, h in held:
                before = ", ".join(f"{k} {_number(v)}" for k, v in (h.get("before") or {}).items())
                after = ", ".join(f"{k} {_number(v)}" for k, v in (h.get("after") or {}).items())
                lines.append(f"| {_cell(stage.get('id'))} | {_cell(h.get('measures'))} | {before} | {after} |")
        if final_heldout:
            from tools.heldout import describe_comparison

            lines += ["", "Each stage's held-out rows, base model → final model:", ""]
            lines += [f"- {_cell(line)}" for line in describe_comparison(final_heldout)]
    if license_fields:
        lines += ["", "## License", "", f"Carried from the base model: `{license_fields['license']}`."]
    lines += [
        "",
        "## Provenance",
        "",
        "The full record (inputs with content hashes, every stage's settings and metrics, library "
        "versions) is in the safetensors `__metadata__` under `graft.provenance`; `graft inspect` reads it.",
        "",
    ]
    content = f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines)
    return str(ModelCard(content, ignore_metadata_errors=True)), notes

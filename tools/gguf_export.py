"""GGUF export through llama.cpp's own converter, never one of ours.

llama.cpp's `convert_hf_to_gguf.py` (with its `conversion/` package and the matching `gguf-py`)
is what llama.cpp and Ollama users run; it is not on the package index as a package of its own,
but it ships inside the `llama-cpp-python` source distribution (`vendor/llama.cpp/`). `make install`
downloads that sdist (pinned in constraints.txt), extracts only the converter, its `conversion/`
package, its `gguf-py` and LICENSE into `.venv/share/graft/llama.cpp/` (no C++ is built), and Graft
runs the script in a subprocess with this interpreter. The `gguf` package from the index reads the
result back before it is renamed into place, so a file that does not read is never published.

Why not the `convert-hf-to-gguf` package on the index: it is a third-party repackaging (one
release, not from ggml-org) that installs its own top-level `gguf/`, clobbering the `gguf` package.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from tools.errors import GraftError
from tools.progress import Progress, silent
from tools.safetensors_writer import fsync_dir

CONVERTER_ENV = "GRAFT_LLAMA_CPP"  # a folder holding convert_hf_to_gguf.py, to use another llama.cpp checkout
SDIST_PACKAGE = "llama-cpp-python"
SCRIPT = "convert_hf_to_gguf.py"
OutType = Literal["f16", "q8_0", "bf16", "f32"]
_BYTES_PER_PARAM = {"f32": 4.0, "f16": 2.0, "bf16": 2.0, "q8_0": 34 / 32}
_WELL_KNOWN = (
    "LlamaForCausalLM",
    "MistralForCausalLM",
    "Qwen2ForCausalLM",
    "Qwen3ForCausalLM",
    "Gemma2ForCausalLM",
    "Gemma3ForCausalLM",
    "Phi3ForCausalLM",
    "GPT2LMHeadModel",
    "GPTNeoXForCausalLM",
)
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tekken.json")


class GgufExportArgs(BaseModel):
    """What to convert and where."""

    model: str = Field(description="A model folder: config.json, its weights (safetensors) and tokenizer.")
    output: str | None = Field(default=None, description="The .gguf file to write (default: FOLDER-OUTTYPE.gguf).")
    outtype: OutType = Field(default="f16", description="Tensor type of the weights: f16, q8_0, bf16 or f32.")
    overwrite: bool = False


class GgufExportResult(BaseModel):
    """The file written, as the `gguf` reader sees it."""

    path: str
    architecture: str  # general.architecture in the file (llama.cpp's name)
    hf_architecture: str
    outtype: str
    tensors: int
    size_bytes: int
    converter: str


def converter_dir() -> Path:
    """Where `make install` put llama.cpp's converter (or GRAFT_LLAMA_CPP, if set)."""
    override = os.environ.get(CONVERTER_ENV)
    return Path(override) if override else Path(sys.prefix) / "share" / "graft" / "llama.cpp"


def converter_version(folder: Path | None = None) -> str:
    """The sdist the converter came from, as the installer recorded it."""
    stamp = (folder or converter_dir()) / "VERSION"
    return stamp.read_text(encoding="utf-8").strip() if stamp.is_file() else "unknown version"


def supported_architectures(folder: Path | None = None) -> list[str]:
    """The converter's own registry of text architectures, read from its source without importing it
    (importing it loads torch and transformers, seconds for a one-line answer)."""
    init = (folder or converter_dir()) / "conversion" / "__init__.py"
    try:
        tree = ast.parse(init.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return []
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == "TEXT_MODEL_MAP" and isinstance(node.value, ast.Dict):
            return sorted(k.value for k in node.value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str))
    return []


def _script() -> Path:
    script = converter_dir() / SCRIPT
    if not script.is_file():
        raise GraftError(
            f"llama.cpp's converter is not installed ({script} is missing); run `make install`, "
            f"or set {CONVERTER_ENV} to a llama.cpp folder that has {SCRIPT}."
        )
    return script


def _check_model_folder(folder: Path) -> tuple[str, int]:
    """Refuse what is not a model folder; return its architecture and parameter count (0 if unknown)."""
    if not folder.exists():
        raise GraftError(f"{folder} does not exist.")
    if not folder.is_dir():
        raise GraftError(f"{folder} is a file; --as gguf converts a model folder (config.json, weights, tokenizer).")
    if not (folder / "config.json").is_file():
        if (folder / "adapter_config.json").is_file():
            raise GraftError(f"{folder} holds a LoRA adapter, not a model; export the merged model folder instead.")
        raise GraftError(f"{folder} is not a model folder: it has no config.json.")
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GraftError(f"{folder}/config.json is not readable JSON ({exc}).") from None
    if not isinstance(config, dict):
        raise GraftError(f"{folder}/config.json is not a JSON object.")
    weights = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("pytorch_model*.bin"))
    if not weights:
        raise GraftError(f"{folder} has a config.json but no weights (*.safetensors).")
    if not any((folder / name).is_file() for name in _TOKENIZER_FILES):
        raise GraftError(
            f"{folder} has no tokenizer (tokenizer.json or tokenizer.model); a GGUF file carries its tokenizer, "
            "so llama.cpp cannot convert a model without one."
        )
    archs = config.get("architectures") or []
    arch = str(archs[0]) if archs else str(config.get("model_type", "unknown"))
    return arch, _count_params(weights)


def _count_params(weights: list[Path]) -> int:
    """Parameters from the safetensors headers (no tensor is read); 0 for pickled weights."""
    total = 0
    for path in weights:
        if path.suffix != ".safetensors":
            return 0
        try:
            with path.open("rb") as handle:
                size = int.from_bytes(handle.read(8), "little")
                header = json.loads(handle.read(size))
        except (OSError, ValueError) as exc:
            raise GraftError(f"{path} is not a readable safetensors file ({exc}).") from None
        for name, info in header.items():
            if name != "__metadata__":
                count = 1
                for dim in info.get("shape", []):
                    count *= int(dim)
                total += count
    return total


def _count_tensors(folder: Path) -> int:
    total = 0
    for path in sorted(folder.glob("*.safetensors")):
        with path.open("rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            total += sum(1 for k in json.loads(handle.read(size)) if k != "__metadata__")
    return total


def _refusal(lines: list[str], arch: str, folder: Path, script: Path) -> GraftError:
    """The converter's own failure, as one sentence a person can act on."""
    text = "\n".join(lines)
    match = re.search(r"Model (\S+) is not supported", text)
    if match:
        known = supported_architectures(script.parent)
        examples = ", ".join(a for a in _WELL_KNOWN if a in known) or ", ".join(known[:8])
        return GraftError(
            f"llama.cpp's converter ({converter_version(script.parent)}) does not support the architecture "
            f"{match.group(1)}; it converts {len(known)} text architectures, among them {examples} "
            f"(all of them: `{sys.executable} {script} --print-supported-models`)."
        )
    if "BPE pre-tokenizer was not recognized" in text:
        digest = re.search(r"chkhsh:\s+([0-9a-f]{64})", text)
        return GraftError(
            f"llama.cpp's converter does not recognise the BPE tokenizer of {folder} "
            f"(pre-tokenizer hash {digest.group(1) if digest else 'unknown'}): llama.cpp converts only BPE "
            "vocabularies it has registered, so that it splits text exactly as the model does; a model trained "
            "from a base llama.cpp supports keeps that base's tokenizer and converts."
        )
    errors = [ln.strip() for ln in lines if re.match(r"^\s*(\w+(Error|Exception)\b|ERROR:)", ln)]
    last = errors[-1] if errors else (lines[-1].strip() if lines else "no output")
    return GraftError(f"llama.cpp's converter could not convert {folder} ({arch}): {last[:300]}")


def _default_output(folder: Path, outtype: str) -> Path:
    resolved = folder.resolve()
    return resolved.parent / f"{resolved.name}-{outtype}.gguf"


def export_gguf(
    args: GgufExportArgs, progress: Progress = silent, log: Callable[[str], object] | None = None
) -> GgufExportResult:
    """Convert a model folder to one GGUF file with llama.cpp's converter, read it back, then publish it.

    `log` receives each line of the converter's own log (the command line passes it on with -v)."""
    from tools.safetensors_writer import check_destination, check_free_space

    folder = Path(args.model)
    arch, params = _check_model_folder(folder)
    script = _script()
    dest = Path(args.output) if args.output else _default_output(folder, args.outtype)
    check_destination(dest, args.overwrite, graft_only=False)
    if params:
        check_free_space(dest.parent, int(params * _BYTES_PER_PARAM[args.outtype]))
    total = _count_tensors(folder) or None
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.tmp"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("NO_LOCAL_GGUF", None)  # the converter must use the gguf-py it ships with, not the index's
    cmd = [sys.executable, str(script), str(folder), "--outfile", str(tmp), "--outtype", args.outtype]
    tail: deque[str] = deque(maxlen=400)
    step = 0
    tensor_line = re.compile(r"^INFO:hf-to-gguf:(\S+?),\s+torch\.\w+ --> (\w+), shape")
    progress({"stage": "gguf", "kind": "progress", "step": 0, "total": total, "message": "loading"})
    try:
        with subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, text=True
        ) as child:
            try:
                assert child.stdout is not None
                for raw in child.stdout:
                    for line in raw.replace("\r", "\n").splitlines():
                        if log is not None:
                            log(line)
                        tail.append(line)
                        match = tensor_line.match(line)
                        if match:
                            step += 1
                            shown = max(total or 0, step) or None
                            progress({"stage": "gguf", "kind": "progress", "step": step, "total": shown,
                                      "message": f"{match.group(1)} → {match.group(2)}"})  # fmt: skip
                code = child.wait()
            except BaseException:
                child.kill()
                raise
        if code != 0 or not tmp.is_file():
            raise _refusal(list(tail), arch, folder, script)
        result = _read_back(tmp, dest, folder, arch, args.outtype, script)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    finally:
        tmp.unlink(missing_ok=True)
    progress({"stage": "gguf", "kind": "progress", "step": result.tensors, "total": result.tensors})
    return result


def _read_back(path: Path, dest: Path, folder: Path, arch: str, outtype: str, script: Path) -> GgufExportResult:
    """Read the converter's file with the `gguf` package: if it does not read, it is not published."""
    import gguf

    try:
        reader = gguf.GGUFReader(path)
        field = reader.fields.get("general.architecture")
        gguf_arch = str(field.contents()) if field is not None else "unknown"
        count = len(reader.tensors)
        tok_model = reader.fields.get("tokenizer.ggml.model")
        scores = reader.fields.get("tokenizer.ggml.scores")
        flat = (
            tok_model is not None
            and tok_model.contents() == "llama"
            and scores is not None
            and len(set(scores.contents())) == 1
        )
    except Exception as exc:
        raise GraftError(f"llama.cpp's converter wrote a file the gguf reader cannot read ({exc}).") from None
    if flat and len(scores.contents()) > 1:
        # The converter's tokenizer.json fallback for SentencePiece-style (Llama-2, Mistral) vocabularies gives
        # every token the same score: llama.cpp merges by score, so it would split text unlike the model.
        raise GraftError(
            f"{folder} has a SentencePiece-style tokenizer.json but no tokenizer.model: llama.cpp's converter then "
            "gives every token the same score and llama.cpp would split text differently from the model; copy the "
            "base model's tokenizer.model into the folder and export again."
        )
    return GgufExportResult(
        path=str(dest),
        architecture=gguf_arch,
        hf_architecture=arch,
        outtype=outtype,
        tensors=count,
        size_bytes=path.stat().st_size,
        converter=converter_version(script.parent),
    )


# --- installing the converter (run by `make install`) ---------------------------------------------

_KEEP = re.compile(r"^[^/]+/vendor/llama\.cpp/(convert_hf_to_gguf\.py|LICENSE|conversion/.+\.py|gguf-py/gguf/.+)$")


def pinned_version(constraints: Path | None) -> str | None:
    """The llama-cpp-python version constraints.txt pins, if any."""
    if constraints is None or not constraints.is_file():
        return None
    for line in constraints.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*llama[-_.]cpp[-_.]python\s*==\s*([^\s;#]+)", line, re.IGNORECASE)
        if match:
            return match.group(1)
    return None


def install_converter(dest: Path | None = None, constraints: Path | None = None) -> str:
    """Download the llama-cpp-python sdist (no C++ build) and keep only llama.cpp's converter from it.

    Skips the download when the pinned version is already there. Returns what is installed."""
    dest = dest or converter_dir()
    version = pinned_version(constraints)
    wanted = f"{SDIST_PACKAGE} {version}" if version else None
    if wanted and (dest / SCRIPT).is_file() and converter_version(dest) == wanted:
        return wanted
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="graft-llama-cpp-") as work:
        spec = f"{SDIST_PACKAGE}=={version}" if version else SDIST_PACKAGE
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps"]
        cmd += ["--no-binary", SDIST_PACKAGE, "-d", work, spec]
        subprocess.run(cmd, check=True)
        sdists = sorted(Path(work).glob("*.tar.gz"))
        if not sdists:
            raise GraftError(f"pip downloaded no source distribution of {spec}.")
        staging = Path(tempfile.mkdtemp(prefix=".llama.cpp.", dir=dest.parent))
        try:
            got = _extract(sdists[0], staging)
            if SCRIPT not in got:
                raise GraftError(f"{sdists[0].name} has no vendor/llama.cpp/{SCRIPT}.")
            found = re.match(r"llama_cpp_python-(.+)\.tar\.gz$", sdists[0].name)
            (staging / "VERSION").write_text(
                f"{SDIST_PACKAGE} {found.group(1) if found else 'unknown'}\n", encoding="utf-8"
            )
            old = dest.with_name(dest.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            if dest.exists():
                dest.rename(old)
            staging.rename(dest)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return converter_version(dest)


def _extract(sdist: Path, out: Path) -> set[str]:
    """Regular files under vendor/llama.cpp that the converter needs; nothing is executed or linked."""
    names: set[str] = set()
    with tarfile.open(sdist, "r:gz") as tar:
        for member in tar:
            match = _KEEP.match(member.name)
            if not match or not member.isfile() or ".." in Path(match.group(1)).parts:
                continue
            target = out / match.group(1)
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is None:
                continue
            with source, target.open("wb") as handle:
                shutil.copyfileobj(source, handle)
            names.add(match.group(1))
    return names


def main(argv: list[str] | None = None) -> int:
    """`python -m tools.gguf_export install [--constraints FILE] [--dest DIR]` (the Makefile's step)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.gguf_export")
    parser.add_argument("action", choices=["install"])
    parser.add_argument("--constraints", type=Path, help="constraints.txt pinning llama-cpp-python")
    parser.add_argument("--dest", type=Path, help=f"where to put the converter (default {converter_dir()})")
    args = parser.parse_args(argv)
    print(f"llama.cpp converter: {install_converter(args.dest, args.constraints)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

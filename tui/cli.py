"""The `graft` command line: parse, call one tool or the agent, present the result.

Heavy libraries are imported only inside the command that needs them, so `graft --help`
and `graft inspect` start in a fraction of a second. Every GraftError becomes one line on
stderr and exit status 2; anything else is Graft's own fault and exits 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from tools.errors import GraftError, GraftFault

EXIT_OK, EXIT_FAULT, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit status is already 2
        self.print_usage(sys.stderr)
        raise GraftError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="graft", description="Post-train language models from plain-language goals.")
    parser.add_argument("--model", help="open the TUI with this base model")
    parser.add_argument("--data", nargs="*", action="extend", default=[], help="datasets the TUI's plans may use")
    parser.add_argument("--resume", action="store_true", help="reopen the last conversation in the TUI")
    parser.add_argument("--offline", action="store_true", help="use the offline planner even with an LLM configured")
    parser.add_argument("--version", action="version", version=f"graft {_version()}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="let libraries' warnings and progress bars through to stderr"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("inspect", help="what a checkpoint contains (file, sharded folder, adapter, .bin/.pt)")
    p.add_argument("path", help="a .safetensors file, a model or adapter folder, a .bin/.pt file")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")

    p = sub.add_parser("diff", help="which tensors differ, per layer and component, by how much")
    p.add_argument("a", help="the first checkpoint (file or folder)")
    p.add_argument("b", help="the second checkpoint, compared tensor by tensor with the first")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--top", type=int, default=10, help="how many most-changed tensors to list")
    p.add_argument("--tolerance", type=float, default=0.0, help="relative change counted as none")

    p = sub.add_parser("convert", help=".bin/.pt → safetensors, without executing pickled code")
    p.add_argument("source", help="a .bin/.pt/.pth file or a folder of them")
    p.add_argument("destination", help="a .safetensors file or a folder to create")
    p.add_argument("--max-shard-size", default="5GB", help="largest shard, like 5GB or 500MB (default 5GB)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing destination")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser("plan", help="turn a goal (English or Russian) into a validated plan")
    p.add_argument("goal", help="what the model should become, in plain words")
    p.add_argument("--model", required=True, help="the base checkpoint")
    p.add_argument("--data", nargs="*", action="extend", default=[], help="dataset files the plan may use")
    p.add_argument("--output", help="folder for the final model (default: MODEL-graft)")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print exactly the plan model as JSON")
    form.add_argument("-o", "--save", metavar="PLAN.yaml", help="write the plan here for `graft run`")
    p.add_argument("--overwrite", action="store_true", help="with -o: replace an existing plan file")
    p.add_argument("--offline", action="store_true", help="use the offline planner even when an LLM is configured")

    p = sub.add_parser(
        "export", help="a plan as a standalone script, mergekit YAML or TRL configs; a model folder as GGUF"
    )
    p.add_argument("plan", help="plan YAML file (with --as gguf: a model folder)")
    p.add_argument(
        "--as",
        dest="form",
        choices=["script", "mergekit", "trl", "gguf"],
        default="script",
        help="script: a Python file using the libraries; mergekit: YAML for mergekit; trl: TRL configs; "
        "gguf: the model folder as one GGUF file for llama.cpp/Ollama, by llama.cpp's own converter",
    )
    p.add_argument(
        "--outtype",
        choices=["f16", "q8_0", "bf16", "f32"],
        default=None,
        help="with --as gguf: the weights' type in the file (default f16)",
    )
    _verbose_flag(p)
    p.add_argument(
        "-o",
        "--out",
        help="write to this file instead of printing (--as trl: a folder, required; "
        "--as gguf: the .gguf file, default MODEL-OUTTYPE.gguf beside the model folder)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing file or folder")

    p = sub.add_parser("run", help="execute a plan, asking before the run and before the final write")
    p.add_argument("plan", help="plan YAML file")
    p.add_argument("-y", "--yes", action="store_true", help="approve the plan and the final write without asking")
    p.add_argument("--overwrite", action="store_true", help="with --yes: replace an existing output")
    p.add_argument("--run-dir", help="folder for stage outputs (default: PLAN.run next to the plan)")
    _verbose_flag(p)

    from tui.lora_cli import add_parser as add_lora_parser

    add_lora_parser(sub)

    p = sub.add_parser("data", help="which format a dataset is, its rows, token lengths under a model's template")
    p.add_argument("path", help="a .jsonl/.json/.parquet/.csv file or a datasets.save_to_disk folder")
    p.add_argument("--model", help="count tokens with this model's tokenizer and chat template")
    p.add_argument(
        "--max-length", type=int, default=1024, help="count rows longer than this many tokens (default 1024)"
    )
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    _verbose_flag(p)

    p = sub.add_parser("demo", help="tiny local model + data, the whole pipeline, end to end")
    p.add_argument("--out", default="graft-demo", help="folder for everything the demo makes")
    p.add_argument("--steps", type=int, default=20, help="optimizer steps per training stage")
    p.add_argument(
        "--arch",
        default="llama",
        choices=["llama", "qwen2", "mistral", "gpt2", "phi3"],
        help="architecture of the tiny model (default llama)",
    )
    _verbose_flag(p)
    return parser


def _verbose_flag(p: argparse.ArgumentParser) -> None:
    """`-v` after the command too (`graft run plan.yaml -v`), without resetting one given before it."""
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("graft")
    except PackageNotFoundError:
        return "unknown"


def _console(stderr: bool = False):  # type: ignore[no-untyped-def]
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Without a terminal (CI, pipes, logs) rich would squeeze tables into 80 columns.
    width = None if stream.isatty() else 120
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=width)


def cmd_inspect(args: argparse.Namespace) -> int:
    from tools.inspect import InspectArgs, inspect_checkpoint

    result = inspect_checkpoint(InspectArgs(path=args.path))
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        from tui.present import print_inspect

        print_inspect(_console(), result)
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from tools.diff import DiffArgs, diff_checkpoints

    result = diff_checkpoints(DiffArgs(a=args.a, b=args.b, tolerance=args.tolerance))
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        from tui.present import print_diff

        print_diff(_console(), result, top=args.top)
    return EXIT_OK


def cmd_convert(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tools.convert import ConvertArgs, convert_checkpoint
    from tools.inspect import training_state_kind

    if Path(args.source).is_file() and training_state_kind(Path(args.source).name):
        raise GraftError(
            f"{args.source} is {training_state_kind(Path(args.source).name)}, saved by a Trainer to resume "
            "training, not model weights: there is nothing in it to convert."
        )
    result = convert_checkpoint(
        ConvertArgs(
            source=args.source,
            destination=args.destination,
            max_shard_size=args.max_shard_size,
            overwrite=args.overwrite,
        )
    )
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        from tui.safe_text import inert

        console = _console()
        console.print(
            f"wrote {inert(result.destination)}: {result.tensors} tensors, "
            f"{result.total_params:,} parameters in {len(result.files)} file(s)"
        )
        if result.shared_tensors:
            console.print(
                f"  {len(result.shared_tensors)} shared tensor(s) stored as copies: "
                + inert(", ".join(result.shared_tensors))
            )
        if result.dropped_tied:
            console.print("  tied to the input embeddings, not stored: " + inert(", ".join(result.dropped_tied)))
        if result.copied:
            console.print("  copied " + inert(", ".join(result.copied)))
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    from tui.plan_cli import plan_command

    return plan_command(args, _console())


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    if args.form == "gguf":
        from tui.gguf_cli import export_gguf_command

        return export_gguf_command(args, _console())
    if args.outtype is not None:  # never silently ignored: it means something only for a GGUF file
        raise GraftError("--outtype is the GGUF file's weight type; it goes with --as gguf and a model folder.")
    from agent.export import export_plan
    from agent.plan import load_plan
    from tools.safetensors_writer import atomic_write_text

    plan = load_plan(args.plan)
    if args.form == "trl":
        from agent.export import export_trl, write_export_folder

        if not args.out:
            raise GraftError("--as trl writes a folder of configs and a chain script; pass -o FOLDER.")
        files = write_export_folder(export_trl(plan, args.out), Path(args.out), args.overwrite)
        print(f"wrote {args.out}: {', '.join(files)}", file=sys.stderr)
        return EXIT_OK
    name = Path(args.out).name if args.out else ("merges.yml" if args.form == "mergekit" else "graft_pipeline.py")
    # mergekit: the run folder `graft run PLAN` leaves (PLAN.run); the script: a run folder of its own.
    suffix = ".run" if args.form == "mergekit" else ".export-run"
    text = export_plan(plan, args.form, name=name, run_dir=str(Path(args.plan).with_suffix(suffix)))
    if not args.out:
        sys.stdout.write(text)
        return EXIT_OK
    atomic_write_text(Path(args.out), text, overwrite=args.overwrite)
    print(f"wrote {args.out}", file=sys.stderr)
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from tui.run_cli import cmd_run as run

    return run(args)


def cmd_lora(args: argparse.Namespace) -> int:
    from tui.lora_cli import cmd_lora as lora

    return lora(args)


def cmd_data(args: argparse.Namespace) -> int:
    from tools.data_report import DataReportArgs, data_report

    result = data_report(DataReportArgs(path=args.path, model=args.model, max_length=args.max_length))
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        from tui.present import print_data_report

        print_data_report(_console(), result)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from tui.run_cli import cmd_demo as demo

    return demo(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "inspect": cmd_inspect,
    "diff": cmd_diff,
    "convert": cmd_convert,
    "plan": cmd_plan,
    "export": cmd_export,
    "run": cmd_run,
    "lora": cmd_lora,
    "data": cmd_data,
    "demo": cmd_demo,
}


def quiet_libraries() -> None:
    """Keep libraries' progress bars and warnings off stderr (`-v` lets them through).

    Set through the environment, so worker processes inherit it, and before any library is imported."""
    for key, value in (
        ("HF_DATASETS_DISABLE_PROGRESS_BARS", "1"),
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
        ("TRANSFORMERS_VERBOSITY", "error"),
        ("DATASETS_VERBOSITY", "error"),
        ("TOKENIZERS_PARALLELISM", "false"),
        ("PYTHONWARNINGS", "ignore"),
    ):
        os.environ.setdefault(key, value)
    import warnings

    warnings.simplefilter("ignore")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `graft` console script."""
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(key, "1")  # nothing Graft runs may download weights or data
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            from tui.app import run_app

            return run_app(model=args.model, data=args.data, resume=args.resume, offline=args.offline or None)
        return COMMANDS[args.command](args)
    except GraftError as exc:
        print(f"graft: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except GraftFault as exc:
        print(f"graft: {exc}", file=sys.stderr)
        return EXIT_FAULT
    except KeyboardInterrupt:
        print("graft: interrupted; nothing half-written was left behind.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        if os.environ.get("GRAFT_DEBUG"):
            raise
        print(
            f"graft: internal error ({type(exc).__name__}: {exc}); rerun with GRAFT_DEBUG=1 for details.",
            file=sys.stderr,
        )
        return EXIT_FAULT


def run() -> None:
    """The console script: quiet libraries unless `-v`, then run the command."""
    if not {"-v", "--verbose"} & set(sys.argv[1:]):
        quiet_libraries()
    sys.exit(main())


if __name__ == "__main__":
    run()

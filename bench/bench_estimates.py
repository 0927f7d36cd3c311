"""Are the plan's estimates true? Estimated vs measured peak memory, time and trainable parameters.

For each case, the plan is validated as `graft plan` would (agent.validate.validate_plan, the
estimates the person approves), then the same stage runs through the real stage code in its own
child process (`python -m tools.stage_entry JOB.json`, as the executor runs it), and the
child's peak RSS (`os.wait4` rusage) and wall time are measured. Printed per case:
estimate/measured for memory and time (target 0.7-1.3), and the estimated trainable count
against the one the trainer reports.

The model is small but not trivial (Llama, hidden 384, 6 layers, vocab 8192, 15.7M parameters)
and rows are long enough (~200 tokens) that activations and logits show; each stage stops after
a few optimizer steps so the whole benchmark stays under about three minutes on a 2-core CPU.

    .venv/bin/python -m bench.bench_estimates [--steps 2] [--cases sft-lora,sft-full] [--shape smollm2-135m]

`--shape smollm2-135m` checks the same at SmolLM2-135M's shape (random weights; several minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import save_results

# Runs the stage in-process and prints the device memory it took: the CUDA context (what the
# device lost before any tensor) plus the caching allocator's peak reservation.
CUDA_WRAPPER = """
import runpy, sys, torch
torch.zeros(1, device="cuda")
free, total = torch.cuda.mem_get_info()
context = total - free - torch.cuda.memory_reserved()
sys.argv = ["tools.stage_entry", sys.argv[1]]
try:
    runpy.run_module("tools.stage_entry", run_name="__main__")
except SystemExit as exc:
    if exc.code not in (0, None):
        raise
print("GRAFT_CUDA_PEAK", context + torch.cuda.max_memory_reserved(), flush=True)
"""


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def run_child(argv: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds, peak RSS bytes, stdout) of one child process, from its own rusage."""
    import subprocess
    import time

    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv} failed: {out[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, out


SHAPES: dict[str, dict[str, Any]] = {
    # Small but not trivial: activations and logits show beside the runtime.
    "bench": {
        "hidden_size": 384,
        "num_layers": 6,
        "num_heads": 6,
        "num_kv_heads": 2,
        "intermediate_size": 1024,
        "vocab_size": 8192,  # larger than the tiny tokenizer's, as real vocabularies are: logits cost memory
        "tie_word_embeddings": False,
    },
    # SmolLM2-135M's shape (random weights, nothing downloaded): the model the issue measured.
    "smollm2-135m": {
        "hidden_size": 576,
        "num_layers": 30,
        "num_heads": 9,
        "num_kv_heads": 3,
        "intermediate_size": 1536,
        "vocab_size": 49152,
        "tie_word_embeddings": True,
    },
}

CASES: dict[str, dict[str, Any]] = {
    "sft-lora": {"kind": "sft", "adapter": "lora"},
    "sft-full": {"kind": "sft", "adapter": "none"},
    "sft-dora-layers": {"kind": "sft", "adapter": "dora", "layers": [4, 5]},
    "dpo-lora": {"kind": "preference", "method": "dpo", "adapter": "lora"},
}
DEFAULT_CASES = ("sft-lora", "sft-full", "dpo-lora")


def build_model(root: Path, shape: dict[str, Any]) -> Path:
    """A Llama of `shape` with random weights and the tiny tokenizer (the embedding has the shape's vocabulary)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from tools.tiny import TinyModelArgs, build_tiny_model

    seed_model = root / "seed"
    arch = {k: shape[k] for k in ("hidden_size", "num_layers", "num_heads", "num_kv_heads", "intermediate_size")}
    build_tiny_model(TinyModelArgs(architecture="llama", output=str(seed_model), **arch))
    config = AutoConfig.from_pretrained(seed_model)
    config.vocab_size = shape["vocab_size"]
    config.tie_word_embeddings = shape["tie_word_embeddings"]
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    out = root / "model"
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(seed_model).save_pretrained(out)
    return out


def write_rows(root: Path, rows: int, sentences: int) -> tuple[Path, Path]:
    """Chat rows for SFT and preference pairs for DPO, each answer `sentences` corpus lines long."""
    from tools.tiny import corpus
    from tools.tiny_data import write_jsonl

    rng = random.Random(0)
    lines = corpus(3, rows * sentences * 3)
    sft, dpo = [], []
    for i in range(rows):
        chunk = lines[i * sentences : (i + 1) * sentences]
        answer = " ".join(chunk)
        sft.append(
            {"messages": [{"role": "user", "content": "Tell me more."}, {"role": "assistant", "content": answer}]}
        )
        other = " ".join(rng.sample(lines, sentences))
        dpo.append({"prompt": "Tell me more.", "chosen": answer, "rejected": other})
    return write_jsonl(root / "sft.jsonl", sft), write_jsonl(root / "dpo.jsonl", dpo)


def run_case(name: str, model: Path, data: dict[str, Path], root: Path, settings: dict[str, Any]) -> dict[str, Any]:
    from agent.plan import Plan
    from agent.validate import validate_plan
    from tools.training import PreferenceSpec, TrainSpec

    case = dict(CASES[name])
    kind = case.pop("kind")
    stage = {"kind": kind, "id": name, "dataset": str(data[kind]), **case, **settings}
    plan = Plan(goal=f"benchmark {name}", base_model=str(model), stages=[stage])
    estimate = validate_plan(plan, check_output=False).estimates[0]
    spec_type = TrainSpec if kind == "sft" else PreferenceSpec
    spec = plan.stages[0].model_dump(include=set(spec_type.model_fields))
    job = root / f"{name}.json"
    job.write_text(
        json.dumps({"tool": kind, "spec": spec, "kwargs": {"model_path": str(model), "output": str(root / name)}})
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    load = os.getloadavg()[0]
    cuda = _cuda_available()
    argv = (
        [sys.executable, "-c", CUDA_WRAPPER, str(job)]
        if cuda
        else [sys.executable, "-m", "tools.stage_entry", str(job)]
    )
    wall, cpu, rss, out = run_child(argv, env=env)
    gpu_peak = next((int(line.split()[1]) for line in out.splitlines() if line.startswith("GRAFT_CUDA_PEAK ")), None)
    result = next(
        json.loads(line[len("GRAFT_RESULT ") :]) for line in out.splitlines() if line.startswith("GRAFT_RESULT ")
    )
    return {
        "case": name,
        "estimate": {
            "memory_bytes": estimate.memory_bytes,
            "memory_breakdown": estimate.memory_breakdown,
            "seconds": round(estimate.seconds, 2),
            "trainable_params": estimate.trainable_params,
        },
        "measured": {
            "peak_rss_bytes": rss,
            "peak_gpu_bytes": gpu_peak,
            "wall_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2),
            "load_average_before": round(load, 2),
            "train_seconds": round(result["seconds"], 2),
            "trainable_params": result["trainable_params"],
            "steps": result["steps"],
            "tokens": result["tokens"],
        },
        # On CUDA the stage's memory is the device's: the CUDA context plus the allocator's peak.
        "memory_ratio": round(estimate.memory_bytes / (gpu_peak or rss), 3),
        "time_ratio": round(estimate.seconds / wall, 3),
        "time_ratio_cpu": round(estimate.seconds / cpu, 3),
        "trainable_equal": estimate.trainable_params == result["trainable_params"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2, help="optimizer steps per stage")
    parser.add_argument("--rows", type=int, default=30)
    parser.add_argument("--sentences", type=int, default=14, help="corpus lines per answer (~15 tokens each)")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--shape", default="bench", choices=list(SHAPES), help="model shape")
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES), help=f"comma-separated, of {', '.join(CASES)}")
    args = parser.parse_args(argv)
    settings = {
        "max_steps": args.steps,
        "batch_size": args.batch,
        "max_length": args.max_length,
        "eval_fraction": 0.1,
        "r": 16,
    }
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="graft-bench-est-") as tmp:
        root = Path(tmp)
        model = build_model(root, SHAPES[args.shape])
        sft, dpo = write_rows(root, args.rows, args.sentences)
        data = {"sft": sft, "preference": dpo}
        print(f"{'case':<17}{'mem est':>9}{'peak':>10}{'ratio':>7}{'time est':>10}{'wall':>8}{'ratio':>7}  trainable")
        for name in args.cases.split(","):
            row = run_case(name, model, data, root, settings)
            rows.append(row)
            e, m = row["estimate"], row["measured"]
            same = "equal" if row["trainable_equal"] else f"{e['trainable_params']:,} vs {m['trainable_params']:,}"
            print(
                f"{name:<17}{e['memory_bytes'] / 2**20:>8.0f}M{(m['peak_gpu_bytes'] or m['peak_rss_bytes']) / 2**20:>9.0f}M"
                f"{row['memory_ratio']:>7.2f}{e['seconds']:>9.1f}s{m['wall_seconds']:>7.1f}s{row['time_ratio']:>7.2f}  {same}"
            )
    ok = all(0.7 <= r["memory_ratio"] <= 1.3 and 0.7 <= r["time_ratio"] <= 1.3 and r["trainable_equal"] for r in rows)
    import torch

    suffix = "" if args.shape == "bench" else f"_{args.shape}"
    save_results(
        f"estimates{suffix}" + ("_cuda" if torch.cuda.is_available() else ""),
        {
            "model": {"shape": args.shape, **SHAPES[args.shape]},
            "settings": settings,
            "cases": rows,
            "within_30_percent": ok,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

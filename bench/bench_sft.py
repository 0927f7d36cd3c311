"""Graft's `sft` stage vs the same configuration as a plain TRL script: training tokens per second.

Both train the same LoRA (r=16, all linear layers) on the same rows with the same batch size,
length, learning rate and epochs, each in its own child process. Throughput is tokens of the
tokenized training set divided by the seconds inside `trainer.train()`, measured the same way
on both sides; the whole-process wall time (imports, loading, saving; ours also runs the
held-out eval before and after) is reported beside it. On CUDA both train in bf16.

    .venv/bin/python -m bench.bench_sft [--rows 320] [--repeat 2] [--sentences 1]

On a GPU (bench/gpu_check.sh) the answers are 20 corpus lines long, so a step is compute, not launches.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench.common import run_measured, save_results

PLAIN_TRL = """
import json, sys, time, torch
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer
model_path, data, out, batch, max_length = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
rows = [json.loads(line) for line in open(data)]
cuda = torch.cuda.is_available()
tokenizer = AutoTokenizer.from_pretrained(model_path)
model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.bfloat16 if cuda else torch.float32)
config = SFTConfig(output_dir=out, per_device_train_batch_size=batch, num_train_epochs=1, learning_rate=2e-4,
                   max_length=max_length, assistant_only_loss=True, packing=False, report_to=[],
                   save_strategy="no", seed=0, use_cpu=not cuda, bf16=cuda, disable_tqdm=True,
                   gradient_checkpointing=False)  # TRL defaults to True; Graft's stage trains without it
trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                     peft_config=LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"))
start = time.perf_counter()
trainer.train()
seconds = time.perf_counter() - start
tokens = sum(len(x) for x in trainer.train_dataset["input_ids"])
model.save_pretrained(out)
print(json.dumps({"seconds": seconds, "tokens": tokens}))
"""

OURS = """
import json, sys
from tools.sft import run_sft
from tools.training import TrainSpec
model_path, data, out, batch, max_length = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
spec = TrainSpec(dataset=data, r=16, alpha=32, batch_size=batch, max_length=max_length, epochs=1,
                 learning_rate=2e-4, eval_fraction=0.0)
result = run_sft(spec, model_path, out)
print(json.dumps({"seconds": result.seconds, "tokens": result.tokens}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=320)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument(
        "--sentences", type=int, default=1, help="corpus lines per answer: long rows make a GPU step compute-bound"
    )
    args = parser.parse_args()

    from tools.tiny import TinyModelArgs, build_tiny_model
    from tools.tiny_data import sft_rows, write_jsonl

    work = Path(tempfile.mkdtemp(prefix="graft-bench-sft-"))
    py = sys.executable
    try:
        model = work / "model"
        build_tiny_model(
            TinyModelArgs(
                architecture="llama",
                output=str(model),
                hidden_size=args.hidden,
                num_layers=args.layers,
                intermediate_size=args.hidden * 4,
                num_heads=8,
                num_kv_heads=4,
            )
        )
        rows = sft_rows(args.rows * args.sentences, seed=0)
        if args.sentences > 1:  # each answer several corpus lines long
            rows = [
                {
                    "messages": [
                        rows[i]["messages"][0],
                        {
                            "role": "assistant",
                            "content": " ".join(r["messages"][1]["content"] for r in rows[i : i + args.sentences]),
                        },
                    ]
                }
                for i in range(0, len(rows), args.sentences)
            ]
        data = write_jsonl(work / "sft.jsonl", rows)
        runs: dict[str, list[dict]] = {"plain_trl": [], "graft_sft": []}
        for i in range(args.repeat):
            pair = [("plain_trl", PLAIN_TRL), ("graft_sft", OURS)]
            for name, script in pair if i % 2 == 0 else pair[::-1]:  # alternate who goes first
                out = work / f"{name}-{i}"
                argv = [py, "-c", script, str(model), str(data), str(out), str(args.batch), str(args.max_length)]
                wall, rss, stdout = run_measured(argv)
                measured = json.loads(stdout.strip().splitlines()[-1])
                measured.update(
                    wall=wall, peak_rss_bytes=rss, tokens_per_second=measured["tokens"] / measured["seconds"]
                )
                runs[name].append(measured)
                print(
                    f"{name:10s} run {i}: {measured['tokens']} tokens in {measured['seconds']:.2f} s "
                    f"→ {measured['tokens_per_second']:.0f} tok/s (process {wall:.1f} s)",
                    flush=True,
                )
        best = {name: max(r["tokens_per_second"] for r in rs) for name, rs in runs.items()}
        wall = {name: statistics.median(r["wall"] for r in rs) for name, rs in runs.items()}
        import torch

        result = {
            "device": "cuda" if torch.cuda.is_available() else "cpu",
            "precision": "bf16" if torch.cuda.is_available() else "fp32",
            "config": vars(args),
            "runs": runs,
            "tokens_per_second": best,
            "ratios": {
                "graft_over_plain_trl_tokens_per_second": round(best["graft_sft"] / best["plain_trl"], 3),
                "graft_over_plain_trl_process_wall": round(wall["graft_sft"] / wall["plain_trl"], 3),
            },
            "targets": {"graft_over_plain_trl_tokens_per_second": 0.97},
        }
        for key, value in result["ratios"].items():
            print(f"  {key:42s} {value:.3f}")
        save_results(f"sft_{result['device']}", result)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""SFT with and without packing: training tokens per second and held-out loss at equal tokens.

Both runs are Graft's `sft` stage (TRL's SFTTrainer) on the same model, rows of mixed length,
LoRA, learning rate and one epoch, so both read the same training tokens; the only difference
is `packing: true` (TRL's best-fit-decreasing packing with padding-free batches, checked exact
on the model before training). Throughput is the tokens of the tokenized training set divided
by the seconds inside `trainer.train()`; the held-out loss is scored afterwards on the same
held-out rows for both, by `tools.heldout` (completion loss through the chat template), so the
batching of the evaluation does not enter the comparison.

    .venv/bin/python -m bench.bench_packing [--rows 256] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench.common import run_measured, save_results

RUN = """
import json, sys
from tools.heldout import score_files
from tools.sft import run_sft
from tools.training import SFTSpec
model_path, data, out, batch, max_length, packing = sys.argv[1:7]
spec = SFTSpec(dataset=data, r=16, batch_size=int(batch), max_length=int(max_length), epochs=1,
               learning_rate=1e-3, eval_fraction=0.1, packing=packing == "1")
result = run_sft(spec, model_path, out)
from tools.merge_adapter import MergeAdapterSpec, merge_adapter
merge_adapter(MergeAdapterSpec(), model_path, [out], out + "-merged")
held = score_files(out + "-merged", [out + "/heldout.jsonl"])
loss = next(iter(held.values()))["loss"]
print(json.dumps({"seconds": result.seconds, "tokens": result.tokens, "steps": result.steps, "heldout_loss": loss}))
"""


def mixed_rows(n: int, seed: int) -> list[dict]:
    """Chat rows whose replies run from one sentence to a dozen, as real SFT data does."""
    from tools.tiny import corpus

    rng = random.Random(seed)
    lines = corpus(seed + 1, n * 6)
    rows = []
    for i in range(n):
        reply = " ".join(rng.sample(lines, rng.choice([1, 1, 2, 3, 6, 12])))
        rows.append({"messages": [{"role": "user", "content": lines[i]}, {"role": "assistant", "content": reply}]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--packed-batch", type=int, default=0, help="0: about the unpacked tokens per step")
    args = parser.parse_args()

    from tools.tiny import TinyModelArgs, build_tiny_model
    from tools.tiny_data import write_jsonl

    work = Path(tempfile.mkdtemp(prefix="graft-bench-packing-"))
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
        data = write_jsonl(work / "sft.jsonl", mixed_rows(args.rows, seed=0))
        # Packed steps hold max_length tokens per sequence: fewer sequences per step keep the tokens per
        # optimizer step (and so the number of updates at equal tokens) close to the unpacked run's.
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(model))
        rows = [json.loads(line) for line in data.read_text().splitlines()]
        mean = statistics.mean(len(tok.apply_chat_template(r["messages"], tokenize=False)) / 3.5 for r in rows)
        packed_batch = args.packed_batch or max(1, round(args.batch * mean / args.max_length))
        print(f"about {mean:.0f} tokens a row; unpacked batch {args.batch} rows, packed batch {packed_batch} sequences")
        runs: dict[str, list[dict]] = {"unpacked": [], "packed": []}
        for i in range(args.repeat):
            pair = [("unpacked", "0", args.batch), ("packed", "1", packed_batch)]
            for name, flag, batch in pair if i % 2 == 0 else pair[::-1]:  # alternate who goes first
                out = work / f"{name}-{i}"
                argv = [sys.executable, "-c", RUN, str(model), str(data), str(out), str(batch)]
                wall, rss, stdout = run_measured([*argv, str(args.max_length), flag])
                measured = json.loads(stdout.strip().splitlines()[-1])
                measured.update(
                    wall=wall, peak_rss_bytes=rss, tokens_per_second=measured["tokens"] / measured["seconds"]
                )
                runs[name].append(measured)
                print(
                    f"{name:9s} run {i}: {measured['tokens']} tokens, {measured['steps']} steps in "
                    f"{measured['seconds']:.2f} s → {measured['tokens_per_second']:.0f} tok/s, "
                    f"held-out loss {measured['heldout_loss']:.4f}",
                    flush=True,
                )
        best = {name: max(r["tokens_per_second"] for r in rs) for name, rs in runs.items()}
        loss = {name: statistics.median(r["heldout_loss"] for r in rs) for name, rs in runs.items()}
        import torch

        result = {
            "device": "cuda" if torch.cuda.is_available() else "cpu",
            "config": {**vars(args), "packed_batch": packed_batch},
            "runs": runs,
            "tokens_per_second": best,
            "heldout_loss": loss,
            "ratios": {"packed_over_unpacked_tokens_per_second": round(best["packed"] / best["unpacked"], 3)},
        }
        print(f"  packed/unpacked tokens/s {result['ratios']['packed_over_unpacked_tokens_per_second']:.3f}")
        print(f"  held-out loss: unpacked {loss['unpacked']:.4f}, packed {loss['packed']:.4f}")
        save_results(f"packing_{result['device']}", result)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

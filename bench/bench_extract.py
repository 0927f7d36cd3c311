"""`graft lora extract` (streaming) vs the usual way: load BASE and TUNED with transformers, SVD each delta.

A Llama-shaped base of about 110 MB (fp32, random weights) and a TUNED copy whose linear weights
moved by a rank-16 delta plus a little noise (so rank 16 keeps most, not all, of the energy), and
whose final norm changed (a modules_to_save tensor). Each side runs in its own child process, so
peak RSS is that child's alone. Both sides do the same fp32 SVD per module; the per-module
relative errors must agree.

    .venv/bin/python -m bench.bench_extract [--keep DIR] [--rank 16]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import run_measured, save_results

BUILD = """
import sys, torch
from transformers import LlamaConfig, LlamaForCausalLM
base, tuned = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
config = LlamaConfig(hidden_size=512, intermediate_size=1376, num_hidden_layers=6, num_attention_heads=8,
                     num_key_value_heads=8, vocab_size=8000, tie_word_embeddings=False)
model = LlamaForCausalLM(config)
model.save_pretrained(base)
with torch.no_grad():
    for name, p in model.named_parameters():
        if p.dim() == 2 and "proj" in name:
            out, inp = p.shape
            p.add_(torch.randn(out, 16) @ torch.randn(16, inp) * 0.002 + torch.randn(out, inp) * 1e-4)
    model.model.norm.weight.mul_(1.01)
model.save_pretrained(tuned)
"""

OURS = """
import sys, json
from tools.lora_tools import ExtractArgs, extract_lora
base, tuned, out, rank = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
r = extract_lora(ExtractArgs(base=base, tuned=tuned, rank=rank, output=out))
print(json.dumps({"seconds": r.seconds, "errors": {m.module: m.relative_error for m in r.modules},
                  "relative_error": r.relative_error, "modules_to_save": r.modules_to_save}))
"""

BASELINE = """
import sys, json, time, torch
from transformers import AutoModelForCausalLM
from safetensors.torch import save_file
base, tuned, out, rank = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
start = time.perf_counter()
b = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
t = AutoModelForCausalLM.from_pretrained(tuned, dtype=torch.float32)
bw = dict(b.named_modules())
tensors, errors = {}, {}
for name, module in t.named_modules():
    if isinstance(module, torch.nn.Linear) and name != "lm_head":
        delta = module.weight.detach() - bw[name].weight.detach()
        if not delta.any():
            continue
        u, s, vh = torch.linalg.svd(delta, full_matrices=False)
        root = s[:rank].sqrt()
        B, A = u[:, :rank] * root, root[:, None] * vh[:rank]
        errors[name] = float(torch.linalg.norm(delta - B @ A) / torch.linalg.norm(delta))
        tensors[f"base_model.model.{name}.lora_A.weight"] = A.contiguous()
        tensors[f"base_model.model.{name}.lora_B.weight"] = B.contiguous()
save_file(tensors, out)
print(json.dumps({"seconds": time.perf_counter() - start, "errors": errors}))
"""


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.glob("*.safetensors"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temporary folder)")
    parser.add_argument("--rank", type=int, default=16)
    args = parser.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="graft-bench-extract-"))
    work.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    try:
        base, tuned = work / "base", work / "tuned"
        if not tuned.exists():
            print("building a 110 MB Llama-shaped base and a tuned copy …", flush=True)
            subprocess.run([py, "-c", BUILD, str(base), str(tuned)], check=True)
        size = folder_bytes(base)
        shutil.rmtree(work / "ours", ignore_errors=True)
        (work / "baseline.safetensors").unlink(missing_ok=True)
        rank = str(args.rank)
        base_wall, base_rss, base_out = run_measured(
            [py, "-c", BASELINE, str(base), str(tuned), str(work / "baseline.safetensors"), rank]
        )
        ours_wall, ours_rss, ours_out = run_measured([py, "-c", OURS, str(base), str(tuned), str(work / "ours"), rank])
        _, python_rss, _ = run_measured([py, "-c", "import torch, safetensors, transformers, peft"])
        ours, theirs = json.loads(ours_out.strip().splitlines()[-1]), json.loads(base_out.strip().splitlines()[-1])
        assert set(ours["errors"]) == set(theirs["errors"]), "the two sides extracted different modules"
        worst = max(abs(ours["errors"][m] - theirs["errors"][m]) for m in ours["errors"])
        result = {
            "model_bytes": size,
            "rank": args.rank,
            "modules": len(ours["errors"]),
            "graft_extract": {
                "seconds": round(ours_wall, 3),
                "seconds_after_imports": round(ours["seconds"], 3),
                "peak_rss_bytes": ours_rss,
            },
            "transformers_load_both_and_svd": {
                "seconds": round(base_wall, 3),
                "seconds_after_imports": round(theirs["seconds"], 3),
                "peak_rss_bytes": base_rss,
            },
            "python_imports_baseline_rss_bytes": python_rss,
            "relative_error_of_delta": ours["relative_error"],
            "max_per_module_error_difference": worst,
            "modules_to_save": ours["modules_to_save"],
            "load_average_1min_after": round(os.getloadavg()[0], 2),  # a shared machine makes the times noisy
            "ratios": {
                "ours_rss_over_baseline_rss": round(ours_rss / base_rss, 3),
                "ours_rss_over_model_size": round(ours_rss / size, 3),
                "ours_rss_above_imports_over_model_size": round((ours_rss - python_rss) / size, 3),
                "ours_wall_over_baseline": round(ours_wall / base_wall, 3),
            },
        }
        print(
            f"model {size / 1e6:.0f} MB; {result['modules']} modules at rank {args.rank}; "
            f"relative error of ΔW {ours['relative_error']:.4f}; per-module error difference ≤ {worst:.2g}"
        )
        print(f"transformers load both + SVD  {base_wall:7.2f} s   peak RSS {base_rss / 2**20:7.0f} MiB")
        print(f"graft lora extract            {ours_wall:7.2f} s   peak RSS {ours_rss / 2**20:7.0f} MiB")
        print(f"(python + torch + transformers + peft imported: peak RSS {python_rss / 2**20:.0f} MiB)")
        for key, value in result["ratios"].items():
            print(f"  {key:40s} {value:.3f}")
        save_results("extract", result)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Streaming `merge_adapter` vs PEFT's `merge_and_unload` (+ `save_pretrained`) and a plain `cp`.

A Llama-shaped base of about 1.1 GB (fp32, random weights) and a LoRA adapter (r=16, every
linear layer, non-zero B so the merge does real work). Each side runs in its own child process,
so peak RSS is that child's alone. Both outputs are compared tensor by tensor.

A second adapter exercises the variants whose tensors are the model's largest: LoRA on the
32000×1024 input embedding (`lora_embedding_A/B`), a trained `lm_head` copy
(`modules_to_save`) and rsLoRA on every linear layer. The memory figure is checked on both.

    .venv/bin/python -m bench.bench_merge [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import run_measured, save_results

BUILD = """
import sys, torch
from transformers import LlamaConfig, LlamaForCausalLM
from peft import LoraConfig, get_peft_model
base, adapter = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
config = LlamaConfig(hidden_size=1024, intermediate_size=2816, num_hidden_layers=16, num_attention_heads=16,
                     num_key_value_heads=16, vocab_size=32000, tie_word_embeddings=False)
model = LlamaForCausalLM(config)
model.save_pretrained(base, max_shard_size="400MB")
lora = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", init_lora_weights=False)
get_peft_model(model, lora).save_pretrained(adapter)
model = LlamaForCausalLM.from_pretrained(base)
linear = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
lora = LoraConfig(r=16, lora_alpha=32, target_modules=[*linear, "embed_tokens"], modules_to_save=["lm_head"],
                  use_rslora=True, init_lora_weights=False)
peft_model = get_peft_model(model, lora)
with torch.no_grad():
    peft_model.base_model.model.lm_head.modules_to_save["default"].weight.mul_(0.5)
peft_model.save_pretrained(adapter + "-variants")
"""

PEFT_MERGE = """
import sys, torch
from transformers import AutoModelForCausalLM
from peft import PeftModel
base, adapter, out = sys.argv[1:4]
model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
model.save_pretrained(out, max_shard_size="400MB")
"""

OURS = """
import sys
from tools.merge_adapter import MergeAdapterSpec, merge_adapter
base, adapter, out = sys.argv[1:4]
result = merge_adapter(MergeAdapterSpec(max_shard_size="400MB"), base, [adapter], out)
print(result.seconds)
"""

COMPARE = """
import sys, json, torch
from pathlib import Path
from safetensors import safe_open
def tensors(folder):
    found = {}
    for f in sorted(Path(folder).glob("*.safetensors")):
        h = safe_open(str(f), "pt")
        for k in h.keys():
            found[k] = (h, k)
    return found
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
assert set(a) == set(b), sorted(set(a) ^ set(b))[:5]
worst = 0.0
for name in a:
    x = a[name][0].get_tensor(name).float(); y = b[name][0].get_tensor(name).float()
    worst = max(worst, (x - y).abs().max().item())
print(json.dumps({"max_abs_diff": worst, "tensors": len(a)}))
"""


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.glob("*.safetensors"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temporary folder)")
    args = parser.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="graft-bench-merge-"))
    work.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    try:
        base, adapter, variants = work / "base", work / "adapter", work / "adapter-variants"
        if not variants.exists():
            print("building a 1.1 GB Llama-shaped base and a LoRA adapter …", flush=True)
            subprocess.run([py, "-c", BUILD, str(base), str(adapter)], check=True)
        size = folder_bytes(base)
        for out in ("cp", "peft", "ours", "peft-variants", "ours-variants"):
            shutil.rmtree(work / out, ignore_errors=True)
        subprocess.run(["cat", *map(str, base.glob("*.safetensors"))], stdout=subprocess.DEVNULL, check=True)  # warm
        import json
        import statistics

        def settle() -> None:
            # Flush earlier writes first: otherwise their writeback throttles whichever run comes next.
            subprocess.run(["sync"], check=True)

        def cp(sync: bool) -> float:
            shutil.rmtree(work / "cp", ignore_errors=True)
            settle()
            argv = ["sh", "-c", f"cp -r '{base}' '{work / 'cp'}'" + (" && sync" if sync else "")]
            return run_measured(argv)[0]

        def ours(which: Path = adapter, out_name: str = "ours") -> tuple[float, int, float]:
            shutil.rmtree(work / out_name, ignore_errors=True)
            settle()
            wall, rss, out = run_measured([py, "-c", OURS, str(base), str(which), str(work / out_name)])
            return wall, rss, float(out.strip().splitlines()[-1])

        cp_wall = statistics.median(cp(False) for _ in range(3))
        cp_sync_wall = statistics.median(cp(True) for _ in range(3))
        settle()
        peft_wall, peft_rss, _ = run_measured([py, "-c", PEFT_MERGE, str(base), str(adapter), str(work / "peft")])
        runs = [ours() for _ in range(3)]
        ours_wall = statistics.median(r[0] for r in runs)
        ours_rss = max(r[1] for r in runs)
        ours_inner = statistics.median(r[2] for r in runs)

        _, _, compared = run_measured([py, "-c", COMPARE, str(work / "ours"), str(work / "peft")])
        check = json.loads(compared)
        settle()
        peft_v_wall, peft_v_rss, _ = run_measured(
            [py, "-c", PEFT_MERGE, str(base), str(variants), str(work / "peft-variants")]
        )
        runs_v = [ours(variants, "ours-variants") for _ in range(2)]
        ours_v_wall = statistics.median(r[0] for r in runs_v)
        ours_v_rss = max(r[1] for r in runs_v)
        _, _, compared_v = run_measured([py, "-c", COMPARE, str(work / "ours-variants"), str(work / "peft-variants")])
        check_v = json.loads(compared_v)
        _, python_rss, _ = run_measured([py, "-c", "import torch, safetensors"])
        result = {
            "model_bytes": size,
            "cp_seconds": round(cp_wall, 3),
            "cp_then_sync_seconds": round(cp_sync_wall, 3),
            "graft_merge_seconds_after_imports": round(ours_inner, 3),
            "peft_merge_and_unload": {"seconds": round(peft_wall, 3), "peak_rss_bytes": peft_rss},
            "graft_merge_adapter": {"seconds": round(ours_wall, 3), "peak_rss_bytes": ours_rss},
            "python_torch_baseline_rss_bytes": python_rss,
            "max_abs_diff_vs_peft": check["max_abs_diff"],
            "tensors": check["tensors"],
            "variants_adapter": {
                "what": "rsLoRA r=16 on every linear layer + LoRA on embed_tokens + modules_to_save lm_head",
                "peft_merge_and_unload": {"seconds": round(peft_v_wall, 3), "peak_rss_bytes": peft_v_rss},
                "graft_merge_adapter": {"seconds": round(ours_v_wall, 3), "peak_rss_bytes": ours_v_rss},
                "max_abs_diff_vs_peft": check_v["max_abs_diff"],
                "tensors": check_v["tensors"],
                "rss_above_interpreter_over_model_size": round((ours_v_rss - python_rss) / size, 3),
            },
            "ratios": {
                "ours_rss_over_model_size": round(ours_rss / size, 3),
                "ours_rss_above_interpreter_over_model_size": round((ours_rss - python_rss) / size, 3),
                "ours_rss_over_peft_rss": round(ours_rss / peft_rss, 3),
                "ours_wall_over_cp": round(ours_wall / cp_wall, 3),
                "ours_wall_over_cp_then_sync": round(ours_wall / cp_sync_wall, 3),
                "ours_after_imports_over_cp_then_sync": round(ours_inner / cp_sync_wall, 3),
                "ours_wall_over_peft": round(ours_wall / peft_wall, 3),
            },
            "targets": {"ours_rss_above_interpreter_over_model_size": 0.3, "ours_wall_over_cp": 1.2},
        }
        print(f"model {size / 1e9:.2f} GB; {check['tensors']} tensors; max |ours - peft| = {check['max_abs_diff']:.3g}")
        print(f"cp (median of 3)        {cp_wall:7.2f} s;  cp && sync {cp_sync_wall:.2f} s")
        print(f"peft merge_and_unload   {peft_wall:7.2f} s   peak RSS {peft_rss / 2**20:8.0f} MiB")
        print(
            f"graft merge_adapter     {ours_wall:7.2f} s   peak RSS {ours_rss / 2**20:8.0f} MiB  ({ours_inner:.2f} s after imports)"
        )
        print(f"(python + torch alone:             peak RSS {python_rss / 2**20:8.0f} MiB)")
        print(
            f"variants adapter: peft {peft_v_wall:.2f} s / {peft_v_rss / 2**20:.0f} MiB; graft {ours_v_wall:.2f} s / "
            f"{ours_v_rss / 2**20:.0f} MiB ({(ours_v_rss - python_rss) / size:.3f}x model size above the interpreter); "
            f"max |ours - peft| = {check_v['max_abs_diff']:.3g} over {check_v['tensors']} tensors"
        )
        for key, value in result["ratios"].items():
            print(f"  {key:28s} {value:.3f}")
        save_results("merge_adapter", result)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

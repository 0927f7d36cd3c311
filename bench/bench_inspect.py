"""`graft inspect` vs a bare `safetensors.safe_open` header read, on a multi-GB sharded checkpoint.

The checkpoint is sparse (real headers, holes for data), with Llama-7B shapes in bf16: 13.5 GB
across shards. Both sides read the same headers; ours also classifies every tensor. In-process
times exclude imports; the whole-command row includes start-up (ours imports no torch).

    .venv/bin/python -m bench.bench_inspect
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import best_of, run_measured, save_results
from tools.safetensors_writer import TensorSpec, _header_bytes, plan_shards, shard_names

LLAMA_7B = {"hidden": 4096, "inter": 11008, "layers": 32, "vocab": 32000}


def llama_specs(cfg: dict[str, int]) -> list[TensorSpec]:
    h, i, v = cfg["hidden"], cfg["inter"], cfg["vocab"]
    specs = [TensorSpec("model.embed_tokens.weight", "BF16", (v, h))]
    for n in range(cfg["layers"]):
        p = f"model.layers.{n}."
        specs += [
            TensorSpec(p + f"self_attn.{m}.weight", "BF16", (h, h)) for m in ("q_proj", "k_proj", "v_proj", "o_proj")
        ]
        specs += [TensorSpec(p + f"mlp.{m}.weight", "BF16", (i, h)) for m in ("gate_proj", "up_proj")]
        specs.append(TensorSpec(p + "mlp.down_proj.weight", "BF16", (h, i)))
        specs += [TensorSpec(p + f"{m}.weight", "BF16", (h,)) for m in ("input_layernorm", "post_attention_layernorm")]
    specs += [TensorSpec("model.norm.weight", "BF16", (h,)), TensorSpec("lm_head.weight", "BF16", (v, h))]
    return specs


def build_sparse_checkpoint(folder: Path, max_shard: int = 2 * 10**9) -> tuple[int, list[Path]]:
    specs = llama_specs(LLAMA_7B)
    groups = plan_shards(specs, max_shard)
    names = shard_names(len(groups))
    paths = []
    for name, group in zip(names, groups, strict=True):
        header = _header_bytes(group, {"format": "pt"})
        with open(folder / name, "wb") as handle:
            handle.write(header)
            handle.truncate(len(header) + sum(s.nbytes for s in group))
        paths.append(folder / name)
    weight_map = {s.name: n for n, g in zip(names, groups, strict=True) for s in g}
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "num_hidden_layers": 32,
        "hidden_size": 4096,
        "vocab_size": 32000,
    }
    (folder / "config.json").write_text(json.dumps(config))
    return sum(s.nbytes for s in specs), paths


def main() -> None:
    from safetensors import safe_open

    from tools.inspect import InspectArgs, inspect_checkpoint

    with tempfile.TemporaryDirectory(dir=".") as tmp:
        folder = Path(tmp)
        total_bytes, shards = build_sparse_checkpoint(folder)

        def bare() -> int:
            n = 0
            for shard in shards:
                with safe_open(shard, framework="pt") as handle:
                    for key in handle.keys():
                        shape = handle.get_slice(key).get_shape()
                        n += 1 if not shape else __import__("math").prod(shape)
            return n

        def ours() -> int:
            return inspect_checkpoint(InspectArgs(path=str(folder))).total_params or 0

        assert bare() == ours(), "both sides must count the same parameters"
        bare_med, _bare_best = best_of(bare, 15)
        ours_med, _ours_best = best_of(ours, 15)

        cli_wall, cli_rss, out = run_measured([sys.executable, "-m", "tui.cli", "inspect", str(folder), "--json"])
        bare_cmd = (
            "import sys; from safetensors import safe_open\n"
            "for p in sys.argv[1:]:\n    f = safe_open(p, framework='pt')\n"
            "    [f.get_slice(k).get_shape() for k in f.keys()]"
        )
        bare_wall, bare_rss, _ = run_measured([sys.executable, "-c", bare_cmd, *map(str, shards)])
        probe = (
            "import sys; from tools.inspect import InspectArgs, inspect_checkpoint; "
            f"inspect_checkpoint(InspectArgs(path={str(folder)!r})); print('torch' in sys.modules)"
        )
        torch_loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip()

    ratio = ours_med / bare_med
    print(
        f"checkpoint: {total_bytes / 1e9:.1f} GB in {len(shards)} shards (sparse), {json.loads(out)['total_params']:,} params"
    )
    print(
        f"in-process  bare safe_open {bare_med * 1e3:.2f} ms  graft inspect {ours_med * 1e3:.2f} ms  ratio {ratio:.2f}x (target <= 2x)"
    )
    print(
        f"whole command  bare {bare_wall:.2f} s / {bare_rss / 2**20:.0f} MiB  graft {cli_wall:.2f} s / {cli_rss / 2**20:.0f} MiB  "
        f"ratio {cli_wall / bare_wall:.2f}x"
    )
    print(f"torch imported by inspect: {torch_loaded}")
    save_results(
        "inspect",
        {
            "checkpoint_bytes": total_bytes,
            "shards": len(shards),
            "in_process_ms": {"bare_safe_open": bare_med * 1e3, "graft_inspect": ours_med * 1e3},
            "ratio_in_process": ratio,
            "whole_command_s": {"bare_safe_open": bare_wall, "graft_inspect": cli_wall},
            "whole_command_peak_rss_mib": {"bare_safe_open": bare_rss / 2**20, "graft_inspect": cli_rss / 2**20},
            "ratio_whole_command": cli_wall / bare_wall,
            "torch_imported_by_inspect": torch_loaded == "True",
            "target": "ratio_in_process <= 2.0, no torch import",
        },
    )


if __name__ == "__main__":
    main()

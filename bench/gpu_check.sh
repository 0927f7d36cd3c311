#!/usr/bin/env bash
# The GPU path in one short run (bf16, CUDA): the demo end to end, Graft's SFT stage against plain TRL,
# and the plan's memory/time estimates against the device's own peak. Results land in bench/results/
# (sft_cuda.json, estimates_smollm2-135m_cuda.json) and the logs in OUT.
#     bash bench/gpu_check.sh OUT        (run from the repository root, Graft's dependencies importable)
set -uo pipefail
out=${1:-/tmp/graft-gpu}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 GRAFT_HOME=$out/graft-home
py=${PYTHON:-python3}
$py -c "import torch, transformers, trl, peft; print('torch', torch.__version__, torch.cuda.get_device_name(),
'transformers', transformers.__version__, 'trl', trl.__version__, 'peft', peft.__version__)" 2>&1 | tee "$out/versions.txt"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >>"$out/versions.txt" 2>&1

step() {  # name, seconds, command...
    local name=$1 limit=$2; shift 2
    echo "== $name"; local start=$SECONDS
    timeout "$limit" "$@" >"$out/$name.log" 2>&1; local rc=$?
    echo "   rc=$rc in $((SECONDS - start)) s"; tail -n 25 "$out/$name.log"
}
[ "${SKIP_DEMO:-}" ] || step demo 180 $py -m tui.cli demo --out "$out/demo"
[ "${SKIP_DEMO:-}" ] || $py - "$out/demo" <<'PY' 2>&1 | tee "$out/demo-provenance.txt"
import json, sys
from pathlib import Path
final = Path(sys.argv[1]) / "final"
from safetensors import safe_open
files = sorted(final.glob("*.safetensors"))
with safe_open(str(files[0]), "pt") as f:
    meta = f.metadata()
prov = json.loads(meta.get("graft.provenance", "{}"))
for stage in prov.get("stages", []):
    print(stage.get("id"), stage.get("kind"), stage.get("device"), stage.get("precision"),
          (stage.get("heldout") or {}).get("after"))
PY
step plan_device 60 $py -m bench.plan_device_check
step bench_sft 150 $py -m bench.bench_sft --hidden 1024 --layers 12 --rows 192 --sentences 20 --max-length 512 --batch 8 --repeat 3
# Fitted on SmolLM2-135M's shape (the first H200 run); the "bench" shape checks the fit on a model it was not fitted to.
step bench_estimates 150 $py -m bench.bench_estimates --shape bench --steps 4 --rows 64 --batch 8 --max-length 512 \
    --cases sft-lora,sft-full,dpo-lora,sft-dora-layers
step bench_estimates_smollm2 150 $py -m bench.bench_estimates --shape smollm2-135m --steps 4 --rows 64 --batch 8 --max-length 512
cp bench/results/*cuda*.json "$out/" 2>/dev/null
ls -la "$out"

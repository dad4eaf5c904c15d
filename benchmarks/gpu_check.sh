#!/usr/bin/env bash
# GPU readiness check. On a CUDA machine: set up with the project's own `make setup`, run
# the default pipeline with the train stage on `cuda` in bf16, then, when two GPUs are
# present, the same run as 2 torchrun processes (train.processes=2); print wall times,
# training characters/s and test Ent F1 of each. Without a CUDA GPU it says so and exits 0.
#
#   benchmarks/gpu_check.sh            # from anywhere in a clone; needs PyPI on first set-up
set -euo pipefail
cd "$(dirname "$0")/.."

gpus=0
if command -v nvidia-smi >/dev/null 2>&1; then
    gpus=$(nvidia-smi --list-gpus 2>/dev/null | grep -c '^GPU ' || true)
fi
if [ "$gpus" -eq 0 ]; then
    echo "gpu_check: no CUDA GPU on this machine (nvidia-smi lists none); nothing to check."
    exit 0
fi
nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader

make setup
export PATH="$PWD/.venv/bin:$PATH"
python - <<'PY'
import sys

import torch

ok = torch.cuda.is_available()
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, GPU usable: {ok}")
sys.exit(0 if ok else "gpu_check: the .venv's torch cannot use this GPU")
PY

now() { date +%s.%N; }

# The CPU stages (corpus, encoder, tokens, baseline) once, so the timings below are training.
start=$(now)
dvc repro tokenize baseline
echo "inputs (fetch .. tokenize, baseline): $(python -c "print(f'{$(now) - $start:.0f} s')")"

# train (forced, so the run cache cannot stand in for it), evaluate and plot, as an experiment
run() { # label, then dvc exp run -S arguments
    local label=$1 start
    shift
    start=$(now)
    dvc exp run -f --downstream train -n "$label-$(date +%H%M%S)" "$@" | tee "$log"
    results+=("$(python - "$label" "$(python -c "print($(now) - $start)")" "$log" <<'PY'
import json
import re
import sys

label, seconds, log = sys.argv[1], float(sys.argv[2]), open(sys.argv[3]).read()
rate = float(re.findall(r"'train_chars_per_s': ([0-9.]+)", log)[-1])  # stages.train's summary
test = json.load(open("metrics/test.json"))
print(
    f"{label}: train + evaluate + plot {seconds:.0f} s, "
    f"train {rate:,.0f} chars/s, "
    f"test Ent F1 {test['Ent']['f1-score']:.4f}"
)
PY
)")
    echo "${results[-1]}"
}

results=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run gpu1-bf16 -S train.device=cuda -S train.precision=bf16
if [ "$gpus" -ge 2 ]; then
    run gpu2-bf16 -S train.device=cuda -S train.precision=bf16 -S train.processes=2
else
    echo "gpu_check: one GPU only; the 2-process torchrun path is not checked."
fi
printf '%s\n' "== gpu_check ==" "${results[@]}"

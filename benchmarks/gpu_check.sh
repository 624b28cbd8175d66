#!/usr/bin/env bash
# The GPU checks in one command, for a machine with CUDA:
#   1. tests/test_gpu.py: the CUDA paths give the CPU paths' results;
#   2. benchmarks/train_speed.py on the GPU preset's run config (the full-size CTM, memory
#      none / solo / shared, then eager): agent-steps/s, the share of env / memory / forward
#      / update, and a profile of one short update;
#   3. the GPU preset's sweep end to end (3 memory modes x 5 seeds, all at once) at a budget of
#      STEPS agent-steps a run, then its report (STEPS=0: skipped).
# Each step has its own time limit, so one slow step cannot swallow the others; logs and the
# sweep's report go to OUT_DIR.
#   benchmarks/gpu_check.sh [OUT_DIR] [STEPS]        # defaults: runs/gpu_check, 81920 (10 updates)
set -u
out=${1:-runs/gpu_check}
steps=${2:-81920}
py=${PYTHON:-python3}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

check() {   # check NAME SECONDS COMMAND...: run it under a time limit, log to OUT_DIR/NAME.log
    local name=$1 limit=$2
    shift 2
    echo "== $name (limit ${limit} s): $*"
    local start=$SECONDS
    timeout "$limit" "$@" > "$out/$name.log" 2>&1
    local code=$?
    tail -n 40 "$out/$name.log"
    echo "== $name: exit $code after $((SECONDS - start)) s"
}

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  nproc
  "$py" -c "import torch, faiss; print('torch', torch.__version__, 'cuda', torch.version.cuda, '| faiss', faiss.__version__, 'GPUs', faiss.get_num_gpus())"
} > "$out/machine.txt" 2>&1
cat "$out/machine.txt"

check tests 150 "$py" -m pytest -q -p no:cacheprovider tests/test_gpu.py
# The preset compiles; the last row runs it eager, for the ratio and a readable profile.
check speed 420 "$py" benchmarks/train_speed.py --preset gpu --agents ctm --updates 10 \
    --also "compile=false" --profile
[ "$steps" -gt 0 ] || exit 0
check sweep 270 "$py" -m experiments.main experiment=gpu "total_steps=$steps" eval.every=0 \
    hydra/launcher=local hydra.launcher.n_jobs=15 torch_threads=1 log.images_every=0
report=$(ls -d multirun/gpu_*/report 2>/dev/null | tail -n 1)
[ -n "$report" ] && cp "$report"/*.md "$report"/random_baseline.json "$out"/ 2>/dev/null
ls "$out"

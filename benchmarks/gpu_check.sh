#!/usr/bin/env bash
# GPU check: train the detector and the GAN on CUDA in bf16 for a few hundred steps each and
# print training throughput (images/s). Run from the repository root on a CUDA machine:
#   bash benchmarks/gpu_check.sh                 # 1 GPU
#   DEVICES=4 bash benchmarks/gpu_check.sh       # DDP on 4 GPUs (batch size per GPU)
#   GPU_CHECK_DRY=1 bash benchmarks/gpu_check.sh # a few CPU steps: smoke test of this script
# Data: the built-in synthetic faces (rendered in memory, nothing to download).
set -euo pipefail
cd "$(dirname "$0")/.."
export WANDB_MODE=offline PYTHONWARNINGS=ignore
PY=${PYTHON:-python}
DEVICES=${DEVICES:-1}
STEPS=${STEPS:-300}
WARMUP=${WARMUP:-30}
OUT=$(mktemp -d -t fakearena_gpu_check.XXXXXX)  # trainer.default_root_dir (no checkpoints)
trap 'rm -rf "$OUT"' EXIT

if [[ "${GPU_CHECK_DRY:-0}" == "1" ]]; then
  STEPS=6 WARMUP=2
  trainer=(trainer=cpu trainer.precision=32-true)
  detect_data=(data.image_size=32 data.batch_size=8 data.synthetic.per_identity=8)
  gan_data=(data.image_size=32 data.batch_size=8 data.synthetic.per_identity=8)
else
  "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA device")'
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  if [[ "$DEVICES" -gt 1 ]]; then
    trainer=(trainer=ddp trainer.accelerator=gpu "trainer.devices=$DEVICES" trainer.sync_batchnorm=true)
  else
    trainer=(trainer=gpu)
  fi
  trainer+=(trainer.precision=bf16-mixed trainer.deterministic=false)
  # enough rendered faces for STEPS batches without an epoch boundary mattering
  detect_data=(data.image_size=128 data.batch_size=64 data.synthetic.per_identity=400 data.num_workers=8)
  gan_data=(data.image_size=64 data.batch_size=64 data.synthetic.per_identity=400 data.num_workers=8)
fi

echo "== detector (timm ResNet-50, random init, 128x128) =="
"$PY" -m benchmarks.train_throughput "steps=$STEPS" "warmup=$WARMUP" -- \
  task=detect detector=resnet50 "paths.output_dir=$OUT" "${trainer[@]}" "${detect_data[@]}"

# the GAN steps its D and G optimisers once per batch each: STEPS steps = STEPS/2 batches
echo "== GAN (dcgan, 64x64) =="
"$PY" -m benchmarks.train_throughput "steps=$STEPS" "warmup=$WARMUP" -- \
  task=gan "paths.output_dir=$OUT" "${trainer[@]}" "${gan_data[@]}"

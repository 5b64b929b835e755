"""Training throughput (images/s) of one task, timed over training steps only.

Composes `fakearena train` with the given overrides, builds data, task and trainer the way
`fakearena.runs.train` does, trains `steps` optimiser steps without validation and prints
images/s over the steps after `warmup` (the clock is read with the device synchronised).

    python -m benchmarks.train_throughput steps=300 warmup=20 -- task=gan trainer=gpu
"""

from __future__ import annotations

import sys
import time
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate

from fakearena.config import compose
from fakearena.runs.train import build_task, ddp_overrides


class StepTimer(L.Callback):
    """Images and seconds of the training batches after the first `warmup`."""

    def __init__(self, warmup: int):
        self.warmup, self.batches, self.images, self.start = warmup, 0, 0, None

    def _sync(self, module: L.LightningModule) -> None:
        if module.device.type == "cuda":
            torch.cuda.synchronize(module.device)

    def on_train_batch_start(self, trainer, module, batch: Any, batch_idx: int) -> None:
        if self.batches == self.warmup:
            self._sync(module)
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch: Any, batch_idx: int) -> None:
        self.batches += 1
        if self.batches > self.warmup and "image" in batch:
            self.images += int(batch["image"].shape[0])
        if self.start is not None:
            self._sync(module)
            self.seconds = time.perf_counter() - self.start


def main(argv: list[str]) -> int:
    options = dict(a.split("=", 1) for a in argv[: argv.index("--")] if "=" in a)
    overrides = argv[argv.index("--") + 1 :] if "--" in argv else argv
    steps, warmup = int(options.get("steps", 300)), int(options.get("warmup", 20))
    cfg = compose("train", overrides)
    L.seed_everything(int(cfg.seed), verbose=False)
    datamodule = instantiate(cfg.data)
    task = build_task(cfg)
    timer = StepTimer(warmup)
    trainer = instantiate(
        cfg.trainer,
        max_epochs=-1,
        max_steps=steps,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[timer],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        **ddp_overrides(cfg, task),
    )
    trainer.fit(task, datamodule=datamodule)
    if trainer.is_global_zero:
        if timer.start is None or timer.images == 0:
            print(f"only {timer.batches} batches ran; raise steps above warmup={warmup}")
            return 1
        world = trainer.world_size
        rate = timer.images / timer.seconds
        print(
            f"{cfg.task.name}: {rate:.1f} images/s per process, {rate * world:.1f} images/s "
            f"total ({world} process(es), precision {cfg.trainer.precision}, "
            f"{timer.batches - warmup} timed batches of {cfg.data.batch_size})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

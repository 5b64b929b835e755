"""Training-step overhead: the default detector's step through our Lightning task vs plain PyTorch.

    python benchmarks/train_step.py [--quick]

Ours: `fakearena train`'s own objects (the composed default config: `DetectTask` with the
SmallCNN detector, AdamW, the configured trainer, CSV logger, checkpoint callbacks and the
progress bar) fitting one epoch over in-memory batches shaped like `FaceDataModule`'s. Baseline:
a plain loop (zero_grad, forward, BCE-with-logits, backward, step) with the same initial
weights, batches and optimizer. A step is the wall time between the starts of consecutive
steps; each round measures the median step after a warm-up of both, one right after the other,
and the ratio is the median over rounds of ours / plain (this machine's speed drifts by 30-50%
within a minute, so only side-by-side pairs compare).
Target: ours <= 1.05x the plain step.
"""

from __future__ import annotations

import copy
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import ensure_importable, standalone

ensure_importable()

import lightning as L  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

NAME = "train_step"
TARGET = 1.05


class StepClock(L.Callback):
    """Wall time at the start of every training step (and at the end of the last)."""

    def __init__(self) -> None:
        self.starts: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.starts.append(time.perf_counter())

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.starts.append(time.perf_counter())


def make_batches(n: int, batch_size: int, size: int, seed: int = 0) -> list[dict[str, Any]]:
    """Batches as `FaceDataModule` yields them (float images in [0, 1], labels, indices)."""
    generator = torch.Generator().manual_seed(seed)
    return [
        {
            "image": torch.rand(batch_size, 3, size, size, generator=generator),
            "label": torch.randint(0, 2, (batch_size,), generator=generator),
            "index": torch.arange(i * batch_size, (i + 1) * batch_size),
            "skipped": torch.zeros(0, dtype=torch.long),
        }
        for i in range(n)
    ]


class Batches:
    """In-memory batches as one iterable loader (a plain list would be read by Lightning as a
    list of loaders)."""

    def __init__(self, batches: list[dict[str, Any]]):
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        return iter(self.batches)


def step_seconds(starts: list[float], warmup: int) -> float:
    """Median gap between consecutive step starts, after `warmup` steps."""
    gaps = [b - a for a, b in itertools.pairwise(starts)][warmup:]
    return statistics.median(gaps)


def build(output_dir: str, overrides: list[str]):
    """The task and trainer `fakearena train` would build (default config + overrides)."""
    from fakearena.config import compose
    from fakearena.runs.train import build_task, build_trainer

    cfg = compose("train", [f"paths.output_dir={output_dir}", *overrides])
    L.seed_everything(int(cfg.seed), verbose=False)
    task = build_task(cfg)
    return cfg, task, build_trainer


def lightning_run(cfg, task, build_trainer, batches: list[dict[str, Any]], warmup: int) -> float:
    clock = StepClock()
    trainer = build_trainer(cfg, max_epochs=1, limit_val_batches=0)
    trainer.callbacks.append(clock)
    trainer.fit(task, train_dataloaders=Batches(batches))
    return step_seconds(clock.starts, warmup)


def plain_run(net: torch.nn.Module, optimizer_factory, batches, warmup: int) -> float:
    optimizer = optimizer_factory(params=net.parameters())
    net.train()
    starts = []
    for batch in batches:
        starts.append(time.perf_counter())
        optimizer.zero_grad(set_to_none=True)
        loss = F.binary_cross_entropy_with_logits(net(batch["image"]), batch["label"].float())
        loss.backward()
        optimizer.step()
    starts.append(time.perf_counter())
    return step_seconds(starts, warmup)


def run(quick: bool) -> dict[str, Any]:
    n_steps, warmup, rounds = (8, 2, 1) if quick else (30, 5, 5)
    with tempfile.TemporaryDirectory() as tmp:
        cfg, task, build_trainer = build(tmp, [])
        batch_size, size = int(cfg.data.batch_size), int(cfg.data.image_size)
        batches = make_batches(n_steps, batch_size, size, seed=int(cfg.seed))
        initial = copy.deepcopy(task.net.state_dict())
        ours, plain = [], []
        for _ in range(rounds):
            net = copy.deepcopy(task.net)
            net.load_state_dict(initial)
            plain.append(plain_run(net, task.optimizer_factory, batches, warmup))
            task.net.load_state_dict(initial)
            ours.append(lightning_run(cfg, task, build_trainer, batches, warmup))
        detector = cfg.detector.name
    ratio = statistics.median(o / p for o, p in zip(ours, plain))
    median_ours, median_plain = statistics.median(ours), statistics.median(plain)
    return {
        "config": {
            "detector": detector,
            "batch_size": batch_size,
            "image_size": size,
            "steps": n_steps,
            "warmup_steps": warmup,
            "rounds": rounds,
            "torch_threads": torch.get_num_threads(),
        },
        "ours_step_seconds": ours,
        "plain_step_seconds": plain,
        "checks": [
            {
                "benchmark": f"train step ({detector}, batch {batch_size}x{size}px)",
                "ours": median_ours * 1e3,
                "unit": "ms/step",
                "baseline": median_plain * 1e3,
                "baseline_name": "plain loop",
                "ratio": ratio,
                "limit": "plain loop",
                "target": f"<= {TARGET}x",
                "pass": ratio <= TARGET,
            }
        ],
    }


def main(argv: list[str] | None = None) -> int:
    return standalone(NAME, run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())

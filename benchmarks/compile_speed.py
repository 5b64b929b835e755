"""`compile=true` on CPU: training steps/s with torch.compile vs eager, same run, same batch.

    python benchmarks/compile_speed.py [--quick]

For the arena's detector (meso4) and GAN (dcgan) at 64 px, batch 32, the task `fakearena
train` builds trains on one batch (no data loading: the model alone) for warm-up + timed steps,
eager and with `compile=true`, alternating rounds; the first compiled steps (compilation) are
reported apart. fp32 on CPU (trainer=cpu), contiguous memory.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import ensure_importable, standalone

ensure_importable()

import lightning as L  # noqa: E402
from hydra.utils import instantiate  # noqa: E402

from benchmarks.gpu_check import Repeated, StepClock, measuring_trainer  # noqa: E402
from fakearena.config import compose  # noqa: E402
from fakearena.runs.train import build_task  # noqa: E402
from fakearena.utils.quiet import quiet_third_party  # noqa: E402

NAME = "compile_speed"
CASES = {
    "detector meso4 64px": ["task=detect", "detector=meso4"],
    "gan dcgan 64px": ["task=gan", "generator=dcgan", "task.grid_size=0"],
}


def steps_per_second(cfg, task, batch, warmup: int, steps: int) -> tuple[float, float]:
    """(timed steps/s, seconds of the warm-up steps) of `task` on one repeated batch."""
    datamodule = instantiate(cfg.data)
    datamodule.train_dataloader = lambda: Repeated(batch, warmup + steps)  # type: ignore[method-assign]
    clock = StepClock(warmup)
    start = time.perf_counter()
    measuring_trainer(cfg, task, [clock], max_epochs=1, limit_train_batches=warmup + steps).fit(
        task, datamodule=datamodule
    )
    total = time.perf_counter() - start
    return steps / clock.seconds, total - clock.seconds


def run(quick: bool) -> dict[str, Any]:
    quiet_third_party()
    warmup, steps, rounds = (2, 2, 1) if quick else (3, 10, 2)
    results, checks = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for name, overrides in CASES.items():
            cfg = compose(
                "train",
                [
                    *overrides,
                    "trainer=cpu",
                    f"paths.output_dir={tmp}",
                    "data.image_size=64",
                    "data.batch_size=32",
                    "data.synthetic.per_identity=8",
                    "data.num_workers=0",
                ],
            )
            L.seed_everything(0, verbose=False)
            batch = next(iter(instantiate(cfg.data).train_dataloader()))
            eager, compiled = build_task(cfg), build_task(cfg)
            compiled.set_speed(compile=True)
            rates: dict[str, list[float]] = {"eager": [], "compiled": []}
            first_compiled = None
            for _ in range(rounds):
                for label, task in (("eager", eager), ("compiled", compiled)):
                    rate, warm = steps_per_second(cfg, task, batch, warmup, steps)
                    rates[label].append(rate)
                    if label == "compiled" and first_compiled is None:
                        first_compiled = warm
            best = {label: max(values) for label, values in rates.items()}
            results[name] = {"steps_per_s": best, "compile_warmup_seconds": first_compiled}
            checks.append(
                {
                    "benchmark": f"compile=true, {name} (CPU, batch 32)",
                    "ours": best["compiled"] * 32,
                    "unit": "img/s",
                    "baseline": best["eager"] * 32,
                    "baseline_name": "eager",
                    "ratio": best["compiled"] / best["eager"],
                    "limit": f"{first_compiled:.0f} s to compile",
                    "target": "",
                    "pass": None,
                }
            )
    return {
        "config": {"warmup": warmup, "steps": steps, "rounds": rounds, "precision": "32-true"},
        "results": results,
        "checks": checks,
    }


def main(argv: list[str] | None = None) -> int:
    return standalone(NAME, run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())

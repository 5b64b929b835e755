"""GAN quality per CPU time: FID/KID of dcgan and sngan after fixed amounts of training.

Trains `fakearena`'s GAN task (its real training step, in a Lightning trainer) on the real
synthetic faces (64x64 RGB, rendered once) and, when the process's training CPU time passes
each milestone (default 0, 5 and 15 CPU-minutes), pauses the clock and evaluates FID and KID
of N fixed-z images against N real validation faces (the task's own evaluation). The clock is
`--clock cpu` (process CPU time, summed over threads: fair on a shared machine) or `--clock
wall` (training wall time on an otherwise idle machine, e.g. "15 minutes on 2 cores" with
`--threads 2`). Evaluation time is never counted. Sample grids go to the output folder.

    python benchmarks/gan_fid_vs_time.py --generator sngan --minutes 0 5 15 --n 256 \
        --clock wall --threads 2 --out DIR

Writes DIR/<generator>.json and DIR/samples/<generator>_<minutes>min.png.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import lightning as L
import torch
from hydra.utils import instantiate
from torch.utils.data import DataLoader

from benchmarks._common import machine_info, write_json
from benchmarks._milestones import TrainingMilestones
from fakearena.config import compose
from fakearena.data.datasets import float_images
from fakearena.runs.train import build_task


class Milestones(TrainingMilestones):
    """Evaluates FID at training-time milestones of training and stops after the last one."""

    def __init__(
        self,
        minutes: list[float],
        reals: torch.Tensor,
        out: Path,
        name: str,
        clock: str,
        meta: dict,
    ):
        super().__init__(minutes, clock)
        self.reals, self.out, self.name = reals, out, name
        self.meta = meta
        self.results: list[dict] = []

    def evaluate(self, trainer: L.Trainer, task, minute: float) -> None:
        start = time.perf_counter()
        # the task's reals of loader 0, as its validation loop collects them
        task._reals = {0: [(torch.arange(len(self.reals)), self.reals)]}
        scores = task._evaluate("val")[""]
        grid = task.save_sample_grid(f"{self.name}_{minute:g}min")
        entry = {
            "train_minutes": round(self.train_time / 60, 3),
            "milestone_minutes": minute,
            "steps": self.steps,
            "epoch": trainer.current_epoch,
            "fid": scores["fid"],
            "kid": scores["kid"],
            "kid_std": scores["kid_std"],
            "n_real": scores["n_real"],
            "n_fake": scores["n_fake"],
            "grid": str(grid),
            "eval_wall_s": round(time.perf_counter() - start, 1),
        }
        self.results.append(entry)
        print(json.dumps(entry), flush=True)
        record = {**self.meta, "milestones": self.results}
        write_json(self.out / f"{self.name}.json", record, indent=1)


def rendered(dataset) -> torch.Tensor:
    """The real (label 0) images of a dataset, rendered once, as one tensor in [0, 1]."""
    images = [dataset[i]["image"] for i in range(len(dataset)) if dataset.labels[i] == 0]
    return float_images(torch.stack(images))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", default="sngan")
    parser.add_argument("--minutes", type=float, nargs="+", default=[0, 5, 15])
    parser.add_argument("--n", type=int, default=150, help="FID/KID images per side")
    parser.add_argument("--identities", type=int, default=20)
    parser.add_argument("--per-identity", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gan"))
    parser.add_argument("overrides", nargs="*", help="extra config overrides (task.loss=...)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    cfg = compose(
        "train",
        [
            "task=gan",
            f"generator={args.generator}",
            "data=synthetic",
            f"data.synthetic.n_identities={args.identities}",
            f"data.synthetic.per_identity={args.per_identity}",
            "data.synthetic.fake_fraction=0.0",
            f"task.fid_n={args.n}",
            f"seed={args.seed}",
            *args.overrides,
        ],
    )
    L.seed_everything(args.seed, verbose=False)
    datamodule = instantiate(cfg.data)
    train = rendered(datamodule.dataset("train"))
    reals = rendered(datamodule.dataset("val"))[: args.n]
    print(f"{args.generator}: {len(train)} train reals, {len(reals)} val reals", flush=True)
    batches = [
        {
            "image": x,
            "label": torch.zeros(len(x), dtype=torch.long),
            "index": torch.arange(len(x)),
            "skipped": torch.zeros(0, dtype=torch.long),
        }
        for x in train.split(args.batch_size)
    ]
    loader = DataLoader(batches, batch_size=None, shuffle=True)
    task = build_task(cfg)
    meta = {
        "generator": args.generator,
        "clock": {"wall": "training wall time", "cpu": "process CPU time"}[args.clock],
        "threads": args.threads,
        "train_images": len(train),
        "batch_size": args.batch_size,
        "seed": args.seed,
        "overrides": args.overrides,
        "machine": machine_info(),
    }
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=-1,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=args.out,
        callbacks=[Milestones(args.minutes, reals, args.out, args.generator, args.clock, meta)],
    )
    trainer.fit(task, train_dataloaders=loader)


if __name__ == "__main__":
    main()

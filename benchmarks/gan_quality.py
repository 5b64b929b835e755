"""GAN (or diffusion) quality per CPU time on the arena's faces: FID (beside its floor), KID
and PRDC.

Trains `fakearena`'s GAN task (`--task diffusion`: its diffusion task, same protocol; its real
training step, in a Lightning trainer) on the real faces of the arena's default data
(the arena's former faces: 10 people x 120 images at 64 px, half of them blended fakes: the
360 real faces of the 6 training people) and, each time the training clock passes a milestone,
pauses it and judges N fixed-z samples against two real references (see
`benchmarks/_gan_reference.py`), each N faces with its real-vs-real floor (the same scores
between those N faces and N other real faces of the same people):

- `test`: real faces of the arena's test people, whom the GAN never saw (the issue's
  protocol); beside it, `perfect`: N unseen shots of the *training* people scored against
  them, what a generator that draws its training people perfectly would get;
- `train`: unseen shots of the training people: the distribution the GAN learns.

Scores: FID, KID, improved precision/recall and density/coverage (k=3) on Inception pool3.
Targets: precision >= 0.3, recall >= 0.2 and FID <= 3x the floor.

The clock is `--clock cpu` (process CPU time, summed over threads: fair on a shared machine)
or `--clock wall` (training wall time on an otherwise idle machine). Evaluation never counts.

    python -m benchmarks.gan_quality --generator dcgan --minutes 2 4 6 --n 500 \
        --name dcgan32 generator.image_size=32
    python -m benchmarks.gan_quality --generator dcgan64 --steps 600 1500 --n 250 \
        --name dcgan64_probe
    python -m benchmarks.gan_quality --task diffusion --minutes 1 2 5 --n 500 \
        --out benchmarks/results/diffusion_quality --name ddim25 task.sample_steps=25

`--steps` puts the milestones at training steps instead (recipes compared at equal steps; each
milestone records its CPU time and ms/step). `--grain` also scores each milestone's samples
with the renders' sensor noise added (`with_sensor_noise`; keys `<reference>_grain`): what
the generator would score if it drew that grain on top of what it draws. Writes OUT/<name>.json and
OUT/samples/<name>_<minutes>min.png (`_<steps>steps.png`) (OUT defaults to
benchmarks/results/gan_quality) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
from hydra.utils import instantiate
from torch.utils.data import DataLoader

from benchmarks._common import machine_info, print_table, write_json
from benchmarks._gan_reference import reference_features
from benchmarks._milestones import TrainingMilestones
from fakearena.config import compose
from fakearena.metrics.quality import floor_rows, sample_quality
from fakearena.metrics.reference import subset
from fakearena.runs.train import build_task
from fakearena.tasks.gan_eval import inception_features

OUT = Path(__file__).resolve().parent / "results" / "gan_quality"
TARGETS = {"precision": 0.3, "recall": 0.2, "fid_over_floor": 3.0}
SCORES = ("fid", "kid", "precision", "recall", "density", "coverage")


def passes(scores: dict, floor: dict) -> dict[str, bool]:
    """Which of the issue's targets a milestone meets."""
    return {
        "precision": scores["precision"] >= TARGETS["precision"],
        "recall": scores["recall"] >= TARGETS["recall"],
        "fid_over_floor": scores["fid"] <= TARGETS["fid_over_floor"] * floor["fid"],
    }


# name -> which people and from which shot index (the arena draws shots 0..119 of everyone)
REFERENCES = {
    "test": {"split": "test", "first_index": 0},
    "train": {"split": "train", "first_index": 120},
}


def with_sensor_noise(images: torch.Tensor, seed: int) -> torch.Tensor:
    """Images in [0, 1] plus the renders' sensor noise: Gaussian, independent per pixel and
    colour, std (1 + 5u) / 255 per image with u ~ U(0, 1) (`fakearena.data.synthetic`'s
    `Shot.noise`), seeded; clipped to [0, 1] and rounded to 8-bit levels as a render is."""
    generator = torch.Generator().manual_seed(int(seed))
    std = (1.0 + 5.0 * torch.rand(len(images), 1, 1, 1, generator=generator)) / 255.0
    noise = torch.randn(images.shape, generator=generator) * std
    return (images + noise).clamp_(0.0, 1.0).mul_(255.0).round_().div_(255.0)


def judged(scores: dict, floor: dict) -> dict:
    """The recorded scores of one comparison, their FID/floor ratio and target verdicts."""
    return {
        **{key: scores[key] for key in (*SCORES, "kid_std", "n_real", "n_fake", "k")},
        "fid_over_floor": scores["fid"] / floor["fid"],
        "pass": passes(scores, floor),
    }


class Milestones(TrainingMilestones):
    """Judges the generator when training passes each milestone (minutes of the training clock,
    or steps with `--steps`); stops after the last."""

    def __init__(self, args, record: dict):
        if args.steps:
            super().__init__(args.steps, args.clock, unit="steps")
        else:
            super().__init__(args.minutes, args.clock)
        self.args, self.record = args, record
        self.references: dict[int, dict[str, np.ndarray]] = {}  # by N
        self.floors: dict[int, dict[str, dict]] = {}

    def evaluate(self, trainer: L.Trainer, task, milestone: float) -> None:
        n = self.args.n if not self.minutes else self.args.n_curve or self.args.n
        start = time.perf_counter()
        if n not in self.references:  # loaded when first needed: training starts at once
            self.references[n], self.floors[n] = load_references(self.args, n, self.record)
        images = task.generate(n, int(task.hparams.eval_seed) + 1)
        fakes = inception_features(images)
        grainy = None
        if self.args.grain:
            grainy = inception_features(with_sensor_noise(images, self.args.seed))
        suffix = "steps" if self.unit == "steps" else "min"
        grid = task.save_sample_grid(f"{self.args.name}_{milestone:g}{suffix}")
        entry = {
            f"milestone_{self.unit}": milestone,
            "train_minutes": round(self.train_time / 60, 3),
            "batches": self.steps,
            "ms_per_step": round(1000 * self.train_time / self.steps, 1) if self.steps else None,
            "epoch": trainer.current_epoch,
            "grid": str(Path(grid).relative_to(self.args.out)),
        }
        for name, reference in self.references[n].items():
            scores = sample_quality(reference, fakes, seed=self.args.seed)
            entry[name] = judged(scores, self.floors[n][name])
            if grainy is not None:
                scores = sample_quality(reference, grainy, seed=self.args.seed)
                entry[f"{name}_grain"] = judged(scores, self.floors[n][name])
        entry["eval_wall_s"] = round(time.perf_counter() - start, 1)
        self.record["milestones"].append(entry)
        print(json.dumps(entry), flush=True)
        path = self.args.out / f"{self.args.name}.json"
        write_json(path, self.record, indent=1)


def load_references(args, n: int, record: dict) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
    """Each reference's n faces and floor at n, recorded (with the perfect generator's)."""
    references, floors, others = {}, {}, {}
    for name, people in REFERENCES.items():
        pool = reference_features(count=2 * args.n, seed=args.seed, **people)
        used = subset(len(pool), n, args.seed)
        references[name] = pool[used]
        others[name] = pool[floor_rows(len(pool), used, n, args.seed)]
        floors[name] = sample_quality(references[name], others[name], seed=args.seed)
    perfect = sample_quality(references["test"], others["train"], seed=args.seed)
    record.setdefault("floors", {})[str(n)] = {name: judged(f, f) for name, f in floors.items()}
    record.setdefault("perfect_vs_test", {})[str(n)] = judged(perfect, floors["test"])
    return references, floors


def task_sampler(args, cfg) -> str:
    """What draws the judged samples."""
    if args.task == "gan":
        return "EMA generator when kept"
    task = cfg.task
    return f"{task.objective} {task.sampler}, {task.sample_steps} steps, EMA weights"


def real_train_faces(cfg) -> torch.Tensor:
    """The real (label 0) training faces of the data config, rendered once, in [0, 1]."""
    datamodule = instantiate(cfg.data)
    dataset = datamodule.dataset("train")
    return torch.stack([dataset[i]["image"] for i in range(len(dataset)) if dataset.labels[i] == 0])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["gan", "diffusion"], default="gan")
    parser.add_argument("--generator", default=None, help="dcgan (gan) / diffusion_unet")
    parser.add_argument("--name", default=None, help="name of the JSON and grids")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--minutes", type=float, nargs="+", help="milestones (default 2 4 6)")
    when.add_argument(
        "--steps", type=int, nargs="+", help="milestones in training steps (batches) instead"
    )
    parser.add_argument("--n", type=int, default=500, help="generated and real faces judged")
    parser.add_argument(
        "--n-curve", type=int, default=None, help="N of the milestones before the last (cheaper)"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--grain", action="store_true", help="also score the samples with sensor noise added"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("overrides", nargs="*", help="config overrides (generator.g_width=...)")
    args = parser.parse_args(argv)
    if not args.steps and not args.minutes:
        args.minutes = [2, 4, 6]
    if args.steps and (sorted(args.steps) != args.steps or args.steps[0] < 0):
        parser.error(f"--steps {args.steps}: give milestones >= 0 in increasing order")
    args.generator = args.generator or {"gan": "dcgan", "diffusion": "diffusion_unet"}[args.task]
    args.name = args.name or args.generator
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    cfg = compose(
        "train",
        [
            f"task={args.task}",
            f"generator={args.generator}",
            "data=synthetic",
            # the arena's default faces (conf/arena.yaml), the same rows as its real.csv
            "data.synthetic.n_identities=10",
            "data.synthetic.per_identity=120",
            "data.synthetic.fake_fraction=0.5",
            "data.image_size=64",
            # all 360 real train faces (task=gan's default reference=people would hold some
            # out); the references are rendered here (`_gan_reference`)
            "data.reference=split",
            f"seed={args.seed}",
            *args.overrides,
        ],
    )
    L.seed_everything(args.seed, verbose=False)
    train = real_train_faces(cfg)
    record = {
        "task": args.task,
        "generator": args.generator,
        "overrides": args.overrides,
        "clock": {"wall": "training wall time", "cpu": "process CPU time"}[args.clock],
        "milestone_unit": "steps" if args.steps else "minutes",
        "threads": args.threads,
        "batch_size": args.batch_size,
        "train_images": len(train),
        "seed": args.seed,
        "grain": args.grain,
        "protocol": (
            f"N={args.n} fixed-noise samples ({task_sampler(args, cfg)}) vs N real faces of each "
            "reference (a seeded sample of 2N renders of its people); floor: those N faces vs "
            "the N other renders; TF-Inception pool3, PRDC k=3"
        ),
        "references": REFERENCES,
        "targets": TARGETS,
        "machine": machine_info(),
        "milestones": [],
    }
    print(f"{args.name}: {len(train)} train faces", flush=True)
    batches = [
        {
            "image": x,
            "label": torch.zeros(len(x), dtype=torch.long),
            "index": torch.arange(len(x)),
            "skipped": torch.zeros(0, dtype=torch.long),
        }
        for x in train.split(args.batch_size)
        if len(x) == args.batch_size
    ]
    task = build_task(cfg)
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=-1,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=args.out,
        callbacks=[Milestones(args, record)],
    )
    trainer.fit(task, train_dataloaders=DataLoader(batches, batch_size=None, shuffle=True))
    print_summary(record)
    return record


def print_summary(record: dict) -> None:
    """One table per reference: floors (and the perfect generator) first, then milestones."""
    columns = ("minutes", "batches", "N", *SCORES, "fid/floor", "targets")

    def row(minutes: str, batches: str, scores: dict) -> dict:
        return {
            "minutes": minutes,
            "batches": batches,
            "N": str(scores["n_fake"]),
            **{key: f"{scores[key]:.3f}" for key in SCORES},
            "fid/floor": f"{scores['fid_over_floor']:.2f}",
            "targets": "pass" if all(scores["pass"].values()) else "-",
        }

    for name in REFERENCES:
        print(f"\nvs real faces of the {name} people")
        rows = [row("floor", "", floors[name]) for floors in record["floors"].values()]
        if name == "test":
            rows += [row("perfect", "", p) for p in record["perfect_vs_test"].values()]
        for m in record["milestones"]:
            rows.append(row(f"{m['train_minutes']:.2f}", str(m["batches"]), m[name]))
        print_table(rows, columns)


if __name__ == "__main__":
    main()

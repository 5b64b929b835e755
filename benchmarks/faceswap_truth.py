"""Face-swap quality against the true swap, per minute of CPU, on the arena's default faces.

Renders the arena's faces once (`conf/arena.yaml`'s people per split and generator shots at
64 px, seed 0), then runs the arena's two face-swap stages as the arena plans them
(`fakearena.runs.arena.generator_stages`), as subprocesses: `fakearena train` with the
`faceswap` entry's overrides (its `max_people` test people, learned from their generator
shots) plus the recipe's and `trainer.max_epochs=E`, and `fakearena generate split=test` on
its best checkpoint. For each training length E it records the stages' CPU seconds (user +
system of the process: fair on a shared machine), wall seconds, and the fake set's truth
metrics (`fakes/...` in the set's results.json: every real test face of those people swapped
to the next, scored against the true swaps). The reference row is the arena's `blend` fake
set (blended fakes of all people), scored the same way.

Results measured before the populations of issue 22 (2 people, one train and one test) are
not comparable with runs of this version.

    python -m benchmarks.faceswap_truth --recipes arena main --epochs 4 8 16 24 --threads 1

Targets (issue 15): truth PSNR over the swap region >= the blended fakes', and >= 80% of the
fakes closer to the truth than to their own source. Wall time on 2 quiet cores is estimated
as CPU seconds / 1.6 (this model's speed-up from 1 to 2 threads). Writes
benchmarks/results/faceswap_truth.json and, per run, a grid of source | truth | fake rows
(4 faces each way) under benchmarks/results/faceswap/.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (
    RESULTS_DIR,
    check,
    ensure_importable,
    print_checks,
    print_table,
    write_results,
)

ensure_importable()

from fakearena.data.manifest import read_manifest  # noqa: E402
from fakearena.data.media import load_image  # noqa: E402
from fakearena.data.synthetic import SyntheticRenderer  # noqa: E402
from fakearena.generation.truth import score_manifest, truth_metrics  # noqa: E402
from fakearena.results import read_results  # noqa: E402
from fakearena.runs.arena import generator_stages  # noqa: E402
from fakearena.runs.populations import prepare_faces  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TWO_CORE_SPEEDUP = 1.6  # CPU seconds per wall second of these stages with 2 threads
CLOSER_TARGET = 0.8
METRICS = ("truth_psnr", "truth_ssim", "source_psnr", "truth_gain_db", "closer_to_truth")
# The face-swap recipe of main before issue 15 (the arena's 15.9 dB / 22% run), as overrides
# on top of today's defaults.
RECIPES: dict[str, list[str]] = {
    "arena": [],
    "main": [
        "generator.width=32",
        "generator.norm=none",
        "generator.image_size=64",
        "data.batch_size=32",
        "data.epoch_size=null",
        "task.crop=null",
        "task.loss_weights=null",
        "task.lr_schedule=constant",
        "task.optimizer.lr=5e-4",
        "task.augment.warp_scale=0.02",
        "task.blend.center=[0.5,0.52]",
        "task.blend.axes=[0.36,0.44]",
        "task.blend.feather=0.25",
        "task.blend.colour=mean_std",
    ],
}


def run_cli(args: list[str], log: Path, threads: int) -> dict[str, float]:
    """`fakearena ARGS` in a subprocess: its wall and CPU seconds (raises on failure)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONWARNINGS="ignore")
    env.setdefault("WANDB_MODE", "offline")
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "fakearena.cli", *args],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO,
        )
        _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"fakearena {' '.join(args[:3])} ... failed; {log}:\n{tail}")
    return {
        "wall_seconds": round(time.perf_counter() - start, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
    }


def arena_stages(real_csv: Path, run_dir: Path, overrides: list[str]) -> list[list[str]]:
    """The arena's `train generator faceswap` and `generate fakes faceswap` command lines,
    with `overrides` added to training; the run in `run_dir/train`, the fakes in
    `run_dir/fakes`."""
    arena = OmegaConf.load(REPO / "conf" / "arena.yaml")
    arena.generators = {"faceswap": arena.generators.faceswap}
    trains, generates, _ = generator_stages(arena, run_dir, real_csv, [])
    moved = {
        str(run_dir / "generators" / "faceswap"): str(run_dir / "train"),
        str(run_dir / "fakes" / "faceswap"): str(run_dir / "fakes"),
    }

    def relocate(arg: str) -> str:
        for old, new in moved.items():
            arg = arg.replace(old, new)
        return arg

    train = [relocate(a) for a in trains[0].args]
    generate = [relocate(a) for a in generates[0].args]
    return [[*train[:-1], *overrides, train[-1]], [*generate[:-1], "overwrite=true", generate[-1]]]


def comparison_grid(fakes_csv: Path, path: Path, per_direction: int = 4) -> Path:
    """Rows of source | truth | fake for the first faces of each swap direction."""
    manifest = read_manifest(fakes_csv)
    frame = manifest.frame
    renderer = SyntheticRenderer(int(manifest.card.image_size or 64))
    rows = []
    for _, group in frame.groupby("source_identity", sort=True):
        for i in group.index[:per_direction]:
            row = frame.loc[i].to_dict()
            fake = load_image(manifest.abspath(i))
            rows.append(
                np.concatenate([renderer.render_source(row), renderer.render_truth(row), fake], 1)
            )
    grid = np.concatenate(rows, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    scale = 3
    Image.fromarray(grid).resize(
        (grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST
    ).save(path)
    return path


def run_point(
    recipe: str, epochs: int, real_csv: Path, out: Path, threads: int, extra: list[str]
) -> dict[str, Any]:
    """Train and generate once; the stages' cost and the fake set's truth metrics."""
    run_dir = out / "runs" / f"{recipe}_{epochs}ep"
    overrides = [*RECIPES[recipe], *extra, f"trainer.max_epochs={epochs}"]
    train_args, generate_args = arena_stages(real_csv, run_dir, overrides)
    train = run_cli(train_args, run_dir / "train.log", threads)
    generate = run_cli(generate_args, run_dir / "generate.log", threads)
    fakes = read_results(run_dir / "fakes")["metrics"]
    held_out = read_results(run_dir / "train")["metrics"]
    grid = comparison_grid(run_dir / "fakes" / "faceswap.csv", out / f"{recipe}_{epochs}ep.png")
    point = {
        "recipe": recipe,
        "epochs": epochs,
        "overrides": overrides,
        "train": train,
        "generate": generate,
        "est_wall_seconds_2_cores": round(
            (train["cpu_seconds"] + generate["cpu_seconds"]) / TWO_CORE_SPEEDUP, 1
        ),
        "n": fakes["fakes/truth_psnr"]["n"],
        **{name: round(fakes[f"fakes/{name}"]["value"], 4) for name in METRICS},
        "held_out": {
            name: round(held_out[f"test/{name}"]["value"], 4)
            for name in METRICS
            if f"test/{name}" in held_out
        },
        "grid": str(grid),
    }
    print(json.dumps({k: v for k, v in point.items() if k != "overrides"}), flush=True)
    return point


def blend_reference(blend_csv: Path) -> dict[str, float]:
    """Truth metrics of the arena's blended fakes (all 10 people)."""
    metrics = truth_metrics(score_manifest(read_manifest(blend_csv)), "fakes")
    overall = {k: v for k, v in metrics.items() if k.count("/") == 1}
    return {k.split("/", 1)[1]: round(v["value"], 4) for k, v in overall.items()}


def run(quick: bool, args: argparse.Namespace | None = None) -> dict[str, Any]:
    args = args or parse([])
    epochs = [1] if quick else args.epochs
    out = Path(args.out) if not quick else Path(args.out).parent / "quick" / "faceswap"
    arena = OmegaConf.load(REPO / "conf" / "arena.yaml")
    faces = prepare_faces(arena, Path(args.data), ("test",))
    reference = blend_reference(faces["blend"])
    print("blend/synthetic reference:", json.dumps(reference), flush=True)
    points = [
        run_point(recipe, n, faces["real"], out, args.threads, args.set)
        for recipe in args.recipes
        for n in epochs
    ]
    print_table(
        [
            {
                "recipe": p["recipe"],
                "epochs": p["epochs"],
                "train CPU-s": p["train"]["cpu_seconds"],
                "est. wall 2 cores": p["est_wall_seconds_2_cores"],
                **{name: p[name] for name in METRICS},
            }
            for p in points
        ]
        + [{"recipe": "blend/synthetic", **reference}],
        ["recipe", "epochs", "train CPU-s", "est. wall 2 cores", *METRICS],
    )
    checks = []
    for recipe in args.recipes:
        last = [p for p in points if p["recipe"] == recipe][-1]
        label = f"faceswap {recipe} {last['epochs']} ep ({last['train']['cpu_seconds']:.0f} CPU-s)"
        checks.append(
            check(
                f"{label}: truth PSNR",
                ours=last["truth_psnr"],
                unit="dB",
                baseline=reference["truth_psnr"],
                baseline_name="blend/synthetic",
                target=">= blend",
                passed=last["truth_psnr"] >= reference["truth_psnr"],
            )
        )
        checks.append(
            check(
                f"{label}: closer to truth",
                ours=last["closer_to_truth"],
                unit="",
                baseline=reference["closer_to_truth"],
                baseline_name="blend/synthetic",
                target=f">= {CLOSER_TARGET}",
                passed=last["closer_to_truth"] >= CLOSER_TARGET,
            )
        )
    return {
        "threads": args.threads,
        "two_core_speedup": TWO_CORE_SPEEDUP,
        "blend_reference": reference,
        "points": points,
        "checks": checks,
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a one-epoch smoke run")
    parser.add_argument("--recipes", nargs="+", choices=sorted(RECIPES), default=["arena"])
    parser.add_argument("--epochs", type=int, nargs="+", default=[4, 8, 16, 24])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", default=str(REPO / ".cache" / "faceswap_truth" / "faces"))
    parser.add_argument("--out", default=str(RESULTS_DIR / "faceswap"))
    parser.add_argument("--set", nargs="*", default=[], help="extra overrides for every run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    payload = run(args.quick, args)
    path = write_results("faceswap_truth", payload, quick=args.quick)
    print_checks(payload["checks"])
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

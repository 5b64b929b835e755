"""The learned-mask face swap (64 px, RCT) against the 32-px ellipse recipe, per CPU-minute.

Renders the arena's faces once (`conf/arena.yaml`), then runs the arena's two face-swap
stages (`benchmarks/faceswap_truth.py`: `fakearena train` with the arena's `faceswap`
overrides, identities `across_splits`, then `fakearena generate split=all`) for each point
`RECIPE:EPOCHS`: `ellipse32` is the arena's recipe (`task=faceswap`), `masked64` the same
stages with `task=faceswap_masked`. The clock is the stages' process CPU time (user + system,
one thread: fair on a machine shared with other jobs). Every point's fake set holds the same
rows (every real face of the same two people swapped to the other), and the reference on
those rows is the synthetic *blended* fake of the very same (target, shot, donor), scored
against the same true swap (`blend_same_rows`). Writes
benchmarks/results/faceswap_mask.json and a preview per masked point (rows of source | truth
| fake | mask it was pasted through) under benchmarks/results/faceswap/.

    python -m benchmarks.faceswap_mask --points ellipse32:6 masked64:6 ... --jobs 3
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import RESULTS_DIR, check, print_checks, print_table, write_results
from benchmarks.faceswap_truth import CLOSER_TARGET, METRICS, REPO, arena_stages, run_cli
from fakearena.data.manifest import read_manifest
from fakearena.data.masks import read_mask
from fakearena.data.media import load_image
from fakearena.data.synthetic import SyntheticRenderer, synth_key
from fakearena.generation.truth import truth_metrics
from fakearena.metrics.swap_truth import truth_score
from fakearena.results import read_results
from fakearena.runs.arena import prepare_faces

# recipe -> the task config that replaces the arena's task=faceswap, and overrides after it
RECIPES: dict[str, list[str]] = {
    "ellipse32": ["task=faceswap"],
    "masked64": ["task=faceswap_masked"],
    # ablations: the mask's loss weight, the network's width, RCT paste-back
    "masked64_bce1_rct": [
        "task=faceswap_masked",
        "task.mask_loss_weight=1.0",
        "task.blend.colour=rct",
    ],
    "masked64_bce01_rct": [
        "task=faceswap_masked",
        "task.mask_loss_weight=0.1",
        "task.blend.colour=rct",
    ],
    "masked64_bce001_rct": [
        "task=faceswap_masked",
        "task.mask_loss_weight=0.01",
        "task.blend.colour=rct",
    ],
    "masked64_bce01_w24_rct": [
        "task=faceswap_masked",
        "task.mask_loss_weight=0.1",
        "generator.width=24",
        "task.blend.colour=rct",
    ],
}
# other paste-backs of each masked checkpoint (`fakearena generate ... +blend.KEY=VALUE`)
BLEND_VARIANTS = (
    "colour=rct",
    "colour=lct",
    "colour=none",
    "mask=predicted_both",
    "mask=ellipse",
)
FACES_PER_EPOCH, BATCH = 960, 16  # the arena's data.epoch_size and data.batch_size


def stages(recipe: str, epochs: int, real_csv: Path, run_dir: Path) -> list[list[str]]:
    """The arena's train and generate command lines with the recipe's task config."""
    train, generate = arena_stages(real_csv, run_dir, [f"trainer.max_epochs={epochs}"])
    at = next(i for i, arg in enumerate(train) if arg.startswith("task="))
    return [[*train[:at], *RECIPES[recipe], *train[at + 1 :]], generate]


def blend_same_rows(fakes_csv: Path) -> dict[str, float]:
    """Truth metrics of the synthetic blended fakes of exactly the fake set's rows (the same
    target shot and donor, hence the same true swap and swap region)."""
    manifest = read_manifest(fakes_csv)
    renderer = SyntheticRenderer(int(manifest.card.image_size or 64))
    scores = []
    for row in manifest.frame.to_dict("records"):
        identity, index, donor, seed = synth_key(row)
        blended = renderer.render_blended_fake(identity, index, donor, seed)
        scores.append(truth_score(blended, renderer.render_truth(row), renderer.render_source(row)))
    metrics = truth_metrics({"all": scores}, "blend", per_split=False)
    return {k.split("/", 1)[1]: round(v["value"], 4) for k, v in metrics.items()}


def blend_variants(generate_args: list[str], run_dir: Path, threads: int) -> dict[str, Any]:
    """Truth metrics of the same checkpoint's fakes pasted back in other ways."""
    out: dict[str, Any] = {}
    for variant in BLEND_VARIANTS:
        folder = run_dir / f"fakes_{variant.replace('=', '_')}"
        args = [
            f"out={folder}" if a.startswith("out=") else a
            for a in generate_args
            if not a.startswith("hydra.run.dir=")
        ]
        args += [f"+blend.{variant}", f"hydra.run.dir={folder / 'run'}"]
        run_cli(args, folder / "generate.log", threads)
        metrics = read_results(folder)["metrics"]
        out[variant] = {name: round(metrics[f"fakes/{name}"]["value"], 4) for name in METRICS}
    return out


def preview(fakes_csv: Path, path: Path, per_direction: int = 4) -> Path:
    """Rows of source | truth | fake | mask for the first faces of each swap direction."""
    manifest = read_manifest(fakes_csv)
    frame = manifest.frame
    renderer = SyntheticRenderer(int(manifest.card.image_size or 64))
    rows = []
    for _, group in frame.groupby("source_identity", sort=True):
        for i in group.index[:per_direction]:
            row = frame.loc[i].to_dict()
            mask = read_mask(manifest.root / row["mask"])
            mask_rgb = np.repeat(np.round(mask * 255).astype(np.uint8)[..., None], 3, 2)
            tiles = [renderer.render_source(row), renderer.render_truth(row)]
            rows.append(np.concatenate([*tiles, load_image(manifest.abspath(i)), mask_rgb], 1))
    grid = np.concatenate(rows, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).resize((grid.shape[1] * 3, grid.shape[0] * 3), Image.NEAREST).save(path)
    return path


def run_point(recipe: str, epochs: int, real_csv: Path, out: Path, threads: int) -> dict:
    """Train and generate once: the stages' CPU time and the fake set's truth metrics."""
    run_dir = REPO / ".cache" / "faceswap_mask" / f"{recipe}_{epochs}ep"
    train_args, generate_args = stages(recipe, epochs, real_csv, run_dir)
    train = run_cli(train_args, run_dir / "train.log", threads)
    generate = run_cli(generate_args, run_dir / "generate.log", threads)
    fakes = read_results(run_dir / "fakes")["metrics"]
    held_out = read_results(run_dir / "train")["metrics"]
    fakes_csv = run_dir / "fakes" / "faceswap.csv"
    steps = epochs * (FACES_PER_EPOCH // BATCH)
    point = {
        "recipe": recipe,
        "epochs": epochs,
        "steps": steps,
        "train_cpu_minutes": round(train["cpu_seconds"] / 60, 2),
        "steps_per_cpu_second": round(steps / max(train["cpu_seconds"], 1e-9), 2),
        "train": train,
        "generate": generate,
        "n": fakes["fakes/truth_psnr"]["n"],
        **{name: round(fakes[f"fakes/{name}"]["value"], 4) for name in METRICS},
        "held_out": {
            name: round(held_out[f"test/{name}"]["value"], 4)
            for name in METRICS
            if f"test/{name}" in held_out
        },
        "blend_same_rows": blend_same_rows(fakes_csv),
    }
    if "train/mask_target_from_data" in held_out:
        point["mask_target_from_data"] = held_out["train/mask_target_from_data"]["value"]
    if recipe.startswith("masked64"):
        point["blend_variants"] = blend_variants(generate_args, run_dir, threads)
        point["preview"] = str(preview(fakes_csv, out / f"mask_{recipe}_{epochs}ep.png"))
    print(json.dumps(point), flush=True)
    return point


def previous_points() -> list[dict[str, Any]]:
    """The points of the committed results file (none when there is none)."""
    path = RESULTS_DIR / "faceswap_mask.json"
    return json.loads(path.read_text())["points"] if path.is_file() else []


def run(args: argparse.Namespace) -> dict[str, Any]:
    arena = OmegaConf.load(REPO / "conf" / "arena.yaml")
    faces = prepare_faces(arena, Path(args.data))
    specs = [(recipe, int(epochs)) for recipe, epochs in (p.split(":") for p in args.points)]
    # points run side by side as separate processes; each is timed by its own CPU seconds
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [
            pool.submit(run_point, recipe, epochs, faces["real"], Path(args.out), args.threads)
            for recipe, epochs in specs
        ]
        points = [future.result() for future in futures]
    if args.keep:  # the points of the results file that this call did not measure again
        points += [p for p in previous_points() if (p["recipe"], p["epochs"]) not in specs]
    points.sort(key=lambda p: (p["recipe"], p["train"]["cpu_seconds"]))
    columns = ["recipe", "epochs", "train_cpu_minutes", "steps_per_cpu_second", *METRICS]
    print_table([{k: p[k] for k in columns} for p in points], columns)
    checks = []
    for p in points:
        blend = p["blend_same_rows"]
        label = f"{p['recipe']} {p['epochs']} ep ({p['train_cpu_minutes']:.1f} CPU-min)"
        checks += [
            check(
                f"{label}: truth PSNR",
                ours=p["truth_psnr"],
                unit="dB",
                baseline=blend["truth_psnr"],
                baseline_name="blend, same rows",
                target=">= blend",
                passed=p["truth_psnr"] >= blend["truth_psnr"],
            ),
            check(
                f"{label}: truth gain",
                ours=p["truth_gain_db"],
                unit="dB",
                baseline=blend["truth_gain_db"],
                baseline_name="blend, same rows",
                target="> 0",
                passed=p["truth_gain_db"] > 0,
            ),
            check(
                f"{label}: closer to truth",
                ours=p["closer_to_truth"],
                unit="",
                baseline=blend["closer_to_truth"],
                baseline_name="blend, same rows",
                target=f">= {CLOSER_TARGET}",
                passed=p["closer_to_truth"] >= CLOSER_TARGET,
            ),
        ]
    return {
        "clock": "process CPU seconds (user + system) of the train stage, one thread",
        "threads": args.threads,
        "points": points,
        "checks": checks,
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--points", nargs="+", default=["ellipse32:20", "masked64:8"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="points run at the same time")
    parser.add_argument(
        "--keep", action="store_true", help="keep the results file's other points (a curve"
        " measured in several calls)"
    )
    parser.add_argument("--data", default=str(REPO / ".cache" / "faceswap_truth" / "faces"))
    parser.add_argument("--out", default=str(RESULTS_DIR / "faceswap"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    bad = [p for p in args.points if p.split(":")[0] not in RECIPES or ":" not in p]
    if bad:
        raise SystemExit(f"--points {bad}: give RECIPE:EPOCHS with RECIPE in {sorted(RECIPES)}")
    payload = run(args)
    path = write_results("faceswap_mask", payload)
    print_checks(payload["checks"])
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

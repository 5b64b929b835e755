"""The arena's face swap against the learned-mask swap on its 40 test people, per CPU-minute.

Renders the arena's faces as `fakearena arena` does (`conf/arena.yaml`: its people per split,
the test people's generator shots and the source shots of their blended fakes), then, for each
point `RECIPE:EPOCHS`, runs the arena's own two face-swap stages
(`fakearena.runs.arena.generator_stages` with only the `faceswap` entry, its `task=` replaced by
the recipe's overrides and `trainer.max_epochs=EPOCHS`): `fakearena train` (one decoder per
test person, batch 40, 960 faces an epoch) and `fakearena generate` of the 800 swaps that
mirror the test people's blended fakes row for row. The clock is the train stage's process CPU
time (user + system, one thread: fair on a shared machine). Every point's fake set holds the
same rows; the reference is the synthetic blended fake of exactly those rows (same target
shot, donor and true swap), which must equal the arena's own `blend` test-split record
(`fakes/blend/results.json`). Writes benchmarks/results/faceswap_mask40.json (after every
point, keeping the file's other points) and per point a preview (source | truth | fake | mask,
one face of each of the first 8 people) under benchmarks/results/faceswap/.

    python -m benchmarks.faceswap_mask40 --points arena:20 masked64:20 masked64:40 --jobs 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import RESULTS_DIR, check, print_checks, print_table, write_results
from benchmarks._faceswap_runs import CLOSER_TARGET, REPO, blend_same_rows, run_cli
from fakearena.data.manifest import read_manifest
from fakearena.data.masks import read_mask
from fakearena.data.media import load_image
from fakearena.data.synthetic import SyntheticRenderer, synth_key
from fakearena.metrics.identity_model import cached_identity_model
from fakearena.metrics.synthetic_swap_identity import EMBEDDING as SWAP_ID_EMBEDDING
from fakearena.metrics.synthetic_swap_identity import inner_face_settings
from fakearena.results import read_results
from fakearena.runs.arena import generator_stages, score_blend_truth
from fakearena.runs.populations import prepare_faces, swap_group

NAME = "faceswap_mask40"
ENTRY = "faceswap"
# recipe -> what replaces the entry's `task=faceswap` (the rest of the entry stays)
RECIPES: dict[str, list[str]] = {
    "arena": ["task=faceswap"],
    "masked64": ["task=faceswap_masked"],
    # without batch norm: a batch of 40 holds one face of each person, so each decoder's
    # batch norm sees one face in training (its own statistics) and running averages at test
    "masked64_nonorm": ["task=faceswap_masked", "generator.norm=none"],
    "arena_nonorm": ["task=faceswap", "generator.norm=none"],
    # batch norm in the shared encoder (it sees the whole batch), a batch-independent norm (or
    # none) in the decoders: the same in training and at test time
    "arena_dec_instance": ["task=faceswap", "generator.decoder_norm=instance"],
    "arena_dec_group": ["task=faceswap", "generator.decoder_norm=group"],
    "arena_dec_none": ["task=faceswap", "generator.decoder_norm=none"],
    # fewer people a batch, more faces of each: batch 40 = 8 people x 5 faces, 4 x 10
    "arena_ppb8": ["task=faceswap", "data.people_per_batch=8"],
    "arena_ppb4": ["task=faceswap", "data.people_per_batch=4"],
    "arena_ppb8_instance": [
        "task=faceswap",
        "generator.decoder_norm=instance",
        "data.people_per_batch=8",
    ],
    # the same with DSSIM mixed into the loss (half and half), and on the learned-mask network
    "arena_ppb8_instance_ssim": [
        "task=faceswap",
        "generator.decoder_norm=instance",
        "data.people_per_batch=8",
        "task.ssim_weight=0.5",
    ],
    "arena_ssim": ["task=faceswap", "task.ssim_weight=0.5"],
    "masked64_ppb8_instance": [
        "task=faceswap_masked",
        "generator.decoder_norm=instance",
        "data.people_per_batch=8",
    ],
    # one decoder for all people, per-person latent maps and instance-norm affines
    "arena_shared": ["task=faceswap", "generator.decoders=shared"],
}
# the identity terms on top of the arena's recipe (8 people x 5 faces, instance norm, DSSIM):
# a latent identity adversary (`adv`) and the swap identity loss (`swapid`) at their weights
_ARENA_NOW = RECIPES["arena_ppb8_instance_ssim"]
for _name, _overrides in {
    "adv0.03": ["task.latent_adversary_weight=0.03"],
    "adv0.1": ["task.latent_adversary_weight=0.1"],
    "adv0.3": ["task.latent_adversary_weight=0.3"],
    "adv1": ["task.latent_adversary_weight=1.0"],
    "swapid0.01": ["task.swap_identity_weight=0.01"],
    "swapid0.1": ["task.swap_identity_weight=0.1"],
    "swapid1": ["task.swap_identity_weight=1.0"],
    "adv0.1_swapid0.01": ["task.latent_adversary_weight=0.1", "task.swap_identity_weight=0.01"],
    # the swap classifier behind a 1-pixel Gaussian low-pass (pixel speckle cannot fool it)
    **{
        f"adv0.1_swapid{w}_blur1": [
            "task.latent_adversary_weight=0.1",
            f"task.swap_identity_weight={w}",
            "task.swap_identity_blur=1.0",
        ]
        for w in ("0.01", "0.1", "1")
    },
    # the swap classifier also learns swaps as a class of their own (it adapts, AC-GAN style)
    **{
        f"adv0.1_swapid{w}_fake": [
            "task.latent_adversary_weight=0.1",
            f"task.swap_identity_weight={w}",
            "task.swap_identity_fake_class=true",
        ]
        for w in ("0.01", "0.1")
    },
}.items():
    RECIPES[f"arena_ppb8_instance_ssim_{_name}"] = [*_ARENA_NOW, *_overrides]
# a second draw of the training's augmentations (task.seed; the data, its split and the
# network's initial weights stay those of the arena's seed): how much a point moves by chance
RECIPES["arena_ppb8_instance_ssim_tseed1"] = [*_ARENA_NOW, "task.seed=1"]
for _name in (
    "adv0.1",
    "adv0.03",
    "adv0.1_swapid0.01",
    "adv0.1_swapid0.01_blur1",
    "adv0.1_swapid0.01_fake",
):
    RECIPES[f"arena_ppb8_instance_ssim_{_name}_tseed1"] = [
        *RECIPES[f"arena_ppb8_instance_ssim_{_name}"],
        "task.seed=1",
    ]
# where the identity terms have room: a wider network (32 channels, about 4x the compute an
# epoch) and the 64-px learned-mask network, each with the latent adversary
RECIPES["arena_ppb8_instance_ssim_adv0.1_w32"] = [
    *RECIPES["arena_ppb8_instance_ssim_adv0.1"],
    "generator.width=32",
]
# one shared decoder told whose face by a per-person map and norm (SimSwap-style injection),
# with the adversary keeping the person out of the latent: the decoder must take it from the map
RECIPES["arena_ppb8_instance_ssim_adv0.1_shared"] = [
    *RECIPES["arena_ppb8_instance_ssim_adv0.1"],
    "generator.decoders=shared",
]
RECIPES["masked64_ppb8_instance_ssim_adv0.1"] = [
    *RECIPES["masked64_ppb8_instance"],
    "task.ssim_weight=0.5",
    "task.latent_adversary_weight=0.1",
]
METRICS = (
    "truth_psnr",
    "truth_ssim",
    "source_psnr",
    "truth_gain_db",
    "closer_to_truth",
    "outside_rmse",
    "outside_changed",
)
# the donor's ID retrieval of every fake (`id_scores`), beside the true swaps' of the same rows
ID_METRICS = ("id_top1", "id_top5", "id_top1_truth")
_WRITE = threading.Lock()


def entry_with(arena: DictConfig, recipe: str, epochs: int) -> DictConfig:
    """The arena config with only the face-swap entry, trained by `recipe` for `epochs`: the
    entry's `task=` replaced by the recipe's overrides, its own values of the keys any recipe
    sets (`generator.norm`, ...) and its epochs dropped."""
    cfg = arena.copy()
    recipe_keys = {o.split("=", 1)[0] for r in RECIPES.values() for o in r}
    train = [str(a) for a in arena.generators[ENTRY].train]
    at = next(i for i, a in enumerate(train) if a.startswith("task="))
    kept = [
        a
        for a in train
        if a.split("=", 1)[0] not in recipe_keys and not a.startswith("trainer.max_epochs=")
    ]
    before = sum(1 for a in kept if train.index(a) < at)
    train = [*kept[:before], *RECIPES[recipe], *kept[before:], f"trainer.max_epochs={epochs}"]
    cfg.generators = {ENTRY: {**OmegaConf.to_container(arena.generators[ENTRY]), "train": train}}
    return cfg


def prepare(arena: DictConfig, work: Path) -> list[str]:
    """The arena's faces for a face swap of its test people (written once), the blend
    reference record and the identity models its ID metrics use (trained once, so no point
    pays for them). Returns the entry's test people."""
    _, _, instances = generator_stages(entry_with(arena, "arena", 1), work, work / "real.csv")
    faces = prepare_faces(arena, work / "data", ("test",), swap_group(instances))
    score_blend_truth(faces["blend"], work / "fakes" / "blend")
    options = dict((arena.get("confound") or {}).get("identity_model") or {})
    # held-out swaps and fakes alike are pasted back into the arena's full-size faces
    settings = inner_face_settings(int(arena.seed), int(arena.faces.size), options)
    cached_identity_model(settings, work / "testsets")
    return list(instances[0].people)


def rows_digest(fakes_csv: Path) -> str:
    """SHA-256 of the fake set's rows as sorted (identity, shot, donor, seed): every point's
    must be the same."""
    keys = sorted(synth_key(r) for r in read_manifest(fakes_csv).frame.to_dict("records"))
    return hashlib.sha256(json.dumps(keys).encode()).hexdigest()


def preview(fakes_csv: Path, path: Path, people: int = 8) -> Path:
    """Rows of source | truth | fake | the mask it was pasted through: the first fake of each
    of the first `people` source people (sorted)."""
    manifest = read_manifest(fakes_csv)
    frame = manifest.frame
    renderer = SyntheticRenderer(int(manifest.card.image_size or 64))
    rows = []
    for _, group in list(frame.groupby("source_identity", sort=True))[:people]:
        i = group.index[0]
        row = frame.loc[i].to_dict()
        mask = np.round(read_mask(manifest.root / row["mask"]) * 255).astype(np.uint8)
        tiles = [renderer.render_source(row), renderer.render_truth(row)]
        fake = load_image(manifest.abspath(i))
        rows.append(np.concatenate([*tiles, fake, np.repeat(mask[..., None], 3, 2)], 1))
    grid = np.concatenate(rows, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).resize((grid.shape[1] * 3, grid.shape[0] * 3), Image.NEAREST).save(path)
    return path


def id_scores(fakes_csv: Path, seed: int, cache: Path) -> dict[str, Any]:
    """Donor ID retrieval of every fake of the set and of the true swaps of the same rows,
    with the swap metrics' embedding (`benchmarks.synthetic_identity.fake_set`)."""
    from benchmarks.synthetic_identity import arena_rows, fake_set

    people, _ = arena_rows(seed)
    found = fake_set(fakes_csv, people, seed, cache, None)
    fakes, truths = found["fakes"], found["true_swaps_of_the_same_rows"]
    return {
        "id_top1": fakes["top1"],
        "id_top5": fakes["top5"],
        "id_top1_truth": truths["top1"],
        "id_rows": fakes["n"],
        "id_embedding": SWAP_ID_EMBEDDING,
    }


# what the run's own identity classifiers say on held-out faces (`task.latent_adversary_weight`,
# `task.swap_identity_weight`; `fakearena.tasks.faceswap_identity`): the swap term's own view,
# not an independent metric
RUN_ID_METRICS = ("latent_id_top1", "id_classifier_top1", "swap_id_top1")


def run_identity_metrics(run_dir: Path) -> dict[str, float]:
    """`run_<metric>` of the run's identity terms at its checkpoint (none when they were off)."""
    path = run_dir / "generators" / ENTRY
    metrics = read_results(path)["metrics"] if (path / "results.json").is_file() else {}
    return {
        f"run_{k}": round(metrics[f"val/{k}"]["value"], 4)
        for k in RUN_ID_METRICS
        if f"val/{k}" in metrics
    }


def run_point(arena: DictConfig, recipe: str, epochs: int, work: Path, out: Path) -> dict:
    """Train and generate once as the arena would: CPU seconds and the fake set's metrics."""
    run_dir = work / f"{recipe}_{epochs}ep"
    cfg = entry_with(arena, recipe, epochs)
    trains, generates, _ = generator_stages(cfg, run_dir, work / "data" / "real.csv")
    # the identity models prepared once (the arena keeps them in its testsets/ too)
    moved = (str(run_dir / "testsets"), str(work / "testsets"))
    train_args = [a.replace(*moved) for a in trains[0].args]
    generate_args = [a.replace(*moved) for a in generates[0].args]
    generate_args.insert(-1, "overwrite=true")
    train = run_cli(train_args, run_dir / "train.log", 1)
    generate = run_cli(generate_args, run_dir / "generate.log", 1)
    fake_dir = run_dir / "fakes" / ENTRY
    fakes = read_results(fake_dir)["metrics"]
    steps = read_results(run_dir / "generators" / ENTRY).get("training", {}).get("batches")
    point = {
        "recipe": recipe,
        "overrides": RECIPES[recipe],
        "epochs": epochs,
        "steps": steps,
        "train_cpu_minutes": round(train["cpu_seconds"] / 60, 2),
        "train": train,
        "generate": generate,
        "n": fakes["fakes/truth_psnr"]["n"],
        **{k: round(fakes[f"fakes/{k}"]["value"], 4) for k in METRICS if f"fakes/{k}" in fakes},
        **id_scores(fake_dir / f"{ENTRY}.csv", int(arena.seed), work / "testsets"),
        **run_identity_metrics(run_dir),
        "rows_sha256": rows_digest(fake_dir / f"{ENTRY}.csv"),
        "preview": str(preview(fake_dir / f"{ENTRY}.csv", out / f"{NAME}_{recipe}_{epochs}ep.png")),
    }
    print(json.dumps(point), flush=True)
    return point


def blend_reference(work: Path, fakes_csv: Path) -> dict[str, Any]:
    """The blended fakes of the fake set's rows, rendered, beside the arena's own `blend`
    record of its test split (the same 800 rows: `checks` compares the two)."""
    record = read_results(work / "fakes" / "blend")["metrics"]
    arena_test = {
        k.split("/")[-1]: round(v["value"], 4) for k, v in record.items() if "/test/" in k
    }
    return {"same_rows": blend_same_rows(fakes_csv), "arena_blend_test": arena_test}


def point_checks(p: dict[str, Any], blend: dict[str, float]) -> list[dict[str, Any]]:
    """The issue's three targets of one point, against the blends of the same rows."""
    label = f"{p['recipe']} {p['epochs']} ep ({p['train_cpu_minutes']:.1f} CPU-min)"
    targets = (
        ("truth PSNR", "truth_psnr", "dB", ">= blend", p["truth_psnr"] >= blend["truth_psnr"]),
        ("truth gain", "truth_gain_db", "dB", "> 0", p["truth_gain_db"] > 0),
        (
            "closer to truth",
            "closer_to_truth",
            "",
            f">= {CLOSER_TARGET}",
            p["closer_to_truth"] >= CLOSER_TARGET,
        ),
    )
    return [
        check(
            f"{label}: {name}",
            ours=p[key],
            unit=unit,
            baseline=blend[key],
            baseline_name="blend, same rows",
            target=target,
            passed=passed,
        )
        for name, key, unit, target, passed in targets
    ]


def payload(points: list[dict[str, Any]], reference: dict[str, Any]) -> dict[str, Any]:
    """The results file: points, the blend reference and the checks."""
    points = sorted(points, key=lambda p: (p["recipe"], p["epochs"]))
    same, arena_test = reference["same_rows"], reference["arena_blend_test"]
    checks = [
        check(
            "blends of the swaps' rows = the arena's blend test split (truth PSNR)",
            ours=same["truth_psnr"],
            unit="dB",
            baseline=arena_test["truth_psnr"],
            baseline_name="fakes/blend test",
            target="equal (0.01 dB)",
            passed=abs(same["truth_psnr"] - arena_test["truth_psnr"]) <= 0.01,
        ),
        check(
            "every point's fake set holds the same rows",
            ours=len({p["rows_sha256"] for p in points}),
            unit="row sets",
            target="1",
            passed=len({p["rows_sha256"] for p in points}) == 1,
        ),
    ]
    for p in points:
        checks += point_checks(p, same)
    return {
        "clock": "process CPU seconds (user + system) of the train stage, one thread; the "
        "identity models of the ID metrics trained beforehand",
        "threads": 1,
        "entry": "conf/arena.yaml generators.faceswap, its task= replaced by the recipe",
        "blend_same_rows": same,
        "arena_blend_test": arena_test,
        "points": points,
        "checks": checks,
    }


def previous_points(results: Path) -> list[dict[str, Any]]:
    """The points of the results file (none when there is none)."""
    path = results / f"{NAME}.json"
    return json.loads(path.read_text())["points"] if path.is_file() else []


def fake_set_of(work: Path, recipe: str, epochs: int) -> Path:
    """The fake-set manifest of a point's run folder."""
    return work / f"{recipe}_{epochs}ep" / "fakes" / ENTRY / f"{ENTRY}.csv"


def rescore_ids(arena: DictConfig, work: Path, results: Path) -> Path:
    """Every point of the results file whose fake set is under `work`: its ID scores again,
    with today's embedding, and its run's identity-term metrics (the other numbers are kept;
    points without a fake set there keep theirs). Raises FileNotFoundError when no point's
    fake set is under `work`."""
    points = previous_points(results)
    found = []
    for point in points:
        fakes_csv = fake_set_of(work, point["recipe"], point["epochs"])
        if fakes_csv.is_file():
            point.update(id_scores(fakes_csv, int(arena.seed), work / "testsets"))
            point.update(run_identity_metrics(work / f"{point['recipe']}_{point['epochs']}ep"))
            found.append(fakes_csv)
            print(point["recipe"], point["epochs"], point["id_top1"], flush=True)
    if not found:
        raise FileNotFoundError(
            f"no point of {results / f'{NAME}.json'} has its fake set under {work} (e.g. "
            f"{fake_set_of(work, '<recipe>', 0)}); give --work the folder the points ran in"
        )
    return write_results(NAME, payload(points, blend_reference(work, found[0])), results)


def run(args: argparse.Namespace) -> Path:
    """Measure the points (`--jobs` at a time); after each, the results file is rewritten with
    it in place of the file's point of the same recipe and epochs (the others are kept)."""
    arena = OmegaConf.load(REPO / "conf" / "arena.yaml")
    work, out = Path(args.work), Path(args.out)
    people = prepare(arena, work)
    print(f"{len(people)} people; faces in {work / 'data'}", flush=True)
    specs = [(recipe, int(epochs)) for recipe, epochs in (p.split(":") for p in args.points)]
    results = Path(args.results)
    if args.rescore_ids:
        return rescore_ids(arena, work, results)
    reference: dict[str, Any] = {}
    written = results / f"{NAME}.json"

    def measure(recipe: str, epochs: int) -> None:
        point, key = run_point(arena, recipe, epochs, work, out), (recipe, epochs)
        fakes_csv = fake_set_of(work, recipe, epochs)
        with _WRITE:
            if not reference:
                reference.update(blend_reference(work, fakes_csv))
            # the file as it is now (another call may have added points), this one replaced
            kept = [p for p in previous_points(results) if (p["recipe"], p["epochs"]) != key]
            write_results(NAME, payload([*kept, point], reference), results)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for future in [pool.submit(measure, recipe, epochs) for recipe, epochs in specs]:
            future.result()
    record = json.loads(written.read_text())
    columns = ["recipe", "epochs", "steps", "train_cpu_minutes", *METRICS[:5]]
    print_table([{k: p.get(k) for k in columns} for p in record["points"]], columns)
    print_checks(record["checks"])
    return written


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--points", nargs="+", default=["arena:20", "masked64:20"])
    parser.add_argument("--jobs", type=int, default=1, help="points run at the same time")
    parser.add_argument("--work", default=str(REPO / ".cache" / NAME), help="run folders")
    parser.add_argument("--out", default=str(RESULTS_DIR / "faceswap"), help="previews")
    parser.add_argument("--results", default=str(RESULTS_DIR), help=f"folder of {NAME}.json")
    parser.add_argument(
        "--rescore-ids", action="store_true",
        help="only score the ID retrieval of the file's points again (their fake sets in --work)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    bad = [p for p in args.points if ":" not in p or p.split(":")[0] not in RECIPES]
    if bad:
        parser.error(f"--points {bad}: give RECIPE:EPOCHS with RECIPE in {sorted(RECIPES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    path = run(parse(sys.argv[1:] if argv is None else argv))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

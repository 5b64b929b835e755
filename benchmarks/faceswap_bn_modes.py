"""Does the face swap's decoder batch norm differ between training and test time on the
arena's 40 people? Checkpoints of `benchmarks.faceswap_mask40` points, scored in both modes.

A batch of one face of each of the 40 people gives each decoder one face a step, so in
training its batch norm normalises that face by the face's own statistics, while swaps and
validation use the running averages (eval mode). For each point's best checkpoint this
measures, with the decoders' batch norm in eval mode and in training mode (each face alone,
its own statistics; running averages left untouched): the reconstruction MSE of the people's
training and validation faces (the network's crop), and the truth metrics of the 800 swaps
that mirror the blended fakes (`fakearena.generation.swapper.Swapper`, the arena's fake set's
rows and paste-back; eval mode must give the point's committed numbers). Writes
benchmarks/results/faceswap_bn_modes.json.

    python -m benchmarks.faceswap_bn_modes --runs arena_20ep arena_320ep masked64_20ep --work W

(W: the --work folder of the faceswap_mask40 run that trained those points.)
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import RESULTS_DIR, check, print_checks, write_results
from benchmarks.faceswap_mask40 import ENTRY, METRICS
from benchmarks.faceswap_mask40 import NAME as POINTS_NAME
from fakearena.data.manifest import read_manifest
from fakearena.data.media import load_image
from fakearena.generation.swapper import Swapper, blend_recipe, synth_donors
from fakearena.generation.truth import TruthScorer
from fakearena.metrics.swap_truth import summarise_truth
from fakearena.tasks.checkpoints import restore_task

NAME = "faceswap_bn_modes"
MODES = ("eval", "train_one_face")


def in_mode(task: Any, mode: str) -> Any:
    """A copy of the task in eval mode, its decoders' batch norm in training mode for
    `train_one_face` (momentum 0: the running averages stay as trained)."""
    task = copy.deepcopy(task).eval()
    if mode == "train_one_face":
        for module in task.net.decoders.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.train()
                module.momentum = 0.0
    return task


@torch.no_grad()
def reconstruction_mse(task: Any, shots_csv: Path, split: str) -> float:
    """Mean squared error of each face of `split` reconstructed alone by its own decoder."""
    manifest = read_manifest(shots_csv)
    rows = manifest.frame[manifest.frame["split"] == split]
    errors = []
    for i, name in zip(rows.index, rows["identity"]):
        image = torch.from_numpy(load_image(manifest.abspath(i))).permute(2, 0, 1)[None] / 255.0
        face = task.model_view(image.float())
        code = torch.tensor([task.identity_names.index(name)])
        errors.append(float((task.reconstruct(face, code) - face).square().mean()))
    return float(np.mean(errors))


@torch.no_grad()
def swap_truth(task: Any, sources_csv: Path, shots_csv: Path) -> dict[str, float]:
    """Truth metrics of the swaps of the swap sources, one face at a time."""
    manifest = read_manifest(sources_csv)
    names = task.identity_names
    donors = synth_donors(read_manifest(shots_csv).frame, names)
    swapper, scorer, scores = Swapper(task, blend_recipe(task)), TruthScorer(), []
    for i, row in manifest.frame.iterrows():
        target, source = names.index(row["swap_target"]), names.index(row["identity"])
        fake = swapper([load_image(manifest.abspath(i))], target, source)[0]
        truth_row = {**row.to_dict(), "synth_donor": donors[row["swap_target"]]}
        scores.append(scorer.score(truth_row, fake))
    found = summarise_truth([s for s in scores if s is not None])
    return {k: round(float(found[k]), 4) for k in (*METRICS, "n")}


def measure(run: str, work: Path) -> dict[str, Any]:
    """Both modes of one point's best checkpoint."""
    data = work / "data"
    task = restore_task(work / run / "generators" / ENTRY / "checkpoints" / "best.ckpt")
    out: dict[str, Any] = {"run": run}
    for mode in MODES:
        moded = in_mode(task, mode)
        out[mode] = {
            "train_mse": round(reconstruction_mse(moded, data / "shots_test.csv", "train"), 6),
            "val_mse": round(reconstruction_mse(moded, data / "shots_test.csv", "val"), 6),
            **swap_truth(moded, data / "swap_sources.csv", data / "shots_test.csv"),
        }
        print(run, mode, json.dumps(out[mode]), flush=True)
    return out


def committed_point(run: str, results: Path) -> dict[str, Any] | None:
    """The faceswap_mask40 point of the run folder `<recipe>_<epochs>ep`, if committed."""
    recipe, epochs = run.rsplit("_", 1)
    points = json.loads((results / f"{POINTS_NAME}.json").read_text())["points"]
    return next(
        (p for p in points if p["recipe"] == recipe and f"{p['epochs']}ep" == epochs), None
    )


def checks(runs: list[dict[str, Any]], results: Path) -> list[dict[str, Any]]:
    """Eval mode reproduces each point's committed truth PSNR and closer share."""
    rows = []
    for r in runs:
        point = committed_point(r["run"], results)
        if point is None:
            continue
        for key in ("truth_psnr", "closer_to_truth"):
            rows.append(
                check(
                    f"{r['run']}: eval-mode {key} = the committed point's",
                    ours=r["eval"][key],
                    unit="",
                    baseline=point[key],
                    baseline_name=f"{POINTS_NAME}.json",
                    target="equal (0.001)",
                    passed=abs(r["eval"][key] - point[key]) <= 1e-3,
                )
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--runs", nargs="+", required=True, help="point folders in --work")
    parser.add_argument("--work", required=True, help="benchmarks.faceswap_mask40's --work")
    parser.add_argument("--results", default=str(RESULTS_DIR))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(1)
    results = Path(args.results)
    runs = [measure(run, Path(args.work)) for run in args.runs]
    payload = {"modes": list(MODES), "runs": runs, "checks": checks(runs, results)}
    path = write_results(NAME, payload, results)
    print_checks(payload["checks"])
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The default arena's outcome as committed numbers: `make demo`'s run folder -> JSON.

    python -m benchmarks.arena_demo outputs/arena/demo

Reads what `fakearena arena` wrote (arena.json, testsets/<set>.json and testsets/<set>/
results.json, detectors/*/results.json, generators/*/results.json, fakes/*/results.json) and
writes `benchmarks/results/arena_demo/summary.json`: per test set its population and confound
check, per detector its AUC on each test set, per generator its quality and training facts,
the stage times, plus copies of the sample grids and the swap preview. README's "What the
default arena shows" is read from it (tests/test_doc_numbers.py).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from benchmarks._common import write_json

OUT = Path(__file__).resolve().parent / "results" / "arena_demo"
GENERATOR_KEYS = ("test/fid", "test/fid_floor", "test/precision", "test/recall")
SWAP_KEYS = (
    "fakes/truth_psnr",
    "fakes/truth_gain_db",
    "fakes/closer_to_truth",
    "fakes/outside_rmse",
    "fakes/outside_changed",
    # the blends' test rows: the rows the face swap mirrors (same shots, donors, regions)
    "fakes/test/truth_psnr",
    "fakes/test/outside_rmse",
    "fakes/test/outside_changed",
    # ID retrieval of the swaps and of the true swaps of the same rows (the embedding's ceiling)
    "fakes/id_top1",
    "fakes/id_top1_truth",
    "fakes/id_similarity",
    "fakes/id_similarity_target",
)


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _values(metrics: dict, keys) -> dict:
    return {k: round(metrics[k]["value"], 4) for k in keys if k in metrics}


def summarise(run: Path) -> dict:
    arena = _read(run / "arena.json")
    summary: dict = {
        "command": "make demo (fakearena arena hydra.run.dir=outputs/arena/demo)",
        "wall_seconds": arena["wall_seconds"],
        "peak_rss_mib": arena["peak_rss_mib"],
        "stages": {s["name"]: s.get("wall_seconds") for s in arena["stages"]},
        "test_sets": {},
        "detectors": {},
        "generators": {},
    }
    for population in sorted((run / "testsets").glob("*.json")):
        name = population.stem
        check = _read(run / "testsets" / name / "results.json")["metrics"]
        pop = _read(population)
        auc = check["testset/confound_auc"]
        summary["test_sets"][name] = {
            "rows": pop["rows"],
            "identities": pop["identities"],
            "people_trained_on_by_detectors": pop["people_trained_on_by_detectors"],
            "confound_auc": round(auc["value"], 3),
            "confound_ci95": [round(v, 3) for v in auc["ci95"]],
            "confound_flagged": auc["flagged"],
            "confound_chance": round(check["testset/confound_chance_auc"]["value"], 3),
        }
        if "testset/confound_raw_auc" in check:
            entry = summary["test_sets"][name]
            entry["confound_raw"] = round(check["testset/confound_raw_auc"]["value"], 3)
        if pop.get("identity_match"):
            match = pop["identity_match"]
            summary["test_sets"][name]["identity_match"] = {
                key: match[key] for key in ("rows_before", "rows_after", "people_after")
            }
    for record in sorted((run / "detectors").glob("*/results.json")):
        metrics = _read(record)["metrics"]
        summary["detectors"][record.parent.name] = {
            name: {
                "auc": round(metrics[f"test/{name}/auc"]["value"], 3),
                "ci95": [round(v, 3) for v in metrics[f"test/{name}/auc"]["ci95"]],
                "units": metrics[f"test/{name}/auc"].get("n_units"),
            }
            for name in summary["test_sets"]
            if f"test/{name}/auc" in metrics
        }
    for record in sorted((run / "generators").glob("*/results.json")):
        data = _read(record)
        summary["generators"][record.parent.name] = {
            **_values(data["metrics"], GENERATOR_KEYS),
            "batches": data.get("training", {}).get("batches"),
        }
    for record in sorted((run / "fakes").glob("*/results.json")):
        name = record.parent.name
        metrics = _read(record)["metrics"]
        summary["generators"].setdefault(name, {}).update(_values(metrics, SWAP_KEYS))
        if "fakes/id_top1" in metrics:  # the network the ID metrics embedded with
            summary["generators"][name]["id_embedding"] = metrics["fakes/id_top1"].get("embedding")
    return summary


def main(argv: list[str] | None = None) -> Path:
    run = Path((argv or sys.argv[1:] or ["outputs/arena/demo"])[0])
    write_json(OUT / "summary.json", summarise(run), indent=1)
    for image in ("dcgan_sample_grid", "diffusion_sample_grid", "faceswap_swap_preview"):
        source = run / "report" / "images" / f"{image}.png"
        if source.is_file():
            shutil.copyfile(source, OUT / f"{image}.png")
    print(f"written: {OUT / 'summary.json'}")
    return OUT / "summary.json"


if __name__ == "__main__":
    main()

"""The detector zoo's table as committed numbers: a seeded arena run folder -> JSON + markdown.

    python -m benchmarks.detector_zoo outputs/arena/zoo

Reads the run of docs/detector_zoo.md's command (`fakearena arena ... seeds=3`): for every
detector its AUC on every test set per seed (detectors/<name>/seed<k>/results.json), their
mean and standard deviation, the units the CIs resample and the trainable parameters beside
the reference backbone's; for every method and its ablation row (`ABLATIONS`) on every test
set, the paired bootstrap of AUC(method) - AUC(ablation) across the seeds
(`fakearena.metrics.significance`: seed k with seed k, units resampled on the same rows); and
each test set's population and confound check. Writes `benchmarks/results/detector_zoo/
summary.json`; `render_table` turns it into docs/detector_zoo.md's results table
(tests/test_doc_numbers.py checks the text against the file).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

OUT = Path(__file__).resolve().parent / "results" / "detector_zoo"
COMMAND = "docs/detector_zoo.md's command (fakearena arena ... seeds=3)"
# method -> the row that differs from it only by the method's idea (docs/detector_zoo.md)
ABLATIONS = {
    "xray": "resnet",
    "f3net": "resnet",
    "f3net_rgb": "f3net",
    "srm": "resnet",
    "sbi": "sbi_ablation",
    "cnndetection": "cnndetection_ablation",
}
N_BOOTSTRAP = 1000


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def seed_runs(run: Path) -> dict[str, dict[int, Path]]:
    """Detector name -> {seed: run folder} (detectors/<name>/seed<k>/results.json)."""
    found: dict[str, dict[int, Path]] = {}
    for record in sorted((run / "detectors").glob("*/seed*/results.json")):
        seed = int(record.parent.name.removeprefix("seed"))
        found.setdefault(record.parent.parent.name, {})[seed] = record.parent
    return found


def _test_sets(record: dict) -> list[str]:
    return sorted(
        key.split("/")[1]
        for key in record["metrics"]
        if key.startswith("test/") and key.endswith("/auc") and key.count("/") == 2
    )


def detector_entry(runs: dict[int, Path]) -> dict[str, Any]:
    """Per test set: AUC per seed, mean, std (ddof 1), units; parameters of seed 0's run."""
    records = {seed: _read(folder / "results.json") for seed, folder in runs.items()}
    first = records[min(records)]
    entry: dict[str, Any] = {"seeds": sorted(records), "test_sets": {}}
    params = first.get("parameters") or {}
    entry["parameters"] = params.get("trainable")
    entry["reference"] = params.get("reference")
    entry["parameter_ratio"] = params.get("ratio")
    for name in _test_sets(first):
        values = [records[s]["metrics"][f"test/{name}/auc"] for s in sorted(records)]
        aucs = [float(v["value"]) for v in values]
        entry["test_sets"][name] = {
            "auc": [round(a, 4) for a in aucs],
            "mean": round(float(np.mean(aucs)), 4),
            "std": round(float(np.std(aucs, ddof=1)), 4) if len(aucs) > 1 else 0.0,
            "unit": values[0].get("ci_unit"),
            "units": values[0].get("n_units"),
            "flags": sorted({f for v in values for f in v.get("flags") or []}),
        }
    return entry


def _predictions(folder: Path, test_set: str) -> Path | None:
    path = folder / "test_data" / test_set / "predictions.csv"
    return path if path.is_file() else None


def ablation_entry(
    method: dict[int, Path], ablation: dict[int, Path], test_set: str
) -> dict[str, Any] | None:
    """The paired bootstrap of AUC(method) - AUC(ablation) over seeds on one test set."""
    from fakearena.report.significance import compare

    a = {s: p for s, f in method.items() if (p := _predictions(f, test_set))}
    b = {s: p for s, f in ablation.items() if (p := _predictions(f, test_set))}
    if not a or not b:
        return None
    found = compare(a, b, N_BOOTSTRAP, seed=0)
    if found is None:
        return None
    result = found["result"]
    return {
        "delta": round(result.delta, 4),
        "ci95": None if result.ci95 is None else [round(v, 4) for v in result.ci95],
        "p": None if result.p_value is None else round(result.p_value, 4),
        "verdict": result.verdict,
        "seed_pairs": result.seeds,
        "unit": result.unit,
        "units": result.n_units,
    }


def summarise(run: Path) -> dict[str, Any]:
    runs = seed_runs(run)
    if not runs:
        raise SystemExit(
            f"{run}: no detectors/<name>/seed<k>/results.json; run docs/detector_zoo.md's "
            "command (with seeds=3) into this folder first"
        )
    summary: dict[str, Any] = {"command": COMMAND, "run": str(run), "test_sets": {}}
    for population in sorted((run / "testsets").glob("*.json")):
        check = _read(run / "testsets" / population.stem / "results.json")["metrics"]
        pop = _read(population)
        summary["test_sets"][population.stem] = {
            "rows": pop["rows"],
            "identities": pop["identities"],
            "confound_auc": round(check["testset/confound_auc"]["value"], 3),
            "confound_flagged": check["testset/confound_auc"]["flagged"],
        }
    summary["generators"] = {
        record.parent.name: (_read(record).get("training") or {}).get("batches")
        for record in sorted((run / "generators").glob("*/results.json"))
    }
    summary["detectors"] = {name: detector_entry(found) for name, found in runs.items()}
    summary["ablations"] = {}
    for method, reference in ABLATIONS.items():
        if method not in runs or reference not in runs:
            continue
        for test_set in summary["detectors"][method]["test_sets"]:
            entry = ablation_entry(runs[method], runs[reference], test_set)
            if entry is not None:
                summary["ablations"].setdefault(method, {"against": reference, "test_sets": {}})
                summary["ablations"][method]["test_sets"][test_set] = entry
    return summary


def _cell(entry: dict[str, Any]) -> str:
    return f"{entry['mean']:.3f} ± {entry['std']:.3f}"


def _mark(summary: dict[str, Any], detector: str, test_set: str) -> str:
    """`*` above its ablation row significantly, `-` below it significantly, else nothing."""
    found = (summary["ablations"].get(detector) or {}).get("test_sets", {}).get(test_set)
    if not found or found["verdict"] not in ("A", "B"):
        return ""
    return " ▲" if found["verdict"] == "A" else " ▼"


def render_table(summary: dict[str, Any]) -> str:
    """docs/detector_zoo.md's results table: mean ± std over seeds per detector and test set,
    ▲/▼ where the method beats / trails its ablation row significantly."""
    sets = sorted(summary["test_sets"])
    lines = [
        "| detector | parameters | " + " | ".join(f"`{s}`" for s in sets) + " |",
        "|---|---|" + "---|" * len(sets),
    ]
    for name in sorted(summary["detectors"]):
        entry = summary["detectors"][name]
        cells = [
            _cell(entry["test_sets"][s]) + _mark(summary, name, s) if s in entry["test_sets"]
            else "-"
            for s in sets
        ]
        params = entry.get("parameters")
        shown = "-" if params is None else f"{params:,}"
        lines.append(f"| `{name}` | {shown} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.detector_zoo")
    parser.add_argument("run", type=Path, help="the zoo's arena run folder")
    parser.add_argument("--out", type=Path, default=OUT, help="where summary.json goes")
    args = parser.parse_args(argv)
    summary = summarise(args.run)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", "utf-8")
    (args.out / "table.md").write_text(render_table(summary) + "\n", encoding="utf-8")
    print(render_table(summary))
    print(f"wrote {args.out / 'summary.json'}")


if __name__ == "__main__":
    main(sys.argv[1:])

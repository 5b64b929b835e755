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

from benchmarks._common import write_json
from benchmarks._seed_runs import auc_cell, paired_difference
from fakearena.report.records import RunRecord
from fakearena.results import read_results

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


def seed_runs(run: Path) -> dict[str, list[RunRecord]]:
    """Detector name -> its runs, one per seed (detectors/<name>/seed<k>/results.json)."""
    found: dict[str, list[RunRecord]] = {}
    records = (run / "detectors").glob("*/seed*/results.json")
    for record in sorted(records, key=lambda r: int(r.parent.name.removeprefix("seed"))):
        folder = record.parent
        found.setdefault(folder.parent.name, []).append(RunRecord(read_results(folder), folder))
    return found


def _test_sets(record: dict) -> list[str]:
    return sorted(
        key.split("/")[1]
        for key in record["metrics"]
        if key.startswith("test/") and key.endswith("/auc") and key.count("/") == 2
    )


def detector_entry(runs: list[RunRecord]) -> dict[str, Any]:
    """Per test set its AUC cell over the seeds (`auc_cell`); parameters of the first run."""
    first = runs[0].record
    params = first.get("parameters") or {}
    return {
        "seeds": [r.seed for r in runs],
        "parameters": params.get("trainable"),
        "reference": params.get("reference"),
        "parameter_ratio": params.get("ratio"),
        "test_sets": {name: auc_cell(runs, name) for name in _test_sets(first)},
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
            entry = paired_difference(runs[method], runs[reference], test_set, N_BOOTSTRAP, 0)
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
    write_json(args.out / "summary.json", summary, indent=1)
    (args.out / "table.md").write_text(render_table(summary) + "\n", encoding="utf-8")
    print(render_table(summary))
    print(f"wrote {args.out / 'summary.json'}")


if __name__ == "__main__":
    main(sys.argv[1:])

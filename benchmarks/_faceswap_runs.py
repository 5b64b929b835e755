"""What the face-swap benchmarks share: one `fakearena` stage in a subprocess with its CPU
time, and the truth metrics of the synthetic blended fakes of a fake set's very rows."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from fakearena.data.manifest import read_manifest
from fakearena.data.synthetic import SyntheticRenderer, synth_key
from fakearena.generation.truth import truth_metrics
from fakearena.metrics.swap_truth import truth_score

REPO = Path(__file__).resolve().parents[1]
CLOSER_TARGET = 0.8  # issue 25: >= 80% of fakes closer to their truth than to their source


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

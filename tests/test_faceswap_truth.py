"""Face swaps of synthetic faces are scored against their true swaps: run and fake set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fakearena.data.manifest import read_manifest
from fakearena.data.media import load_image
from fakearena.data.synthetic import SyntheticRenderer
from fakearena.generation.truth import fake_set_truth
from fakearena.metrics.swap_truth import TRUTH_METRICS, truth_score
from fakearena.results import read_results

from conftest import run_cli

SYNTH = [
    "data=synthetic",
    "data.synthetic.n_identities=3",
    "data.synthetic.per_identity=12",
    "data.image_size=32",
    "seed=0",
]


@pytest.fixture(scope="module")
def swap_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("swap") / "run"
    result = run_cli(
        "train",
        "task=faceswap",
        *SYNTH,
        "task.identities=[synth000,synth001]",
        "generator.width=8",
        "data.batch_size=4",
        "debug=fast_dev_run",
        f"hydra.run.dir={run_dir}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def test_a_face_swap_run_of_synthetic_faces_reports_truth_metrics(swap_run: Path):
    metrics = read_results(swap_run)["metrics"]
    for name in TRUTH_METRICS:
        entry = metrics[f"test/{name}"]
        assert np.isfinite(entry["value"]) and entry["n"] >= 2  # both people's held-out faces
    assert 0.0 <= metrics["test/closer_to_truth"]["value"] <= 1.0
    gain = metrics["test/truth_psnr"]["value"] - metrics["test/source_psnr"]["value"]
    assert metrics["test/truth_gain_db"]["value"] == pytest.approx(gain)


def test_a_face_swap_fake_set_names_its_truth_and_records_its_metrics(
    swap_run: Path, tmp_path: Path
):
    out = tmp_path / "fakes"
    result = run_cli(
        "generate",
        f"ckpt={swap_run / 'checkpoints' / 'best.ckpt'}",
        f"out={out}",
        "name=swaps",
        *SYNTH,
        "split=all",
        f"hydra.run.dir={out / 'run'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    fakes = read_manifest(out / "swaps.csv", check_files=True)
    frame = fakes.frame
    donors = {"synth000": 1, "synth001": 0}
    assert len(frame) == 12  # 6 real faces of each person
    renderer = SyntheticRenderer(32, seed=0)
    scores = []
    for i, row in enumerate(frame.to_dict("records")):
        source_person = int(row["source_identity"].removeprefix("synth"))
        assert int(row["synth_identity"]) == source_person and int(row["synth_seed"]) == 0
        assert int(row["synth_donor"]) == donors[row["source_identity"]]
        source = renderer.render_face(source_person, int(row["synth_index"]))
        truth = renderer.render_swap(
            source_person, int(row["synth_index"]), donors[row["source_identity"]]
        )
        scores.append(truth_score(load_image(fakes.abspath(i)), truth, source))
    record = read_results(out)
    assert record["task"] == "fakeset" and record["test_data"][0]["sha256"] == fakes.sha256
    metrics = record["metrics"]
    fake_mse = np.mean([s.mse_fake_truth for s in scores])
    assert metrics["fakes/truth_psnr"]["value"] == pytest.approx(10 * np.log10(1 / fake_mse))
    assert metrics["fakes/closer_to_truth"]["value"] == np.mean([s.closer for s in scores])
    assert metrics["fakes/truth_psnr"]["n"] == 12
    assert fakes.card.provenance["truth"]["truth_psnr"] == pytest.approx(
        metrics["fakes/truth_psnr"]["value"], abs=1e-4
    )
    # scoring the set again from disk gives the same numbers
    again = read_results(fake_set_truth(fakes, tmp_path / "again", "faceswap_ae"))["metrics"]
    assert again["fakes/truth_psnr"]["value"] == pytest.approx(metrics["fakes/truth_psnr"]["value"])

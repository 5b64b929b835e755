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
    # a share of the test fakes (what training changes is tested below, slow)
    closer = metrics["test/closer_to_truth"]
    assert closer["value"] * closer["n"] == pytest.approx(round(closer["value"] * closer["n"]))
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


def _swap_set(root: Path, *training: str) -> tuple[Path, dict]:
    """Train a face swap of synth000 and synth001 (40 faces each, 32 px), turn every real face
    of both into the other person; the fake set's manifest and its `fakes/*` metrics."""
    data = [*SYNTH, "data.synthetic.per_identity=40"]
    run = run_cli(
        "train",
        "task=faceswap",
        *data,
        "task.identities=[synth000,synth001]",
        *training,
        f"hydra.run.dir={root / 'run'}",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    fakes = root / "fakes"
    generated = run_cli(
        "generate",
        f"ckpt={root / 'run' / 'checkpoints' / 'best.ckpt'}",
        f"out={fakes}",
        "name=swaps",
        *data,
        "split=all",
        f"hydra.run.dir={fakes / 'run'}",
    )
    assert generated.returncode == 0, generated.stderr[-3000:]
    return fakes / "swaps.csv", read_results(fakes)["metrics"]


def _closer_by_person(path: Path) -> dict[str, float]:
    """Share of each source person's fakes nearer their true swap than their source,
    recomputed from the images and the renderer."""
    fakes = read_manifest(path)
    renderer = SyntheticRenderer(32, seed=0)
    closer: dict[str, list[bool]] = {}
    for i, row in enumerate(fakes.frame.to_dict("records")):
        score = truth_score(
            load_image(fakes.abspath(i)), renderer.render_truth(row), renderer.render_source(row)
        )
        closer.setdefault(row["source_identity"], []).append(score.closer)
    return {person: float(np.mean(flags)) for person, flags in closer.items()}


@pytest.mark.slow
def test_a_trained_swap_comes_nearer_the_truth_than_an_untrained_one(tmp_path: Path):
    """25 short epochs (256 faces each; 1-2.5 minutes with both runs) against one step, the
    same 40 swaps of two people, scored against their true swaps. Measured with seeds 0 / 1 / 2
    (the test runs seed 0), trained against untrained: truth SSIM 0.619 / 0.522 / 0.494
    against 0.366 / 0.308 / 0.319, truth PSNR 22.52 / 20.94 / 17.51 dB against
    20.07 / 18.92 / 16.31 dB. closer_to_truth does not separate them: 0.80 / 0.25 / 0.125
    against 0.50 / 0.40 / 0.70. A short-trained swap still looks more like its source than the
    truth, and whether an untrained (near-grey) output lies nearer the truth than the source
    depends on the two people's faces (at seed 0 synth000's untrained swaps all do, 20/20),
    so no bar is set on it; it is checked against a recomputation from the images."""
    untrained, before = _swap_set(tmp_path / "untrained", "debug=fast_dev_run")
    trained, after = _swap_set(
        tmp_path / "trained", "data.epoch_size=256", "trainer.max_epochs=25", "logger=csv"
    )
    assert after["fakes/truth_ssim"]["n"] == before["fakes/truth_ssim"]["n"] == 40
    assert after["fakes/truth_ssim"]["value"] >= before["fakes/truth_ssim"]["value"] + 0.1
    assert after["fakes/truth_psnr"]["value"] >= before["fakes/truth_psnr"]["value"] + 1.0
    for path, metrics in ((trained, after), (untrained, before)):
        by_person = _closer_by_person(path)
        closer = np.mean(list(by_person.values()))  # 20 swaps of each person
        assert metrics["fakes/closer_to_truth"]["value"] == pytest.approx(closer)

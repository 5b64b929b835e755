"""Face swaps of synthetic faces are scored against their true swaps and, as the face-swap
papers score them, by ID retrieval with the synthetic inner-face model: run and fake set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from _id_loops import gallery_centroids
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
# a small synthetic inner-face model (seconds to train), kept in a folder of this module's tests
IDENTITY_MODEL = {"people": 16, "shots": 8, "epochs": 4}


@pytest.fixture(scope="module")
def identity_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("identity_models")


@pytest.fixture(scope="module")
def swap_run(tmp_path_factory, identity_cache: Path) -> Path:
    run_dir = tmp_path_factory.mktemp("swap") / "run"
    result = run_cli(
        "train",
        "task=faceswap",
        *SYNTH,
        "task.identities=[synth000,synth001]",
        "generator.width=8",
        "data.batch_size=4",
        "debug=fast_dev_run",
        "task.identity_model={people: 16, shots: 8, epochs: 4}",
        f"task.identity_model_cache={identity_cache}",
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


@pytest.fixture(scope="module")
def swap_fakes(swap_run: Path, identity_cache: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("swap_fakes") / "fakes"
    result = run_cli(
        "generate",
        f"ckpt={swap_run / 'checkpoints' / 'best.ckpt'}",
        f"out={out}",
        "name=swaps",
        *SYNTH,
        "split=all",
        "identity_model={people: 16, shots: 8, epochs: 4}",
        f"identity_model_cache={identity_cache}",
        f"hydra.run.dir={out / 'run'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_a_face_swap_fake_set_names_its_truth_and_records_its_metrics(
    swap_fakes: Path, tmp_path: Path
):
    out = swap_fakes
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


def test_a_face_swap_run_of_synthetic_faces_reports_id_metrics(swap_run: Path):
    metrics = read_results(swap_run)["metrics"]
    n = metrics["test/mse"]["n"]  # two people: each held-out face into the other one
    for name in ("id_top1", "id_top5", "id_similarity", "id_similarity_target"):
        entry = metrics[f"test/{name}"]
        assert entry["n"] == n and entry["embedding"] == "synthetic_inner_face_model"
        assert np.isfinite(entry["value"])
    assert metrics["test/id_top1"]["chance"] == 0.5 and metrics["test/id_top5"]["k"] == 2
    assert "test/pose_error" not in metrics  # landmarks of real faces only


def test_a_synthetic_fake_set_records_id_retrieval_as_a_loop_over_its_files_computes_it(
    swap_fakes: Path, identity_cache: Path
):
    """Recomputed from the PNGs on disk, the cached model and gallery shots rendered here."""
    from fakearena.metrics.identity_model import SyntheticIdentityModel

    fakes = read_manifest(swap_fakes / "swaps.csv", check_files=True)
    metrics = read_results(swap_fakes)["metrics"]
    [model_file] = identity_cache.glob("identity_model-*.pt")
    model = SyntheticIdentityModel.load(model_file)
    people = (0, 1)  # the checkpoint's identities synth000 and synth001
    centroid = gallery_centroids(model, people, 32)
    hits, to_donor, to_target = [], [], []
    for i, row in enumerate(fakes.frame.to_dict("records")):
        swap = model.embed(load_image(fakes.abspath(i))[None]).astype(np.float64)[0]
        swap /= np.linalg.norm(swap)
        scores = {person: float(swap @ centroid[person]) for person in people}
        donor, target = int(row["synth_donor"]), int(row["synth_identity"])
        hits.append(max(people, key=lambda p: (scores[p], -p)) == donor)
        to_donor.append(scores[donor])
        to_target.append(scores[target])
    assert metrics["fakes/id_top1"]["value"] == pytest.approx(np.mean(hits))
    assert metrics["fakes/id_similarity"]["value"] == pytest.approx(np.mean(to_donor), abs=1e-5)
    assert metrics["fakes/id_similarity_target"]["value"] == pytest.approx(
        np.mean(to_target), abs=1e-5
    )
    assert metrics["fakes/id_top1"]["n"] == len(fakes.frame) == 12
    assert metrics["fakes/id_top1"]["embedding"] == "synthetic_inner_face_model"
    card = fakes.card.provenance["face_metrics"]
    assert card["embedding"] == "synthetic_inner_face_model"
    assert card["id_top1"] == pytest.approx(metrics["fakes/id_top1"]["value"], abs=1e-4)


def test_bad_identity_model_options_stop_generate_before_any_swap(swap_run: Path, tmp_path):
    from omegaconf import OmegaConf

    from fakearena.errors import ConfigError
    from fakearena.generation.faceswap import generate_fake_set
    from fakearena.generation.fakeset import CheckpointInfo
    from fakearena.tasks.checkpoints import restore_task

    path = swap_run / "checkpoints" / "best.ckpt"
    cfg = OmegaConf.create({"identity_model": {"layer": 3}, "data": {"name": "synthetic"}})
    with pytest.raises(ConfigError, match=r"identity_model \['layer'\]: \['layer'\] are not"):
        generate_fake_set(
            restore_task(path, "faceswap"), cfg, CheckpointInfo(path, "0" * 64, "faceswap"),
            tmp_path / "fakes",
        )  # fmt: skip
    assert not (tmp_path / "fakes").exists()


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

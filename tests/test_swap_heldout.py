"""The face-swap papers' ID metrics of held-out swaps and of synthetic swaps: every held-out face
into every donor, the entries against brute-force loops, the synthetic identity model with its
gallery shots, and real crops scored with dlib (an identity "swap" has no pose error and does
not carry its donor)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fakearena.data.synthetic import SyntheticRenderer
from fakearena.errors import ConfigError, DataError
from fakearena.generation.heldout_swaps import donor_pairs, heldout_face_metrics, swap_pairs
from fakearena.metrics.identity_model import SyntheticIdentityModel
from fakearena.metrics.identity_source import GALLERY_FIRST_SHOT, GALLERY_SHOTS
from fakearena.metrics.swap_identity import id_entries, identity_gallery
from fakearena.metrics.synthetic_swap_identity import (
    EMBEDDING,
    inner_face_settings,
    synthetic_id_metrics,
)

SMALL = {"people": 16, "shots": 8, "epochs": 4}  # a small identity model (~1 s to train)


def brute_force_scores(swaps, donors, targets, gallery_vectors, gallery_names):
    """top-1, top-k (k = min(5, people)), similarity to donor and to target, with loops."""

    def unit(v):
        return np.asarray(v, float) / np.linalg.norm(v)

    names = sorted(set(gallery_names))
    centroid = {}
    for name in names:
        mean = np.mean([unit(v) for v, n in zip(gallery_vectors, gallery_names) if n == name], 0)
        centroid[name] = unit(mean)
    k = min(5, len(names))
    top1 = topk = 0
    to_donor, to_target = [], []
    for swap, donor, target in zip(swaps, donors, targets):
        scores = {name: float(unit(swap) @ centroid[name]) for name in names}
        ranked = sorted(names, key=lambda n: (-scores[n], names.index(n)))
        top1 += ranked[0] == donor
        topk += donor in ranked[:k]
        to_donor.append(scores[donor])
        to_target.append(scores[target])
    n = len(swaps)
    return top1 / n, topk / n, float(np.mean(to_donor)), float(np.mean(to_target))


def test_every_held_out_face_goes_to_every_donor_and_a_limit_spreads_them():
    codes = [0, 1, 2, 1]
    pairs = donor_pairs(codes, 3, limit=100)
    expected = [(r, d) for r, c in enumerate(codes) for d in range(3) if d != c]
    assert pairs == expected and len(pairs) == 8
    assert donor_pairs(codes, 3, limit=3) == [expected[0], expected[3], expected[7]]
    assert donor_pairs(codes, 3, limit=0) == []


def test_swaps_come_back_in_the_order_of_the_pairs_batched_by_source_and_donor():
    codes = [0, 1, 0, 1, 0]
    pairs = donor_pairs(codes, 2, limit=100)
    calls = []

    def swap(images, donor, source):
        calls.append((len(images), donor, source))
        return [np.full((2, 2, 3), 10 * int(image[0, 0, 0]) + donor, np.uint8) for image in images]

    def load(row):
        return np.full((2, 2, 3), row, np.uint8)

    fakes = swap_pairs(swap, load, codes, pairs, batch_size=2)
    assert [int(f[0, 0, 0]) for f in fakes] == [10 * row + donor for row, donor in pairs]
    # three faces of identity 0 to donor 1 in batches of 2 and 1, two of identity 1 to 0
    assert sorted(calls) == [(1, 1, 0), (2, 0, 1), (2, 1, 0)]


def test_id_entries_equal_a_brute_force_ranking():
    rng = np.random.default_rng(0)
    names = [f"p{i:02d}" for i in range(12)]
    centres = rng.standard_normal((12, 12))
    vectors = np.concatenate([c + 0.3 * rng.standard_normal((4, 12)) for c in centres])
    owners = [n for n in names for _ in range(4)]
    donors = [names[i] for i in rng.integers(0, 12, 40)]
    targets = [names[i] for i in rng.integers(0, 12, 40)]
    swaps = np.stack(
        [0.4 * centres[names.index(d)] + rng.standard_normal(12) for d in donors]
    )
    entries = id_entries(swaps, donors, targets, identity_gallery(vectors, owners), "test",
                         embedding="toy")  # fmt: skip
    top1, top5, to_donor, to_target = brute_force_scores(swaps, donors, targets, vectors, owners)
    assert entries["test/id_top1"]["value"] == pytest.approx(top1)
    assert entries["test/id_top5"]["value"] == pytest.approx(top5)
    assert entries["test/id_similarity"]["value"] == pytest.approx(to_donor)
    assert entries["test/id_similarity_target"]["value"] == pytest.approx(to_target)
    assert 0 < top1 < top5 < 1  # both outcomes happen
    assert entries["test/id_top1"]["chance"] == pytest.approx(1 / 12)
    assert entries["test/id_top5"]["k"] == 5 and entries["test/id_top5"]["n"] == 40
    assert {e["embedding"] for e in entries.values()} == {"toy"}
    assert {e["gallery_identities"] for e in entries.values()} == {12}


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory) -> Path:
    torch.set_num_threads(1)
    return tmp_path_factory.mktemp("identity_models")


def rendered(people, shots, size=32, seed=0):
    renderer = SyntheticRenderer(size, seed)
    return [renderer.render_face(p, s) for p in people for s in shots]


def scored_by_loops(model, swaps, donors, targets, people):
    """`brute_force_scores` of the swaps against each person's rendered gallery shots."""
    gallery = rendered(people, range(GALLERY_FIRST_SHOT, GALLERY_FIRST_SHOT + GALLERY_SHOTS))
    owners = [str(p) for p in people for _ in range(GALLERY_SHOTS)]
    return brute_force_scores(
        model.embed(np.stack(swaps)), [str(d) for d in donors], [str(t) for t in targets],
        model.embed(np.stack(gallery)), owners,
    )


def test_synthetic_swaps_are_scored_with_the_identity_model_as_a_loop_scores_them(model_cache):
    people = [0, 1, 2, 3]
    # "swaps": real shots of each donor (not gallery shots), and each target is another person
    fakes = rendered(people, range(3))
    donors = [p for p in people for _ in range(3)]
    targets = [(p + 1) % 4 for p in donors]
    entries = synthetic_id_metrics(
        fakes, donors, targets, people, seed=0, stage="fakes", model_options=SMALL,
        cache=model_cache,
    )  # fmt: skip
    settings = inner_face_settings(0, 32, SMALL)  # the inner-face defaults, made small
    assert settings.region == "inner_face" and settings.people == SMALL["people"]
    files = list(model_cache.glob("identity_model-*.pt"))
    assert [f.name for f in files] == [f"identity_model-{settings.key()}.pt"]
    model = SyntheticIdentityModel.load(files[0])  # the cached model, read independently
    top1, top5, to_donor, to_target = scored_by_loops(model, fakes, donors, targets, people)
    assert entries["fakes/id_top1"]["value"] == pytest.approx(top1)
    assert entries["fakes/id_top5"]["value"] == pytest.approx(top5) == 1.0  # 4 people, k=4
    assert entries["fakes/id_similarity"]["value"] == pytest.approx(to_donor, abs=1e-6)
    assert entries["fakes/id_similarity_target"]["value"] == pytest.approx(to_target, abs=1e-6)
    assert top1 >= 0.75 and to_donor > to_target  # real shots of the donor carry the donor
    entry = entries["fakes/id_top1"]
    assert entry["embedding"] == EMBEDDING and entry["identity_model"] == settings.key()
    assert entry["n"] == 12 and entry["chance"] == 0.25
    mtime = files[0].stat().st_mtime_ns
    synthetic_id_metrics(fakes[:2], donors[:2], targets[:2], people, seed=0, stage="fakes",
                         model_options=SMALL, cache=model_cache)  # fmt: skip
    assert files[0].stat().st_mtime_ns == mtime  # read from the cache, not trained again


def test_a_swap_that_kept_its_target_is_not_retrieved_as_its_donor(model_cache):
    people = [0, 1, 2, 3]
    fakes = rendered(people, range(3))  # the "swap" shows its own target
    targets = [p for p in people for _ in range(3)]
    donors = [(p + 1) % 4 for p in targets]
    entries = synthetic_id_metrics(
        fakes, donors, targets, people, seed=0, stage="test", model_options=SMALL,
        cache=model_cache,
    )  # fmt: skip
    assert entries["test/id_top1"]["value"] <= 0.25
    assert entries["test/id_similarity_target"]["value"] > entries["test/id_similarity"]["value"]


def test_synthetic_id_metrics_name_a_bad_donor_and_bad_options(model_cache):
    fakes = rendered([0], range(1))
    with pytest.raises(DataError, match=r"donors \[7\] are not among the gallery's people"):
        synthetic_id_metrics(fakes, [7], [0], [0, 1], seed=0, stage="test", cache=model_cache)
    with pytest.raises(ConfigError, match=r"identity_model \['layers'\]: \['layers'\] are not"):
        synthetic_id_metrics(fakes, [1], [0], [0, 1], seed=0, stage="test",
                             model_options={"layers": 3}, cache=model_cache)  # fmt: skip
    assert synthetic_id_metrics([], [], [], [0, 1], seed=0, stage="test") == {}


class IdentitySwapTask:
    """The least a face-swap task offers the held-out metrics when `swap` is given."""

    training = False

    def __init__(self, names):
        self.identity_names = names

    def eval(self):
        return self

    def train(self, mode=True):
        return self


@pytest.fixture(scope="module")
def real_crops(fixtures_dir: Path, tmp_path_factory) -> Path:
    """64-px crops with landmarks68 of two real people (12 frames each of the FF++ 004 and
    the DFDC fixture videos), built and extracted as the README's workflow does."""
    from fakearena.data.builders.cli import main as build_main
    from fakearena.faces.cli import main as faces_main

    root = tmp_path_factory.mktemp("two_people")
    videos = {
        "004": fixtures_dir / "ffpp_mini/original_sequences/youtube/c23/videos/004.mp4",
        "lynaeydofd": fixtures_dir / "dfdc_real/lynaeydofd.mp4",
    }
    (root / "videos").mkdir()
    for name, video in videos.items():
        (root / "videos" / f"{name}.mp4").symlink_to(video)
    (root / "videos" / "people.csv").write_text(
        "path,label,identity\n" + "".join(f"{n}.mp4,real,{n}\n" for n in videos)
    )
    build = ["folder", f"csv={root / 'videos/people.csv'}", f"out={root / 'people'}"]
    assert build_main([*build, "split=train"]) == 0
    extract = [f"input={root / 'people/videos.csv'}", f"out={root / 'faces'}"]
    assert faces_main(["extract", *extract, "frames_per_video=12", "size=64",
                       "progress=false"]) == 0  # fmt: skip
    return root / "faces" / "people.csv"


def real_datamodule(crops: Path):
    from fakearena.data.identities import IdentityDataModule

    return IdentityDataModule(
        manifests=[str(crops)], identities=["004", "lynaeydofd"], image_size=64,
        test_fraction=0.25, batch_size=4,
    )  # fmt: skip


@pytest.mark.real_data
def test_real_held_out_swaps_are_scored_with_dlib(real_crops: Path):
    """A "swap" that returns its target unchanged keeps pose and expression and does not
    carry its donor; one that returns a face of the donor is retrieved as the donor."""
    datamodule = real_datamodule(real_crops)
    names = ["004", "lynaeydofd"]
    task = IdentitySwapTask(names)
    test_rows = datamodule.manifest.select(split="test", label=0)
    n = len(test_rows)  # two people: each face into the one other person
    assert n >= 4
    unchanged = heldout_face_metrics(task, datamodule, swap=lambda images, donor, src: images)
    assert unchanged["test/id_top1"]["n"] == n
    assert unchanged["test/id_top1"]["embedding"] == "dlib_face_recognition_resnet_model_v1"
    assert unchanged["test/pose_error"]["value"] < 0.5  # degrees: the same face
    assert unchanged["test/expression_error"]["value"] < 0.01
    assert unchanged["test/id_top1"]["value"] == 0.0  # it shows the target, not the donor
    similarity = unchanged["test/id_similarity"]["value"]
    assert unchanged["test/id_similarity_target"]["value"] > similarity

    dataset = datamodule.rows_dataset(test_rows, native_size=True)
    first_of = {name: int(np.flatnonzero(test_rows.frame["identity"] == name)[0])
                for name in names}  # fmt: skip

    def donor_face(images, donor, source):
        return [dataset.load(first_of[names[donor]]) for _ in images]

    carried = heldout_face_metrics(task, datamodule, swap=donor_face)
    assert carried["test/id_top1"]["value"] == 1.0
    assert carried["test/id_similarity"]["value"] > carried["test/id_similarity_target"]["value"]
    assert heldout_face_metrics(task, datamodule, limit=0, swap=donor_face) == {}
    limited = heldout_face_metrics(task, datamodule, limit=2, swap=donor_face)
    assert limited["test/id_top1"]["n"] == 2


@pytest.mark.real_data
@pytest.mark.slow
def test_a_face_swap_run_on_real_crops_records_the_papers_metrics(real_crops: Path, tmp_path):
    from fakearena.results import read_results

    from conftest import run_cli

    run_dir = tmp_path / "swap"
    result = run_cli(
        "train", "task=faceswap", "data=manifest", f"data.manifests=[{real_crops}]",
        "task.identities=[004,lynaeydofd]", "data.image_size=64", "data.test_fraction=0.25",
        "generator.width=8", "data.batch_size=4", "debug=fast_dev_run",
        f"hydra.run.dir={run_dir}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = read_results(run_dir)["metrics"]
    n = metrics["test/mse"]["n"]  # every held-out face, swapped into the other person
    for key in ("id_top1", "id_top5", "id_similarity", "id_similarity_target", "pose_error",
                "yaw_error", "pitch_error", "roll_error", "expression_error"):  # fmt: skip
        assert metrics[f"test/{key}"]["n"] == n, key
    assert metrics["test/id_top1"]["embedding"] == "dlib_face_recognition_resnet_model_v1"
    assert metrics["test/id_top1"]["chance"] == 0.5 and metrics["test/id_top5"]["k"] == 2
    assert metrics["test/pose_error"]["unit"] == "deg"


def test_held_out_rows_that_are_no_faces_get_no_face_metrics(toy_manifest: Path, capsys):
    """Noise images without landmarks: nothing to measure, and the console says why."""
    from fakearena.data.identities import IdentityDataModule

    datamodule = IdentityDataModule(
        manifests=[str(toy_manifest)], identities=["p0", "p1"], image_size=32, batch_size=4
    )
    task = IdentitySwapTask(["p0", "p1"])
    assert heldout_face_metrics(task, datamodule, swap=lambda images, d, s: images) == {}
    assert "carry no landmarks68" in capsys.readouterr().err


def test_a_negative_number_of_swaps_or_a_bad_identity_model_is_refused_before_training():
    from fakearena.models.generators.faceswap_ae import FaceSwapAE
    from fakearena.tasks.faceswap import FaceSwapTask

    net = FaceSwapAE(image_size=32, n_decoders=2, width=8)
    with pytest.raises(ConfigError, match=r"task.face_metrics_n=-1 must be >= 0 \(0: none\)"):
        FaceSwapTask(net=net, n_identities=2, face_metrics_n=-1)
    named = r"task.identity_model \['layers'\].*fields are input_size, people"
    with pytest.raises(ConfigError, match=named):
        FaceSwapTask(net=net, n_identities=2, identity_model={"layers": 3})


def test_the_true_swaps_of_the_same_rows_are_scored_beside_the_fakes(model_cache):
    """With the shots given, `*_truth` holds the same metrics of the renderer's perfect swaps
    of those rows (the ceiling of this embedding), recomputed here by a loop."""
    people = [0, 1, 2, 3]
    targets = [p for p in people for _ in range(3)]
    donors = [(p + 2) % 4 for p in targets]
    shots = [7, 8, 9] * 4
    fakes = rendered(people, range(3))
    entries = synthetic_id_metrics(
        fakes, donors, targets, people, seed=0, stage="fakes", model_options=SMALL,
        cache=model_cache, shot_indices=shots,
    )  # fmt: skip
    [model_file] = model_cache.glob("identity_model-*.pt")
    model = SyntheticIdentityModel.load(model_file)
    renderer = SyntheticRenderer(32, seed=0)
    truths = [renderer.render_swap(t, k, d) for t, k, d in zip(targets, shots, donors)]
    top1, _, to_donor, to_target = scored_by_loops(model, truths, donors, targets, people)
    assert entries["fakes/id_top1_truth"]["value"] == pytest.approx(top1)
    assert entries["fakes/id_similarity_truth"]["value"] == pytest.approx(to_donor, abs=1e-6)
    assert entries["fakes/id_similarity_target_truth"]["value"] == pytest.approx(
        to_target, abs=1e-6
    )
    assert "fakes/id_top1_truth" not in synthetic_id_metrics(
        fakes, donors, targets, people, seed=0, stage="fakes", model_options=SMALL,
        cache=model_cache,
    )  # fmt: skip

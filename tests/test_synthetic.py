"""The built-in synthetic faces: determinism, identities, blended fakes, manifests, files."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fakearena.data.landmarks import parse_landmarks
from fakearena.data.manifest import REQUIRED_COLUMNS, SPLITS, read_manifest, validate_frame
from fakearena.data.masks import read_mask
from fakearena.data.synthetic import (
    EXTRA_COLUMNS,
    SOURCE_FAKE,
    SOURCE_REAL,
    SyntheticRenderer,
    identity_splits,
    synthetic_manifest,
    write_synthetic_dataset,
)
from fakearena.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def renderer() -> SyntheticRenderer:
    return SyntheticRenderer(64, seed=0)


def test_same_seed_identity_index_gives_identical_bytes():
    a, b = SyntheticRenderer(64, seed=3), SyntheticRenderer(64, seed=3)
    assert a.render_face(2, 7).tobytes() == b.render_face(2, 7).tobytes()
    assert a.render_blended_fake(2, 7, 5).tobytes() == b.render_blended_fake(2, 7, 5).tobytes()
    # Rendering other images in between does not disturb the result (no shared random state).
    a.render_face(0, 0)
    assert a.render_face(2, 7).tobytes() == b.render_face(2, 7).tobytes()


def test_seed_identity_and_index_each_change_the_image():
    base = SyntheticRenderer(64, seed=0).render_face(1, 1)
    others = [
        SyntheticRenderer(64, seed=1).render_face(1, 1),
        SyntheticRenderer(64, seed=0).render_face(2, 1),
        SyntheticRenderer(64, seed=0).render_face(1, 2),
    ]
    for other in others:
        assert np.abs(base.astype(int) - other.astype(int)).mean() > 5


@pytest.mark.parametrize("size", [64, 128, 256, 50])
def test_any_size_renders_rgb_uint8_with_a_face_in_the_middle(size):
    img = SyntheticRenderer(size, seed=0).render_face(0, 0)
    assert img.shape == (size, size, 3) and img.dtype == np.uint8
    assert img.flags["C_CONTIGUOUS"]
    # The same scene at every size: downsampled, a large render matches a small one.
    small = SyntheticRenderer(32, seed=0).render_face(0, 0).astype(float)
    big = np.asarray(Image.fromarray(img).resize((32, 32), Image.BILINEAR), float)
    assert np.abs(small - big).mean() < 12


def test_bad_renderer_arguments_are_user_errors():
    with pytest.raises(ConfigError, match="at least 16"):
        SyntheticRenderer(8)
    with pytest.raises(ConfigError, match="non-negative"):
        SyntheticRenderer(64, seed=-1)
    with pytest.raises(DataError, match="donor identity other than the target"):
        SyntheticRenderer(64).render_blended_fake(3, 0, 3)


def _colour_histogram(img: np.ndarray) -> np.ndarray:
    """Hellinger-normalised 8x8x8 RGB histogram of the central crop (face and hair)."""
    centre = img[12:52, 12:52].reshape(-1, 3).astype(np.int64) // 32
    counts = np.bincount(centre[:, 0] * 64 + centre[:, 1] * 8 + centre[:, 2], minlength=512)
    return np.sqrt(counts / counts.sum())


def test_images_of_one_identity_are_closer_than_images_of_others(renderer):
    n_ids, n_img = 10, 8
    feats = np.array(
        [
            [_colour_histogram(renderer.render_face(i, j)) for j in range(n_img)]
            for i in range(n_ids)
        ]
    )
    dist = np.sqrt(((feats[:, :, None, None] - feats[None, None]) ** 2).sum(-1))
    off_diagonal = ~np.eye(n_img, dtype=bool)
    for i in range(n_ids):
        intra = dist[i, :, i, :][off_diagonal].mean()
        inter = np.mean([dist[i, :, k, :].mean() for k in range(n_ids) if k != i])
        assert intra < inter, f"identity {i}: intra {intra:.3f} >= inter {inter:.3f}"
    # Leave-one-out nearest centroid finds the identity far above chance (1/10).
    hits = 0
    for i in range(n_ids):
        for j in range(n_img):
            rest = np.delete(feats[i], j, axis=0).mean(0)
            centroids = feats.mean(1)
            centroids[i] = rest
            hits += int(np.argmin(((centroids - feats[i, j]) ** 2).sum(1)) == i)
    assert hits / (n_ids * n_img) >= 0.9


def test_images_of_one_identity_vary_in_pose_and_scene(renderer):
    imgs = np.stack([renderer.render_face(4, j).astype(float) for j in range(6)])
    # Not near-copies: every pair differs substantially.
    for a in range(6):
        for b in range(a + 1, 6):
            assert np.abs(imgs[a] - imgs[b]).mean() > 10


def test_blended_fake_differs_from_the_real_image_inside_the_face_only(renderer):
    size = 64
    yy, xx = np.mgrid[0:size, 0:size]
    radius = np.hypot((xx + 0.5) / size * 2 - 1, (yy + 0.5) / size * 2 - 1)
    inside = 0.0
    for identity, index, donor in [(0, 1, 3), (2, 5, 1), (5, 9, 6), (7, 2, 0), (3, 3, 4)]:
        real = renderer.render_face(identity, index).astype(int)
        fake = renderer.render_blended_fake(identity, index, donor).astype(int)
        diff = np.abs(real - fake).sum(-1)
        assert (diff > 0).mean() > 0.03, "the blend changed almost nothing"
        # The frame around the face (background, shoulders) is untouched, bit for bit.
        assert diff[radius > 0.85].max() == 0
        inside += diff[radius < 0.6].sum() / diff.sum()
    # Most of the change sits in the middle of the image, where the inner face is.
    assert inside / 5 > 0.9


def test_blended_fakes_keep_global_colour_statistics(renderer):
    """Not trivially detectable: a fake's whole-image mean colour is within a few levels of
    the real image of the same shot."""
    shifts = []
    for identity in range(6):
        real = renderer.render_face(identity, 11).reshape(-1, 3).mean(0)
        fake = renderer.render_blended_fake(identity, 11, (identity + 1) % 6)
        shifts.append(np.abs(fake.reshape(-1, 3).mean(0) - real).max())
    assert max(shifts) < 4


def test_render_row_renders_what_the_row_names(renderer):
    frame = synthetic_manifest(n_identities=3, per_identity=4, seed=0).frame
    for row in frame.to_dict("records"):
        img = renderer.render_row(row)
        if row["synth_donor"] < 0:
            expected = renderer.render_face(row["synth_identity"], row["synth_index"])
        else:
            expected = renderer.render_blended_fake(
                row["synth_identity"], row["synth_index"], row["synth_donor"]
            )
        assert np.array_equal(img, expected)
    # Rows read back from CSV hold strings; they render the same.
    row = {k: str(v) for k, v in frame.iloc[1].to_dict().items()}
    assert np.array_equal(renderer.render_row(row), renderer.render_row(frame.iloc[1].to_dict()))
    with pytest.raises(DataError, match="synth_identity"):
        renderer.render_row({"path": "x.png"})


def test_manifest_rows_follow_the_schema_and_the_arguments():
    m = synthetic_manifest(n_identities=8, per_identity=10, fake_fraction=0.3, seed=0, name="s")
    f = m.frame
    assert m.root is None and m.name == "s" and m.card.image_size == 64
    assert list(f.columns[: len(REQUIRED_COLUMNS)]) == list(REQUIRED_COLUMNS)
    assert set(EXTRA_COLUMNS) <= set(f.columns)
    assert validate_frame(f) == []
    assert len(f) == 80 and f["path"].is_unique and f["video_id"].is_unique
    assert (f["frame"] == 0).all()
    per_identity = f.groupby("identity")["label"].agg(["size", "sum"])
    assert (per_identity["size"] == 10).all() and (per_identity["sum"] == 3).all()
    assert set(f.loc[f.label == 0, "source"]) == {SOURCE_REAL}
    assert set(f.loc[f.label == 1, "source"]) == {SOURCE_FAKE}
    assert ((f.label == 0) == (f.synth_donor == -1)).all()
    row = f[f.path == "synth003/fake_00003.png"].iloc[0]
    assert row.video_id == "s/synth003/fake_00003" and row.identity == "synth003"
    assert (row.synth_identity, row.synth_index, row.label) == (3, 3, 1)


def test_splits_are_by_identity_and_each_holds_both_labels():
    m = synthetic_manifest(n_identities=20, per_identity=6, seed=5)
    f = m.frame
    assert (f.groupby("identity")["split"].nunique() == 1).all()
    ids_per_split = f.groupby("split")["identity"].nunique()
    assert ids_per_split.to_dict() == {"train": 14, "val": 3, "test": 3}
    for split in SPLITS:
        assert set(f.loc[f.split == split, "label"]) == {0, 1}
    # Donors come from the same split, or are donor-only identities seen in no image.
    split_of = dict(zip(f.synth_identity, f.split))
    for row in f[f.label == 1].itertuples():
        assert row.synth_donor != row.synth_identity
        assert split_of.get(row.synth_donor, row.split) == row.split
        if row.synth_donor not in split_of:
            assert row.synth_donor >= 20
    # The smallest dataset still gives every split one identity.
    small = synthetic_manifest(n_identities=3, per_identity=2).frame
    assert set(small.groupby("split")["identity"].nunique()) == {1}
    assert (small.groupby("split")["label"].nunique() == 2).all()


def test_explicit_identities_per_split_give_exactly_those_people():
    counts = {"train": 5, "val": 2, "test": 40}
    f = synthetic_manifest(47, per_identity=4, seed=3, identities=counts).frame
    assert f.groupby("split")["identity"].nunique().to_dict() == counts
    assert (f.groupby("identity")["split"].nunique() == 1).all()
    # every person: the same number of reals and of fakes (2 + 2 of 4 images)
    assert set(f.groupby(["identity", "label"]).size()) == {2}
    # brute force: the split of each person is the seeded permutation cut into the counts
    order = np.random.Generator(np.random.PCG64(np.random.SeedSequence([3, 4]))).permutation(47)
    expected = ["train"] * 5 + ["val"] * 2 + ["test"] * 40
    assert identity_splits(47, 3, counts) == dict(zip(order.tolist(), expected))
    # donors stay inside the split: a test fake never shows a train or val face
    split_of = dict(zip(f.synth_identity, f.split))
    test_fakes = f[(f.label == 1) & (f.split == "test")]
    assert {split_of[d] for d in test_fakes.synth_donor} == {"test"}
    card = synthetic_manifest(47, 4, seed=3, identities=counts).card
    assert "'identities={train: 5, val: 2, test: 40}'" in card.provenance["command"]
    for bad, message in [
        ({"train": 5, "val": 2, "test": 41}, "add up to 48, not n_identities=47"),
        ({"train": 45, "val": 2}, "for each of"),
        ({"train": 45, "val": 0, "test": 2}, "positive number"),
    ]:
        with pytest.raises(ConfigError, match=message):
            synthetic_manifest(47, 4, identities=bad)


def test_rows_interleave_labels_so_any_batch_holds_both():
    for fraction, window in [(0.5, 2), (0.3, 5), (0.75, 5)]:
        frame = synthetic_manifest(n_identities=6, per_identity=20, fake_fraction=fraction).frame
        for split in ("train", None):
            labels = (frame if split is None else frame[frame.split == split])["label"].to_numpy()
            runs = np.lib.stride_tricks.sliding_window_view(labels, window)
            assert (runs.min(1) == 0).all() and (runs.max(1) == 1).all(), (fraction, split)


def test_fake_fraction_extremes_and_bad_arguments():
    assert set(synthetic_manifest(3, 4, fake_fraction=0.0).frame.label) == {0}
    assert set(synthetic_manifest(3, 4, fake_fraction=1.0).frame.label) == {1}
    # A tiny fraction still gives every person at least one fake (every split both labels).
    assert (
        synthetic_manifest(3, 10, fake_fraction=0.01).frame.groupby("identity").label.sum() == 1
    ).all()
    for kwargs, message in [
        (dict(n_identities=2), "n_identities >= 3"),
        (dict(per_identity=1), "per_identity must be at least 2"),
        (dict(fake_fraction=1.5), r"fake_fraction must be in \[0, 1\]"),
        (dict(size=8), "size must be at least 16"),
        (dict(name="a/b"), "plain file stem"),
        (dict(seed=-2), "non-negative"),
    ]:
        with pytest.raises(ConfigError, match=message):
            synthetic_manifest(**kwargs)


def test_written_dataset_matches_the_in_memory_one(tmp_path, renderer):
    csv_path = write_synthetic_dataset(
        tmp_path / "ds", name="tiny", n_identities=3, per_identity=4, progress=False
    )
    assert csv_path == tmp_path / "ds" / "tiny.csv"
    written = read_manifest(csv_path, check_files=True)
    memory = synthetic_manifest(n_identities=3, per_identity=4, name="tiny")
    written_rows = written.frame.drop(columns=["sha256", "mask", "landmarks68"])
    pd.testing.assert_frame_equal(
        written_rows,
        memory.frame.drop(columns="sha256").astype(written_rows.dtypes.to_dict()),
    )
    assert written.root == (tmp_path / "ds").resolve()
    card = written.card
    assert card.license == "generated" and card.image_size == 64 and card.root == "."
    assert card.provenance["parameters"]["per_identity"] == 4
    assert "fakearena_version" in card.provenance
    for i, row in enumerate(memory.frame.to_dict("records")):
        path = written.abspath(i)
        pixels = np.asarray(Image.open(path).convert("RGB"))
        assert np.array_equal(pixels, renderer.render_row(row)), row["path"]
        assert written.frame["sha256"].iat[i] == hashlib.sha256(path.read_bytes()).hexdigest()
        marks = parse_landmarks(written.frame["landmarks68"].iat[i])
        if row["label"] == 0:  # a real face keeps its landmarks (to 0.005 px)
            np.testing.assert_allclose(marks, renderer.landmarks_row(row), atol=0.006)
        else:
            assert marks is None
        mask = written.frame["mask"].iat[i]
        if row["label"] == 1:  # a blended fake keeps its blend mask beside it
            assert mask == row["path"].removesuffix(".png") + ".mask.png"
            expected = renderer.render_mask_row(row)
            np.testing.assert_allclose(read_mask(written.root / mask), expected, atol=0.5 / 255)
        else:
            assert mask == ""
    assert not list((tmp_path / "ds").rglob("*.part"))


def test_an_interrupted_write_leaves_no_manifest(tmp_path, monkeypatch):
    out = tmp_path / "ds"
    write_synthetic_dataset(out, n_identities=3, per_identity=2, progress=False)
    assert (out / "synthetic.csv").is_file()
    calls = []

    def failing(self, row):
        calls.append(row["path"])
        if len(calls) > 2:
            raise KeyboardInterrupt
        return np.zeros((64, 64, 3), np.uint8)

    monkeypatch.setattr(SyntheticRenderer, "render_row", failing)
    with pytest.raises(KeyboardInterrupt):
        write_synthetic_dataset(out, n_identities=3, per_identity=2, seed=1, progress=False)
    # The earlier manifest is gone with the images it described; no half-written files remain.
    assert not (out / "synthetic.csv").exists() and not (out / "synthetic.yaml").exists()
    assert not list(out.rglob("*.part"))


def test_synthetic_landmarks_sit_on_the_painted_inner_face():
    """The renderer's blend covers the inner face (eyes, nose, mouth) by construction: the 51
    inner landmarks (brows to mouth) of a face lie where its blended fake's mask is > 0.5."""
    from fakearena.data.synthetic.renderer import SyntheticRenderer

    renderer = SyntheticRenderer(64, seed=0)
    for i in range(12):
        row = {"synth_identity": i % 6, "synth_index": i, "synth_donor": -1, "synth_seed": 0}
        marks = renderer.landmarks_row(row)
        assert marks.shape == (68, 2) and ((marks > 0) & (marks < 64)).all()
        mask = renderer.render_blend_mask(i % 6, i, (i % 6 + 1) % 6)
        cols, rows = marks[17:].astype(int).T
        assert (mask[rows, cols] > 0.5).mean() >= 0.8
        assert renderer.landmarks_row({**row, "synth_donor": 1}) is None  # a fake: unknown

"""Face X-ray's blended images made from real faces: the donor is another person with the
nearest landmarks (brute force with scipy's Procrustes), the mask is a non-empty landmark hull,
the boundary target is exactly B = 4M(1-M), a detector trains on real faces alone, and Face
X-ray refuses data where its boundary head could only learn zeros."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.path import Path as Polygon
from PIL import Image
from scipy.spatial import procrustes

from fakearena.config import compose
from fakearena.data.datamodule import FaceDataModule
from fakearena.data.datasets import collate_samples
from fakearena.data.landmarks import LANDMARKS_COLUMN, format_landmarks
from fakearena.data.manifest import Manifest, ManifestCard, write_manifest
from fakearena.data.synthetic import SyntheticRenderer
from fakearena.data.transforms.face_masks import convex_hull, landmark_hull_mask
from fakearena.data.transforms.xray_blend import XrayBlend
from fakearena.errors import ConfigError, DataError
from fakearena.models.detectors.face_xray import boundary_map, soften_hard_masks
from fakearena.results import read_results

SIZE = 64


def template_landmarks(size: int = SIZE) -> np.ndarray:
    """A 68-point face in the iBUG order (jaw, brows, nose, eyes, mouth) for a `size` crop."""
    t = np.linspace(np.pi, 0.0, 17)
    jaw = np.stack([32 + 22 * np.cos(t), 30 + 26 * np.sin(t)], 1)
    brows = np.stack([np.r_[np.linspace(14, 28, 5), np.linspace(36, 50, 5)], np.full(10, 22.0)], 1)
    bridge = np.stack([np.full(4, 32.0), np.linspace(26, 38, 4)], 1)
    nostrils = np.stack([np.linspace(28, 36, 5), np.full(5, 40.0)], 1)
    a = np.linspace(0, 2 * np.pi, 6, endpoint=False)
    left = np.stack([22 + 4 * np.cos(a), 28 + 2 * np.sin(a)], 1)
    right = np.stack([42 + 4 * np.cos(a), 28 + 2 * np.sin(a)], 1)
    b = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    c = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    outer = np.stack([32 + 8 * np.cos(b), 46 + 4 * np.sin(b)], 1)
    inner = np.stack([32 + 5 * np.cos(c), 46 + 2 * np.sin(c)], 1)
    marks = np.concatenate([jaw, brows, bridge, nostrils, left, right, outer, inner])
    return marks * (size / 64.0)


def write_faces(root: Path, people: int = 4, per_person: int = 4, seed: int = 0) -> Path:
    """Rendered faces as PNG files with landmarks68 (a template under a random similarity and
    noise): reals of every person in train; reals and blended fakes in val and test."""
    rng = np.random.default_rng(seed)
    renderer = SyntheticRenderer(SIZE, seed=seed)
    template = template_landmarks()
    rows = []
    for person in range(people):
        for k in range(per_person + 4):
            split = "train" if k < per_person else ("val" if k < per_person + 2 else "test")
            fake = split != "train" and k % 2 == 1 and people > 1
            if fake:
                image = renderer.render_blended_fake(person, k, (person + 1) % people)
            else:
                image = renderer.render_face(person, k)
            angle, scale = rng.uniform(-0.15, 0.15), rng.uniform(0.85, 1.1)
            rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            marks = (template - 32) @ rot.T * scale + 32 + rng.uniform(-3, 3, 2)
            marks += rng.normal(0, 0.7, marks.shape)
            path = f"p{person}/{k}.png"
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(root / path)
            rows.append(
                {
                    "path": path,
                    "label": int(fake),
                    "split": split,
                    "video_id": f"p{person}/{k}",
                    "frame": 0,
                    "identity": f"person{person}",
                    "source": "blend/test" if fake else "real",
                    LANDMARKS_COLUMN: format_landmarks(marks),
                }
            )
    card = ManifestCard(name="marked", image_size=SIZE)
    return write_manifest(Manifest(pd.DataFrame(rows), card, root), root / "marked.csv")


@pytest.fixture(scope="module")
def marked(tmp_path_factory) -> Path:
    return write_faces(tmp_path_factory.mktemp("marked"))


def _train(manifest: Path, transform, targets=("mask",)):
    datamodule = FaceDataModule(
        name="marked", manifests=[str(manifest)], image_size=SIZE, train_transform=transform
    )
    datamodule.request_training_targets(list(targets))
    return datamodule.dataset("train")


def test_blends_are_non_empty_hull_masks_with_the_exact_boundary_target(marked):
    train = _train(marked, XrayBlend(p=1.0, elastic=0.0, blur_sigma=(0.02, 0.04)))
    for index in range(len(train)):
        torch.manual_seed(index)
        sample = train[index]
        assert int(sample["label"]) == 1 and bool(sample["has_mask"])
        assert "landmarks" not in sample  # handed to the transform only
        mask = sample["mask"][0]
        assert float(mask.max()) > 0.9 and float((mask > 0.5).float().mean()) > 0.05
        # the boundary head's target is B = 4M(1-M), computed independently
        m = mask.double().numpy()
        target = boundary_map(soften_hard_masks(sample["mask"][None]))[0, 0]
        np.testing.assert_allclose(target.double().numpy(), 4.0 * m * (1.0 - m), atol=1e-6)
        assert float(target.max()) > 0.5  # a band, not zeros
    # the hard hull before deformation and blur is the landmarks' convex hull
    marks = train.landmarks_at(0, (SIZE, SIZE), (SIZE, SIZE)).double().numpy()
    hull = landmark_hull_mask(marks, SIZE, SIZE, "facehull").numpy() > 0.5
    centres = np.stack(np.meshgrid(np.arange(SIZE) + 0.5, np.arange(SIZE) + 0.5), -1)
    inside = Polygon(convex_hull(marks)).contains_points(centres.reshape(-1, 2))
    assert (hull.reshape(-1) == inside).all()
    assert inside.mean() > 0.2


def test_the_blend_equals_its_target_outside_the_mask(marked):
    blend = XrayBlend(p=1.0, blur_sigma=(0.0, 0.0), elastic=0.0)
    train = _train(marked, None, targets=())
    train.provide_landmarks = True
    blend.bind(train)
    sample = train[0]
    real = sample["image"].float() / 255
    out = blend.blend_sample({**sample, "image": real, "mask": torch.zeros(1, SIZE, SIZE)}, None)
    mask = out["mask"][0]
    torch.testing.assert_close(out["image"][:, mask == 0], real[:, mask == 0])
    assert (out["image"][:, mask == 1] != real[:, mask == 1]).any()


def test_the_donor_is_another_person_with_the_nearest_landmarks(marked):
    blend = XrayBlend(p=1.0, nearest=3)
    train = _train(marked, blend)
    frame = train.manifest.frame
    marks = train.stored_landmarks.astype(np.float64)
    for row in range(len(train)):
        others = [j for j in range(len(train)) if frame.identity[j] != frame.identity[row]]
        disparity = {j: procrustes(marks[row], marks[j])[2] for j in others}
        brute = sorted(others, key=lambda j: disparity[j])[:3]
        assert blend.donor_candidates(row).tolist() == brute
        torch.manual_seed(row)
        train[row]
        assert blend.last_donor in brute
        assert frame.identity[blend.last_donor] != frame.identity[row]


def test_a_single_person_has_no_donor_and_crops_without_landmarks_are_named(tmp_path):
    manifest = write_faces(tmp_path / "one", people=1)
    with pytest.raises(DataError, match="at least two people"):
        _train(manifest, XrayBlend())
    bare = write_faces(tmp_path / "bare")
    frame = pd.read_csv(bare, dtype=str, keep_default_na=False).drop(columns=LANDMARKS_COLUMN)
    frame.to_csv(bare, index=False)
    with pytest.raises(DataError, match="extract the faces again with `fakearena faces extract`"):
        _train(bare, XrayBlend())


def test_face_xray_refuses_data_without_any_blend_mask(marked):
    datamodule = FaceDataModule(name="marked", manifests=[str(marked)], image_size=SIZE)
    with pytest.raises(ConfigError, match="no training row of data marked has a blend mask"):
        datamodule.request_training_targets(["mask"])
    # blended images, or a synthetic renderer that knows its masks, are enough
    FaceDataModule(
        name="marked", manifests=[str(marked)], train_transform=XrayBlend()
    ).request_training_targets(["mask"])
    FaceDataModule(
        name="synthetic", synthetic={"n_identities": 3, "per_identity": 4}
    ).request_training_targets(["mask"])


def test_face_xray_trains_on_real_faces_alone(marked, tmp_path):
    from fakearena.runs.train import run

    cfg = compose(
        "train",
        [
            "experiment=xray",
            "data=manifest",
            f"data.manifests=[{marked}]",
            f"data.image_size={SIZE}",
            "data.batch_size=8",
            "data.num_workers=0",
            "detector.backbone=test_resnet",
            "detector.backbone_kwargs=null",
            "trainer.max_epochs=1",
            "trainer.log_every_n_steps=1",
            "logger=csv",
            f"paths.output_dir={tmp_path}",
        ],
    )
    assert list(cfg.data.train_labels) == [0]
    run(cfg)
    record = read_results(tmp_path)
    assert record["augment_masks"] == {
        "transform": "xray",
        "mask": "hull",
        "real_rows": 16,
        "hull_rows": 16,
        "random_shape_rows": 0,
        "donor_people": 4,
    }
    logged = pd.read_csv(next(tmp_path.rglob("metrics.csv")))
    boundary = logged["train/boundary_loss"].dropna()
    assert len(boundary) and (boundary > 0).all()  # the head saw blend masks, not zeros
    # with p=1 every training sample is a blended fake carrying its mask
    datamodule = FaceDataModule(
        name="marked", manifests=[str(marked)], image_size=SIZE, train_labels=[0],
        train_transform=XrayBlend(p=1.0),
    )  # fmt: skip
    datamodule.request_training_targets(["mask"])
    train = datamodule.dataset("train")
    batch = collate_samples([train[i] for i in range(len(train))])
    assert batch["label"].eq(1).all() and batch["has_mask"].all()
    assert (batch["mask"].flatten(1).amax(1) > 0.5).all()


@pytest.mark.real_data
def test_face_xray_trains_on_real_crops_alone(ffpp_crops, fixtures_dir, tmp_path):
    """On the fixtures' real faces (FF++ 004's frames and four press photos, landmarks from
    `faces extract`), blended images fill every training batch with non-empty masks."""
    from fakearena.faces.extract import ExtractOptions, SourceItem, extract_faces
    from fakearena.runs.train import run

    folder = fixtures_dir / "faces" / "photos"
    people = ("angelina_jolie", "kate_siegel", "paul_rudd", "shea_whigham")
    items = [
        SourceItem(path=folder / p / "1.jpg", video_id=p, label=0, split="train", kind="image")
        for p in people
    ]
    options = ExtractOptions(size=64, detect_size=640)
    photos = extract_faces(items, tmp_path / "photos", options, name="photos", progress=False)
    cfg = compose(
        "train",
        [
            "experiment=xray",
            "data=manifest",
            f"data.manifests=[{ffpp_crops},{photos.manifest_path}]",
            "data.image_size=64",
            "data.batch_size=4",
            "data.num_workers=0",
            "detector.backbone=test_resnet",
            "detector.backbone_kwargs=null",
            "trainer.max_epochs=1",
            "trainer.log_every_n_steps=1",
            "logger=csv",
            f"paths.output_dir={tmp_path / 'run'}",
        ],
    )
    run(cfg)
    census = read_results(tmp_path / "run")["augment_masks"]
    assert census["real_rows"] == census["hull_rows"] == 8  # 004's 4 train frames + 4 photos
    assert census["donor_people"] == 5
    logged = pd.read_csv(next((tmp_path / "run").rglob("metrics.csv")))
    assert (logged["train/boundary_loss"].dropna() > 0).all()
    datamodule = FaceDataModule(
        name="real", manifests=[str(ffpp_crops), str(photos.manifest_path)], image_size=64,
        train_labels=[0], train_transform=XrayBlend(p=1.0),
    )  # fmt: skip
    datamodule.request_training_targets(["mask"])
    train = datamodule.dataset("train")
    torch.manual_seed(0)
    batch = collate_samples([train[i] for i in range(len(train))])
    assert batch["label"].eq(1).all() and (batch["mask"].flatten(1).amax(1) > 0.5).all()

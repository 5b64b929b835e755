"""Blend masks from their makers to the training batch: the renderer's mask is its fake's mask,
manifests carry mask files (also through a union), datasets serve masks on request (zeros for
reals, unknown for other fakes) and augmentation moves them with the image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from scipy import ndimage

from fakearena.data.datamodule import FaceDataModule
from fakearena.data.datasets import ManifestDataset, collate_samples, float_images
from fakearena.data.manifest import (
    Manifest,
    ManifestCard,
    read_manifest,
    union_manifests,
    validate_frame,
    write_manifest,
)
from fakearena.data.masks import mask_path_for, mask_png, read_mask
from fakearena.data.synthetic import SyntheticRenderer
from fakearena.data.transforms.augment import DetectorAugment
from fakearena.errors import ConfigError, DataError


def test_the_renderers_mask_is_where_its_fake_differs_from_the_real_face():
    renderer = SyntheticRenderer(64, seed=0)
    for identity, index, donor in ((0, 1, 3), (2, 5, 1), (4, 0, 2)):
        real = renderer.render_face(identity, index).astype(np.int16)
        fake = renderer.render_blended_fake(identity, index, donor).astype(np.int16)
        mask = renderer.render_blend_mask(identity, index, donor)
        assert mask.shape == (64, 64) and mask.dtype == np.float32
        assert mask.min() >= 0.0 and mask.max() <= 1.0 and mask.max() > 0.7
        changed = np.abs(fake - real).max(axis=2) > 0
        # the camera's 3-tap blur after blending reaches one pixel past the mask
        support = ndimage.binary_dilation(mask > 0, iterations=1)
        assert not (changed & ~support).any()
        assert changed[mask > 0.5].mean() > 0.9
    row = {"synth_identity": 1, "synth_index": 2, "synth_donor": -1, "synth_seed": 0}
    assert not renderer.render_mask_row(row).any()  # a real face: nothing pasted


def test_mask_files_round_trip_and_name_their_problems(tmp_path: Path):
    mask = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    path = tmp_path / "a.mask.png"
    path.write_bytes(mask_png(mask))
    np.testing.assert_allclose(read_mask(path), mask, atol=0.5 / 255)
    assert mask_path_for("p/x.png") == "p/x.mask.png"
    with pytest.raises(DataError, match="blend mask file not found"):
        read_mask(tmp_path / "none.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="cannot be read"):
        read_mask(tmp_path / "bad.png")


def _blend_set(root: Path, name: str, with_masks: bool) -> Path:
    """Two reals, two fakes (a bright ellipse pasted in); masks written when asked."""
    rows = []
    yy, xx = np.mgrid[0:16, 0:16]
    ellipse = (((xx - 7.5) / 5) ** 2 + ((yy - 7.5) / 6) ** 2 <= 1).astype(np.float32)
    for i in range(4):
        label = i % 2
        image = np.full((16, 16, 3), 60, np.uint8)
        path = f"img/{name}{i}.png"
        (root / "img").mkdir(parents=True, exist_ok=True)
        mask = ""
        if label:
            image[ellipse > 0] = 200
            if with_masks:
                mask = mask_path_for(path)
                (root / mask).write_bytes(mask_png(ellipse))
        Image.fromarray(image).save(root / path)
        rows.append(
            {
                "path": path,
                "label": label,
                "split": "train",
                "video_id": f"{name}/{i}",
                "frame": 0,
                "identity": "",
                "source": "blend/test" if label else "real",
                "mask": mask,
            }
        )
    manifest = Manifest(pd.DataFrame(rows), ManifestCard(name=name), root)
    return write_manifest(manifest, root / f"{name}.csv")


def test_a_union_moves_mask_paths_with_image_paths(tmp_path: Path):
    a = read_manifest(_blend_set(tmp_path / "a", "a", with_masks=True))
    b = read_manifest(_blend_set(tmp_path / "b", "b", with_masks=False))
    union = union_manifests([a, b])
    frame = union.frame
    assert union.root == tmp_path.resolve()
    assert frame.loc[frame.path == "a/img/a1.png", "mask"].item() == "a/img/a1.mask.png"
    assert set(frame.loc[frame.path.str.startswith("b/"), "mask"]) == {""}
    bad = frame.copy()
    bad.loc[1, "mask"] = "../outside.png"
    assert any("mask must be empty or a path relative" in p for p in validate_frame(bad))


def test_datasets_serve_masks_on_request_zeros_for_reals_unknown_for_others(tmp_path: Path):
    a = read_manifest(_blend_set(tmp_path / "a", "a", with_masks=True))
    b = read_manifest(_blend_set(tmp_path / "b", "b", with_masks=False))
    dataset = ManifestDataset(union_manifests([a, b]), image_size=32)
    assert "mask" not in dataset[1]  # nothing asked, nothing added
    dataset.request_targets(["mask"])
    batch = collate_samples([dataset[i] for i in range(len(dataset))])
    assert batch["mask"].shape == (8, 1, 32, 32)
    assert batch["has_mask"].tolist() == [True, True, True, True, True, False, True, False]
    assert not batch["mask"][[0, 2, 4, 5, 6, 7]].any()  # reals, and fakes of unknown mask
    fake = float_images(batch["image"][1]).mean(0)  # samples travel as uint8
    inside = batch["mask"][1, 0] > 0.99
    assert (fake[inside] > 0.7).all() and inside.float().mean() > 0.2  # mask on the ellipse
    with pytest.raises(ConfigError, match="known targets"):
        dataset.request_targets(["depth"])


def test_a_missing_mask_file_follows_the_bad_sample_policy(tmp_path: Path):
    csv = _blend_set(tmp_path / "a", "a", with_masks=True)
    (tmp_path / "a" / "img" / "a1.mask.png").unlink()
    dataset = ManifestDataset(read_manifest(csv), image_size=16)
    dataset.request_targets(["mask"])
    with pytest.raises(DataError, match=r"blend mask file not found.*row 2"):
        dataset[1]
    dataset.on_bad_sample = "skip"
    assert dataset[1] == {"skipped": 1}


def test_synthetic_data_renders_masks_for_the_training_split_on_request():
    datamodule = FaceDataModule(
        name="synthetic", synthetic={"n_identities": 3, "per_identity": 4}, image_size=32
    )
    datamodule.request_training_targets(["mask"])
    train = datamodule.dataset("train")
    renderer = SyntheticRenderer(32, seed=0)
    for index in range(len(train)):
        sample, row = train[index], train.row(index)
        assert sample["has_mask"]
        expected = renderer.render_mask_row(row)
        torch.testing.assert_close(sample["mask"][0], torch.from_numpy(expected))
        assert bool(sample["mask"].any()) == bool(row["label"])
    assert "mask" not in datamodule.dataset("val")[0]  # only training batches need it


def test_augmentation_crops_and_flips_the_mask_with_the_image():
    torch.manual_seed(0)
    image = torch.rand(3, 32, 32)
    mask = torch.zeros(1, 32, 32)
    mask[:, 4:12, 20:30] = 1.0
    marked = image.clone()
    marked[:, mask[0] > 0] = 1.0  # the pasted region, visible in the image
    augment = DetectorAugment(flip_p=1.0, crop_p=1.0, crop_scale=(0.5, 0.6))
    for seed in range(5):
        torch.manual_seed(seed)
        out = augment.transform_sample({"image": marked, "mask": mask, "label": 1})
        torch.manual_seed(seed)
        alone = augment(marked)  # the same draws for the image alone
        torch.testing.assert_close(out["image"], alone)
        # the mask lands where the marked region went
        moved = out["mask"][0] > 0.9
        assert moved.any() and (out["image"][:, moved] > 0.9).all()
    flipped = DetectorAugment(flip_p=1.0).transform_sample({"image": image, "mask": mask})
    torch.testing.assert_close(flipped["mask"], mask.flip(-1))


def test_an_image_only_transform_is_refused_when_masks_must_follow(tmp_path: Path):
    dataset = ManifestDataset(
        read_manifest(_blend_set(tmp_path / "a", "a", with_masks=True)),
        image_size=16,
        transform=lambda image: image.flip(-1),
    )
    assert "image" in dataset[1]  # no mask asked: a plain callable is fine
    dataset.request_targets(["mask"])
    with pytest.raises(ConfigError, match="changes images only"):
        dataset[1]

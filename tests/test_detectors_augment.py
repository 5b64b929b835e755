"""Training augmentations and evaluation perturbations keep shape and range and do what they
say; perturbations are deterministic per row and grow with severity."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from fakearena.config import config_dir
from fakearena.data.transforms.augment import DetectorAugment, jpeg
from fakearena.data.transforms.perturb import PERTURBATIONS, PerturbedDataset, apply_perturbation
from fakearena.errors import ConfigError


def _image(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    smooth = torch.nn.functional.interpolate(torch.rand(1, 3, 8, 8, generator=g), size=32)
    return smooth[0].clamp(0, 1)


def test_augment_keeps_shape_and_range_and_is_seeded():
    augment = DetectorAugment(crop_p=1, jitter_p=1, blur_p=1, jpeg_p=1)
    image = _image()
    torch.manual_seed(3)
    a = augment(image)
    torch.manual_seed(3)
    b = augment(image)
    assert a.shape == image.shape and a.min() >= 0 and a.max() <= 1
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, image)


def test_flip_only_is_a_mirror_and_disabled_steps_are_identity():
    image = _image()
    torch.testing.assert_close(DetectorAugment(flip_p=1.0)(image), image.flip(-1))
    torch.testing.assert_close(DetectorAugment(flip_p=0.0)(image), image)


def test_jpeg_matches_pil_encoding():
    image = _image()
    ours = jpeg(image, 50)
    pixels = (image * 255).round().byte().permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=50)
    theirs = torch.from_numpy(np.asarray(Image.open(buffer).convert("RGB"))).permute(2, 0, 1)
    # libjpeg builds differ in chroma upsampling by a few levels, not more
    assert (ours * 255 - theirs.float()).abs().mean() < 3.0


def test_bad_augment_options_are_config_errors():
    with pytest.raises(ConfigError, match="flip_p"):
        DetectorAugment(flip_p=1.5)
    with pytest.raises(ConfigError, match=r"data\.train_transform\.jpeg_quality=\[90, 40\]"):
        DetectorAugment(jpeg_quality=(90, 40))
    with pytest.raises(ConfigError, match=r"^data\.train_transform\.hue=0\.7: give a value"):
        DetectorAugment(hue=0.7)


@pytest.mark.parametrize("kind", sorted(PERTURBATIONS))
def test_perturbation_error_grows_with_severity(kind: str):
    image = _image()
    errors = []
    for level in PERTURBATIONS[kind].levels:
        g = torch.Generator().manual_seed(0)
        out = apply_perturbation(image, kind, level, g)
        assert out.shape == image.shape and out.min() >= 0 and out.max() <= 1
        errors.append(float((out - image).abs().mean()))
    assert errors[-1] > errors[0] > 0


class _Rows(torch.utils.data.Dataset):
    manifest = None

    def __len__(self):
        return 3

    def __getitem__(self, index):
        return {"image": _image(index), "label": torch.tensor(index % 2), "index": index}


def test_perturbed_dataset_is_deterministic_per_row():
    first = PerturbedDataset(_Rows(), "noise", 0.1, seed=7)
    second = PerturbedDataset(_Rows(), "noise", 0.1, seed=7)
    torch.testing.assert_close(first[2]["image"], second[2]["image"])
    assert not torch.allclose(first[1]["image"], first[2]["image"] - _image(2) + _image(1))
    with pytest.raises(ConfigError, match="jpeg"):
        PerturbedDataset(_Rows(), "fog", 1.0)


def test_blur_sigma_scales_with_the_image_side_as_cnndetection_at_256():
    from fakearena.data.transforms.augment import blur

    augment = DetectorAugment(flip_p=0, blur_p=1, blur_sigma=[2.0, 2.0], blur_reference_side=256)
    assert augment.blur_scale(64, 64) == 0.25 and augment.blur_scale(512, 300) == 300 / 256
    image = torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(0))
    blurred = augment.transform_sample({"image": image})["image"]
    torch.testing.assert_close(blurred, blur(image, 0.5).clamp(0, 1))
    pixels = DetectorAugment(flip_p=0, blur_p=1, blur_sigma=[2.0, 2.0])
    blurred = pixels.transform_sample({"image": image})["image"]
    torch.testing.assert_close(blurred, blur(image, 2.0).clamp(0, 1))
    for name in ("cnndetection", "cnndetection_p01"):
        node = OmegaConf.load(config_dir() / "augment" / f"{name}.yaml")
        assert node.blur_reference_side == 256 and list(node.blur_sigma) == [0.0, 3.0]
    with pytest.raises(ConfigError, match="blur_reference_side"):
        DetectorAugment(blur_reference_side=0)

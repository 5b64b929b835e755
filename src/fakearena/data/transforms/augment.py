"""Training augmentations for detectors, applied to one float (C, H, W) image in [0, 1].

The pipeline mimics what happens to faces in the wild: a random resized crop (framing), a
horizontal flip, colour jitter (camera and light), Gaussian blur (focus, resampling) and JPEG
re-compression (upload pipelines), in that order, each with its own probability. Draws come
from torch's global generator, which Lightning seeds per worker from the run's seed. A blend
mask in the sample (`mask`) is cropped and flipped with the image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torchvision.transforms.v2 import functional as TF

from fakearena.data.transforms.draws import chance, config_range, uniform
from fakearena.data.transforms.sample import Sample, SampleTransform
from fakearena.errors import ConfigError


class DetectorAugment(SampleTransform):
    """Random augmentation of a training image; the output has the input's shape and range.

    Args:
        flip_p: probability of a horizontal flip.
        crop_p: probability of a random resized crop (resized back to the input size).
        crop_scale: [min, max] area fraction of the crop.
        crop_ratio: [min, max] aspect ratio of the crop.
        jitter_p: probability of colour jitter.
        brightness, contrast, saturation: jitter strength (factor drawn in [1-s, 1+s]).
        hue: hue shift drawn in [-hue, hue] (fraction of the colour circle, <= 0.5).
        blur_p: probability of a Gaussian blur.
        blur_sigma: [min, max] blur sigma in pixels (a draw below 0.01 leaves the image sharp),
            at `blur_reference_side` when that is set.
        blur_reference_side: image side the blur sigma is given at (CNNDetection: 256); the
            drawn sigma is scaled by the image's shorter side / this, so the blur removes the
            same share of the spectrum at any size. None: sigma in pixels of any image.
        jpeg_p: probability of JPEG re-compression.
        jpeg_quality: [min, max] JPEG quality (1-100).
    """

    def __init__(
        self,
        *,
        flip_p: float = 0.5,
        crop_p: float = 0.0,
        crop_scale: Sequence[float] = (0.7, 1.0),
        crop_ratio: Sequence[float] = (0.8, 1.25),
        jitter_p: float = 0.0,
        brightness: float = 0.2,
        contrast: float = 0.2,
        saturation: float = 0.2,
        hue: float = 0.02,
        blur_p: float = 0.0,
        blur_sigma: Sequence[float] = (0.1, 1.5),
        blur_reference_side: int | None = None,
        jpeg_p: float = 0.0,
        jpeg_quality: Sequence[int] = (40, 95),
    ):
        for name, p in (
            ("flip_p", flip_p),
            ("crop_p", crop_p),
            ("jitter_p", jitter_p),
            ("blur_p", blur_p),
            ("jpeg_p", jpeg_p),
        ):
            if not 0.0 <= float(p) <= 1.0:
                raise ConfigError(
                    f"data.train_transform.{name}={p}: a probability must lie in [0, 1]"
                )
        self.flip_p, self.crop_p, self.jitter_p = float(flip_p), float(crop_p), float(jitter_p)
        self.blur_p, self.jpeg_p = float(blur_p), float(jpeg_p)
        self.crop_scale = config_range("crop_scale", crop_scale, 1e-3, 1.0)
        self.crop_ratio = config_range("crop_ratio", crop_ratio, 0.1, 10.0)
        self.brightness, self.contrast = float(brightness), float(contrast)
        self.saturation, self.hue = float(saturation), float(hue)
        if not 0.0 <= self.hue <= 0.5:
            raise ConfigError(f"data.train_transform.hue={hue}: give a value in [0, 0.5]")
        self.blur_sigma = config_range("blur_sigma", blur_sigma, 0.0, 50.0)
        if blur_reference_side is not None and int(blur_reference_side) < 1:
            raise ConfigError(
                f"data.train_transform.blur_reference_side={blur_reference_side}: give the "
                "image side the blur sigma is meant for (e.g. 256), or null for pixels at any size"
            )
        self.blur_reference_side = None if blur_reference_side is None else int(blur_reference_side)
        self.jpeg_quality = config_range("jpeg_quality", jpeg_quality, 1, 100)

    def transform_sample(self, sample: Sample) -> Sample:
        image, mask = sample["image"], sample.get("mask")
        if image.ndim != 3:
            raise ValueError(f"augment expects one (C,H,W) image, got shape {tuple(image.shape)}")
        if chance(self.crop_p):
            box = self._crop_box(*image.shape[-2:])
            if box is not None:
                image, mask = _resized_crop(image, box), _resized_crop(mask, box)
        if chance(self.flip_p):
            image = image.flip(-1)
            mask = None if mask is None else mask.flip(-1)
        if chance(self.jitter_p):
            image = self._jitter(image)
        if chance(self.blur_p):
            sigma = uniform(*self.blur_sigma) * self.blur_scale(*image.shape[-2:])
            image = blur(image, sigma) if sigma >= 0.01 else image
        if chance(self.jpeg_p):
            image = jpeg(image, round(uniform(*self.jpeg_quality)))
        out = {**sample, "image": image.clamp(0.0, 1.0)}
        if mask is not None:
            out["mask"] = mask.clamp(0.0, 1.0)
        return out

    def blur_scale(self, height: int, width: int) -> float:
        """Factor from the configured blur sigma to pixels of an image of this size."""
        if self.blur_reference_side is None:
            return 1.0
        return min(height, width) / self.blur_reference_side

    def _crop_box(self, height: int, width: int) -> tuple[int, int, int, int] | None:
        """(top, left, h, w) of a random crop, or None when no draw fits."""
        area = height * width
        log_ratio = (math.log(self.crop_ratio[0]), math.log(self.crop_ratio[1]))
        for _ in range(10):
            target = area * uniform(*self.crop_scale)
            ratio = math.exp(uniform(*log_ratio))
            w = round(math.sqrt(target * ratio))
            h = round(math.sqrt(target / ratio))
            if 0 < w <= width and 0 < h <= height:
                top = int(torch.randint(0, height - h + 1, ()))
                left = int(torch.randint(0, width - w + 1, ()))
                return top, left, h, w
        return None

    def _jitter(self, image: torch.Tensor) -> torch.Tensor:
        ops = torch.randperm(4).tolist()  # torchvision's ColorJitter also shuffles the order
        for op in ops:
            if op == 0 and self.brightness > 0:
                image = TF.adjust_brightness(image, uniform(*_factor(self.brightness)))
            elif op == 1 and self.contrast > 0 and image.shape[0] == 3:
                image = TF.adjust_contrast(image, uniform(*_factor(self.contrast)))
            elif op == 2 and self.saturation > 0 and image.shape[0] == 3:
                image = TF.adjust_saturation(image, uniform(*_factor(self.saturation)))
            elif op == 3 and self.hue > 0 and image.shape[0] == 3:
                image = TF.adjust_hue(image, uniform(-self.hue, self.hue))
        return image


def _resized_crop(image: torch.Tensor | None, box: tuple[int, int, int, int]):
    """`image` cropped to `box` and resized back to its own size (None stays None)."""
    if image is None:
        return None
    top, left, h, w = box
    size = list(image.shape[-2:])
    return TF.resized_crop(image, top, left, h, w, size, antialias=True)


def _factor(strength: float) -> tuple[float, float]:
    return max(0.0, 1.0 - strength), 1.0 + strength


def blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur with a kernel of about 3 sigma on each side (odd size)."""
    radius = max(1, math.ceil(3.0 * sigma))
    size = 2 * radius + 1
    return TF.gaussian_blur(image, [size, size], [float(sigma), float(sigma)])


def jpeg(image: torch.Tensor, quality: int) -> torch.Tensor:
    """JPEG-encode and decode a float [0, 1] image at `quality` (1-100)."""
    as_bytes = (image.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8)
    return TF.jpeg(as_bytes, int(quality)).float().div_(255.0)

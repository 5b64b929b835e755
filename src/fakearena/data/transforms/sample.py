"""Training transforms of whole samples: the image, the targets that must move with it and the
label (a transform may turn a real face into a fake).

A sample is the dict a dataset returns (`fakearena.data.datasets`): `image` float (C, H, W) in
[0, 1], `label`, `index`, and, when the task asked for it, `mask` float (1, H, W) in [0, 1] with
`has_mask`. A geometric change of the image (crop, flip) must be made to `mask` as well;
colour, blur and compression change the image only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import Dataset

from fakearena.errors import ConfigError

Sample = dict[str, Any]


class SampleTransform(ABC):
    """Base class of sample transforms; `transform(image)` alone still works on a bare image."""

    @abstractmethod
    def transform_sample(self, sample: Sample) -> Sample:
        """A transformed copy of `sample` (same keys; `label` may change)."""

    @property
    def makes_fakes(self) -> bool:
        """Whether this transform turns real training faces into fakes (SBI, Face X-ray's
        blends), so that real training rows alone give a detector both classes."""
        return False

    def held_out(self, dataset: Dataset) -> Dataset:
        """What a held-out split (val, test) serves when this transform trains the model: the
        split itself, unless the transform makes fakes the split lacks (SBI)."""
        return dataset

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        return self.transform_sample({"image": image})["image"]


def apply_transform(transform: Callable[..., Any], sample: Sample) -> Sample:
    """`sample` after a training transform: a `SampleTransform` sees the whole sample, a plain
    callable (image -> image) only the image, which is refused when a mask must follow it."""
    if isinstance(transform, SampleTransform):
        return transform.transform_sample(sample)
    if "mask" in sample:
        raise ConfigError(
            f"the training transform {type(transform).__name__} changes images only, but this "
            "detector learns from blend masks that must move with the image; use an augment= "
            "config (fakearena.data.transforms.augment.DetectorAugment) or no augmentation"
        )
    return {**sample, "image": transform(sample["image"])}

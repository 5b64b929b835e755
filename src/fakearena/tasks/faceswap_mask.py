"""The learned face mask of task=faceswap: its per-row target and its loss.

A network that predicts a mask (`generator.mask=true`) learns, for each face, where the face
is (DeepFaceLab's SAEHD learns the same from segmentation masks). The target comes from the
data: the datamodule's `face_mask` of a row (the synthetic renderer's inner-face region, or a
`face_mask` file such as a landmark hull on real faces) cut to what the network sees; a row
without one falls back to the fixed ellipse of `task.loss_weights` (`MaskTargets` counts how
many rows had which, so the run's results say so). The mask's own loss is the binary cross
entropy to the target, added with weight `task.mask_loss_weight`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from fakearena.generation.blend import EllipseMask


class MaskTargets:
    """Per-row mask targets in the network's view, from the data or the fallback ellipse.

    Args:
        fallback: the ellipse (fractions of the network's view) used for rows without a mask.
        view: maps (B,C,H,W) data-sized tensors to what the network sees (the face crop).
    """

    def __init__(self, fallback: EllipseMask, view: Callable[[torch.Tensor], torch.Tensor]):
        self.fallback = fallback
        self.view = view
        self.rows_from_data = 0
        self.rows_fallback = 0

    def __call__(self, batch: dict[str, Any], side: int) -> torch.Tensor:
        """(B,1,side,side) targets in [0, 1] for a batch of (B,3,H,W) images."""
        images = batch["image"]
        ellipse = torch.from_numpy(self.fallback.render(side, side)).to(images.device)
        targets = ellipse.expand(len(images), 1, side, side).clone()
        known = batch.get("has_face_mask")
        if "face_mask" in batch and known is not None and bool(known.any()):
            rows = known.to(torch.bool)
            from_data = self.view(batch["face_mask"].to(images.device, torch.float32))
            targets[rows] = from_data[rows].to(targets.dtype)
            self.rows_from_data += int(rows.sum())
            self.rows_fallback += int((~rows).sum())
        else:
            self.rows_fallback += len(images)
        return targets

    @property
    def source(self) -> str:
        """Where the targets came from so far: data, ellipse or mixed (results.json)."""
        if self.rows_from_data and self.rows_fallback:
            return "mixed"
        return "data" if self.rows_from_data else "ellipse"

    def data_fraction(self) -> float:
        """The fraction of training rows whose target came from the data."""
        total = self.rows_from_data + self.rows_fallback
        return self.rows_from_data / total if total else 0.0


def mask_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross entropy of (B,1,H,W) predicted masks in [0, 1] to soft targets."""
    return F.binary_cross_entropy(predicted.float().clamp(1e-6, 1 - 1e-6), target.float())

"""Detectors that learn from per-row targets besides the label (Face X-ray: the blend mask).

Every detector maps (B, C, H, W) images in [0, 1] to (B,) logits, and scoring only ever calls
that. A detector that learns something more while training also implements
`AuxiliaryDetector`; the detect task then asks the data for its targets and adds its losses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import torch


@runtime_checkable
class AuxiliaryDetector(Protocol):
    """What a detector with auxiliary targets adds to the one-logit contract.

    Attributes:
        training_targets: batch keys it trains on besides `image` and `label`, among
            `fakearena.data.datasets.TARGETS` (e.g. `("mask",)`).
    """

    training_targets: tuple[str, ...]

    def forward_train(self, images: torch.Tensor) -> tuple[torch.Tensor, dict[str, Any]]:
        """(B,) logits and the further outputs its losses need, in one pass."""
        ...

    def training_losses(
        self, outputs: dict[str, Any], batch: Mapping[str, Any]
    ) -> dict[str, torch.Tensor]:
        """Weighted auxiliary losses by name (added to the label's BCE and logged)."""
        ...

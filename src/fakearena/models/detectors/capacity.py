"""Detector capacity: trainable parameters beside those of the plain backbone of its family.

VALIDITY.md section 3: arms compared in one table must have comparable capacity. The
reference of a detector built on a named timm backbone (`model_name`, or Face X-ray's
`backbone`) is that backbone as a plain one-logit classifier of the image (`TimmDetector` with
the RGB stream), e.g. the test ResNet for the zoo's CPU arms; a detector with its own
architecture (MesoNet, the small CNN) is its own reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import timm
import torch
from torch import nn

# relative capacity gap beyond which a comparison is flagged (VALIDITY.md section 3)
CAPACITY_TOLERANCE = 0.25
BACKBONE_KEYS = ("model_name", "backbone")


def trainable_parameters(module: nn.Module) -> int:
    """Elements of the parameters that require a gradient."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def reference_backbone(detector: Mapping[str, Any]) -> str | None:
    """The timm backbone a detector config is built on (None: an architecture of its own)."""
    for key in BACKBONE_KEYS:
        name = detector.get(key)
        if isinstance(name, str) and timm.is_model(name):
            return name
    return None


def backbone_parameters(model_name: str, in_chans: int) -> int:
    """Trainable parameters of `model_name` as a plain one-logit classifier of the image
    (built on the meta device: no memory, no weights)."""
    with torch.device("meta"):
        model = timm.create_model(model_name, num_classes=1, in_chans=int(in_chans))
    return trainable_parameters(model)


def capacity_record(net: nn.Module, detector: Mapping[str, Any]) -> dict[str, Any]:
    """What results.json records: the detector's trainable parameters, its reference
    backbone's, their ratio and whether it lies beyond +-`CAPACITY_TOLERANCE`."""
    own = trainable_parameters(net)
    name = reference_backbone(detector)
    if name is None:
        reference, label = own, str(detector.get("name") or type(net).__name__)
    else:
        in_chans = detector.get("in_chans") or detector.get("in_channels") or 3
        reference, label = backbone_parameters(name, int(in_chans)), name
    ratio = own / reference if reference else float("nan")
    return {
        "trainable": own,
        "reference": label,
        "reference_trainable": reference,
        "ratio": round(ratio, 4),
        "beyond_tolerance": bool(abs(ratio - 1.0) > CAPACITY_TOLERANCE),
        "tolerance": CAPACITY_TOLERANCE,
    }

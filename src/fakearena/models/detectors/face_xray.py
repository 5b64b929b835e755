"""Face X-ray: a detector that draws the blending boundary of a fake as well as scoring it.

Li, Bao, Zhang, Yang, Chen, Wen and Guo, "Face X-ray for More General Face Forgery Detection",
CVPR 2020, https://arxiv.org/abs/1912.13458. Most face forgeries paste a face into a target
image through a soft mask M; the face X-ray B = 4 * M * (1 - M) is the band where both images
mix (zero for a real image). A fully convolutional network learns to draw B, a classifier reads
the label off it, and the loss is L = BCE(label) + lambda * BCE(B) with lambda = 100. What it
learns is the blending step itself, not one generator's look, which is why it carries over to
manipulations it never saw.

Written from the paper: an HRNet (W48 as in DeepfakeBench; any timm backbone with
`features_only` works) whose four scales are upsampled to 1/4 of the input and joined, a 1x1
conv head that draws B, bilinear upsampling to the input size. The paper's classifier pools the
predicted X-ray; here the pooled X-ray (mean, max) is joined by the pooled fused features, so
that fakes without a blending step (GAN images, whose mask is unknown) are still learnt from
their label. Rows whose mask is unknown train the label only (`has_mask` False); reals have
M = 0, hence B = 0. A hard (binary) mask is softened by a 3x3 Gaussian first, as in the paper.
The paper's training data, blended images made from real faces, comes from `augment=xray`
(`fakearena.data.transforms.xray_blend`); training refuses to start when no training row can
have a mask (`FaceDataModule.request_training_targets`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import timm
import torch
import torch.nn.functional as F
from torch import nn

from fakearena.errors import ConfigError
from fakearena.models.detectors.timm_backbone import (
    fit_backbone_state,
    input_normalisation,
    read_state_dict,
)


def boundary_map(mask: torch.Tensor) -> torch.Tensor:
    """The face X-ray B = 4 * M * (1 - M) of a blend mask M in [0, 1] (same shape, in [0, 1])."""
    return 4.0 * mask * (1.0 - mask)


def soften_hard_masks(masks: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) masks with each binary one blurred by a 3x3 Gaussian ([1, 2, 1] / 4 on each
    axis), so its boundary has width; soft masks are returned as they are."""
    hard = ((masks == 0) | (masks == 1)).flatten(1).all(dim=1)
    if not bool(hard.any()):
        return masks
    taps = torch.tensor([1.0, 2.0, 1.0], dtype=masks.dtype, device=masks.device) / 4.0
    kernel = (taps[:, None] * taps[None, :])[None, None]
    blurred = F.conv2d(F.pad(masks, (1, 1, 1, 1), mode="replicate"), kernel)
    return torch.where(hard[:, None, None, None], blurred, masks)


class FaceXray(nn.Module):
    """Boundary map and logit from one multi-scale backbone.

    Maps (B, C, H, W) images in [0, 1] to (B,) logits; `forward_train` also returns the
    boundary logits (B, 1, H, W) and `xray` the boundary map in [0, 1].

    Args:
        backbone: timm model name with `features_only` support (`hrnet_w48` in the paper).
        backbone_kwargs: further `timm.create_model` options (HRNet: `feature_location: ""`
            for the raw branch outputs of HRNetV2).
        out_indices: the backbone's feature levels to fuse (the four of HRNet: 1, 2, 3, 4).
        in_chans: image channels.
        boundary_weight: lambda, the weight of the boundary loss (100 in the paper).
        drop_rate: dropout before the logit.
        pretrained_file: local weights of the backbone (a whole classifier's file is fine:
            keys the backbone lacks are ignored).
        pretrained_sha256: expected SHA-256 of `pretrained_file`.
    """

    training_targets = ("mask",)

    def __init__(
        self,
        *,
        backbone: str = "hrnet_w48",
        backbone_kwargs: Mapping[str, Any] | None = None,
        out_indices: Sequence[int] = (1, 2, 3, 4),
        in_chans: int = 3,
        boundary_weight: float = 100.0,
        drop_rate: float = 0.0,
        pretrained_file: str | None = None,
        pretrained_sha256: str | None = None,
    ):
        super().__init__()
        if not timm.is_model(backbone):
            raise ConfigError(
                f"timm has no model {backbone!r}; set detector.backbone to one of "
                "timm.list_models() that supports features_only (e.g. hrnet_w48, resnet50)"
            )
        try:
            self.backbone = timm.create_model(
                backbone,
                features_only=True,
                out_indices=tuple(int(i) for i in out_indices),
                in_chans=int(in_chans),
                **dict(backbone_kwargs or {}),
            )
        except (TypeError, RuntimeError, IndexError) as exc:
            raise ConfigError(
                f"timm model {backbone!r} cannot give features {list(out_indices)} with "
                f"{dict(backbone_kwargs or {})} ({exc}); fix detector.out_indices, or set "
                "detector.backbone_kwargs=null (HRNet options fit HRNet only)"
            ) from exc
        self.backbone_name = backbone
        self.boundary_weight = float(boundary_weight)
        width = int(sum(self.backbone.feature_info.channels()))
        # HRNetV2's head: the joined scales mixed by a 1x1 conv, then one output channel
        self.fuse = nn.Sequential(
            nn.Conv2d(width, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)
        )
        self.boundary = nn.Conv2d(width, 1, 1)
        self.classifier = nn.Sequential(nn.Dropout(float(drop_rate)), nn.Linear(width + 2, 1))
        if pretrained_file:
            self.load_backbone(pretrained_file, pretrained_sha256)
        mean, std = input_normalisation(self.backbone, in_chans)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def load_backbone(self, path: str | os.PathLike[str], sha256: str | None = None) -> None:
        """Start the backbone from a local file; the heads stay freshly initialised.

        Raises:
            CheckpointError: the file lacks backbone weights or has them in other shapes.
        """
        state = fit_backbone_state(
            self.backbone,
            read_state_dict(path, sha256),
            source=str(path),
            model_name=self.backbone_name,
            allow_unexpected=True,
        )
        self.backbone.load_state_dict(state, strict=True)

    def forward_train(self, images: torch.Tensor) -> tuple[torch.Tensor, dict[str, Any]]:
        x = (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)
        levels = self.backbone(x)
        size = levels[0].shape[-2:]
        joined = torch.cat(
            [levels[0]]
            + [
                F.interpolate(f, size=size, mode="bilinear", align_corners=False)
                for f in levels[1:]
            ],
            dim=1,
        )
        fused = self.fuse(joined)
        boundary = F.interpolate(
            self.boundary(fused), size=images.shape[-2:], mode="bilinear", align_corners=False
        )
        xray = torch.sigmoid(boundary).flatten(1)
        pooled = torch.cat(
            [fused.mean(dim=(2, 3)), xray.mean(dim=1, keepdim=True), xray.amax(1, keepdim=True)],
            dim=1,
        )
        return self.classifier(pooled).squeeze(1), {"boundary": boundary}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_train(images)[0]

    @torch.no_grad()
    def xray(self, images: torch.Tensor) -> torch.Tensor:
        """The predicted face X-ray (B, 1, H, W) in [0, 1]."""
        return torch.sigmoid(self.forward_train(images)[1]["boundary"])

    def training_losses(
        self, outputs: dict[str, Any], batch: Mapping[str, Any]
    ) -> dict[str, torch.Tensor]:
        """lambda * the pixel BCE between the predicted and true X-ray, over rows with a
        known mask (0 when a batch has none)."""
        logits = outputs["boundary"]
        known = batch["has_mask"].to(torch.bool)
        if not bool(known.any()):
            return {"boundary_loss": logits.sum() * 0.0}  # keeps the head in the graph (DDP)
        target = boundary_map(soften_hard_masks(batch["mask"][known].to(logits.dtype)))
        loss = F.binary_cross_entropy_with_logits(logits[known], target)
        return {"boundary_loss": self.boundary_weight * loss}

"""Any timm model as a detector: one logit per image, normalised with the model's own mean/std.

Weights: random by default (`pretrained=False`); `pretrained_file` loads a local state dict
(safetensors or a torch file read with `weights_only=True`, optionally checked by SHA-256);
`pretrained=True` asks timm to download the hub weights, which needs a network connection and
happens only when the user sets it. `input_stream` chooses what the network sees: the image
(`rgb`), its SRM noise residuals (`srm`, `fakearena.models.detectors.srm`) or both stacked.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import timm
import torch
from torch import nn

from fakearena.errors import CheckpointError, ConfigError
from fakearena.models.detectors.srm import InputStream
from fakearena.utils.io import sha256_file


def read_state_dict(
    path: str | os.PathLike[str], sha256: str | None = None
) -> dict[str, torch.Tensor]:
    """A plain tensor state dict from a safetensors or torch file (never unpickles code).

    A torch file may hold the state dict itself or wrap it under `state_dict`, `model` or
    `module`.

    Raises:
        CheckpointError: missing file, hash mismatch, unsafe or unreadable content.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"pretrained_file {path} does not exist; give a local .safetensors/.pth file or "
            "set detector.pretrained_file=null"
        )
    if sha256 is not None:
        actual = sha256_file(path)
        if actual != sha256.lower():
            raise CheckpointError(
                f"pretrained_file {path} has SHA-256 {actual}, expected {sha256}; the file is "
                "not the one the config names: re-download it or fix detector.pretrained_sha256"
            )
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as exc:  # safetensors raises its own error types
            raise CheckpointError(f"cannot read safetensors file {path} ({exc})") from exc
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"cannot load {path} as plain tensors with weights_only=True ({exc}); "
            "re-save it as a state dict or as .safetensors"
        ) from exc
    for key in ("state_dict", "model", "module"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    return state


def input_normalisation(backbone: nn.Module, in_chans: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, C, 1, 1) mean and std a timm backbone expects (its `pretrained_cfg`, else 0.5),
    averaged over the channels when its input has another channel count."""
    cfg = getattr(backbone, "pretrained_cfg", None) or {}
    mean = torch.tensor(cfg.get("mean", (0.5, 0.5, 0.5)), dtype=torch.float32)
    std = torch.tensor(cfg.get("std", (0.5, 0.5, 0.5)), dtype=torch.float32)
    if mean.numel() != in_chans:
        mean, std = mean.mean().repeat(in_chans), std.mean().repeat(in_chans)
    return mean.view(1, -1, 1, 1), std.view(1, -1, 1, 1)


def head_keys(model: nn.Module, state: dict[str, torch.Tensor]) -> set[str]:
    """Keys of `state` (without a `module.` prefix) under the timm model's classifier
    (`pretrained_cfg["classifier"]`)."""
    names = (getattr(model, "pretrained_cfg", None) or {}).get("classifier") or ()
    prefixes = (names,) if isinstance(names, str) else tuple(names)
    keys = {k.removeprefix("module.") for k in state}
    return {k for k in keys if any(k.startswith(f"{prefix}.") for prefix in prefixes)}


def fit_backbone_state(
    model: nn.Module,
    state: dict[str, torch.Tensor],
    *,
    source: str,
    model_name: str,
    skip: set[str] = frozenset(),  # type: ignore[assignment]
    allow_unexpected: bool = False,
) -> dict[str, torch.Tensor]:
    """The part of `state` that `model` takes, checked against it.

    `skip` keys (the classification head) are dropped, like any head key whose shape differs;
    an input conv whose channel count differs from the file's (`in_chans`, SRM or frequency
    input streams) gets the file's filters adapted by `timm.models.adapt_input_conv`;
    `allow_unexpected` accepts keys the model lacks (a whole classifier's file for a feature
    backbone).

    Raises:
        CheckpointError: wrong shapes, missing keys (or unexpected ones) name the file and fix.
    """
    from timm.models import adapt_input_conv

    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = model.state_dict()
    fitted = {}
    for key, value in state.items():
        if key in skip or (key in own and own[key].shape != value.shape and _is_head(key)):
            continue
        target = own.get(key)
        if (
            target is not None
            and value.ndim == 4
            and target.ndim == 4
            and target.shape[0] == value.shape[0]
            and target.shape[2:] == value.shape[2:]
            and target.shape[1] != value.shape[1]
        ):
            value = adapt_input_conv(int(target.shape[1]), value)
        fitted[key] = value
    wrong = [k for k, v in fitted.items() if k in own and own[k].shape != v.shape]
    missing = sorted(set(own) - set(fitted) - set(skip))
    unexpected = [] if allow_unexpected else sorted(set(fitted) - set(own))
    if wrong or missing or unexpected:
        detail = "; ".join(
            f"{label}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}"
            for label, keys in (
                ("wrong shape", wrong),
                ("missing", missing),
                ("unexpected", unexpected),
            )
            if keys
        )
        raise CheckpointError(
            f"pretrained_file {source} does not fit timm model {model_name!r} ({detail}); "
            "give weights of this exact architecture"
        )
    return {k: v for k, v in fitted.items() if k in own}


class TimmDetector(nn.Module):
    """A timm model with a one-logit head.

    Maps (B, C, H, W) images in [0, 1] to (B,) logits (positive = fake); the images are
    normalised with the mean/std of the model's pretrained config inside `forward`.

    Args:
        model_name: timm model name (`timm.list_models()`), e.g. `legacy_xception`.
        pretrained: download timm's pretrained weights (needs a network connection).
        pretrained_file: local weight file to start from (the classifier is re-initialised).
        pretrained_sha256: expected SHA-256 of `pretrained_file` (checked when given).
        in_chans: input channels.
        img_size: input side for models built for one size (ViT, Swin); None: timm's default.
        drop_rate: dropout before the classifier.
        input_stream: `rgb` (the image), `srm` (its SRM noise residuals) or `rgb+srm` (both,
            stacked as channels).
        model_kwargs: further keyword arguments of `timm.create_model`.
    """

    def __init__(
        self,
        *,
        model_name: str,
        pretrained: bool = False,
        pretrained_file: str | None = None,
        pretrained_sha256: str | None = None,
        in_chans: int = 3,
        img_size: int | None = None,
        drop_rate: float = 0.0,
        input_stream: str = "rgb",
        model_kwargs: dict[str, Any] | None = None,
    ):
        super().__init__()
        if not timm.is_model(model_name):
            close = difflib.get_close_matches(model_name, timm.list_models(), n=6, cutoff=0.6)
            raise ConfigError(
                f"timm has no model {model_name!r}; set detector.name to one of "
                f"timm.list_models() (closest: {', '.join(close) or 'none'})"
            )
        if pretrained and pretrained_file:
            raise ConfigError(
                "set either detector.pretrained=true (download) or detector.pretrained_file "
                "(local weights), not both"
            )
        kwargs = dict(model_kwargs or {})
        if img_size is not None:
            kwargs["img_size"] = int(img_size)
        stream = InputStream(input_stream, int(in_chans))
        try:
            self.model = timm.create_model(
                model_name,
                pretrained=bool(pretrained),
                num_classes=1,
                in_chans=stream.out_channels,
                drop_rate=float(drop_rate),
                **kwargs,
            )
        except TypeError as exc:
            raise ConfigError(
                f"timm model {model_name!r} does not accept these options ({exc})"
            ) from exc
        self.model_name = model_name
        if pretrained_file:
            self.load_backbone(pretrained_file, pretrained_sha256)
        cfg = getattr(self.model, "pretrained_cfg", None) or {}
        stream.set_normalisation(cfg.get("mean", (0.5, 0.5, 0.5)), cfg.get("std", (0.5, 0.5, 0.5)))
        self.stream = stream

    def classifier_keys(self) -> set[str]:
        """State-dict keys of the classification head (re-initialised for one logit)."""
        names = (getattr(self.model, "pretrained_cfg", None) or {}).get("classifier") or ()
        if isinstance(names, str):
            names = (names,)
        keys = set()
        for prefix in names:
            keys |= {k for k in self.model.state_dict() if k.startswith(f"{prefix}.")}
        return keys

    def load_backbone(self, path: str | os.PathLike[str], sha256: str | None = None) -> None:
        """Load every weight but the classifier from a local file.

        Raises:
            CheckpointError: the file's weights do not fit this architecture.
        """
        state = fit_backbone_state(
            self.model,
            read_state_dict(path, sha256),
            source=str(path),
            model_name=self.model_name,
            skip=self.classifier_keys(),
        )
        self.model.load_state_dict(state, strict=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(self.stream(images)).squeeze(1)


def _is_head(key: str) -> bool:
    return key.split(".")[0] in ("fc", "head", "classifier", "last_linear")

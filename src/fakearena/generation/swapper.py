"""A face-swap checkpoint applied to images: swap to another person, blend back into the source.

`fakearena generate` (`fakearena.generation.faceswap`) and the end of a `task=faceswap` run
(`heldout_truth_metrics`) make fakes the same way: each face is resized to the model, encoded,
decoded by the target identity's decoder, resized back and blended into its own source image
(`fakearena.generation.blend`) with the run's blend recipe (`task.blend`, overridable by the
generate config's `blend`). The paste goes through the feathered ellipse, or, for a network
that predicts a face mask, through the mask it predicts for the swapped face (`blend.mask:
predicted`), optionally times the one it predicts for the source face as itself
(`predicted_both`); `Swapper.masks_used` holds the masks of the last call (a fake set writes
them beside its fakes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf

from fakearena.data.datasets import to_tensor
from fakearena.errors import ConfigError
from fakearena.generation.blend import blend_back, blend_options, mask_mode
from fakearena.generation.truth import TruthScorer, has_truth, truth_metrics

SYNTH_SOURCE_COLUMNS = ("synth_seed", "synth_identity", "synth_index")


def swap_targets(n_identities: int) -> dict[int, int]:
    """Who becomes whom: identity i -> i + 1 (mod n), so A <-> B for two people."""
    return {i: (i + 1) % n_identities for i in range(n_identities)}


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else value


def blend_recipe(task: Any, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The run's blend recipe (`task.blend` in its checkpoint) updated by `overrides`."""
    options = dict(_plain(task.hparams.get("blend")) or {})
    options.update(_plain(overrides) or {})
    return options


@torch.no_grad()
def swap_images(task: Any, images: list[np.ndarray], target: int) -> list[np.ndarray]:
    """Swap uint8 (H,W,3) faces to identity `target`: float (H,W,3) images in [0, 1], each
    at its own size (`task.swap_image`: the face box swapped, the rest unchanged)."""
    return swap_images_with_masks(task, images, target, masks=False)[0]


@torch.no_grad()
def swap_images_with_masks(
    task: Any,
    images: list[np.ndarray],
    target: int,
    *,
    masks: bool = True,
    source: int | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """`swap_images`, and with `masks` the predicted float (H,W) masks of the swapped faces
    (`task.swap_image_with_mask`; times the source's own predicted mask when `source` is
    given)."""
    device = next(task.parameters()).device
    out: list[np.ndarray] = [np.empty(0)] * len(images)
    out_masks: list[np.ndarray] = [np.empty(0)] * len(images) if masks else []
    sizes: dict[tuple[int, ...], list[int]] = {}
    for i, image in enumerate(images):
        sizes.setdefault(image.shape, []).append(i)
    for members in sizes.values():
        batch = torch.stack([to_tensor(images[i], None) for i in members]).to(device)
        if masks:
            swapped, predicted = task.swap_image_with_mask(batch, target, source)
            for i, mask in zip(members, predicted.float().clamp(0, 1)):
                out_masks[i] = mask[0].cpu().numpy().astype(np.float32)
        else:
            swapped = task.swap_image(batch, target)
        for i, face in zip(members, swapped.float().clamp(0, 1)):
            out[i] = face.permute(1, 2, 0).cpu().numpy().astype(np.float64)
    return out, out_masks


class Swapper:
    """Swaps faces to another identity and blends them back into their source images.

    Args:
        task: a restored face-swap task (`swap`, `net.image_size`), in eval mode.
        blend: the blend recipe (`blend_options` keys).
    """

    def __init__(self, task: Any, blend: Mapping[str, Any] | None = None):
        self.task = task
        self.ellipse, self.colour = blend_options(blend)
        self.mask_mode = mask_mode(blend)
        if self.mask_mode != "ellipse" and not getattr(task.net, "predicts_mask", False):
            raise ConfigError(
                f"blend.mask={self.mask_mode} pastes through the predicted mask, but this "
                "checkpoint's network predicts none; pass blend.mask=ellipse"
            )
        self._masks: dict[tuple[int, int], np.ndarray] = {}
        self.masks_used: list[np.ndarray] = []

    @property
    def recipe(self) -> dict[str, Any]:
        """The blend settings used, as recorded in a fake set's provenance."""
        return {**self.ellipse.__dict__, "colour": self.colour, "mask": self.mask_mode}

    def describe(self) -> str:
        """The blend in words, for a fake set's card."""
        colour = {
            "mean_std": ", per-channel mean/std colour matching",
            "skin": ", skin-tone gain",
            "rct": ", Reinhard colour transfer in L*a*b*",
            "lct": ", linear (mean and covariance) colour transfer",
        }.get(self.colour, "")
        shape = {
            "ellipse": "feathered ellipse mask",
            "predicted": "the network's predicted mask of the swapped face",
            "predicted_both": "the product of the network's predicted masks of the swapped "
            "and the source face",
        }[self.mask_mode]
        return f"{shape}{colour}"

    def mask(self, height: int, width: int) -> np.ndarray:
        """The float (H, W) blend mask a fake of that size is pasted through."""
        if (height, width) not in self._masks:
            self._masks[height, width] = self.ellipse.render(height, width)
        return self._masks[height, width]

    def __call__(
        self, images: list[np.ndarray], target: int, source: int | None = None
    ) -> list[np.ndarray]:
        """uint8 (H,W,3) fakes: `images` (of identity `source`) swapped to identity `target`
        and blended back; the masks pasted through are kept in `masks_used`."""
        if self.mask_mode == "ellipse":
            faces = swap_images(self.task, images, target)
            self.masks_used = [self.mask(*image.shape[:2]) for image in images]
        else:
            if self.mask_mode == "predicted_both" and source is None:
                raise ValueError("blend.mask=predicted_both needs the source identity")
            own = source if self.mask_mode == "predicted_both" else None
            faces, self.masks_used = swap_images_with_masks(
                self.task, images, target, source=own
            )
        return [
            blend_back(image, face, mask, colour=self.colour)
            for image, face, mask in zip(images, faces, self.masks_used)
        ]


def synth_donors(frame: pd.DataFrame, names: list[str]) -> dict[str, int] | None:
    """The synthetic identity of each person when the faces are synthetic, else None."""
    if not set(SYNTH_SOURCE_COLUMNS) <= set(frame.columns):
        return None
    donors = {}
    for name in names:
        values = pd.to_numeric(frame.loc[frame["identity"] == name, "synth_identity"])
        values = values.dropna().unique()
        if len(values) != 1:
            return None
        donors[name] = int(values[0])
    return donors


def heldout_truth_metrics(
    task: Any, datamodule: Any, split: str = "test", batch_size: int = 32
) -> dict[str, dict[str, Any]]:
    """Truth metrics (`<split>/truth_psnr`, ...) of a face-swap run's held-out swaps.

    Each real face of the run's `split` is swapped to the next identity (as `fakearena
    generate` does) and blended back with the run's recipe. Empty when the faces are not
    the built-in synthetic ones (no truth to compare with).
    """
    names = list(task.identity_names)
    donors = synth_donors(datamodule.source_manifest.frame, names)
    rows = datamodule.manifest.select(split=split, label=0)
    if donors is None or len(rows) == 0:
        return {}
    dataset = datamodule.rows_dataset(rows, native_size=True)
    swapper = Swapper(task, blend_recipe(task))
    targets = swap_targets(len(names))
    scorer, scores = TruthScorer(), []
    identities = rows.frame["identity"].to_numpy()
    was_training = task.training
    task.eval()
    try:
        for code, name in enumerate(names):
            members = [int(i) for i in np.flatnonzero(identities == name)]
            donor = donors[names[targets[code]]]
            for start in range(0, len(members), batch_size):
                chunk = members[start : start + batch_size]
                fakes = swapper([dataset.load(i) for i in chunk], targets[code], code)
                for i, fake in zip(chunk, fakes):
                    row = {**dataset.row(i), "synth_donor": donor}
                    if has_truth(row):
                        scores.append(scorer.score(row, fake))
    finally:
        task.train(was_training)
    return truth_metrics({split: scores}, split, per_split=False) if scores else {}

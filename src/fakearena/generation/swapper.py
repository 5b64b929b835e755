"""A face-swap checkpoint applied to images: swap to another person, blend back into the source.

`fakearena generate` (`fakearena.generation.faceswap`) and the end of a `task=faceswap` run
(`heldout_truth_metrics`) make fakes the same way: each face is resized to the model, encoded,
decoded by the target identity's decoder, resized back and blended into its own source image
(`fakearena.generation.blend`) with the run's blend recipe (`task.blend`, overridable by the
generate config's `blend`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf

from fakearena.data.datasets import to_tensor
from fakearena.generation.blend import blend_back, blend_options
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
    device = next(task.parameters()).device
    out: list[np.ndarray] = [np.empty(0)] * len(images)
    sizes: dict[tuple[int, ...], list[int]] = {}
    for i, image in enumerate(images):
        sizes.setdefault(image.shape, []).append(i)
    for members in sizes.values():
        batch = torch.stack([to_tensor(images[i], None) for i in members]).to(device)
        swapped = task.swap_image(batch, target).float().clamp(0, 1)
        for i, face in zip(members, swapped):
            out[i] = face.permute(1, 2, 0).cpu().numpy().astype(np.float64)
    return out


class Swapper:
    """Swaps faces to another identity and blends them back into their source images.

    Args:
        task: a restored face-swap task (`swap`, `net.image_size`), in eval mode.
        blend: the blend recipe (`blend_options` keys).
    """

    def __init__(self, task: Any, blend: Mapping[str, Any] | None = None):
        self.task = task
        self.ellipse, self.colour = blend_options(blend)
        self._masks: dict[tuple[int, int], np.ndarray] = {}

    @property
    def recipe(self) -> dict[str, Any]:
        """The blend settings used, as recorded in a fake set's provenance."""
        return {**self.ellipse.__dict__, "colour": self.colour}

    def describe(self) -> str:
        """The blend in words, for a fake set's card."""
        colour = {
            "mean_std": ", per-channel mean/std colour matching",
            "skin": ", skin-tone gain",
        }.get(self.colour, "")
        return f"feathered ellipse mask{colour}"

    def mask(self, height: int, width: int) -> np.ndarray:
        """The float (H, W) blend mask a fake of that size is pasted through."""
        if (height, width) not in self._masks:
            self._masks[height, width] = self.ellipse.render(height, width)
        return self._masks[height, width]

    def __call__(self, images: list[np.ndarray], target: int) -> list[np.ndarray]:
        """uint8 (H,W,3) fakes: `images` swapped to identity `target` and blended back."""
        faces = swap_images(self.task, images, target)
        return [
            blend_back(image, face, self.mask(*image.shape[:2]), colour=self.colour)
            for image, face in zip(images, faces)
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
                fakes = swapper([dataset.load(i) for i in chunk], targets[code])
                for i, fake in zip(chunk, fakes):
                    row = {**dataset.row(i), "synth_donor": donor}
                    if has_truth(row):
                        scores.append(scorer.score(row, fake))
    finally:
        task.train(was_training)
    return truth_metrics({split: scores}, split, per_split=False) if scores else {}

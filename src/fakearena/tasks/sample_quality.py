"""Tasks that learn to make images from noise (GAN, diffusion): how their samples are judged.

Validation computes FID, KID and precision/recall/density/coverage (k=`prdc_k`) of `fid_n`
images generated from fixed noise (`generate(n, eval_seed + 1)`) against each reference of the
split: a seeded sample of up to `fid_n` of its real images, and once per split the real-vs-real
floor (the same scores of `fid_n` other real rows, see `fakearena.metrics.quality`). The data
names the references (`evaluation_sets(split)`, one loader each; `fakearena.data.gan_people`
holds out faces of the training people as the headline reference and adds the unseen people);
the headline's keys are `<stage>/<metric>`, the others' `<stage>/<name>/<metric>`. A sample
grid from fixed noise is saved as `<run>/samples/epoch_<NNNN>.png` after every training epoch
(and logged to TensorBoard/W&B).

A subclass provides `generate(n, seed) -> (n, C, H, W) in [0, 1]`, `sampler_description()` and
a network with `image_shape`; its hyper-parameters hold `fid_n, kid_subsets, kid_subset_size,
prdc_k, floor, grid_size, eval_seed, fid`.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from fakearena.metrics.quality import FLOOR_PROTOCOL, floor_rows, sample_quality
from fakearena.metrics.reference import subset
from fakearena.results import metric
from fakearena.tasks import gan_eval
from fakearena.tasks.base import Task
from fakearena.utils.io import atomic_write_png
from fakearena.utils.log_images import log_image

# Precision/recall/density/coverage: the PRDC names recorded beside FID and KID.
QUALITY_NAMES = ("precision", "recall", "density", "coverage")


class SampleQualityTask(Task, abc.ABC):
    """FID/KID/PRDC validation and testing of a task that generates images (see module doc)."""

    model_group = "generator"

    def __init__(self) -> None:
        super().__init__()
        self.best_eval: dict[str, Any] | None = None
        self._reals: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        self._real_features: dict[str, np.ndarray] = {}
        self._floors: dict[str, dict[str, Any]] = {}

    @abc.abstractmethod
    def generate(self, n: int, seed: int, batch_size: int | None = None) -> torch.Tensor:
        """`n` images in [0, 1] on CPU from noise drawn with `seed` (same seed, same images)."""

    @abc.abstractmethod
    def sampler_description(self) -> str:
        """What made the evaluated samples (recorded in each metric's protocol)."""

    def on_train_epoch_end(self) -> None:
        if int(self.hparams.grid_size) > 0 and self.trainer.is_global_zero:
            self.save_sample_grid(f"epoch_{self.current_epoch:04d}")

    def save_sample_grid(self, stem: str) -> Path:
        """Write the fixed-z grid to `<run>/samples/<stem>.png` and log it; returns the path."""
        images = self.generate(int(self.hparams.grid_size), int(self.hparams.eval_seed))
        grid = image_grid(images)
        path = Path(self.trainer.default_root_dir) / "samples" / f"{stem}.png"
        atomic_write_png(path, grid)
        log_image(self.loggers, "samples", grid, step=self.global_step)
        return path

    # ---- evaluation -----------------------------------------------------------------------
    def _collect_reals(self, split: str, batch: dict[str, Any], loader: int) -> None:
        if not self.note_skipped(split, batch):
            return
        keep = batch["label"] == 0
        if keep.any():
            piece = (batch["index"][keep].cpu(), batch["image"][keep].cpu())
            self._reals.setdefault(int(loader), []).append(piece)

    def validation_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0):
        self._collect_reals("val", batch, dataloader_idx)

    def test_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0):
        self._collect_reals("test", batch, dataloader_idx)

    def evaluation_sets(self, stage: str) -> list[tuple[str, str]]:
        """(name, description) of each reference of `stage`, in the order of its loaders.

        The data's `evaluation_sets(split)` names them when it has one (task=gan's
        `fakearena.data.gan_people.GANDataModule`); else the split itself is the reference.
        """
        datamodule = getattr(self._trainer, "datamodule", None) if self._trainer else None
        named = getattr(datamodule, "evaluation_sets", None)
        if named is None:
            return [("", f"{stage} split, label 0")]
        return [(s.name, s.description) for s in named(stage)]

    def _gathered_reals(self) -> dict[int, torch.Tensor]:
        """Real images seen this epoch per loader on every rank, once each, in row order."""
        pieces = self._reals
        self._reals = {}
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            everything: list[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(everything, pieces)
            merged: dict[int, list] = {}
            for rank in everything:
                for loader, rank_pieces in rank.items():
                    merged.setdefault(loader, []).extend(rank_pieces)
            pieces = merged
        gathered = {}
        for loader, loader_pieces in pieces.items():
            indices = torch.cat([p[0] for p in loader_pieces])
            images = torch.cat([p[1] for p in loader_pieces])
            gathered[loader] = images[np.unique(indices.numpy(), return_index=True)[1]]
        return gathered

    def _evaluate(self, stage: str) -> dict[str, dict[str, Any]]:
        """FID/KID/PRDC of `fid_n` fixed-z images against each reference, with its floor.

        Each reference is a seeded sample (`eval_seed`) of up to `fid_n` of its real rows;
        its floor compares it with `fid_n` other real rows, disjoint from it. Returns the
        scores by reference name ("" for the headline).
        """
        gathered = self._gathered_reals()
        n_fake, k = int(self.hparams.fid_n), int(self.hparams.prdc_k)
        options = dict(
            k=k,
            kid_subsets=int(self.hparams.kid_subsets),
            kid_subset_size=int(self.hparams.kid_subset_size),
            seed=int(self.hparams.eval_seed),
        )
        fake_features: np.ndarray | None = None
        results = {}
        for loader, (name, description) in enumerate(self.evaluation_sets(stage)):
            reals = gathered.get(loader, torch.zeros(0, *self.net.image_shape))
            reference = subset(len(reals), min(n_fake, len(reals)), int(self.hparams.eval_seed))
            gan_eval.check_sizes(len(reference), n_fake, k)
            key = f"{stage}/{name}"
            if key not in self._real_features or len(self._real_features[key]) != len(reference):
                real = self._features(reals[reference])
                self._real_features[key] = real
                self._floors[key] = self._floor(reals, reference, real, options)
            if fake_features is None:
                fakes = self.generate(n_fake, int(self.hparams.eval_seed) + 1)
                fake_features = self._features(fakes)
            scores = sample_quality(self._real_features[key], fake_features, **options)
            results[name] = {**scores, "floor": self._floors[key], "reals": description}
        return results

    def _features(self, images: torch.Tensor) -> np.ndarray:
        """Inception pool3 features on the task's device, with `task.fid` (`metrics.fid`)'s
        weights and batch size."""
        return gan_eval.inception_features(
            images, **{"device": self.device, **(self.hparams.get("fid") or {})}
        )

    def _floor(
        self,
        reals: torch.Tensor,
        reference: np.ndarray,
        reference_features: np.ndarray,
        options: dict[str, Any],
    ) -> dict[str, Any]:
        """Scores of `fid_n` other reals against the reference, or why there are none."""
        if not bool(self.hparams.floor):
            return {"reason": "task.floor=false"}
        rows = floor_rows(
            len(reals), reference, int(self.hparams.fid_n), int(self.hparams.eval_seed)
        )
        if isinstance(rows, str):
            return {"reason": f"{rows}: set task.fid_n <= {len(reals) // 2} for a floor"}
        others = self._features(reals[rows])
        return sample_quality(reference_features, others, **options)

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            self._reals = {}
            return
        results = self._evaluate("val")
        self.log("val/fid", results[""]["fid"], prog_bar=True, sync_dist=False)
        for name, scores in results.items():
            prefix = f"val/{name}/" if name else "val/"
            for metric_name in ("fid", "kid", *QUALITY_NAMES):
                if name or metric_name != "fid":
                    self.log(prefix + metric_name, scores[metric_name], sync_dist=False)
        if self.best_eval is None or results[""]["fid"] < self.best_eval["sets"][""]["fid"]:
            self.best_eval = {"sets": results, "epoch": int(self.current_epoch)}

    def on_test_epoch_end(self) -> None:
        self.test_metrics = {}
        for name, scores in self._evaluate("test").items():
            self.test_metrics.update(self._metric_entries("test", name, scores))
        for key, entry in self.test_metrics.items():
            self.log(key, entry["value"], sync_dist=False)

    def _metric_entries(
        self, stage: str, name: str, scores: dict[str, Any], epoch: int | None = None
    ) -> dict[str, dict[str, Any]]:
        """Result entries of one reference: `<stage>/<metric>` for the headline ("" name),
        `<stage>/<name>/<metric>` for the others, floors as `..._floor`."""
        prefix = f"{stage}/{name}/" if name else f"{stage}/"
        protocol = {
            **gan_eval.inception_protocol(**(self.hparams.get("fid") or {})),
            "n_real": scores["n_real"],
            "n_fake": scores["n_fake"],
            "fake_seed": int(self.hparams.eval_seed) + 1,
            "sampler": self.sampler_description(),
            "reals": f"{scores.get('reals', f'{stage} split, label 0')}: a sample of n_real "
            "rows (seed eval_seed)",
        }
        floor = scores.get("floor") or {}
        if "reason" in floor:
            protocol["floor"] = f"none: {floor['reason']}"
        entries = {
            f"{prefix}fid": metric(
                scores["fid"],
                n=scores["n_fake"],
                rank_deficient=scores["rank_deficient"],
                protocol=protocol,
                **({"warning": "; ".join(scores["warnings"])} if scores["warnings"] else {}),
            ),
            f"{prefix}kid": metric(
                scores["kid"],
                n=scores["n_fake"],
                std=scores["kid_std"],
                subset_size=scores["kid_subset_size"],
                subsets=int(self.hparams.kid_subsets),
                protocol=protocol,
            ),
        }
        for metric_name in QUALITY_NAMES:
            entries[prefix + metric_name] = metric(
                scores[metric_name], n=scores["n_fake"], k=scores["k"], protocol=protocol
            )
        if "fid" in floor:
            floor_protocol = {**protocol, "floor": FLOOR_PROTOCOL}
            for metric_name in ("fid", "kid", *QUALITY_NAMES):
                entries[f"{prefix}{metric_name}_floor"] = metric(
                    floor[metric_name], n=floor["n_fake"], k=floor["k"], protocol=floor_protocol
                )
        if epoch is not None:
            for entry in entries.values():
                entry["epoch"] = epoch
        return entries

    def result_metrics(self) -> dict[str, dict[str, Any]]:
        """Validation FID/KID of the best epoch, with N and protocol, for results.json."""
        if self.best_eval is None:
            return {}
        entries: dict[str, dict[str, Any]] = {}
        for name, scores in self.best_eval["sets"].items():
            entries.update(self._metric_entries("val", name, scores, self.best_eval["epoch"]))
        return entries



def image_grid(images: torch.Tensor, columns: int | None = None, pad: int = 2) -> np.ndarray:
    """Images (N, C, H, W) in [0, 1] -> one uint8 (rows*H, cols*W, 3) grid with white gaps."""
    n, _, height, width = images.shape
    columns = columns or max(1, int(np.ceil(np.sqrt(n))))
    rows = int(np.ceil(n / columns))
    grid = np.full(
        (rows * (height + pad) + pad, columns * (width + pad) + pad, 3), 255, dtype=np.uint8
    )
    pixels = (gan_eval.to_rgb(images) * 255.0).round().to(torch.uint8)
    pixels = pixels.permute(0, 2, 3, 1).numpy()
    for i in range(n):
        top = pad + (i // columns) * (height + pad)
        left = pad + (i % columns) * (width + pad)
        grid[top : top + height, left : left + width] = pixels[i]
    return grid

"""GAN training: a generator/discriminator pair injected by config, manual optimisation.

Each training step takes a batch of real images (label 0 rows only; fakes in the data are
ignored), makes one discriminator step, and every `d_steps` steps one generator step (then the
EMA update). With `pretrain_steps` > 0 (networks with an encoder) the first that many steps
train the generator as a VAE decoder instead (`fakearena.tasks.gan_pretrain`, with its own
optimizer; D waits), then adversarial training takes over with fresh G and D optimizers.
Losses come from `fakearena.tasks.gan_losses` (`loss=null`: the network's default).

Validation computes FID, KID and precision/recall/density/coverage (k=`prdc_k`) of `fid_n`
images generated from a fixed z against each reference of the split: a seeded sample of up to
`fid_n` of its real images, and once per split the real-vs-real floor (the same scores of
`fid_n` other real rows, see `fakearena.metrics.quality`). The data names the references
(`evaluation_sets(split)`, one loader each; task=gan's data holds out faces of the training
people as the headline reference and adds the unseen people, `fakearena.data.gan_people`);
the headline's keys are `<stage>/<metric>`, the others' `<stage>/<name>/<metric>`. The
checkpoint is chosen on `val/fid`. Validation runs every `trainer.check_val_every_n_epoch`
epochs and always after the last epoch (also when `trainer.max_time` ends the run); a sample
grid from a fixed z is saved as `<run>/samples/epoch_<NNNN>.png` after every training epoch
(and logged to TensorBoard/W&B).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from omegaconf import DictConfig, OmegaConf
from torch import nn

from fakearena.errors import FakearenaError
from fakearena.errors import TrainingDivergedError as TrainingDivergedError  # re-exported
from fakearena.metrics.prdc import DEFAULT_K
from fakearena.metrics.quality import FLOOR_PROTOCOL, floor_rows, sample_quality
from fakearena.metrics.reference import subset
from fakearena.models.generators.gan_pair import GANPair
from fakearena.results import metric
from fakearena.tasks import gan_eval
from fakearena.tasks.base import Task, called_parts
from fakearena.tasks.gan_losses import check_loss, discriminator_loss, generator_loss
from fakearena.tasks.gan_pretrain import vae_loss
from fakearena.tasks.stability import ensure_finite_loss
from fakearena.utils.io import atomic_write_png
from fakearena.utils.log_images import log_image

# Precision/recall/density/coverage: the PRDC names recorded beside FID and KID.
QUALITY_NAMES = ("precision", "recall", "density", "coverage")


class GANTask(Task):
    """Adversarial training of a `GANPair` with FID/KID validation.

    Args:
        net: the generator/discriminator pair (see `fakearena.models.generators`).
        optimizer: partial optimizer factory for G (None for inference).
        d_optimizer: partial optimizer factory for D (None: the same as `optimizer`).
        loss: `nonsaturating`, `minimax`, `hinge`, or None for `net.default_loss`.
        d_steps: discriminator steps per generator step (each on a new real batch).
        pretrain_steps: first steps that train G as a VAE decoder with the network's encoder
            (0: adversarial from the start).
        pretrain_kl_weight: weight of the KL term of the VAE loss (see `gan_pretrain`).
        pretrain_optimizer: partial optimizer factory for encoder + G during the warm start
            (None: the same as `optimizer`).
        fid_n: generated images (and at most this many real ones) per FID/KID/PRDC
            evaluation; the floor needs `fid_n` more real rows in the split.
        kid_subsets: KID subsets; kid_subset_size: rows per subset (capped at N).
        prdc_k: nearest neighbours of precision/recall/density/coverage.
        floor: also score real against real (the floor beside each metric).
        eval_batch_size: images per generator/Inception forward pass during evaluation.
        grid_size: images in the per-epoch sample grid (0 disables it).
        eval_seed: seed of the fixed z used for grids and FID (independent of `seed`).
        generator_name: the generator config's name (the fake sets' `source: gan/<name>`).
        fid: the FID extractor (`conf/metrics`: `metrics.fid`): `weights` and `weights_sha256`
            of another Inception file, `batch_size` of its forward (None: 32 on CPU, 256 on
            a GPU). Features are computed on the task's device.
        monitor: metric key that selects the checkpoint; monitor_mode: "min" or "max".
        name: task name recorded in results.json and checkpoints.
    """

    model_group = "generator"
    # the D step never touches G's parameters (and the G step leaves D's unused)
    ddp_find_unused_parameters = True

    def __init__(
        self,
        *,
        net: GANPair,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        d_optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        loss: str | None = None,
        d_steps: int = 1,
        pretrain_steps: int = 0,
        pretrain_kl_weight: float = 0.02,
        pretrain_optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        fid_n: int = 256,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        prdc_k: int = DEFAULT_K,
        floor: bool = True,
        eval_batch_size: int = 32,
        grid_size: int = 64,
        eval_seed: int = 1234,
        generator_name: str | None = None,
        fid: dict[str, Any] | None = None,
        monitor: str = "val/fid",
        monitor_mode: str = "min",
        name: str = "gan",
    ):
        super().__init__()
        if isinstance(fid, DictConfig):  # checkpoint hyper-parameters load weights-only
            fid = OmegaConf.to_container(fid, resolve=True)  # type: ignore[assignment]
        self.save_hyperparameters(ignore=["net", "optimizer", "d_optimizer", "pretrain_optimizer"])
        for attribute in ("generator", "discriminator", "latent_dim", "sample", "augment"):
            if not hasattr(net, attribute):
                raise FakearenaError(
                    f"task=gan needs a generator config that builds a GANPair (missing "
                    f"{attribute!r}); use generator=mlp|dcgan|sngan"
                )
        if int(d_steps) < 1:
            raise FakearenaError(f"task.d_steps={d_steps}; it must be >= 1")
        if int(pretrain_steps) < 0 or float(pretrain_kl_weight) < 0:
            raise FakearenaError(
                f"task.pretrain_steps={pretrain_steps}, task.pretrain_kl_weight="
                f"{pretrain_kl_weight}: both must be >= 0"
            )
        if int(pretrain_steps) > 0 and getattr(net, "encoder", None) is None:
            raise FakearenaError(
                f"task.pretrain_steps={pretrain_steps} trains the generator as a VAE decoder, "
                "which needs an encoder: use generator=dcgan with generator.encoder_width=32 "
                "(or a config that has one), or set task.pretrain_steps=0"
            )
        self.net = net
        self.loss_name = check_loss(loss or net.default_loss)
        self.optimizer_factory = optimizer
        self.d_optimizer_factory = d_optimizer
        self.pretrain_optimizer_factory = pretrain_optimizer
        self.automatic_optimization = False
        self.best_eval: dict[str, Any] | None = None
        self._reals: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        self._real_features: dict[str, np.ndarray] = {}
        self._floors: dict[str, dict[str, Any]] = {}
        self._d_step_count = 0
        self._pretrain_step_count = 0

    def compiled_modules(self) -> list[nn.Module]:
        """The parts a step calls one by one (`compile=true`)."""
        return called_parts(self.net)

    # ---- training -------------------------------------------------------------------------
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] from the evaluation generator."""
        return self.net.sample(z)

    def configure_optimizers(self):
        if self.optimizer_factory is None:
            raise RuntimeError("this GANTask was built for inference (optimizer=None)")
        d_factory = self.d_optimizer_factory or self.optimizer_factory
        g_opt = self.optimizer_factory(params=self.net.generator.parameters())
        d_opt = d_factory(params=self.net.discriminator.parameters())
        if int(self.hparams.pretrain_steps) == 0:
            return [g_opt, d_opt]
        p_factory = self.pretrain_optimizer_factory or self.optimizer_factory
        warm = [*self.net.encoder.parameters(), *self.net.generator.parameters()]
        return [g_opt, d_opt, p_factory(params=warm)]

    @property
    def pretraining(self) -> bool:
        """Whether the next training step is a VAE warm-start step."""
        return self._pretrain_step_count < int(self.hparams.pretrain_steps)

    def _real_batch(self, batch: dict[str, Any]) -> torch.Tensor | None:
        """Real images of a batch in [-1, 1], or None when it holds none."""
        if not self.note_skipped("train", batch):
            return None
        real = batch["image"][batch["label"] == 0]
        return real * 2.0 - 1.0 if len(real) else None

    def _latent(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.net.latent_dim, device=self.device)

    def _check_finite(self, name: str, value: torch.Tensor) -> None:
        ensure_finite_loss(
            self,
            value,
            name,
            "The last good checkpoint (checkpoints/last.ckpt, best.ckpt) is kept. Lower "
            "task.optimizer.lr, try task.loss=hinge or a spectral-norm network (generator=sngan)",
        )

    def training_step(self, batch: dict[str, Any], batch_idx: int):
        real = self._real_batch(batch)
        if real is None:
            return None
        if tuple(real.shape[1:]) != self.net.image_shape:
            raise FakearenaError(
                f"the data gives images of shape {tuple(real.shape[1:])} but the generator "
                f"makes {self.net.image_shape}; set data.image_size/data.channels to match "
                "the generator config (or the generator's image_size/channels to the data)"
            )
        if self.pretraining:
            self._pretrain_step(real)
            return None
        g_opt, d_opt = self.optimizers()[:2]
        net, n = self.net, real.shape[0]

        self.toggle_optimizer(d_opt)
        with torch.no_grad():
            fake = net.generator(self._latent(n))
        d_loss = discriminator_loss(
            self.loss_name,
            net.discriminator(net.augment(real)),
            net.discriminator(net.augment(fake)),
        )
        self._check_finite("discriminator", d_loss)
        d_opt.zero_grad(set_to_none=True)
        self.manual_backward(d_loss)
        d_opt.step()
        self.untoggle_optimizer(d_opt)
        self._d_step_count += 1
        self.log("train/d_loss", d_loss.detach(), prog_bar=True, batch_size=n)

        if self._d_step_count % int(self.hparams.d_steps) == 0:
            self.toggle_optimizer(g_opt)
            fake_logits = net.discriminator(net.augment(net.generator(self._latent(n))))
            g_loss = generator_loss(self.loss_name, fake_logits)
            self._check_finite("generator", g_loss)
            g_opt.zero_grad(set_to_none=True)
            self.manual_backward(g_loss)
            g_opt.step()
            self.untoggle_optimizer(g_opt)
            net.update_ema()
            self.log("train/g_loss", g_loss.detach(), prog_bar=True, batch_size=n)
        return None

    def _pretrain_step(self, real: torch.Tensor) -> None:
        """One VAE step of encoder + generator (the warm start), then the EMA update."""
        opt = self.optimizers()[2]
        self.toggle_optimizer(opt)
        loss, parts = vae_loss(self.net, real, float(self.hparams.pretrain_kl_weight))
        self._check_finite("warm-start (VAE)", loss)
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        opt.step()
        self.untoggle_optimizer(opt)
        self.net.update_ema()
        self._pretrain_step_count += 1
        n = real.shape[0]
        self.log("train/recon_mse", parts["recon_mse"], prog_bar=True, batch_size=n)
        self.log("train/kl", parts["kl"], batch_size=n)

    # ---- fixed-z sampling -----------------------------------------------------------------
    @torch.no_grad()
    def generate(self, n: int, seed: int, batch_size: int | None = None) -> torch.Tensor:
        """`n` images in [0, 1] on CPU from z drawn with `seed` (same seed, same images)."""
        generator = torch.Generator().manual_seed(int(seed))
        z = torch.randn(n, self.net.latent_dim, generator=generator)
        step = int(batch_size or self.hparams.eval_batch_size)
        was_training = self.net.training
        self.net.eval()
        try:
            images = [
                self.net.sample(z[i : i + step].to(self.device)).float().cpu()
                for i in range(0, n, step)
            ]
        finally:
            self.net.train(was_training)
        return (torch.cat(images) + 1.0).div_(2.0).clamp_(0.0, 1.0)

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
            "sampler": "ema" if self.net.generator_ema is not None else "generator",
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

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["gan_state"] = {
            "best_eval": self.best_eval,
            "d_steps": self._d_step_count,
            "pretrain_steps": self._pretrain_step_count,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("gan_state") or {}
        best = state.get("best_eval")
        if best is not None and "sets" not in best:  # written before references had names
            best = {"sets": {"": best}, "epoch": best.get("epoch")}
        self.best_eval = best
        self._d_step_count = int(state.get("d_steps", 0))
        self._pretrain_step_count = int(state.get("pretrain_steps", 0))

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

"""GAN training: a generator/discriminator pair injected by config, manual optimisation.

Each training step takes a batch of real images (label 0 rows only; fakes in the data are
ignored), makes one discriminator step, and every `d_steps` steps one generator step (then the
EMA update). With `pretrain_steps` > 0 (networks with an encoder) the first that many steps
train the generator as a VAE decoder instead (`fakearena.tasks.gan_pretrain`, with its own
optimizer; D waits), then adversarial training takes over with fresh G and D optimizers.
Losses come from `fakearena.tasks.gan_losses` (`loss=null`: the network's default); with
`r1_gamma` > 0, D's loss gains the R1 penalty on its reals every `r1_every` D steps.

Validation and testing (FID/KID/PRDC against each reference, floors, sample grids) are
`fakearena.tasks.sample_quality.SampleQualityTask`'s. The checkpoint is chosen on `val/fid`.
Validation runs every `trainer.check_val_every_n_epoch` epochs and always after the last
epoch (also when `trainer.max_time` ends the run).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from fakearena.errors import FakearenaError
from fakearena.errors import TrainingDivergedError as TrainingDivergedError  # re-exported
from fakearena.metrics.prdc import DEFAULT_K
from fakearena.models.generators.gan_pair import GANPair
from fakearena.tasks.base import called_parts
from fakearena.tasks.gan_losses import (
    check_loss,
    discriminator_loss,
    generator_loss,
    r1_penalty,
)
from fakearena.tasks.gan_pretrain import vae_loss
from fakearena.tasks.sample_quality import QUALITY_NAMES as QUALITY_NAMES  # re-exported
from fakearena.tasks.sample_quality import SampleQualityTask
from fakearena.tasks.sample_quality import image_grid as image_grid  # re-exported
from fakearena.tasks.stability import ensure_finite_loss


class GANTask(SampleQualityTask):
    """Adversarial training of a `GANPair` with FID/KID validation.

    Args:
        net: the generator/discriminator pair (see `fakearena.models.generators`).
        optimizer: partial optimizer factory for G (None for inference).
        d_optimizer: partial optimizer factory for D (None: the same as `optimizer`).
        loss: `nonsaturating`, `minimax`, `hinge`, or None for `net.default_loss`.
        d_steps: discriminator steps per generator step (each on a new real batch).
        r1_gamma: weight of the R1 penalty on D's (augmented) reals, gamma/2 * E||grad||^2
            (0: none); r1_every: apply it lazily every that many D steps (the first
            included), scaled by r1_every, as StyleGAN2 does (1: every step).
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
        r1_gamma: float = 0.0,
        r1_every: int = 16,
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
        if float(r1_gamma) < 0 or int(r1_every) < 1:
            raise FakearenaError(
                f"task.r1_gamma={r1_gamma}, task.r1_every={r1_every}: r1_gamma must be >= 0 "
                "(0 turns the R1 penalty off) and r1_every >= 1"
            )
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
        self._d_step_count = 0
        self._pretrain_step_count = 0

    def compiled_modules(self) -> list[nn.Module]:
        """The parts a step calls one by one (`compile=true`); with R1 on, D stays eager, as
        torch.compile's autograd has no double backward (the penalty's gradient needs one)."""
        parts = called_parts(self.net)
        if float(self.hparams.r1_gamma) > 0:
            parts = [part for part in parts if part is not self.net.discriminator]
        return parts

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
        r1_due = self._r1_due()
        real_inputs = net.augment(real)
        if r1_due:
            real_inputs = real_inputs.detach().requires_grad_(True)
        real_logits = net.discriminator(real_inputs)
        d_loss = discriminator_loss(
            self.loss_name, real_logits, net.discriminator(net.augment(fake))
        )
        if r1_due:
            penalty = r1_penalty(real_logits, real_inputs)
            every = float(self.hparams.r1_every)
            d_loss = d_loss + 0.5 * float(self.hparams.r1_gamma) * every * penalty
            self.log("train/r1", penalty.detach(), batch_size=n)
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

    def _r1_due(self) -> bool:
        """Whether this D step adds the (lazy) R1 penalty."""
        gamma, every = float(self.hparams.r1_gamma), int(self.hparams.r1_every)
        return gamma > 0 and self._d_step_count % every == 0

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

    def sampler_description(self) -> str:
        return "ema" if self.net.generator_ema is not None else "generator"

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


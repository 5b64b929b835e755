"""Diffusion training: a denoising UNet learns the real faces from scratch.

Each training step takes the real images of a batch (label 0 rows; fakes in the data are
ignored), brings them to the network's work size, draws timesteps and noise, and regresses the
objective's target (`fakearena.models.generators.diffusion_process`: DDPM noise or velocity,
or flow matching) with a mean squared error; the EMA of the weights follows every step and is
what samples. Sampling uses `sample_steps` steps of `sampler` (DDIM or DPM-Solver++ for DDPM,
Euler or Heun for flow matching).

Validation and testing (FID/KID/PRDC against each reference with floors, sample grids) are
`fakearena.tasks.sample_quality.SampleQualityTask`'s, as for the GANs; the checkpoint is chosen
on `val/fid`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf

from fakearena.errors import FakearenaError
from fakearena.generation.sampled import seeded_noise
from fakearena.metrics.prdc import DEFAULT_K
from fakearena.models.generators.diffusion_process import check_sampler, diffusion_process
from fakearena.tasks.sample_quality import SampleQualityTask
from fakearena.tasks.stability import ensure_finite_loss


class DiffusionTask(SampleQualityTask):
    """A diffusion model (`DiffusionUNet`) trained on real faces, judged like the GANs.

    Args:
        net: the denoising network (contract in `fakearena.models.generators.diffusion_unet`).
        optimizer: partial optimizer factory (None for inference).
        objective: `ddpm` or `flow`.
        num_train_timesteps: DDPM timesteps (and the UNet's time scale for flow matching).
        beta_schedule: DDPM noise schedule (`linear`, `scaled_linear`, `squaredcos_cap_v2`).
        prediction_type: DDPM network target, `epsilon` or `v_prediction`.
        sampler: `ddim` or `dpm_solver` (ddpm), `euler` or `heun` (flow).
        sample_steps: sampler steps for validation, grids and `fakearena generate`.
        fid_n, kid_subsets, kid_subset_size, prdc_k, floor, eval_batch_size, grid_size,
            eval_seed, fid: the evaluation, as `fakearena.tasks.gan.GANTask`'s.
        generator_name: the generator config's name (fake sets' `source: diffusion/<name>`).
        monitor: metric key that selects the checkpoint; monitor_mode: "min" or "max".
        name: task name recorded in results.json and checkpoints.
    """

    def __init__(
        self,
        *,
        net: torch.nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        objective: str = "ddpm",
        num_train_timesteps: int = 1000,
        beta_schedule: str = "squaredcos_cap_v2",
        prediction_type: str = "epsilon",
        sampler: str = "ddim",
        sample_steps: int = 25,
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
        name: str = "diffusion",
    ):
        super().__init__()
        if isinstance(fid, DictConfig):  # checkpoint hyper-parameters load weights-only
            fid = OmegaConf.to_container(fid, resolve=True)  # type: ignore[assignment]
        self.save_hyperparameters(ignore=["net", "optimizer"])
        for attribute in ("denoise", "to_work", "to_image", "update_ema", "work_shape"):
            if not hasattr(net, attribute):
                raise FakearenaError(
                    f"task=diffusion needs a denoising network (missing {attribute!r}); use "
                    "generator=diffusion_unet"
                )
        self.net = net
        self.process = diffusion_process(
            objective, num_train_timesteps, beta_schedule, prediction_type
        )
        # fail now, not at the first validation, on a sampler the objective does not have
        check_sampler(objective, sampler, sample_steps)
        self.optimizer_factory = optimizer

    def configure_optimizers(self):
        if self.optimizer_factory is None:
            raise RuntimeError("this DiffusionTask was built for inference (optimizer=None)")
        return self.optimizer_factory(params=self.net.unet.parameters())

    def training_step(self, batch: dict[str, Any], batch_idx: int):
        if not self.note_skipped("train", batch):
            return None
        real = batch["image"][batch["label"] == 0]
        if not len(real):
            return None
        if tuple(real.shape[1:]) != self.net.image_shape:
            raise FakearenaError(
                f"the data gives images of shape {tuple(real.shape[1:])} but the diffusion "
                f"network makes {self.net.image_shape}; set data.image_size/data.channels to "
                "match (generator.image_size follows data.image_size by default)"
            )
        x0 = self.net.to_work(real * 2.0 - 1.0)
        noise = torch.randn_like(x0)
        t = self.process.draw_timesteps(x0.shape[0], x0.device)
        x_t = self.process.noisy(x0, noise, t)
        prediction = self.net(x_t, self.process.network_time(t))
        loss = F.mse_loss(prediction.float(), self.process.target(x0, noise, t).float())
        ensure_finite_loss(
            self,
            loss,
            "denoising",
            "The last good checkpoint (checkpoints/last.ckpt, best.ckpt) is kept. Lower "
            "task.optimizer.lr",
        )
        self.log("train/loss", loss.detach(), prog_bar=True, batch_size=x0.shape[0])
        return loss

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.net.update_ema()

    @torch.no_grad()
    def sample_from_noise(self, noise: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] at image_size from starting noise at the work size."""
        samples = self.process.sample(
            self.net.denoise, noise, int(self.hparams.sample_steps), str(self.hparams.sampler)
        )
        return self.net.to_image(samples).clamp(-1.0, 1.0)

    @torch.no_grad()
    def generate(self, n: int, seed: int, batch_size: int | None = None) -> torch.Tensor:
        """`n` images in [0, 1] on CPU; image i starts from `seeded_noise(seed, [i])`."""
        step = int(batch_size or self.hparams.eval_batch_size)
        was_training = self.net.training
        self.net.eval()
        try:
            images = []
            for start in range(0, n, step):
                indices = list(range(start, min(n, start + step)))
                noise = seeded_noise(seed, indices, self.net.work_shape).to(self.device)
                images.append(self.sample_from_noise(noise).float().cpu())
        finally:
            self.net.train(was_training)
        return (torch.cat(images) + 1.0).div_(2.0).clamp_(0.0, 1.0)

    def sampler_description(self) -> str:
        weights = "ema" if self.net.unet_ema is not None else "unet"
        return (
            f"{self.hparams.objective} {self.hparams.sampler}, {self.hparams.sample_steps} "
            f"steps, {weights} weights, work size {self.net.work_size}"
        )

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["diffusion_state"] = {"best_eval": self.best_eval}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.best_eval = (checkpoint.get("diffusion_state") or {}).get("best_eval")

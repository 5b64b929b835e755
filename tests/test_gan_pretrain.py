"""The VAE warm start of a GAN generator: the loss, the handover to adversarial training at the
configured step, and a checkpoint taken mid-warm-start resuming where it stopped."""

from __future__ import annotations

from functools import partial

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from _fit import quiet_trainer
from fakearena.errors import FakearenaError
from fakearena.models.generators.dcgan import dcgan
from fakearena.models.generators.mlp_gan import mlp_gan
from fakearena.tasks.gan import GANTask
from fakearena.tasks.gan_pretrain import kl_to_standard_normal, vae_loss


def small_net():
    return dcgan(latent_dim=8, image_size=16, g_width=4, d_width=4, encoder_width=4)


def loader(n_batches: int) -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    batches = [
        {
            "image": torch.rand(4, 3, 16, 16, generator=generator),
            "label": torch.zeros(4, dtype=torch.long),
            "index": torch.arange(4) + 4 * b,
            "skipped": torch.zeros(0, dtype=torch.long),
        }
        for b in range(n_batches)
    ]
    return DataLoader(batches, batch_size=None)


def make_task(pretrain_steps: int) -> GANTask:
    adam = partial(torch.optim.Adam, lr=1e-3, betas=(0.5, 0.999))
    return GANTask(
        net=small_net(),
        optimizer=adam,
        pretrain_optimizer=adam,
        pretrain_steps=pretrain_steps,
        grid_size=0,
    )


def steps(optimizer) -> int:
    """Steps an optimizer has taken (0 before its first)."""
    state = optimizer.optimizer.state
    return int(next(iter(state.values()))["step"]) if state else 0


def snapshot(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def same(before: list[torch.Tensor], module: torch.nn.Module) -> bool:
    return all(torch.equal(a, b) for a, b in zip(before, module.parameters()))


def test_kl_is_zero_at_the_prior_and_the_loss_trains_encoder_and_generator():
    zeros = torch.zeros(3, 5)
    assert torch.equal(kl_to_standard_normal(zeros, zeros), torch.zeros(3))
    assert float(kl_to_standard_normal(torch.ones(1, 2), torch.zeros(1, 2))[0]) == 1.0
    net = small_net()
    loss, parts = vae_loss(net, torch.rand(4, 3, 16, 16) * 2 - 1, kl_weight=0.02)
    loss.backward()
    assert set(parts) == {"recon_mse", "kl"} and float(parts["recon_mse"]) > 0
    assert all(p.grad is not None for p in net.encoder.parameters())
    assert all(p.grad is not None for p in net.generator.parameters())
    assert all(p.grad is None for p in net.discriminator.parameters())


class Phases(L.Callback):
    """Per batch: whether it was a warm-start step, and whether D and the encoder moved."""

    def __init__(self) -> None:
        self.rows: list[tuple[bool, bool, bool]] = []

    def on_train_batch_start(self, trainer, task, batch, batch_idx) -> None:
        self._phase = task.pretraining
        self._d, self._e = snapshot(task.net.discriminator), snapshot(task.net.encoder)

    def on_train_batch_end(self, trainer, task, outputs, batch, batch_idx) -> None:
        d_moved = not same(self._d, task.net.discriminator)
        e_moved = not same(self._e, task.net.encoder)
        self.rows.append((self._phase, d_moved, e_moved))


def test_warm_start_hands_over_to_adversarial_training_at_the_configured_step(tmp_path):
    torch.manual_seed(0)
    task = make_task(pretrain_steps=3)
    phases = Phases()
    run = quiet_trainer(tmp_path)
    run.callbacks.append(phases)
    run.fit(task, train_dataloaders=loader(5))
    # (warm-start step?, D moved?, encoder moved?) per batch: 3 VAE steps, then the GAN
    assert phases.rows == [(True, False, True)] * 3 + [(False, True, False)] * 2
    g_opt, d_opt, warm = task.optimizers()
    assert (steps(warm), steps(d_opt), steps(g_opt)) == (3, 2, 2)


def test_a_checkpoint_mid_warm_start_resumes_its_remaining_steps(tmp_path):
    torch.manual_seed(0)
    first = make_task(pretrain_steps=3)
    run = quiet_trainer(tmp_path)
    run.fit(first, train_dataloaders=loader(2))
    path = tmp_path / "mid.ckpt"
    run.save_checkpoint(path)
    resumed = make_task(pretrain_steps=3)
    quiet_trainer(tmp_path, max_epochs=2).fit(
        resumed, train_dataloaders=loader(2), ckpt_path=path, weights_only=True
    )
    g_opt, d_opt, warm = resumed.optimizers()
    # 2 warm-start steps before the checkpoint, 1 after it, then 1 adversarial step
    assert (steps(warm), steps(d_opt), steps(g_opt)) == (3, 1, 1)
    assert resumed._pretrain_step_count == 3


def test_pretraining_needs_an_encoder_and_says_how_to_get_one():
    with pytest.raises(FakearenaError, match=r"encoder_width"):
        GANTask(net=mlp_gan(channels=1, image_size=16), pretrain_steps=5)
    with pytest.raises(FakearenaError, match=r"pretrain_kl_weight"):
        GANTask(net=small_net(), pretrain_steps=5, pretrain_kl_weight=-1)


def test_dcgan_encoder_follows_the_work_size():
    net = dcgan(latent_dim=8, image_size=32, work_size=16, g_width=4, d_width=4, encoder_width=4)
    mean, log_variance = net.encoder(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert mean.shape == log_variance.shape == (2, 8)
    assert net.generator(mean).shape == (2, 3, 32, 32)

"""GAN training step: both networks learn, D steps per G step, fakes ignored, NaN stops."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from torch.utils.data import DataLoader

from _fit import fit_one_epoch
from fakearena.models.generators.dcgan import dcgan
from fakearena.models.generators.mlp_gan import mlp_gan
from fakearena.models.generators.sngan import sngan
from fakearena.tasks.gan import GANTask, TrainingDivergedError, image_grid


def batches(n_batches: int, label: int = 0, size: int = 16, channels: int = 1, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    out = []
    for b in range(n_batches):
        out.append(
            {
                "image": torch.rand(8, channels, size, size, generator=generator),
                "label": torch.full((8,), label, dtype=torch.long),
                "index": torch.arange(8) + 8 * b,
                "skipped": torch.zeros(0, dtype=torch.long),
            }
        )
    return DataLoader(out, batch_size=None)


def make_task(net, **kwargs) -> GANTask:
    optimizer = partial(torch.optim.Adam, lr=1e-3, betas=(0.5, 0.999))
    return GANTask(net=net, optimizer=optimizer, grid_size=0, **kwargs)


def fit(task: GANTask, loader: DataLoader, tmp_path) -> None:
    fit_one_epoch(task, loader, tmp_path)


def snapshot(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def changed(before: list[torch.Tensor], module: torch.nn.Module) -> bool:
    return all(not torch.equal(b, p) for b, p in zip(before, module.parameters()))


NETS = {
    "mlp": lambda: mlp_gan(channels=1, image_size=16),
    "sngan": lambda: sngan(channels=1, image_size=16, g_width=8, d_width=8),
    # noise weights start at 0: they must learn from the first step too, and the EMA keep them
    "dcgan_noise": lambda: dcgan(
        channels=1, image_size=16, g_width=8, d_width=8, ema_decay=0.9, noise_inputs=True,
        output_noise=True,
    ),
}


@pytest.mark.parametrize("name", sorted(NETS))
def test_one_training_step_changes_both_networks(name: str, tmp_path):
    torch.manual_seed(0)
    task = make_task(NETS[name]())
    g, d = snapshot(task.net.generator), snapshot(task.net.discriminator)
    fit(task, batches(1), tmp_path)
    assert changed(g, task.net.generator), "every generator parameter must move"
    assert changed(d, task.net.discriminator), "every discriminator parameter must move"
    if task.net.generator_ema is not None:  # the EMA copy moved a little towards G
        ema = list(task.net.generator_ema.parameters())
        assert any(not torch.equal(a, b) for a, b in zip(g, ema))


def test_d_steps_sets_discriminator_steps_per_generator_step(tmp_path):
    torch.manual_seed(0)
    task = make_task(mlp_gan(channels=1, image_size=16), d_steps=2)
    fit(task, batches(4), tmp_path)
    g_opt, d_opt = task.optimizers()
    steps = lambda opt: int(next(iter(opt.optimizer.state.values()))["step"])  # noqa: E731
    assert (steps(d_opt), steps(g_opt)) == (4, 2)


def test_fake_rows_of_the_data_are_not_trained_on(tmp_path):
    torch.manual_seed(0)
    task = make_task(mlp_gan(channels=1, image_size=16))
    g, d = snapshot(task.net.generator), snapshot(task.net.discriminator)
    fit(task, batches(2, label=1), tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(g, task.net.generator.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(d, task.net.discriminator.parameters()))


def test_a_nan_loss_stops_the_run_before_the_step_is_applied(tmp_path):
    torch.manual_seed(0)
    task = make_task(mlp_gan(channels=1, image_size=16))
    with torch.no_grad():
        task.net.discriminator.net[-1].bias.fill_(float("nan"))
    g = snapshot(task.net.generator)
    with pytest.raises(TrainingDivergedError, match=r"discriminator loss became nan.*last good"):
        fit(task, batches(2), tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(g, task.net.generator.parameters()))


def test_wrong_data_shape_is_a_clear_error(tmp_path):
    task = make_task(mlp_gan(channels=1, image_size=28))
    with pytest.raises(Exception, match=r"data\.image_size"):
        fit(task, batches(1, size=16), tmp_path)


def test_generate_is_reproducible_and_in_range():
    task = make_task(sngan(channels=3, image_size=16, g_width=8, d_width=8))
    a, b = task.generate(5, seed=7, batch_size=2), task.generate(5, seed=7, batch_size=5)
    torch.testing.assert_close(a, b)
    assert a.shape == (5, 3, 16, 16) and float(a.min()) >= 0 and float(a.max()) <= 1
    assert not torch.equal(a, task.generate(5, seed=8))


def test_image_grid_places_every_image():
    images = torch.stack([torch.full((1, 4, 4), i / 4) for i in range(5)])
    grid = image_grid(images, columns=3, pad=1)
    assert grid.shape == (2 * 5 + 1, 3 * 5 + 1, 3)
    assert grid[1, 1, 0] == 0 and grid[1, 6, 0] == round(255 / 4) and grid[6, 6, 0] == 255


# the 64-px recipe's optimiser, as conf/generator/dcgan64.yaml documents it
DCGAN64_RECIPE = [
    "task.optimizer.lr=5.0e-4",
    "task.d_optimizer={_target_: torch.optim.Adam, _partial_: true, lr: 2.0e-4,"
    " betas: [0.5, 0.999]}",
]


def test_dcgan64_recipe_works_at_64_px_and_trains_a_step(tmp_path):
    from fakearena.config import compose
    from fakearena.models.generators.dcgan import DCGANDiscriminator, DCGANGenerator
    from fakearena.runs.train import build_task

    overrides = ["task=gan", "generator=dcgan64", "data=synthetic", "data.image_size=64"]
    cfg = compose("train", [*overrides, *DCGAN64_RECIPE, "task.grid_size=0"])
    torch.manual_seed(0)
    task = build_task(cfg)
    net = task.net
    # both networks are the plain 64-px DCGAN (no work_size wrappers), width 32, with an EMA
    assert type(net.generator) is DCGANGenerator and type(net.discriminator) is DCGANDiscriminator
    assert net.generator.net[0].out_channels == 8 * 32  # 4x4 stage: 8 x g_width
    assert net.discriminator.net[0].out_channels == 32
    assert (net.image_shape, net.ema_decay) == ((3, 64, 64), 0.999)
    assert net._augment.policies == ["translation"]  # DiffAugment: D sees shifted images
    with torch.no_grad():
        assert net.generator(torch.randn(2, net.latent_dim)).shape == (2, 3, 64, 64)
    g, d = snapshot(net.generator), snapshot(net.discriminator)
    fit(task, batches(1, size=64, channels=3), tmp_path)
    g_opt, d_opt = task.optimizers()[:2]
    assert (g_opt.param_groups[0]["lr"], d_opt.param_groups[0]["lr"]) == (5.0e-4, 2.0e-4)
    assert changed(g, net.generator) and changed(d, net.discriminator)
    assert any(not torch.equal(a, b) for a, b in zip(g, net.generator_ema.parameters()))

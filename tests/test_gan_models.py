"""GAN networks: the reference MLP GAN layer by layer; the contract of every GAN config."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn

from fakearena.config import compose, config_dir
from fakearena.models.generators.diffaugment import DiffAugment
from fakearena.models.generators.mlp_gan import mlp_gan
from fakearena.models.generators.sngan import sngan

GENERATOR_CONFIGS = sorted(p.stem for p in (config_dir() / "generator").glob("*.yaml"))
GAN_CONFIGS = [name for name in GENERATOR_CONFIGS if name in ("mlp", "dcgan", "dcgan64", "sngan")]


def reference_mlp_gan() -> tuple[nn.Sequential, nn.Sequential]:
    """The issue's reference MLP GAN, written out independently (D with its Sigmoid)."""
    generator = nn.Sequential(
        nn.Linear(100, 256), nn.ReLU(),
        nn.Linear(256, 512), nn.ReLU(),
        nn.Linear(512, 1024), nn.ReLU(),
        nn.Linear(1024, 784), nn.Tanh(),
    )  # fmt: skip
    discriminator = nn.Sequential(
        nn.Linear(784, 1024), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Linear(1024, 512), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Linear(512, 256), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Linear(256, 1), nn.Sigmoid(),
    )  # fmt: skip
    return generator, discriminator


def _describe(module: nn.Module) -> tuple:
    if isinstance(module, nn.Linear):
        return ("Linear", module.in_features, module.out_features, module.bias is not None)
    if isinstance(module, nn.LeakyReLU):
        return ("LeakyReLU", module.negative_slope)
    if isinstance(module, nn.Dropout):
        return ("Dropout", module.p)
    return (type(module).__name__,)


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_mlp_matches_the_reference_layer_by_layer_and_in_parameter_count():
    ours = mlp_gan()
    ref_g, ref_d = reference_mlp_gan()
    assert [_describe(m) for m in ours.generator.net] == [_describe(m) for m in ref_g]
    # Our D stops at the logit; the reference's Sigmoid is folded into the loss.
    assert [_describe(m) for m in ours.discriminator.net] == [_describe(m) for m in ref_d[:-1]]
    assert _count(ours.generator) == _count(ref_g) == 1_486_352
    assert _count(ours.discriminator) == _count(ref_d) == 1_460_225
    assert (ours.latent_dim, ours.image_shape) == (100, (1, 28, 28))


def test_mlp_computes_the_reference_function():
    torch.manual_seed(0)
    ours, (ref_g, ref_d) = mlp_gan().eval(), reference_mlp_gan()
    ref_g.eval(), ref_d.eval()
    ref_g.load_state_dict({f"{k}": v for k, v in ours.generator.net.state_dict().items()})
    ref_d.load_state_dict(ours.discriminator.net.state_dict())
    z = torch.randn(5, 100)
    images = ours.generator(z)
    assert images.shape == (5, 1, 28, 28)
    torch.testing.assert_close(images.flatten(1), ref_g(z))
    torch.testing.assert_close(
        torch.sigmoid(ours.discriminator(images)), ref_d(images.flatten(1))[:, 0]
    )


def test_mlp_follows_the_data_size():
    pair = mlp_gan(channels=3, image_size=64)
    assert pair.generator.net[-2].out_features == 3 * 64 * 64
    assert pair.discriminator.net[0].in_features == 3 * 64 * 64


@pytest.mark.parametrize("name", GAN_CONFIGS)
def test_every_gan_config_builds_the_network_contract(name: str):
    data = "synthetic_gray28" if name == "mlp" else "synthetic"
    cfg = compose("train", ["task=gan", f"generator={name}", f"data={data}"])
    node = OmegaConf.to_container(cfg.generator, resolve=True)
    node.pop("name")
    pair = instantiate(node)
    torch.manual_seed(0)
    z = torch.randn(4, pair.latent_dim)
    with torch.no_grad():
        images = pair.generator(z)
    assert images.shape == (4, cfg.data.channels, cfg.data.image_size, cfg.data.image_size)
    assert pair.image_shape == tuple(images.shape[1:])
    assert float(images.min()) >= -1.0 and float(images.max()) <= 1.0
    logits = pair.discriminator(pair.augment(images))
    assert logits.shape == (4,)
    assert pair.sample(z).shape == images.shape
    assert pair.default_loss in ("nonsaturating", "minimax", "hinge")


def test_gan_task_defaults_to_dcgan_and_monitors_val_fid():
    cfg = compose("train", ["task=gan"])
    assert cfg.generator.name == "dcgan"
    assert (cfg.task.monitor, cfg.task.monitor_mode) == ("val/fid", "min")
    assert cfg.task.generator_name == "dcgan"


def test_ema_generator_moves_towards_the_trained_one_and_is_used_for_sampling():
    pair = sngan(channels=1, image_size=16, g_width=8, d_width=8, ema_decay=0.9)
    with torch.no_grad():
        for parameter in pair.generator.parameters():
            parameter.add_(1.0)
    pair.ema_updates.fill_(1000)  # past the warm-up: the decay is ema_decay itself
    before = [p.clone() for p in pair.generator_ema.parameters()]
    pair.update_ema()
    for old, new, target in zip(
        before, pair.generator_ema.parameters(), pair.generator.parameters()
    ):
        torch.testing.assert_close(new, old + 0.1 * (target - old))
    fresh = sngan(channels=1, image_size=16, g_width=8, d_width=8, ema_decay=0.999)
    with torch.no_grad():
        for parameter in fresh.generator.parameters():
            parameter.add_(1.0)
    start = [p.clone() for p in fresh.generator_ema.parameters()]
    fresh.update_ema()  # first update: warm-up decay 1/10, not 0.999
    for old, new, target in zip(
        start, fresh.generator_ema.parameters(), fresh.generator.parameters()
    ):
        torch.testing.assert_close(new, old + 0.9 * (target - old))
    pair.eval()
    z = torch.randn(2, pair.latent_dim)
    torch.testing.assert_close(pair.sample(z), pair.generator_ema(z))
    assert not any(p.requires_grad for p in pair.generator_ema.parameters())


def test_diffaugment_keeps_shape_and_gradients_and_changes_the_images():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    y = DiffAugment()(x * 2 - 1)
    assert y.shape == x.shape
    assert not torch.allclose(y, x * 2 - 1)
    y.sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    # cutout zeroes a square of half the side in every image
    cut = DiffAugment(["cutout"])(torch.ones(4, 3, 16, 16))
    assert all(int((img[0] == 0).sum()) >= 8 * 4 for img in cut)


def test_dcgan_work_size_draws_small_upsampled_and_judges_small():
    from fakearena.errors import ConfigError
    from fakearena.models.generators.dcgan import dcgan

    pair = dcgan(image_size=64, work_size=32, g_width=8, d_width=8)
    z = torch.randn(3, pair.latent_dim)
    with torch.no_grad():
        small = pair.generator.generator(z)
        images = pair.generator(z)
        assert small.shape == (3, 3, 32, 32) and images.shape == (3, 3, 64, 64)
        # the 64-pixel image is the 32-pixel one, upsampled bilinearly
        upsampled = torch.nn.functional.interpolate(small, size=64, mode="bilinear")
        torch.testing.assert_close(images, upsampled)
        assert pair.discriminator(images).shape == (3,)
    full = dcgan(image_size=64, g_width=8, d_width=8)
    assert _count(pair.discriminator) < _count(full.discriminator)  # one stage fewer
    with pytest.raises(ConfigError, match="work_size=128"):
        dcgan(image_size=64, work_size=128)

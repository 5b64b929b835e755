"""Per-pixel noise inputs of the DCGAN generator (`generator.noise_inputs`): the layer's scale,
determinism per seed, the EMA copy, config errors and checkpoints of networks without noise."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from fakearena.config import compose
from fakearena.errors import ConfigError
from fakearena.generation.sampled import seeded_noise
from fakearena.models.generators.dcgan import dcgan
from fakearena.models.generators.noise_inputs import (
    NoiseInput,
    latent_seed,
    noise_maps,
    seeded_noise_maps,
)
from fakearena.runs.train import build_task
from fakearena.tasks.checkpoints import restore_task

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def one_thread():
    """The determinism checks below compare bit for bit: pin torch's intra-op threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _noise_layers(module: torch.nn.Module) -> list[NoiseInput]:
    return [m for m in module.modules() if isinstance(m, NoiseInput)]


def _small(noise_inputs: bool, output_noise: bool = False, **kwargs):
    torch.manual_seed(0)
    return dcgan(
        image_size=32,
        g_width=8,
        d_width=8,
        noise_inputs=noise_inputs,
        output_noise=output_noise,
        **kwargs,
    )


def test_noise_input_adds_the_map_scaled_per_channel_and_weight_zero_is_the_identity():
    layer = NoiseInput(3)
    x = torch.randn(2, 3, 128, 128)
    (noise,) = noise_maps(torch.zeros(2, 100), [(1, 128)], training=True)
    assert noise.shape == (2, 1, 128, 128)
    assert torch.equal(layer(x, noise), x)  # initialised at 0
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([0.0, 0.1, -0.5]))
    added = (layer(x, noise) - x).detach()
    for c, weight in enumerate([0.0, 0.1, -0.5]):
        # every channel gets the same map, times its weight
        torch.testing.assert_close(added[:, c], weight * noise[:, 0], rtol=1e-6, atol=1e-6)
        # so the added noise's std is |weight| times a standard normal's (2 x 16384 pixels)
        assert float(added[:, c].std()) == pytest.approx(abs(weight), rel=0.03, abs=1e-9)
    # one plane per channel: each channel gets its own
    planes = torch.randn(2, 3, 128, 128)
    added = (layer(x, planes) - x).detach()
    torch.testing.assert_close(added, layer.weight.detach().view(1, 3, 1, 1) * planes)


def test_a_latents_noise_is_its_own_whatever_the_batch_and_others_are_independent():
    z = torch.randn(5, 100)
    shapes = [(1, 4), (1, 8), (1, 16), (3, 16)]
    together = seeded_noise_maps(z, shapes)
    assert [tuple(m.shape) for m in together] == [(5, c, s, s) for c, s in shapes]
    alone = seeded_noise_maps(z[3:4], shapes)
    for full, single in zip(together, alone):
        assert torch.equal(full[3:4], single)
    assert latent_seed(z[0]) == latent_seed(z[0].clone())
    assert latent_seed(z[0]) != latent_seed(z[1])
    # maps of different latents are independent draws: correlation near 0 over 256 pixels
    a, b = together[2][0].flatten(), together[2][1].flatten()
    assert abs(float(torch.corrcoef(torch.stack([a, b]))[0, 1])) < 0.25
    # training draws fresh noise every call
    first, second = noise_maps(z, [(1, 8)], training=True), noise_maps(z, [(1, 8)], training=True)
    assert not torch.equal(first[0], second[0])


@pytest.mark.parametrize(
    ("noise_inputs", "output_noise", "shapes"),
    [
        (True, False, [(1, 4), (1, 8), (1, 16)]),  # the 4x4, 8x8 and 16x16 blocks of a 32-px G
        (False, True, [(3, 32)]),  # the image: one plane per colour
        (True, True, [(1, 4), (1, 8), (1, 16), (3, 32)]),
    ],
)
def test_noise_at_weight_zero_draws_the_same_images_as_the_network_without_it(
    noise_inputs, output_noise, shapes
):
    plain, noisy = _small(False), _small(noise_inputs, output_noise)
    assert noisy.generator.noise_shapes == shapes
    widths = [32, 16, 8] * noise_inputs + [3] * output_noise  # a weight per channel
    assert [layer.weight.numel() for layer in _noise_layers(noisy.generator)] == widths
    assert _noise_layers(plain.generator) == []
    z = torch.randn(4, plain.latent_dim)
    for mode in (True, False):
        plain.generator.train(mode)
        noisy.generator.train(mode)
        with torch.no_grad():
            torch.testing.assert_close(noisy.generator(z), plain.generator(z), rtol=0, atol=0)


def test_sampling_is_deterministic_per_seed_and_seeds_differ_in_grain():
    pair = _small(True, output_noise=True, ema_decay=0.999)
    with torch.no_grad():
        for layer in _noise_layers(pair.generator_ema):
            layer.weight.fill_(0.5)
    pair.eval()

    def sample(seed: int, indices: list[int]) -> torch.Tensor:  # as `fakearena generate` does
        return pair.sample(seeded_noise(seed, indices, (pair.latent_dim,)))

    with torch.no_grad():
        images = sample(5, list(range(6)))
        # the same seed: identical images, drawn in other batches
        assert torch.equal(images, torch.cat([sample(5, [0, 1]), sample(5, [2, 3, 4, 5])]))
        # the grain: what the noise adds to each image, against the same network without it
        z = seeded_noise(5, [0], (pair.latent_dim,))
        weights = [layer.weight.clone() for layer in _noise_layers(pair.generator_ema)]
        for layer in _noise_layers(pair.generator_ema):
            layer.weight.zero_()
        smooth = pair.sample(z)
        for layer, weight in zip(_noise_layers(pair.generator_ema), weights):
            layer.weight.copy_(weight)
        grain = images[:1] - smooth
        assert float(grain.abs().mean()) > 1e-3
        # the weights put back: the same image again (its noise is a function of its z)
        assert torch.equal(pair.sample(z), images[:1])
        # another seed: other images (another z, hence other noise maps)
        assert not torch.allclose(sample(6, [0]), images[:1])
    other = seeded_noise_maps(seeded_noise(6, [0], (pair.latent_dim,)), [(1, 16)])[0]
    assert not torch.equal(other, seeded_noise_maps(z, [(1, 16)])[0])


def test_the_ema_generator_carries_and_averages_the_noise_weights():
    pair = _small(True, ema_decay=0.9)
    trained, averaged = _noise_layers(pair.generator), _noise_layers(pair.generator_ema)
    assert len(averaged) == len(trained) == 3
    with torch.no_grad():
        for layer in trained:
            layer.weight.fill_(1.0)
    pair.ema_updates.fill_(1000)  # past the warm-up
    pair.update_ema()
    for layer in averaged:
        torch.testing.assert_close(layer.weight, torch.full_like(layer.weight, 0.1))
    # and the noise weights learn: G's loss gives them gradients from the first step
    pair.generator.train()
    pair.generator(torch.randn(4, pair.latent_dim)).square().mean().backward()
    assert all(float(layer.weight.grad.abs().sum()) > 0 for layer in trained)


@pytest.mark.parametrize("key", ["noise_inputs", "output_noise"])
@pytest.mark.parametrize("value", ["yes", 1, None])
def test_the_noise_options_must_be_booleans(key, value):
    with pytest.raises(ConfigError, match=rf"generator.{key}=.*set it to true .* or false"):
        dcgan(image_size=32, g_width=8, d_width=8, **{key: value})


def test_the_configs_default_to_no_noise_and_take_the_override():
    plain = compose("train", ["task=gan", "generator=dcgan"]).generator
    assert plain.noise_inputs is False and plain.output_noise is False
    cfg = compose("train", ["task=gan", "generator=dcgan64", "generator.noise_inputs=true"])
    node = OmegaConf.to_container(cfg.generator, resolve=True)
    node.pop("name")
    node.update(g_width=8, d_width=8)
    assert len(_noise_layers(instantiate(node).generator)) == 4  # 4, 8, 16, 32 of a 64-px G


def test_a_checkpoint_of_a_network_without_noise_inputs_still_loads(tmp_path: Path):
    overrides = ["task=gan", "generator=dcgan", "generator.g_width=8", "generator.d_width=8"]
    task = build_task(compose("train", [*overrides, "data.image_size=32"]))
    # a checkpoint written before the option existed: its stored network config lacks the key
    hparams = dict(task.hparams)
    hparams["net_config"] = {k: v for k, v in hparams["net_config"].items() if k != "noise_inputs"}
    # and its parameter names are those of the network without noise inputs
    keys = [k for k in task.state_dict() if k.startswith("net.generator.net.")]
    assert keys[:3] == [
        "net.generator.net.0.weight",
        "net.generator.net.1.weight",
        "net.generator.net.1.bias",
    ]
    assert "net.generator.net.3.weight" in keys  # the second ConvTranspose2d, right after ReLU
    path = tmp_path / "old.ckpt"
    torch.save({"state_dict": task.state_dict(), "hyper_parameters": hparams}, path)
    restored = restore_task(path, expected_task="gan")
    assert _noise_layers(restored.net) == []
    task.eval()
    torch.testing.assert_close(restored.generate(4, seed=3), task.generate(4, seed=3))


def test_fakearena_generate_with_noise_inputs_is_deterministic_per_seed(tmp_path: Path):
    from fakearena.runs import generate

    overrides = ["task=gan", "generator=dcgan", "generator.g_width=8", "generator.d_width=8"]
    overrides += ["generator.noise_inputs=true", "generator.output_noise=true"]
    overrides += ["generator.ema_decay=0.9", "data.image_size=32"]
    torch.manual_seed(0)
    task = build_task(compose("train", overrides))
    with torch.no_grad():  # trained-looking noise weights, so the grain shows in the pixels
        for layer in _noise_layers(task.net.generator_ema):
            layer.weight.fill_(0.3)
    path = tmp_path / "noisy.ckpt"
    torch.save({"state_dict": task.state_dict(), "hyper_parameters": dict(task.hparams)}, path)

    def images(out: str, seed: int, batch_size: int) -> dict[str, bytes]:
        args = [f"ckpt={path}", "n=5", f"out={tmp_path / out}", f"seed={seed}"]
        generate.run(compose("generate", [*args, f"batch_size={batch_size}"]))
        return {p.name: p.read_bytes() for p in sorted((tmp_path / out / "images").glob("*.png"))}

    first = images("a", 5, 2)
    assert len(first) == 5
    assert images("b", 5, 5) == first  # same seed, other batches: the same bytes
    other = images("c", 6, 5)
    assert all(other[name] != first[name] for name in first)

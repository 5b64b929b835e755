"""R1 gradient penalty: the formula against brute-force per-image gradients, its weight and
lazy schedule in the GAN task's D step, and clear errors on bad settings."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from _fit import fit_one_epoch
from fakearena.errors import FakearenaError
from fakearena.models.generators.gan_pair import GANPair
from fakearena.tasks import gan as gan_module
from fakearena.tasks.gan import GANTask
from fakearena.tasks.gan_losses import r1_penalty


class TinyConvD(nn.Module):
    """A small D without batch statistics, so each image's logit depends on it alone."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 4, 3, 2, 1), nn.Softplus(), nn.Flatten(), nn.Linear(4 * 4 * 4, 1)
        )

    def forward(self, x):
        return self.net(x).flatten()


class LinearD(nn.Module):
    """l(x) = w . x + b: its input gradient is w for every image, so R1 = ||w||^2."""

    def __init__(self, pixels: int):
        super().__init__()
        self.linear = nn.Linear(pixels, 1)

    def forward(self, x):
        return self.linear(x.flatten(1)).flatten()


def brute_force_r1(d: nn.Module, real: torch.Tensor) -> torch.Tensor:
    """Mean squared input-gradient norm, one image at a time."""
    norms = []
    for image in real:
        x = image[None].clone().requires_grad_(True)
        (gradient,) = torch.autograd.grad(d(x).sum(), x, create_graph=True)
        norms.append((gradient**2).sum())
    return torch.stack(norms).mean()


def test_r1_penalty_and_its_parameter_gradient_match_a_per_image_loop():
    torch.manual_seed(0)
    d, real = TinyConvD(), torch.randn(5, 3, 8, 8)
    x = real.clone().requires_grad_(True)
    penalty = r1_penalty(d(x), x)
    expected = brute_force_r1(d, real)
    torch.testing.assert_close(penalty, expected)
    # differentiable: D's parameters get the gradient of the penalty itself (the last bias
    # does not move an input gradient: no gradient)
    weights = [p for name, p in d.named_parameters() if name != "net.3.bias"]
    grads = torch.autograd.grad(penalty, weights)
    expected_grads = torch.autograd.grad(expected, weights)
    for got, want in zip(grads, expected_grads):
        assert float(want.abs().max()) > 0
        torch.testing.assert_close(got, want)


def test_r1_of_a_linear_discriminator_is_its_squared_weight_norm():
    d = LinearD(12)
    x = torch.randn(4, 3, 2, 2, requires_grad=True)
    torch.testing.assert_close(r1_penalty(d(x), x), d.linear.weight.square().sum())


def tiny_pair() -> GANPair:
    generator = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Unflatten(1, (1, 4, 4)))
    return GANPair(
        generator=generator, discriminator=LinearD(16), latent_dim=4, channels=1, image_size=4
    )


def loader(n_batches: int) -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    rows = [
        {
            "image": torch.rand(6, 1, 4, 4, generator=generator),
            "label": torch.zeros(6, dtype=torch.long),
            "index": torch.arange(6),
            "skipped": torch.zeros(0, dtype=torch.long),
        }
        for _ in range(n_batches)
    ]
    return DataLoader(rows, batch_size=None)


def trained_d_weight(n_batches: int = 1, lr: float = 0.1, **r1) -> tuple[torch.Tensor, ...]:
    """D's weight before and after `n_batches` steps of plain SGD (seeded: same fakes)."""
    torch.manual_seed(0)
    task = GANTask(
        net=tiny_pair(), optimizer=partial(torch.optim.SGD, lr=lr), grid_size=0, **r1
    )
    before = task.net.discriminator.linear.weight.detach().clone()
    fit_one_epoch(task, loader(n_batches))
    return before, task.net.discriminator.linear.weight.detach().clone()


def test_the_d_step_adds_gamma_over_2_times_every_times_r1():
    """With l = w.x + b, gamma/2 * k * ||w||^2 adds gamma * k * w to D's gradient, so one SGD
    step with the penalty lands lr * gamma * k * w short of the step without it."""
    lr, gamma, every = 0.1, 0.3, 4
    w, plain = trained_d_weight(lr=lr, r1_gamma=0.0)
    _, with_r1 = trained_d_weight(lr=lr, r1_gamma=gamma, r1_every=every)
    torch.testing.assert_close(plain - with_r1, lr * gamma * every * w)


def test_r1_is_lazy_every_k_d_steps_from_the_first(monkeypatch):
    calls = []

    def counted(logits, inputs):
        calls.append(len(logits))
        return r1_penalty(logits, inputs)

    monkeypatch.setattr(gan_module, "r1_penalty", counted)
    trained_d_weight(n_batches=5, r1_gamma=1.0, r1_every=2)
    assert calls == [6, 6, 6]  # D steps 0, 2 and 4 of 5
    calls.clear()
    trained_d_weight(n_batches=3, r1_gamma=0.0, r1_every=1)
    assert calls == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"r1_gamma": -1.0}, r"task\.r1_gamma=-1\.0.*>= 0"),
        ({"r1_gamma": 1.0, "r1_every": 0}, r"task\.r1_every=0.*r1_every >= 1"),
    ],
)
def test_bad_r1_settings_name_the_key(settings, message):
    with pytest.raises(FakearenaError, match=message):
        GANTask(net=tiny_pair(), optimizer=partial(torch.optim.SGD, lr=0.1), **settings)


def test_the_task_config_passes_r1_settings_to_the_task():
    from fakearena.config import compose
    from fakearena.runs.train import build_task

    base = ["task=gan", "generator=dcgan", "data=synthetic", "data.image_size=16"]
    default = compose("train", base).task
    assert (default.r1_gamma, default.r1_every) == (0.0, 16)
    cfg = compose("train", [*base, "task.r1_gamma=0.05", "task.r1_every=8"])
    task = build_task(cfg)
    assert (task.hparams.r1_gamma, task.hparams.r1_every) == (0.05, 8)


def test_with_r1_compile_leaves_the_discriminator_eager():
    """torch.compile has no double backward, which the penalty's gradient needs."""
    optimizer = partial(torch.optim.SGD, lr=0.1)
    plain = GANTask(net=tiny_pair(), optimizer=optimizer)
    assert any(part is plain.net.discriminator for part in plain.compiled_modules())
    task = GANTask(net=tiny_pair(), optimizer=optimizer, r1_gamma=0.1)
    assert task.compiled_modules() == [task.net.generator]

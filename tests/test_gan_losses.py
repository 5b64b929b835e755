"""GAN losses: minimax equals V(D, G); every loss pushes D and G the right way."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fakearena.errors import ConfigError
from fakearena.models.generators.mlp_gan import mlp_gan
from fakearena.tasks.gan_losses import LOSSES, discriminator_loss, generator_loss


def test_minimax_losses_equal_the_value_function_from_probabilities():
    torch.manual_seed(0)
    pair = mlp_gan().double().eval()  # eval: dropout off, so D is one fixed function
    real = torch.rand(16, 1, 28, 28, dtype=torch.float64) * 2 - 1
    with torch.no_grad():
        fake = pair.generator(torch.randn(16, 100, dtype=torch.float64))
        real_logits, fake_logits = pair.discriminator(real), pair.discriminator(fake)
    # V(D, G) = E[log D(x)] + E[log(1 - D(G(z)))] with D's probabilities (the sigmoid output)
    d_real, d_fake = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
    value = torch.log(d_real).mean() + torch.log(1 - d_fake).mean()
    d_loss = discriminator_loss("minimax", real_logits, fake_logits)
    g_loss = generator_loss("minimax", fake_logits)
    assert abs(float(d_loss) - float(-value)) < 1e-6  # D maximises V
    assert abs(float(g_loss) - float(torch.log(1 - d_fake).mean())) < 1e-6  # G minimises V
    # G's loss differs from V only by the term G cannot change
    assert abs(float(g_loss) - float(value - torch.log(d_real).mean())) < 1e-6


def test_losses_match_their_textbook_formulas_on_extreme_logits():
    real = torch.tensor([30.0, -30.0, 0.5], dtype=torch.float64)
    fake = torch.tensor([-30.0, 30.0, -0.5], dtype=torch.float64)
    softplus = torch.nn.functional.softplus
    assert torch.isfinite(discriminator_loss("minimax", real, fake))
    torch.testing.assert_close(generator_loss("nonsaturating", fake), softplus(-fake).mean())
    torch.testing.assert_close(
        discriminator_loss("hinge", real, fake),
        torch.clamp(1 - real, min=0).mean() + torch.clamp(1 + fake, min=0).mean(),
    )
    torch.testing.assert_close(generator_loss("hinge", fake), -fake.mean())


class ToyD(nn.Module):
    """A 1-d logistic discriminator: logit = w x + b."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(0.5))
        self.b = nn.Parameter(torch.tensor(0.0))

    def forward(self, x):
        return self.w * x + self.b


@pytest.mark.parametrize("loss", LOSSES)
def test_each_loss_moves_d_and_g_in_the_right_direction(loss: str):
    """Reals at +2, G(z) = z + theta starting at -1: D separates them more, G moves towards +2."""
    torch.manual_seed(0)
    d, theta = ToyD(), nn.Parameter(torch.tensor(-1.0))
    real, z = 2.0 + 0.1 * torch.randn(64), 0.1 * torch.randn(64)

    def margin() -> float:
        with torch.no_grad():
            return float(d(real).mean() - d(z + theta).mean())

    before = margin()
    d_opt = torch.optim.SGD(d.parameters(), lr=0.1)
    d_opt.zero_grad()
    discriminator_loss(loss, d(real), d((z + theta).detach())).backward()
    d_opt.step()
    assert margin() > before  # D now scores reals higher relative to fakes

    with torch.no_grad():
        fake_logit_before = float(d(z + theta).mean())
    g_opt = torch.optim.SGD([theta], lr=0.1)
    g_opt.zero_grad()
    generator_loss(loss, d(z + theta)).backward()
    g_opt.step()
    assert float(theta.detach()) > -1.0  # G's samples move towards the reals
    with torch.no_grad():
        assert float(d(z + theta).mean()) > fake_logit_before  # ... and D finds them more real


def test_minimax_generator_saturates_where_nonsaturating_does_not():
    """With D confidently rejecting fakes, minimax gives G almost no gradient."""
    grads = {}
    for loss in ("minimax", "nonsaturating"):
        logits = torch.tensor([-10.0], requires_grad=True)
        generator_loss(loss, logits).backward()
        grads[loss] = abs(float(logits.grad))
    assert grads["minimax"] < 1e-4 < 0.99 < grads["nonsaturating"]


def test_unknown_loss_names_the_options():
    with pytest.raises(ConfigError, match="hinge"):
        generator_loss("wasserstein", torch.zeros(2))

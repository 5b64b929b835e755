"""GAN losses computed from discriminator logits.

With D(x) = sigmoid(l(x)) the probabilities of the original formulation,
`log D(x) = -softplus(-l)` and `log(1 - D(x)) = -softplus(l)` (BCE with logits), so every loss
below is the textbook objective evaluated without the sigmoid's saturation and log(0) trouble:

- `minimax` (Goodfellow et al. 2014): V(D, G) = E[log D(x)] + E[log(1 - D(G(z)))];
  D maximises V, so its loss is -V = E[softplus(-l_real)] + E[softplus(l_fake)];
  G minimises V, whose G-dependent part is E[log(1 - D(G(z)))] = -E[softplus(l_fake)].
- `nonsaturating` (same paper, the practical variant): D as in minimax; G maximises
  E[log D(G(z))], so its loss is E[softplus(-l_fake)].
- `hinge` (Lim & Ye 2017; Miyato et al. 2018): D loss E[relu(1 - l_real)] + E[relu(1 + l_fake)],
  G loss -E[l_fake].

Each function returns the quantity its player *minimises*.

`r1_penalty` is the R1 gradient penalty on real data (Mescheder et al. 2018, "Which training
methods for GANs do actually converge?"): E[||grad_x l(x)||^2] over real x, added to D's loss
as gamma/2 times it; StyleGAN2 (Karras et al. 2020) applies it lazily, every k-th D step,
scaled by k.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fakearena.errors import ConfigError

LOSSES = ("nonsaturating", "minimax", "hinge")


def discriminator_loss(loss: str, real_logits: torch.Tensor, fake_logits: torch.Tensor):
    """D's loss (to minimise) on logits of real and generated images."""
    check_loss(loss)
    if loss == "hinge":
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
    # minimax and nonsaturating share D's objective: -V(D, G).
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(loss: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """G's loss (to minimise) on logits of generated images."""
    check_loss(loss)
    if loss == "minimax":
        return -F.softplus(fake_logits).mean()  # = E[log(1 - D(G(z)))]
    if loss == "nonsaturating":
        return F.softplus(-fake_logits).mean()  # = -E[log D(G(z))]
    return -fake_logits.mean()


def r1_penalty(real_logits: torch.Tensor, real_inputs: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ||d l / d x||^2 per real image, differentiable (for D's step).

    Args:
        real_logits: (B,) D's logits of `real_inputs`, computed with `real_inputs` requiring
            grad.
        real_inputs: (B, ...) the real images D saw (after its augmentation).
    """
    (gradient,) = torch.autograd.grad(real_logits.sum(), real_inputs, create_graph=True)
    return gradient.square().flatten(1).sum(1).mean()


def check_loss(loss: str) -> str:
    """`loss` itself, or a ConfigError naming the options."""
    if loss not in LOSSES:
        raise ConfigError(f"task.loss={loss!r} is not a GAN loss; use one of {list(LOSSES)}")
    return loss

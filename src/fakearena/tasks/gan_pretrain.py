"""The VAE warm start of a GAN generator: reconstruction through the generator as a decoder.

A GAN learning from scratch on a CPU budget spends its few hundred steps drawing grey blobs
(`benchmarks/results/gan_quality/README.md`). Trained first as the decoder of a variational
autoencoder (Kingma & Welling 2014), the generator learns in cheap reconstruction steps to
turn z into faces; the KL term pulls the encoder's q(z | x) towards the prior N(0, I) the GAN
samples from, so prior samples decode to faces when the adversarial phase takes over and
sharpens them (the warm start of VAE-GAN, Larsen et al. 2016).

The loss per pixel, on images in [-1, 1]:
`mean((G(z) - x)^2) + kl_weight * KL(q(z | x) || N(0, I)) / pixels`, z = mu + sigma * eps
(the reparameterisation). `kl_weight` is 2 sigma_x^2 of a Gaussian decoder with per-pixel
variance sigma_x^2: larger values give samples closer to the prior (smoother, blurrier),
smaller ones sharper reconstructions whose latents fit the prior less well.
"""

from __future__ import annotations

import torch

from fakearena.models.generators.gan_pair import GANPair


def kl_to_standard_normal(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_variance)) || N(0, I)) per row, summed over the latent dims."""
    return 0.5 * (mean.square() + log_variance.exp() - 1.0 - log_variance).sum(dim=1)


def vae_loss(
    net: GANPair, real: torch.Tensor, kl_weight: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The warm-start loss of `net`'s generator and encoder on real images in [-1, 1].

    Returns:
        The loss to minimise and its parts (`recon_mse`, `kl` per image), detached.
    """
    if net.encoder is None:
        raise ValueError("vae_loss needs a GANPair with an encoder")
    mean, log_variance = net.encoder(real)
    z = mean + torch.randn_like(mean) * (0.5 * log_variance).exp()
    reconstruction = net.generator(z)
    recon_mse = (reconstruction - real).square().mean()
    kl = kl_to_standard_normal(mean, log_variance).mean()
    loss = recon_mse + float(kl_weight) * kl / real[0].numel()
    return loss, {"recon_mse": recon_mse.detach(), "kl": kl.detach()}

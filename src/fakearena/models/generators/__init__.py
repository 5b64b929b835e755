"""Generators: GANs (noise -> image in [-1,1]) and face-swap autoencoders.

GAN network contract (what a `conf/generator/<name>.yaml` used with `task=gan` instantiates):
one `nn.Module`, a `fakearena.models.generators.gan_pair.GANPair`, holding

- `generator`: maps z, float (B, latent_dim), to images (B, channels, image_size, image_size)
  in [-1, 1];
- `discriminator`: maps images in [-1, 1] of that shape to (B,) logits (positive = real);
- `latent_dim`, `channels`, `image_size`: ints, the shapes above;
- `default_loss`: the GAN loss used when `task.loss` is null (`nonsaturating`, `minimax` or
  `hinge`, see `fakearena.tasks.gan_losses`);
- `augment(images)`: a differentiable augmentation applied to real and fake images before the
  discriminator (identity unless the network uses DiffAugment);
- `sample(z)`: the generator used for validation, sample grids and `fakearena generate` (the
  exponential moving average copy when the network keeps one), returning images in [-1, 1];
- `update_ema()`: called by the task after every generator step (no-op without EMA);
- `encoder`: None, or a module mapping images in [-1, 1] to the mean and log-variance of
  q(z | x), each (B, latent_dim): with one, `task.pretrain_steps` first trains the generator
  as the decoder of a VAE (`fakearena.tasks.gan_pretrain`), then adversarially.

The pair is one module so that one checkpoint state dict holds G, D, the EMA copy and the
encoder, and `fakearena.tasks.checkpoints.restore_task` rebuilds it from the stored network
config.
"""

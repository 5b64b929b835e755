"""Generators: GANs (noise -> image in [-1,1]) and face-swap autoencoders."""

"""Networks as plain `nn.Module`s (no Lightning): `detectors/` (images -> logits) and
`generators/` (GAN pairs, face-swap autoencoders); one file per family, one YAML per option."""

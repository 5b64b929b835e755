"""Detectors: networks mapping a (B,3,H,W) batch normalised by the DataModule to (B,) logits."""

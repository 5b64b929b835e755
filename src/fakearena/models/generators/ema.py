"""Exponential moving averages of a network's weights (the sampler of GANs and diffusion)."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def update_average(average: nn.Module, model: nn.Module, decay: float, updates: torch.Tensor):
    """Move `average` towards `model` (parameters averaged, buffers copied), in place.

    The decay warms up as min(decay, (1 + k) / (10 + k)) after k updates (`updates`, a long
    scalar buffer, is incremented), so that a short run's average is not dominated by the
    random initialisation (0.999^100 = 0.9).
    """
    k = int(updates)
    step_decay = min(float(decay), (1.0 + k) / (10.0 + k))
    updates += 1
    averaged = dict(average.named_parameters())
    for name, parameter in model.named_parameters():
        averaged[name].lerp_(parameter.detach(), 1.0 - step_decay)
    buffers = dict(average.named_buffers())
    for name, buffer in model.named_buffers():
        buffers[name].copy_(buffer)

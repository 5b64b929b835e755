"""Range options and random draws shared by the training transforms (`augment`, `sbi`)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from fakearena.errors import ConfigError


def config_range(name: str, value: Sequence[float], low: float, high: float) -> tuple[float, float]:
    """`data.train_transform.<name>` as a `(min, max)` pair within `[low, high]`."""
    pair = tuple(float(v) for v in value)
    if len(pair) != 2 or not (low <= pair[0] <= pair[1] <= high):
        raise ConfigError(
            f"data.train_transform.{name}={list(value)}: give [min, max] with "
            f"{low} <= min <= max <= {high}"
        )
    return pair  # type: ignore[return-value]


def uniform(low: float, high: float, generator: torch.Generator | None = None) -> float:
    """One draw from U(low, high) (torch's global generator when `generator` is None)."""
    return low + (high - low) * float(torch.rand((), generator=generator))


def chance(p: float, generator: torch.Generator | None = None) -> bool:
    """True with probability `p` (no draw is taken when `p` is 0)."""
    return p > 0 and float(torch.rand((), generator=generator)) < p

"""Per-row values of an epoch, gathered across DDP ranks exactly once.

A distributed sampler pads shards with repeated rows; keying every value by its row index and
keeping one per index makes a DDP evaluation count each sample exactly once. Detection keeps
(prob, label) per row, the face swap (identity, mse, psnr, ssim).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.distributed as dist


class RowBuffer:
    """Collects named per-row values during an epoch, keyed by row index."""

    def __init__(self, columns: Sequence[str]):
        self.columns = tuple(columns)
        self.parts: list[np.ndarray] = []

    def add(self, indices: torch.Tensor, **values: torch.Tensor) -> None:
        """One batch: row indices and a (B,) tensor per column."""
        missing = set(self.columns) ^ set(values)
        if missing:
            raise ValueError(f"RowBuffer.add needs exactly the columns {list(self.columns)}")
        stacked = [indices, *(values[name] for name in self.columns)]
        self.parts.append(torch.stack([v.detach().double().cpu() for v in stacked], 1).numpy())

    def reset(self) -> None:
        self.parts.clear()

    def gather(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """All ranks' rows, one per row index, sorted by index (the same on every rank)."""
        width = 1 + len(self.columns)
        local = np.concatenate(self.parts) if self.parts else np.empty((0, width))
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            parts: list = [None] * dist.get_world_size()
            dist.all_gather_object(parts, local)
            local = np.concatenate(parts)
        _, first = np.unique(local[:, 0], return_index=True)
        rows = local[first]
        values = {name: rows[:, 1 + k] for k, name in enumerate(self.columns)}
        return rows[:, 0].astype(np.int64), values

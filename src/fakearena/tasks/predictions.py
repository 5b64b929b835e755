"""Per-sample predictions gathered across DDP ranks exactly once.

A distributed sampler pads shards with repeated rows; keying every prediction by its row
index and keeping one per index makes a DDP evaluation count each sample exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributed as dist


@dataclass
class PredictionBuffer:
    """Collects (row index, score, label) triples during an epoch."""

    indices: list[np.ndarray] = field(default_factory=list)
    scores: list[np.ndarray] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)

    def add(self, indices: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor) -> None:
        self.indices.append(indices.detach().cpu().numpy().astype(np.int64))
        self.scores.append(scores.detach().float().cpu().numpy().astype(np.float64))
        self.labels.append(labels.detach().cpu().numpy().astype(np.int64))

    def reset(self) -> None:
        self.indices.clear()
        self.scores.clear()
        self.labels.clear()

    def _local(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.indices:
            empty = np.empty(0)
            return empty.astype(np.int64), empty, empty.astype(np.int64)
        return (
            np.concatenate(self.indices),
            np.concatenate(self.scores),
            np.concatenate(self.labels),
        )

    def gather(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All ranks' predictions, one per row index, sorted by index (same on every rank)."""
        local = self._local()
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            parts: list = [None] * dist.get_world_size()
            dist.all_gather_object(parts, local)
        else:
            parts = [local]
        indices = np.concatenate([p[0] for p in parts])
        scores = np.concatenate([p[1] for p in parts])
        labels = np.concatenate([p[2] for p in parts])
        unique, first = np.unique(indices, return_index=True)
        return unique, scores[first], labels[first]

"""Random-number-generator state in checkpoints, so a resumed run repeats the uninterrupted one.

Lightning restores weights, optimizer, scheduler and loop counters, but not the global RNGs
that draw the next epoch's shuffle order and augmentations; this callback saves and restores
them (torch CPU/CUDA, numpy, python) as plain tensors and lists (weights-only loadable).
"""

from __future__ import annotations

import random
from typing import Any

import lightning as L
import numpy as np
import torch


def capture_rng_state() -> dict[str, Any]:
    """The global RNG states as weights-only-safe values."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": {"version": version, "internal": list(internal), "gauss": gauss},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Set the global RNGs to a state from `capture_rng_state`."""
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["kind"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached"],
        )
    )
    python_state = state["python"]
    random.setstate(
        (python_state["version"], tuple(python_state["internal"]), python_state["gauss"])
    )
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class RNGStateCallback(L.Callback):
    """Stores the RNG states in every checkpoint and restores them when a run resumes."""

    def state_dict(self) -> dict[str, Any]:
        return capture_rng_state()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        restore_rng_state(state_dict)

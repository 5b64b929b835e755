"""Rendered rows kept once: a uint8 array in a memory-mapped file that DataLoader workers share.

The synthetic faces are drawn by a renderer, not read from files; drawing one costs far more
than training on it. `RowCache` keeps every drawn row, so each row is rendered once per run and
every later epoch reads its pixels. The array lives in a temporary file mapped with
`MAP_SHARED`: worker processes (forked, or spawned and unpickled, which reopens the file)
write into and read from the same pages, so a row drawn by any worker is never drawn again by
another. The file is removed when the cache made by the main process is garbage collected.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import weakref
from collections.abc import Callable

import numpy as np


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


class RowCache:
    """`n` uint8 images of one `shape` (H, W, C), filled on first use.

    Args:
        n: rows in the dataset.
        shape: the (H, W, C) shape every row has.
        directory: folder of the backing file (default: the system temp folder).
    """

    def __init__(self, n: int, shape: tuple[int, int, int], directory: str | None = None):
        self.n, self.shape = int(n), tuple(int(s) for s in shape)
        descriptor, self.path = tempfile.mkstemp(prefix="fakearena-rows-", dir=directory)
        with os.fdopen(descriptor, "wb") as file:
            file.truncate(self._bytes())
        self._finalizer = weakref.finalize(self, _remove, self.path)
        self._open()

    def _bytes(self) -> int:
        return self.n * math.prod(self.shape) + self.n  # pixels, then one "filled" byte per row

    def _open(self) -> None:
        memory = np.memmap(self.path, dtype=np.uint8, mode="r+", shape=(self._bytes(),))
        pixels = self.n * math.prod(self.shape)
        self._pixels = memory[:pixels].reshape(self.n, *self.shape)
        self._filled = memory[pixels:]

    def __getstate__(self) -> dict:
        # Spawned workers reopen the same file; only the process that made it removes it.
        return {"n": self.n, "shape": self.shape, "path": self.path}

    def __setstate__(self, state: dict) -> None:
        self.n, self.shape, self.path = state["n"], state["shape"], state["path"]
        self._open()

    def __len__(self) -> int:
        return self.n

    def filled(self) -> int:
        """How many rows are stored."""
        return int(np.count_nonzero(self._filled))

    def get(self, index: int, render: Callable[[], np.ndarray]) -> np.ndarray:
        """Row `index`: read when stored, else `render()`ed, stored and returned (a copy).

        The pixels are written before the row is marked filled, so a reader in another process
        sees either no row (and renders the same pixels itself) or the complete row.
        """
        if self._filled[index]:
            return np.array(self._pixels[index])
        image = render()
        if image.shape != self.shape or image.dtype != np.uint8:
            raise ValueError(
                f"row {index} rendered as {image.dtype} {image.shape}; the cache holds uint8 "
                f"{self.shape}"
            )
        self._pixels[index] = image
        self._filled[index] = 1
        return image

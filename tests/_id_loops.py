"""Brute-force ID retrieval for tests: each person's gallery centroid, computed with loops."""

from __future__ import annotations

import numpy as np

from fakearena.data.synthetic import SyntheticRenderer
from fakearena.metrics.identity_source import GALLERY_FIRST_SHOT, GALLERY_SHOTS


def gallery_centroids(model, people, size: int, seed: int = 0) -> dict[int, np.ndarray]:
    """Person -> unit mean of the unit embeddings of their gallery shots (float64)."""
    renderer = SyntheticRenderer(size, seed)
    centroid = {}
    for person in people:
        shots = [renderer.render_face(person, GALLERY_FIRST_SHOT + k) for k in range(GALLERY_SHOTS)]
        vectors = model.embed(np.stack(shots)).astype(np.float64)
        mean = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).mean(axis=0)
        centroid[person] = mean / np.linalg.norm(mean)
    return centroid

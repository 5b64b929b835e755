"""Identity metrics of face swaps, as FaceShifter, SimSwap and FaceDancer report them.

A face recognition network that the swap never trained with embeds every swap and the real
faces of every source (donor) identity. The gallery holds one unit-length centroid per
identity (the mean of its real faces' unit embeddings, renormalised).

- ID retrieval top-k: the share of swaps whose donor is among the k gallery identities nearest
  to the swap (cosine similarity). Chance is k / gallery size.
- ID similarity: the mean cosine similarity between each swap and its donor's centroid, beside
  the same between each swap and its target's centroid (where the face was pasted): a swap
  that carries its donor scores higher on the first.

Embeddings are any (N, D) arrays: dlib's 128-d face recognition ResNet on real faces, the
synthetic inner-face model on the built-in faces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fakearena.errors import DataError
from fakearena.results import metric


def unit_rows(vectors: Any) -> np.ndarray:
    """Rows scaled to unit length (float64); a zero row is an error."""
    array = np.asarray(vectors, dtype=np.float64)
    if array.ndim != 2 or not len(array):
        raise DataError(f"embeddings must be a non-empty (N, D) array, got shape {array.shape}")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if not np.all(np.isfinite(array)) or np.any(norms == 0):
        raise DataError("embeddings hold a zero or non-finite row; was a face missed?")
    return array / norms


def identity_gallery(embeddings: Any, identities: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """(names, (G, D) unit centroids) of the identities of real faces' embeddings."""
    units = unit_rows(embeddings)
    names = sorted({str(i) for i in identities})
    if len(identities) != len(units):
        raise DataError(f"{len(units)} embeddings but {len(identities)} identities")
    labels = np.array([str(i) for i in identities])
    centroids = np.stack([units[labels == name].mean(axis=0) for name in names])
    return names, unit_rows(centroids)


def id_retrieval(
    swap_embeddings: Any,
    donors: Sequence[str],
    gallery: tuple[list[str], np.ndarray],
    ks: Sequence[int] = (1, 5),
) -> dict[str, float]:
    """`{"top1": ..., "top5": ...}`: share of swaps whose donor ranks within the k nearest.

    Ties in similarity rank in the gallery's (sorted name) order.

    Raises:
        DataError: a donor not in the gallery (its real faces were not embedded).
    """
    names, centroids = gallery
    index = {name: i for i, name in enumerate(names)}
    missing = sorted({str(d) for d in donors} - set(index))
    if missing:
        raise DataError(
            f"donor identities {missing[:5]} have no real faces in the identity gallery; embed "
            "real faces of every source identity"
        )
    similarity = unit_rows(swap_embeddings) @ centroids.T
    donor_index = np.array([index[str(d)] for d in donors])
    donor_score = similarity[np.arange(len(donor_index)), donor_index][:, None]
    # rank of the donor: identities strictly more similar, plus tied ones listed before it
    higher = (similarity > donor_score).sum(axis=1)
    tied_before = ((similarity == donor_score) & (np.arange(len(names)) < donor_index[:, None]))
    rank = higher + tied_before.sum(axis=1)
    return {f"top{int(k)}": float(np.mean(rank < int(k))) for k in ks}


def id_similarity(
    swap_embeddings: Any,
    identities: Sequence[str],
    gallery: tuple[list[str], np.ndarray],
) -> float:
    """Mean cosine similarity of each swap to the centroid of `identities[i]` (its donor, or
    its target for the comparison)."""
    names, centroids = gallery
    index = {name: i for i, name in enumerate(names)}
    rows = np.array([index[str(i)] for i in identities])
    return float(np.mean(np.sum(unit_rows(swap_embeddings) * centroids[rows], axis=1)))


def id_entries(
    swap_embeddings: Any,
    donors: Sequence[str],
    targets: Sequence[str | None],
    gallery: tuple[list[str], np.ndarray],
    stage: str,
    **about: Any,
) -> dict[str, dict[str, Any]]:
    """The result entries `<stage>/id_top1`, `id_top5`, `id_similarity` and, over the swaps
    whose target is in the gallery, `id_similarity_target`.

    Top-5 is top-k with k = min(5, gallery size) (its `k` says which); `about` (e.g. the
    embedding and protocol used) goes into every entry, with the gallery's size.
    """
    swaps = unit_rows(swap_embeddings)
    names = gallery[0]
    n, k5 = len(swaps), min(5, len(names))
    retrieval = id_retrieval(swaps, donors, gallery, ks=(1, k5))
    about = {**about, "gallery_identities": len(names)}
    entries = {
        f"{stage}/id_top1": metric(retrieval["top1"], n=n, chance=1 / len(names), **about),
        f"{stage}/id_top5": metric(retrieval[f"top{k5}"], n=n, k=k5, chance=k5 / len(names),
                                   **about),
        f"{stage}/id_similarity": metric(id_similarity(swaps, donors, gallery), n=n, **about),
    }  # fmt: skip
    known = [i for i, target in enumerate(targets) if target is not None and target in names]
    if known:
        similarity = id_similarity(swaps[known], [str(targets[i]) for i in known], gallery)
        entries[f"{stage}/id_similarity_target"] = metric(similarity, n=len(known), **about)
    return entries

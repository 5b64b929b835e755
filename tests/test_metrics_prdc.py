"""PRDC against the authors' `prdc` package; the quality bundle and the real-vs-real floor."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from fakearena.metrics.prdc import nearest_neighbour_radii, prdc
from fakearena.metrics.quality import floor_rows, sample_quality

reference = pytest.importorskip("prdc", reason="the reference `prdc` package (dev extra)")


def reference_prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    with contextlib.redirect_stdout(io.StringIO()):  # it prints the sizes
        return reference.compute_prdc(real, fake, nearest_k=k)


@pytest.mark.parametrize(
    ("n_real", "n_fake", "dim", "scale", "shift", "k"),
    [(300, 300, 64, 1.1, 0.0, 3), (400, 250, 2048, 1.0, 0.02, 3), (200, 350, 32, 1.1, 0.5, 5)],
)
def test_prdc_equals_the_reference_package(n_real, n_fake, dim, scale, shift, k) -> None:
    rng = np.random.default_rng(n_real + dim)
    real = rng.normal(size=(n_real, dim)).astype(np.float32)
    fake = (rng.normal(size=(n_fake, dim)) * scale + shift).astype(np.float32)
    want = reference_prdc(real, fake, k)
    got = prdc(real, fake, k=k, block=97)  # a block size that does not divide N
    for key in ("precision", "recall", "density", "coverage"):
        assert got[key] == pytest.approx(float(want[key]), abs=1e-6), key
    assert (got["n_real"], got["n_fake"], got["k"]) == (n_real, n_fake, k)
    assert 0 < got["precision"] < 1 and 0 < got["coverage"] <= 1


def test_radii_are_the_kth_neighbour_without_itself() -> None:
    points = np.array([[0.0], [1.0], [3.0], [7.0]])
    np.testing.assert_allclose(nearest_neighbour_radii(points, 1), [1, 1, 2, 4])
    np.testing.assert_allclose(nearest_neighbour_radii(points, 2), [3, 2, 3, 6])
    with pytest.raises(ValueError, match="more than k"):
        nearest_neighbour_radii(points, 4)


def test_identical_sets_score_full_precision_and_recall() -> None:
    features = np.random.default_rng(0).normal(size=(100, 16))
    scores = sample_quality(features, features, kid_subsets=5)
    assert scores["fid"] == pytest.approx(0, abs=1e-6)
    assert scores["precision"] == scores["recall"] == scores["coverage"] == 1.0
    assert scores["density"] == pytest.approx(1.0)  # each ball holds itself + k-1 others


def test_floor_rows_are_disjoint_seeded_or_a_reason() -> None:
    used = np.arange(0, 40, 2)
    rows = floor_rows(100, used, 30, seed=1)
    assert len(rows) == 30 and not set(rows) & set(used)
    assert np.array_equal(rows, floor_rows(100, used, 30, seed=1))
    reason = floor_rows(40, used, 30, seed=1)
    assert isinstance(reason, str) and "needs 30 real rows" in reason

"""The paired bootstrap of two detectors on the same rows, against a plain loop with the same
random draws, and a clear difference against a tie."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from fakearena.metrics.bootstrap import CHUNK
from fakearena.metrics.significance import paired_bootstrap_auc


def rows(n_people: int, shots: int, seed: int):
    """Every image its own video; people shown real and fake (shots alike per person)."""
    rng = np.random.default_rng(seed)
    person = np.repeat(np.arange(n_people), shots)
    labels = np.tile(np.arange(shots) % 2, n_people)
    identity = np.array([f"p{p:02d}" for p in person])
    video = np.array([f"v{i}" for i in range(person.size)])
    return rng, person, labels, identity, video


def scores(rng, person, labels, strength: float, seeds: int) -> np.ndarray:
    """(seeds, rows) probabilities: a shared per-person offset plus the detector's signal."""
    offset = np.random.default_rng(99).normal(0, 0.15, person.max() + 1)[person]
    return np.stack(
        [
            np.clip(
                0.5 + offset + strength * (labels - 0.5) + rng.normal(0, 0.1, labels.size), 0, 1
            )
            for _ in range(seeds)
        ]
    )


def test_paired_bootstrap_equals_a_plain_loop_with_the_same_draws():
    rng, person, labels, identity, video = rows(7, 6, seed=0)
    a = scores(rng, person, labels, 0.3, seeds=3)
    b = scores(rng, person, labels, 0.2, seeds=3)
    n_boot, seed = CHUNK - 8, 5
    result, replicates = paired_bootstrap_auc(
        a, b, labels, video, identity, n_bootstrap=n_boot, seed=seed
    )
    assert result.unit == "identity" and result.n_units == 14 and result.seeds == 3
    expected_delta = np.mean(
        [roc_auc_score(labels, a[k]) - roc_auc_score(labels, b[k]) for k in range(3)]
    )
    assert result.delta == pytest.approx(expected_delta, abs=1e-12)
    draw = np.random.default_rng(seed)
    names = sorted(set(identity))
    real = draw.integers(0, len(names), (n_boot, len(names)))
    fake = draw.integers(0, len(names), (n_boot, len(names)))
    pairs = draw.integers(0, 3, (n_boot, 3))
    for r in range(n_boot):
        chosen = [np.flatnonzero((identity == names[k]) & (labels == 0)) for k in real[r]]
        chosen += [np.flatnonzero((identity == names[k]) & (labels == 1)) for k in fake[r]]
        idx = np.concatenate(chosen)
        diffs = [
            roc_auc_score(labels[idx], a[k, idx]) - roc_auc_score(labels[idx], b[k, idx])
            for k in pairs[r]
        ]
        assert replicates[r] == pytest.approx(np.mean(diffs), abs=1e-12)


def test_a_clear_difference_is_significant_and_equal_detectors_tie():
    rng, person, labels, identity, video = rows(40, 6, seed=1)
    strong = scores(rng, person, labels, 0.5, seeds=2)
    weak = scores(rng, person, labels, 0.05, seeds=2)
    better, _ = paired_bootstrap_auc(strong, weak, labels, video, identity, n_bootstrap=300)
    assert better.significant and better.verdict == "A" and better.ci95[0] > 0.1
    assert better.p_value < 0.01
    worse, _ = paired_bootstrap_auc(weak, strong, labels, video, identity, n_bootstrap=300)
    assert worse.verdict == "B" and worse.delta == pytest.approx(-better.delta)
    twin = scores(rng, person, labels, 0.3, seeds=2)
    other = scores(rng, person, labels, 0.3, seeds=2)
    tie, _ = paired_bootstrap_auc(twin, other, labels, video, identity, n_bootstrap=300)
    assert tie.verdict == "tie" and tie.ci95[0] < 0 < tie.ci95[1] and tie.p_value > 0.05


def test_mismatched_rows_are_refused():
    with pytest.raises(ValueError, match="paired scores need equal shapes"):
        paired_bootstrap_auc(np.zeros((2, 4)), np.zeros((1, 4)), [0, 1, 0, 1])


def test_one_unit_of_a_class_is_untested_not_significant():
    # two people, one shown real and one fake: seeds alone would make any gap "significant"
    labels = np.r_[np.zeros(12, int), np.ones(12, int)]
    identity = np.r_[["p0"] * 12, ["p1"] * 12]
    a = np.stack([labels * 0.4 + 0.3 + 0.01 * k for k in range(3)])
    b = np.stack([np.full(24, 0.5) + 0.001 * np.arange(24) for _ in range(3)])
    result, replicates = paired_bootstrap_auc(a, b, labels, None, identity, n_bootstrap=200)
    assert result.verdict == "untested" and not result.significant and replicates.size == 0
    assert result.ci95 is None and result.p_value is None
    assert result.flags == ("small_n", "no_ci") and result.n_units == 2
    assert result.delta == pytest.approx(1.0 - 1.0)  # both rank the fakes above the reals

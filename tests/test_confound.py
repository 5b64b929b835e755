"""The confound check (`fakearena.metrics.confound`): the identity-only AUC against brute-force
loops and sklearn, on confounded and clean sets, and its folds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from fakearena.errors import DataError
from fakearena.metrics.confound import (
    CHUNK,
    SMOOTHING,
    chance_auc,
    chance_corrected,
    confound_check,
    identity_bootstrap_auc,
    identity_scores,
    is_flagged,
    leave_one_out_scores,
    unit_folds,
)


def _pairwise_auc(scores, labels) -> float:
    """AUC by counting every (fake, real) pair; ties count one half."""
    pos = [s for s, y in zip(scores, labels) if y == 1]
    neg = [s for s, y in zip(scores, labels) if y == 0]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def _brute_scores(identities, labels, folds, smoothing=SMOOTHING) -> list[float]:
    """Each row's person fake rate over the rows of other folds, smoothed to their fake rate."""
    out = []
    for i in range(len(labels)):
        other = [j for j in range(len(labels)) if folds[j] != folds[i]]
        prior = sum(labels[j] for j in other) / len(other)
        same = [j for j in other if identities[j] == identities[i]]
        out.append((sum(labels[j] for j in same) + smoothing * prior) / (len(same) + smoothing))
    return out


def test_a_set_whose_fakes_show_other_people_is_flagged():
    rng = np.random.default_rng(0)
    identities = np.r_[rng.integers(0, 20, 300), rng.integers(20, 40, 300)]
    labels = np.r_[np.zeros(300, int), np.ones(300, int)]
    result = confound_check(identities, labels, seed=0)
    assert result.auc > 0.95 and result.flagged and result.flag == "CONFOUNDED"
    assert result.identities == {"real": 20, "fake": 20}
    assert result.shared_identities == 0 and result.rows_shared == 0.0
    assert result.ci95[0] > 0.9


def test_a_set_of_the_same_people_in_equal_counts_is_at_chance_not_below():
    identities = np.repeat(np.arange(40), 12)
    labels = np.tile([0, 1] * 6, 40)
    result = confound_check(identities, labels, seed=3)
    assert abs(result.auc - 0.5) <= 0.1 and not result.flagged
    assert result.auc == pytest.approx(0.5)
    assert result.shared_identities == 40 and result.rows_shared == 1.0
    # leave-one-out rates are biased downwards: they call this clean set anti-confounded
    loo = leave_one_out_scores(identities, labels)
    assert _pairwise_auc(loo, labels) < 0.1
    assert roc_auc_score(labels, loo) == pytest.approx(_pairwise_auc(loo, labels))


def test_cross_fitted_auc_equals_brute_force_loops():
    rng = np.random.default_rng(5)
    videos = np.repeat(np.arange(40), rng.integers(1, 4, 40))  # units of 1-3 rows
    video_label = rng.integers(0, 2, 40)
    video_person = rng.integers(0, 9, 40)
    labels, identities = video_label[videos], video_person[videos]
    folds = unit_folds(identities, labels, videos, folds=4, seed=11)
    for v in np.unique(videos):  # a unit goes whole into one fold
        assert np.unique(folds[videos == v]).size == 1
    brute = _brute_scores(list(identities), list(labels), list(folds))
    np.testing.assert_allclose(identity_scores(identities, labels, folds), brute, rtol=1e-12)
    result = confound_check(identities, labels, videos, folds=4, seed=11)
    assert result.raw_auc == pytest.approx(_pairwise_auc(brute, labels), abs=1e-12)
    assert result.raw_auc == pytest.approx(roc_auc_score(labels, brute), abs=1e-12)
    expected = 0.5 + 0.5 * max(result.raw_auc - result.chance_auc, 0) / (1 - result.chance_auc)
    assert result.auc == pytest.approx(expected, abs=1e-12)
    assert result.units == {
        "real": int(np.sum(video_label == 0)),
        "fake": int(np.sum(video_label == 1)),
    }


def _shuffled_null_auc(identities, labels, units, seed):
    """The raw check's AUC on labels shuffled over the units, by brute-force loops."""
    rng = np.random.default_rng([seed, 1])
    unit_names, unit = np.unique(units, return_inverse=True)
    unit_label = np.zeros(unit_names.size, int)
    unit_label[unit] = labels
    values = []
    for _ in range(20):
        shuffled = rng.permutation(unit_label)[unit]
        folds = unit_folds(identities, shuffled, units, seed=seed)
        values.append(_pairwise_auc(_brute_scores(identities, shuffled, folds), shuffled))
    return float(np.mean(values))


def test_chance_level_equals_the_brute_force_mean_over_shuffles():
    rng = np.random.default_rng(8)
    identities = rng.integers(0, 6, 60)
    labels = rng.integers(0, 2, 60)
    units = np.arange(60).astype(str)
    got = chance_auc(identities.astype(str), labels, units, seed=2)
    assert got == pytest.approx(_shuffled_null_auc(identities.astype(str), labels, units, 2))


def test_random_labels_score_above_half_raw_and_half_corrected():
    """Labels that ignore identity: the raw cross-fitted AUC sits near 0.58 for 40 people x 40
    rows (the folds keep each person's chance imbalance); corrected, it is 0.5 +- noise."""
    raws, corrected = [], []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        identities = rng.integers(0, 40, 1600)
        labels = rng.permutation(np.repeat([0, 1], 800))
        result = confound_check(identities, labels, seed=seed, n_bootstrap=50)
        raws.append(result.raw_auc)
        corrected.append(result.auc)
    assert 0.55 < np.mean(raws) < 0.62
    assert abs(np.mean(corrected) - 0.5) < 0.03 and max(corrected) < 0.58


def test_chance_correction_maps_chance_to_half_and_one_to_one():
    assert chance_corrected(0.6, 0.6) == 0.5
    assert chance_corrected(0.55, 0.6) == 0.5  # no better than chance: 0.5, not below
    assert chance_corrected(1.0, 0.6) == 1.0
    assert chance_corrected(0.8, 0.6) == pytest.approx(0.75)


def test_folds_deal_each_persons_classes_evenly():
    identities = np.repeat(np.arange(6), 20)
    labels = np.tile([0, 1], 60)
    folds = unit_folds(identities, labels, np.arange(120), folds=5, seed=2)
    for person in range(6):
        for fold in range(5):
            here = (identities == person) & (folds == fold)
            assert labels[here].sum() == (labels[here] == 0).sum() == 2


def test_identity_ci_equals_a_brute_force_identity_bootstrap():
    rng = np.random.default_rng(1)
    identities = rng.integers(0, 7, 90)
    labels = rng.integers(0, 2, 90)
    scores = rng.random(90).round(1)  # ties too
    got = identity_bootstrap_auc(scores, labels, identities, n_bootstrap=200, seed=4)
    draws = np.random.default_rng(4)
    expected = []
    for start in range(0, 200, CHUNK):
        for drawn in draws.integers(0, 7, size=(min(CHUNK, 200 - start), 7)):
            weight = np.bincount(drawn, minlength=7)[identities]
            if len(set(labels[weight > 0])) == 2:
                expected.append(roc_auc_score(labels, scores, sample_weight=weight))
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_flag_bounds_and_bad_input():
    assert not is_flagged(0.6) and not is_flagged(0.4) and is_flagged(0.61) and is_flagged(0.39)
    with pytest.raises(DataError, match="all real"):
        confound_check(["a", "b"], [0, 0])
    with pytest.raises(DataError, match="1 rows have no identity"):
        confound_check(["a", ""], [0, 1])
    with pytest.raises(DataError, match="both real and fake rows"):
        confound_check(["a", "a", "b"], [0, 1, 1], units=["v", "v", "w"])

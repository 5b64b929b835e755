"""Identity-matched test sets (`fakearena.runs.identity_match`): per person as many fakes as
reals, checked by counting; a generator that draws its people unevenly is flagged by the
confound check before the matching and not after."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from fakearena.data.manifest import Manifest, ManifestCard
from fakearena.errors import DataError
from fakearena.metrics.confound import confound_check
from fakearena.runs.identity_match import ASSIGNED, match_test_set, matched_rows


def test_matched_rows_keep_min_of_both_classes_per_person():
    rng = np.random.default_rng(0)
    people = rng.integers(0, 12, 500).astype(str)
    labels = rng.integers(0, 2, 500)
    kept = matched_rows(people, labels, seed=3)
    assert np.all(np.diff(kept) > 0)  # original order, no repeats
    before = Counter(zip(people, labels))
    after = Counter(zip(people[kept], labels[kept]))
    for person in np.unique(people):
        expected = min(before[(person, 0)], before[(person, 1)])
        assert after[(person, 0)] == after[(person, 1)] == expected
    assert np.array_equal(kept, matched_rows(people, labels, seed=3))  # seeded
    assert not np.array_equal(kept, matched_rows(people, labels, seed=4))


def _uneven_set(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """40 people x 20 reals; 2400 fakes drawn from them with skewed odds (a GAN's modes)."""
    rng = np.random.default_rng(seed)
    reals = np.repeat(np.arange(40), 20)
    odds = rng.gamma(0.7, size=40)
    fakes = rng.choice(40, 2400, p=odds / odds.sum())
    people = np.r_[reals, fakes].astype(str)
    labels = np.r_[np.zeros(reals.size, int), np.ones(fakes.size, int)]
    return people, labels


def test_an_uneven_generator_is_confounded_before_matching_and_not_after():
    people, labels = _uneven_set()
    raw_pool = confound_check(people, labels, n_bootstrap=100)
    assert raw_pool.flagged and raw_pool.auc > 0.7
    frame = pd.DataFrame(
        {
            "path": [f"img{i}.png" for i in range(labels.size)],
            "label": labels,
            "split": "test",
            "video_id": [f"v{i}" for i in range(labels.size)],
            "frame": 0,
            "identity": "",
            "source": "x",
        }
    )
    manifest = Manifest(frame, ManifestCard(name="gan"), None)
    matched, record = match_test_set(manifest, people, seed=0, what="test set gan")
    kept = matched.frame
    check = confound_check(kept[ASSIGNED], kept["label"], kept["video_id"], n_bootstrap=100)
    assert not check.flagged and check.auc == pytest.approx(0.5)
    assert record["rows_before"] == {"real": 800, "fake": 2400}
    assert record["rows_after"]["real"] == record["rows_after"]["fake"] == len(kept) // 2
    assert record["people_after"] == kept[ASSIGNED].nunique()
    # samples that named nobody now name the person they were recognised as
    assert (kept["identity"] == kept[ASSIGNED]).all()
    assert record["identity_from_model"] == len(kept)


def test_a_set_without_any_person_in_both_classes_is_refused():
    frame = pd.DataFrame(
        {
            "path": ["a.png", "b.png"],
            "label": [0, 1],
            "split": "test",
            "video_id": ["a", "b"],
            "frame": 0,
            "identity": "",
            "source": "x",
        }
    )
    manifest = Manifest(frame, ManifestCard(name="gan"), None)
    with pytest.raises(DataError, match=r"no person \(as the identity model .* both real and"):
        match_test_set(manifest, np.array(["p1", "p2"]), seed=0, what="test set gan")

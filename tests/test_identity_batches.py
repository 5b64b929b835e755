"""data.people_per_batch: batches of K people x batch_size/K faces, people visited equally,
checked by counting every batch; the default (all people) is the former balanced batch."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import WeightedRandomSampler

from fakearena.data.identities import IdentityDataModule
from fakearena.data.identity_batches import IdentityBatchSampler, PeopleCycle
from fakearena.errors import ConfigError


def _sampler(codes: np.ndarray, n: int, seed: int = 0) -> WeightedRandomSampler:
    weights = 1.0 / np.bincount(codes)[codes]
    generator = torch.Generator().manual_seed(seed)
    return WeightedRandomSampler(torch.as_tensor(weights), n, generator=generator)


def _codes(people: int, rows: list[int] | None = None) -> np.ndarray:
    rows = rows or [5 + 3 * (p % 4) for p in range(people)]  # unequal rows per person
    return np.repeat(np.arange(people), rows)


@pytest.mark.parametrize(("people", "k", "batch_size"), [(40, 8, 40), (40, 4, 40), (10, 3, 7)])
def test_each_batch_holds_k_people_with_equal_shares_and_visits_stay_within_one(
    people: int, k: int, batch_size: int
):
    codes = _codes(people)
    batches_sampler = IdentityBatchSampler(
        _sampler(codes, 960), batch_size, False, codes, people_per_batch=k, seed=3
    )
    share = batch_size // k
    assert len(batches_sampler) == 960 // (k * share)
    visits: Counter[int] = Counter()
    for epoch in range(3):
        batches = list(batches_sampler)
        assert len(batches) == len(batches_sampler)
        for batch in batches:
            counts = Counter(int(codes[i]) for i in batch)  # brute force: count each row
            assert len(batch) == k * share and len(counts) == k
            assert set(counts.values()) == {share}
            visits.update(counts.keys())
            seen = [visits[p] for p in range(people)]
            assert max(seen) - min(seen) <= 1, (epoch, seen)
    assert sum(visits.values()) == 3 * len(batches_sampler) * k


def test_people_take_turns_over_epochs_not_the_same_groups_again():
    codes = _codes(40)
    sampler = IdentityBatchSampler(
        _sampler(codes, 960), 40, False, codes, people_per_batch=8, seed=0
    )
    first = [tuple(sorted({int(codes[i]) for i in b})) for b in sampler]
    second = [tuple(sorted({int(codes[i]) for i in b})) for b in sampler]
    assert first != second
    again = IdentityBatchSampler(
        _sampler(codes, 960), 40, False, codes, people_per_batch=8, seed=0
    )
    assert [tuple(sorted({int(codes[i]) for i in b})) for b in again] == first  # seeded


def test_all_people_is_the_default_balanced_batch():
    codes = _codes(6)
    default = list(IdentityBatchSampler(_sampler(codes, 120), 12, False, codes))
    everyone = list(
        IdentityBatchSampler(_sampler(codes, 120), 12, False, codes, people_per_batch=6)
    )
    assert default == everyone and len(default) == 10
    for batch in default:
        assert np.bincount(codes[batch], minlength=6).tolist() == [2] * 6


def test_people_cycle_counts_by_brute_force():
    cycle = PeopleCycle(7, 3, seed=1)
    visits = np.zeros(7, dtype=int)
    for _ in range(50):
        chosen = cycle.next()
        assert len(set(chosen)) == 3 and all(0 <= p < 7 for p in chosen)
        visits[chosen] += 1
        assert visits.max() - visits.min() <= 1
    assert PeopleCycle(4, 4, seed=0).next() == [0, 1, 2, 3]


def test_bad_people_per_batch_is_a_config_error_naming_the_key(tmp_path: Path):
    codes = _codes(5)
    for bad in (0, 6):
        with pytest.raises(ConfigError, match=rf"data\.people_per_batch={bad}: .* 1 to the 5"):
            IdentityBatchSampler(_sampler(codes, 40), 10, False, codes, people_per_batch=bad)
    with pytest.raises(ConfigError, match=r"data\.batch_size=3 is smaller than the 4 people"):
        IdentityBatchSampler(_sampler(codes, 40), 3, False, codes, people_per_batch=4)
    with pytest.raises(ConfigError, match=r"batch_size=3 is smaller than the 5 identities"):
        IdentityBatchSampler(_sampler(codes, 40), 3, False, codes)
    faces = str(tmp_path / "faces.csv")
    with pytest.raises(ConfigError, match=r"people_per_batch=3: .* task\.n_identities=2"):
        IdentityDataModule(manifests=[faces], n_identities=2, people_per_batch=3)

"""Identity-balanced training batches for the face swap: every person of a batch gives it the
same number of faces.

By default a batch holds `batch_size // n` faces of each of all `n` people (one face of each
of 40 people in a batch of 40). With `people_per_batch=K` a batch holds `batch_size // K` faces
of each of K people instead, so each person's decoder sees several faces a step; the people
are taken in turns from a stream of seeded permutations of all people (K distinct people a
batch), so after any number of batches no person has been visited twice more than another.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import BatchSampler, Sampler

from fakearena.errors import ConfigError, DataError


class PeopleCycle:
    """K distinct people at a time from a stream of seeded permutations of `n` people.

    Every person appears once in each permutation and the people of a batch are taken in
    stream order (at a permutation's end, the next permutation's first people that are not
    already in the batch are moved to its front), so visit counts never differ by more than one.
    """

    def __init__(self, n: int, k: int, seed: int):
        self.n, self.k = int(n), int(k)
        self.rng = np.random.default_rng(int(seed))
        self.pending: list[int] = []

    def next(self) -> list[int]:
        if self.k == self.n:
            return list(range(self.n))
        chosen = self.pending[: self.k]
        del self.pending[: self.k]
        if len(chosen) < self.k:
            fresh = self.rng.permutation(self.n).tolist()
            first = [p for p in fresh if p not in chosen][: self.k - len(chosen)]
            chosen += first
            self.pending = [p for p in fresh if p not in first]
        return sorted(chosen)


class IdentityBatchSampler(BatchSampler):
    """Batches of `batch_size // K` rows of each of K identities (K: all by default).

    Rows come from `sampler` (Lightning may swap in a distributed wrapper of it under DDP);
    each is queued under its identity and a batch is emitted whenever the queues of its
    people can give their share; an epoch is `len(sampler) // (K * share)` batches (at least
    one), so an epoch uses as many rows whatever K.

    Args:
        sampler: the row indices to draw from (identity-weighted).
        batch_size: rows per batch.
        drop_last: kept for the `BatchSampler` interface (batches are always full).
        codes: the identity code (0..n-1) of every row.
        people_per_batch: K (None: all identities, one share of each in every batch).
        seed: seed of the order in which people take turns (with `people_per_batch`).
    """

    def __init__(
        self,
        sampler: Sampler[int],
        batch_size: int,
        drop_last: bool,
        codes: Sequence[int],
        people_per_batch: int | None = None,
        seed: int = 0,
    ):
        super().__init__(sampler, batch_size, drop_last)
        self.codes = np.asarray(codes, dtype=np.int64)
        self.n_identities = int(self.codes.max()) + 1
        people = self.n_identities if people_per_batch is None else int(people_per_batch)
        if not 1 <= people <= self.n_identities:
            raise ConfigError(
                f"data.people_per_batch={people_per_batch}: give a number of people from 1 to "
                f"the {self.n_identities} identities (null: all of them in every batch)"
            )
        if batch_size < people:
            key = "identities" if people_per_batch is None else "people of data.people_per_batch"
            raise ConfigError(
                f"data.batch_size={batch_size} is smaller than the {people} {key}; "
                "an identity-balanced batch needs at least one face of each"
            )
        self.people_per_batch = people
        self.per_identity = batch_size // people
        self.cycle = PeopleCycle(self.n_identities, people, seed)

    def __iter__(self) -> Iterator[list[int]]:
        # Exactly len(self) batches (Lightning schedules validation by the length), drawing
        # from the sampler again when one pass does not fill them all.
        queues: list[list[int]] = [[] for _ in range(self.n_identities)]
        emitted, target = 0, len(self)
        people = self.cycle.next()
        while emitted < target:
            before = emitted
            for index in self.sampler:
                queues[self.codes[index]].append(int(index))
                while all(len(queues[p]) >= self.per_identity for p in people):
                    batch = []
                    for p in people:
                        batch.extend(queues[p][: self.per_identity])
                        del queues[p][: self.per_identity]
                    yield batch
                    emitted += 1
                    if emitted == target:
                        return
                    people = self.cycle.next()
            if emitted == before:
                missing = [p for p in people if len(queues[p]) < self.per_identity]
                raise DataError(
                    f"the training sampler gave too few rows of identity code(s) {missing} to "
                    "fill one balanced batch; lower data.batch_size or add faces of them"
                )

    def __len__(self) -> int:
        return max(len(self.sampler) // (self.per_identity * self.people_per_batch), 1)

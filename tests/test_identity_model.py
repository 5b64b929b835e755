"""The synthetic identity model and where rows get their identity (`metrics.identity_model`,
`metrics.identity_source`): it recognises held-out shots of people it never trained on, it is
deterministic per seed, and any embedding callable plugs in."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fakearena.data.synthetic import SyntheticRenderer, synthetic_manifest
from fakearena.errors import DataError
from fakearena.metrics.identity_model import (
    IdentityModelSettings,
    cached_identity_model,
    degrade,
    train_identity_model,
)
from fakearena.metrics.identity_source import (
    centroids,
    column_identities,
    embedding_identities,
    nearest,
    resolve_source,
    synthetic_identities,
)

SMALL = IdentityModelSettings(seed=0, render_size=32, people=16, shots=8, epochs=4)


@pytest.fixture(scope="module")
def small_model():
    torch.set_num_threads(1)
    return train_identity_model(SMALL)


def test_it_recognises_held_out_shots_of_unseen_people(small_model):
    renderer = SyntheticRenderer(32, 0)
    people = range(10)  # not among its training people (numbered from 1,000,000)
    gallery = np.stack([renderer.render_face(p, 400_000 + k) for p in people for k in range(6)])
    known, centres = centroids(small_model(gallery), np.repeat([str(p) for p in people], 6))
    queries = np.stack([renderer.render_face(p, k) for p in people for k in range(8)])
    truth = np.repeat([str(p) for p in people], 8)
    accuracy = np.mean(nearest(small_model(queries), known, centres) == truth)
    rng = np.random.default_rng(0)
    degraded = np.stack([degrade(q, rng) for q in queries])
    degraded_accuracy = np.mean(nearest(small_model(degraded), known, centres) == truth)
    assert accuracy >= 0.6, accuracy  # chance is 0.1
    assert degraded_accuracy >= 0.5, degraded_accuracy


def test_it_is_deterministic_per_seed_and_round_trips(small_model, tmp_path):
    again = train_identity_model(SMALL)
    for a, b in zip(small_model.net.state_dict().values(), again.net.state_dict().values()):
        assert torch.equal(a, b)
    other = train_identity_model(IdentityModelSettings(**{**SMALL.__dict__, "seed": 1}))
    images = np.stack([SyntheticRenderer(32, 0).render_face(0, k) for k in range(4)])
    assert not np.allclose(other(images), small_model(images))
    path = small_model.save(tmp_path / "m.pt")
    np.testing.assert_array_equal(type(small_model).load(path)(images), small_model(images))
    cached = cached_identity_model(SMALL, tmp_path)  # trains once, then reads the file
    assert (tmp_path / f"identity_model-{SMALL.key()}.pt").is_file()
    np.testing.assert_array_equal(cached(images), small_model(images))


def test_synthetic_rows_take_their_persons_name(small_model):
    manifest = synthetic_manifest(n_identities=6, per_identity=6, seed=0, size=32)
    reals = manifest.select(label=0)
    assigned = synthetic_identities(reals, small_model, range(6), seed=0, size=32)
    expected = [f"synth{int(i):03d}" for i in reals.frame["synth_identity"]]
    assert np.mean(assigned.names == np.asarray(expected)) >= 0.6
    assert "nearest of 6 people" in assigned.source


def test_an_embedding_callable_plugs_in():
    manifest = synthetic_manifest(n_identities=4, per_identity=4, seed=0, size=32)

    def by_mean_colour(images: np.ndarray) -> np.ndarray:  # any images -> (N, D) callable
        return images.reshape(len(images), -1, 3).mean(axis=1)

    assigned = embedding_identities(manifest, by_mean_colour, name="mean colour")
    assert len(assigned.names) == len(manifest)
    assert set(assigned.names) <= set(manifest.frame["identity"])
    assert assigned.source.startswith("mean colour, nearest of 4 people")
    assert resolve_source(manifest, "auto", by_mean_colour) == "embedding"
    assert resolve_source(manifest, "auto", None) == "synthetic"


def test_rows_without_identity_say_how_to_get_one():
    manifest = synthetic_manifest(n_identities=4, per_identity=4, seed=0, size=32)
    frame = manifest.frame.drop(columns=["synth_identity"])
    frame.loc[0, "identity"] = ""
    bare = type(manifest)(frame=frame, card=manifest.card, root=None)
    with pytest.raises(
        DataError, match=r"1 of 16 rows have an empty `identity`.*identity=synthetic"
    ):
        column_identities(bare)
    with pytest.raises(DataError, match=r"no identity source.*embedding=MODULE:FUNCTION"):
        resolve_source(bare, "auto", None)

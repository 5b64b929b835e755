"""The inner-face identity model (`IdentityModelSettings(region="inner_face")`,
`metrics.inner_face`): what it sees and learns, its determinism and cache, the head model left
as it was, and (slow) that on people it never learnt it names the donor of a true swap and
not the target of an untouched image or of a swap that moved everything but the face."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from _id_loops import gallery_centroids
from fakearena.data.synthetic import SyntheticRenderer
from fakearena.errors import ConfigError
from fakearena.metrics.identity_model import (
    FIRST_PERSON,
    FIRST_SHOT,
    IdentityModelSettings,
    SyntheticIdentityModel,
    cached_identity_model,
    degrade,
    model_settings,
    network_input,
    train_identity_model,
    training_shots,
)
from fakearena.metrics.inner_face import (
    INNER_FACE_BOX,
    INNER_FACE_DEFAULTS,
    MARGIN,
    SCALE,
    SWAPS_PER_SHOT,
    box_pixels,
    cosine_margin_logits,
    donor_labelled_swaps,
)
from fakearena.metrics.synthetic_swap_identity import (
    EMBEDDING,
    inner_face_settings,
    synthetic_id_metrics,
)

CONF = Path(__file__).resolve().parents[1] / "conf"
TINY = IdentityModelSettings(
    seed=0, render_size=32, people=6, shots=3, epochs=2, region="inner_face"
)


@pytest.fixture(scope="module")
def tiny_model() -> SyntheticIdentityModel:
    torch.set_num_threads(1)
    return train_identity_model(TINY)


def test_the_box_is_the_face_swaps_crop_and_the_network_sees_only_it():
    crop = OmegaConf.load(CONF / "task" / "faceswap.yaml").task.crop
    assert (tuple(crop.center), crop.size) == INNER_FACE_BOX
    assert box_pixels(64, 64) == (slice(16, 56), slice(12, 52))  # 40 x 40 of a 64-px face
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    seen = network_input(images, 40, "inner_face")
    by_hand = torch.from_numpy(images[:, 16:56, 12:52].astype(np.float32) / 255).permute(0, 3, 1, 2)
    torch.testing.assert_close(seen, by_hand)  # a 40-px box at input 40: no resize
    outside = images.copy()
    outside[:, :16] = 0  # what lies outside the box does not reach the network
    outside[:, :, 52:] = 255
    torch.testing.assert_close(network_input(outside, 32, "inner_face"),
                               network_input(images, 32, "inner_face"))  # fmt: skip
    assert not torch.equal(network_input(outside, 32), network_input(images, 32))  # head: does


def test_donor_labelled_swaps_are_the_renderers_true_swaps_into_other_people():
    renderer = SyntheticRenderer(32, 0)
    people, shots = [10, 11, 12, 13], [5, 6]
    images, labels = donor_labelled_swaps(
        renderer, people, shots, np.random.default_rng(0), per_shot=3
    )
    assert labels == [label for label in range(4) for _ in range(2 * 3)]
    targets = []
    for k, (image, label) in enumerate(zip(images, labels)):
        donor, shot = people[label], shots[(k // 3) % 2]
        # brute force: which other person's shot, with the donor's inner face, is this image?
        found = [t for t in people if np.array_equal(image, renderer.render_swap(t, shot, donor))]
        assert len(found) == 1 and found[0] != donor
        targets.append(found[0])
    assert len(set(targets)) == 4  # the targets vary


def test_the_inner_face_model_learns_real_shots_and_swaps_labelled_by_donor():
    images, labels = training_shots(TINY)
    swaps = TINY.people * TINY.shots * SWAPS_PER_SHOT
    assert len(images) == 3 * (TINY.people * TINY.shots + swaps)  # each + 2 degraded copies
    renderer = SyntheticRenderer(32, 0)
    # the first rows are real shots, as the head model's; then the swaps, labelled by donor
    np.testing.assert_array_equal(images[0], renderer.render_face(FIRST_PERSON, FIRST_SHOT))
    first_swap = 3 * TINY.people * TINY.shots
    assert labels[first_swap] == 0
    donor0 = [renderer.render_swap(FIRST_PERSON + t, FIRST_SHOT, FIRST_PERSON) for t in range(6)]
    assert any(np.array_equal(images[first_swap], swap) for swap in donor0)


def test_the_head_models_training_and_cache_name_are_what_they_were():
    """The head model's images, written here as the code before regions wrote them (real
    shots, two degraded copies each from one stream), and its cache name, pinned."""
    settings = IdentityModelSettings(seed=0, render_size=32, people=3, shots=2)
    renderer = SyntheticRenderer(32, 0)
    rng = np.random.default_rng([0, 7])
    expected = []
    for person in range(3):
        for shot in range(2):
            face = renderer.render_face(FIRST_PERSON + person, FIRST_SHOT + shot)
            expected += [face, degrade(face, rng), degrade(face, rng)]
    images, labels = training_shots(settings)
    np.testing.assert_array_equal(images, np.stack(expected))
    assert labels.tolist() == [p for p in range(3) for _ in range(6)]
    assert IdentityModelSettings().key() == "0a56f3d0a482"  # the key before `region` existed
    assert IdentityModelSettings(region="inner_face").key() != IdentityModelSettings().key()


def test_cosine_margin_logits_follow_the_formula():
    rng = np.random.default_rng(0)
    embeddings, weights = rng.standard_normal((5, 8)), rng.standard_normal((4, 8))
    labels = [0, 3, 1, 1, 2]
    logits = cosine_margin_logits(
        torch.tensor(embeddings), torch.tensor(weights), torch.tensor(labels)
    ).numpy()
    for i in range(5):
        for j in range(4):
            cosine = embeddings[i] @ weights[j] / np.linalg.norm(embeddings[i])
            cosine /= np.linalg.norm(weights[j])
            assert logits[i, j] == pytest.approx(SCALE * (cosine - MARGIN * (j == labels[i])))
    assert F.cross_entropy(torch.tensor(logits), torch.tensor(labels)) > 0


def test_it_is_deterministic_per_seed_and_round_trips_through_the_cache(tiny_model, tmp_path):
    again = train_identity_model(TINY)
    for a, b in zip(tiny_model.net.state_dict().values(), again.net.state_dict().values()):
        assert torch.equal(a, b)
    other = train_identity_model(IdentityModelSettings(**{**TINY.__dict__, "seed": 1}))
    images = np.stack([SyntheticRenderer(32, 0).render_swap(0, k, 1) for k in range(4)])
    assert not np.allclose(other(images), tiny_model(images))
    loaded = SyntheticIdentityModel.load(tiny_model.save(tmp_path / "m.pt"))  # weights_only
    assert loaded.settings == TINY and loaded.settings.region == "inner_face"
    np.testing.assert_array_equal(loaded(images), tiny_model(images))
    cached = cached_identity_model(TINY, tmp_path)  # trains once, then reads the file
    assert (tmp_path / f"identity_model-{TINY.key()}.pt").is_file()
    np.testing.assert_array_equal(cached(images), tiny_model(images))


def test_a_bad_region_is_named_with_the_choices():
    named = r"confound.identity_model region='eyes'; choose one of head, inner_face"
    with pytest.raises(ConfigError, match=named):
        model_settings(0, 64, {"region": "eyes"}, "confound.identity_model")
    with pytest.raises(ConfigError, match=r"identity model region='eyes'; choose one of"):
        IdentityModelSettings(region="eyes")
    named = r"task.identity_model region='head': the swaps' ID metrics embed with the inner-face"
    with pytest.raises(ConfigError, match=named):
        inner_face_settings(0, 64, {"region": "head"}, "task.identity_model")
    settings = inner_face_settings(0, 64, {"people": 16, "epochs": 4})
    assert (settings.region, settings.people, settings.epochs) == ("inner_face", 16, 4)
    assert settings.shots == INNER_FACE_DEFAULTS["shots"]


def brute_force_top1(model, queries, claimed, people, seed=0, size=64):
    """Share of queries whose claimed person has the most similar gallery centroid (loops)."""
    centroid = gallery_centroids(model, people, size, seed)
    hits = []
    for query, person in zip(model.embed(np.stack(queries)).astype(np.float64), claimed):
        scores = {p: float(query @ centroid[p]) / np.linalg.norm(query) for p in people}
        hits.append(max(people, key=lambda p: (scores[p], -p)) == person)
    return float(np.mean(hits))


@pytest.mark.slow
def test_on_unseen_people_it_names_the_donor_of_a_true_swap_and_nothing_else(tmp_path):
    """The default inner-face model (~40 s on one core) on 20 people of arena numbers."""
    torch.set_num_threads(1)
    settings = inner_face_settings(0, 64, None)
    model = train_identity_model(settings)
    model.save(tmp_path / f"identity_model-{settings.key()}.pt")
    people = list(range(20))
    rng = np.random.default_rng(0)
    others = {t: [p for p in people if p != t] for t in people}
    rows = [(t, k, int(rng.choice(others[t]))) for t in people for k in range(5)]
    targets, donors = [t for t, _, _ in rows], [d for _, _, d in rows]
    renderer = SyntheticRenderer(64, 0)
    truths = [renderer.render_swap(t, k, d) for t, k, d in rows]
    sources = [renderer.render_face(t, k) for t, k, _ in rows]
    reverse = [renderer.render_swap(d, k, t) for t, k, d in rows]  # donor's head, target's face
    chance = 1 / len(people)

    def metrics(images, claimed):
        return synthetic_id_metrics(images, claimed, targets, people, seed=0, stage="x",
                                    cache=tmp_path)  # fmt: skip

    swaps = metrics(truths, donors)
    assert swaps["x/id_top1"]["embedding"] == EMBEDDING
    assert swaps["x/id_top1"]["identity_model"] == settings.key()  # the model saved above
    top1 = brute_force_top1(model, truths, donors, people)
    assert swaps["x/id_top1"]["value"] == pytest.approx(top1)
    assert top1 >= 0.9, top1  # the true swaps carry their donor (0.91 measured)
    assert brute_force_top1(model, sources, targets, people) >= 0.9  # real shots: their person
    untouched = metrics(sources, donors)  # an untouched image claimed as a swap of the donor
    assert untouched["x/id_top1"]["value"] <= 2 * chance
    assert untouched["x/id_similarity_target"]["value"] > untouched["x/id_similarity"]["value"]
    assert brute_force_top1(model, reverse, donors, people) <= 2 * chance  # hair is no donor
    assert brute_force_top1(model, reverse, targets, people) >= 0.8  # its face's owner


def test_the_benchmark_writes_its_record_with_both_models(tmp_path):
    """`python -m benchmarks.synthetic_identity --quick` (small models, every 10th row)."""
    import json
    import sys

    root = Path(__file__).resolve().parents[1]
    if str(root) not in sys.path:  # `benchmarks` is a top-level folder, not a package
        sys.path.insert(0, str(root))
    from benchmarks import synthetic_identity

    people, rows = synthetic_identity.arena_rows(0)
    assert len(people) == 40 and len(rows) == 800  # the default arena's blended test rows
    assert all(t in people and d in people and d != t for t, _, d in rows)
    out = tmp_path / "synthetic_identity.json"
    assert synthetic_identity.main(["--quick", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["command"] == "python -m benchmarks.synthetic_identity --quick"
    assert record["inner_face_model"]["settings"]["region"] == "inner_face"
    assert record["head_model"]["settings"]["region"] == "head"
    for model in ("inner_face_model", "head_model"):
        scores = record[model]["donor_scores"]
        assert set(scores) == {"true_swap", "source", "reverse_mix", "blend"}
        assert {s["n"] for s in scores.values()} == {80} and scores["source"]["chance"] == 0.025

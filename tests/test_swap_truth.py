"""True swaps of the synthetic faces and the truth metrics of fakes against them."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from fakearena.data.synthetic import SyntheticRenderer, synthetic_manifest
from fakearena.errors import DataError
from fakearena.generation.truth import TruthScorer, has_truth, truth_metrics
from fakearena.metrics.swap_truth import (
    TRUTH_METRICS,
    summarise_truth,
    swap_region,
    truth_score,
)


@pytest.fixture(scope="module")
def renderer() -> SyntheticRenderer:
    return SyntheticRenderer(64, seed=0)


@pytest.mark.parametrize("size", [64, 50])
def test_swap_of_an_identity_with_itself_is_the_real_image(size):
    renderer = SyntheticRenderer(size, seed=4)
    for identity, index in [(0, 0), (3, 7), (9, 119)]:
        real = renderer.render_face(identity, index)
        assert renderer.render_swap(identity, index, identity).tobytes() == real.tobytes()


def test_true_swap_changes_only_the_inner_face_in_the_same_shot(renderer):
    for identity, donor, index in [(0, 1, 0), (1, 0, 5), (2, 7, 3)]:
        source = renderer.render_face(identity, index)
        truth = renderer.render_swap(identity, index, donor)
        region = swap_region(truth, source)
        # the same shot: background, hair, outline and sensor noise are the source's bytes
        assert 100 < region.sum() < 0.3 * region.size
        rows, cols = np.nonzero(region)
        assert rows.min() >= 12 and rows.max() <= 60 and cols.min() >= 8 and cols.max() <= 56
        assert np.array_equal(truth[~region], source[~region])
        # the donor's features: a different donor gives a different truth
        other = renderer.render_swap(identity, index, donor + 1)
        assert not np.array_equal(truth, other)


def test_render_truth_and_source_follow_the_synth_columns(renderer):
    row = {"synth_seed": 0, "synth_identity": 2, "synth_index": 3, "synth_donor": 5}
    assert has_truth(row)
    assert np.array_equal(renderer.render_truth(row), renderer.render_swap(2, 3, 5))
    assert np.array_equal(renderer.render_source(row), renderer.render_face(2, 3))
    assert not has_truth({**row, "synth_donor": -1})
    assert not has_truth({"path": "x.png", "synth_identity": float("nan"), "synth_index": 1})
    with pytest.raises(DataError, match="no swap truth"):
        renderer.render_truth({**row, "synth_donor": -1})


def _brute_force(fake, truth, source):
    """Per-pixel loops and skimage's SSIM: an implementation independent of the module."""
    f, t, s = (x.astype(np.float64) / 255 for x in (fake, truth, source))
    height, width, _ = truth.shape
    pixels = [
        (y, x)
        for y in range(height)
        for x in range(width)
        if any(int(truth[y, x, c]) != int(source[y, x, c]) for c in range(3))
    ]

    def mse(a, b):
        return sum(((a[y, x] - b[y, x]) ** 2).sum() for y, x in pixels) / (3 * len(pixels))

    def ssim(a, b):
        _, full = structural_similarity(
            a,
            b,
            channel_axis=2,
            data_range=1.0,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            full=True,
        )
        return np.mean([full[y, x].mean() for y, x in pixels])

    inside = set(pixels)
    outside = [(y, x) for y in range(height) for x in range(width) if (y, x) not in inside]
    mse_outside = sum(((f[y, x] - s[y, x]) ** 2).sum() for y, x in outside) / (3 * len(outside))
    changed = sum(
        max(abs(int(fake[y, x, c]) - int(source[y, x, c])) for c in range(3)) > 2
        for y, x in outside
    ) / len(outside)
    return {
        "pixels": len(pixels),
        "mse_outside": mse_outside,
        "changed_outside": changed,
        "mse_fake_truth": mse(f, t),
        "mse_source_truth": mse(s, t),
        "mse_fake_source": mse(f, s),
        "ssim_fake_truth": ssim(f, t),
        "ssim_source_truth": ssim(s, t),
    }


def test_truth_metrics_equal_an_independent_brute_force_computation():
    rng = np.random.default_rng(0)
    scores, expected = [], []
    for _ in range(4):
        source = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
        truth = source.copy()
        truth[5:17, 4:15] = rng.integers(0, 256, (12, 11, 3))
        truth[2, 18, 1] ^= 1  # a one-level difference in one channel is part of the region
        fake = np.clip(truth.astype(int) + rng.integers(-40, 41, truth.shape), 0, 255)
        fake = fake.astype(np.uint8)
        fake[:3, :] = source[:3, :]  # damage outside the region in some rows only
        score, reference = truth_score(fake, truth, source), _brute_force(fake, truth, source)
        assert score.region_pixels == reference["pixels"] == 12 * 11 + 1
        assert 0 < score.changed_outside < 1
        keys = ("mse_fake_truth", "mse_source_truth", "mse_fake_source", "mse_outside")
        keys += ("changed_outside",)
        for key in keys:
            assert getattr(score, key) == pytest.approx(reference[key], rel=1e-12)
        for key in ("ssim_fake_truth", "ssim_source_truth"):
            assert getattr(score, key) == pytest.approx(reference[key], abs=1e-9)
        scores.append(score)
        expected.append(reference)
    summary = summarise_truth(scores)
    fake_mse = np.mean([e["mse_fake_truth"] for e in expected])
    source_mse = np.mean([e["mse_source_truth"] for e in expected])
    assert summary["truth_psnr"] == pytest.approx(10 * np.log10(1 / fake_mse))
    assert summary["truth_gain_db"] == pytest.approx(10 * np.log10(source_mse / fake_mse))
    assert summary["truth_ssim"] == pytest.approx(np.mean([e["ssim_fake_truth"] for e in expected]))
    closer = np.mean([e["mse_fake_truth"] < e["mse_fake_source"] for e in expected])
    assert summary["closer_to_truth"] == closer == 1.0 and summary["n"] == 4
    outside_mse = np.mean([e["mse_outside"] for e in expected])
    assert summary["outside_rmse"] == pytest.approx(255 * np.sqrt(outside_mse))
    changed = np.mean([e["changed_outside"] for e in expected])
    assert summary["outside_changed"] == pytest.approx(changed)
    assert summarise_truth([truth_score(truth, truth, source)])["outside_rmse"] == 0.0
    assert truth_score(source, source, source) is None  # no region: nothing to score
    with pytest.raises(ValueError, match="no fake with a known truth"):
        summarise_truth([])


def test_blended_fakes_gain_on_the_source_and_most_are_closer_to_the_truth(renderer):
    # the arena's people (10), fewer images each: 120 blended fakes
    manifest = synthetic_manifest(n_identities=10, per_identity=24, seed=0, size=64)
    scorer = TruthScorer()
    scores = {}
    for row in manifest.frame.to_dict("records"):
        if row["label"] == 1:
            fake = renderer.render_row(row)
            scores.setdefault(row["split"], []).append(scorer.score(row, fake))
    metrics = truth_metrics(scores, "fakes")
    assert metrics["fakes/truth_gain_db"]["value"] > 0.5
    assert metrics["fakes/truth_psnr"]["value"] > metrics["fakes/source_psnr"]["value"]
    assert metrics["fakes/truth_ssim"]["value"] > metrics["fakes/source_ssim"]["value"]
    assert metrics["fakes/closer_to_truth"]["value"] > 0.5
    assert metrics["fakes/truth_psnr"]["n"] == 120
    assert {f"fakes/train/{name}" for name in TRUTH_METRICS} <= set(metrics)

"""Blend-back: feathered ellipse mask, colour matching inside it, source pixels outside."""

from __future__ import annotations

import numpy as np
import pytest

from fakearena.errors import ConfigError
from fakearena.generation.blend import (
    EllipseMask,
    blend_back,
    blend_options,
    masked_stats,
    skin_patch,
)


def test_mask_is_one_inside_zero_outside_and_soft_between():
    mask = EllipseMask(center=(0.5, 0.5), axes=(0.4, 0.4), feather=0.3).render(41, 41)
    assert mask.shape == (41, 41) and mask.dtype == np.float32
    assert mask[20, 20] == 1.0 and mask[0, 0] == 0.0 and mask[20, 0] == 0.0
    row = mask[20, 20:]  # from the centre to the right edge: non-increasing
    assert np.all(np.diff(row) <= 0)
    assert ((row > 0) & (row < 1)).sum() >= 3  # a feathered edge, not a step
    hard = EllipseMask(center=(0.5, 0.5), axes=(0.4, 0.4), feather=0.0).render(41, 41)
    assert set(np.unique(hard)) == {0.0, 1.0}
    # area of the hard ellipse ~ pi * a * b of the image
    assert abs(hard.mean() - np.pi * 0.4 * 0.4) < 0.02


def test_blend_keeps_the_source_outside_and_matches_colours_inside():
    rng = np.random.default_rng(0)
    source = (rng.random((48, 40, 3)) * 100 + 80).astype(np.uint8)
    face = np.clip(rng.random((48, 40, 3)) * 0.2 + 0.1, 0, 1)  # dark, low contrast
    mask = EllipseMask().render(48, 40)
    out = blend_back(source, face, mask)
    assert out.dtype == np.uint8 and out.shape == source.shape
    assert np.array_equal(out[mask == 0], source[mask == 0])
    core = mask == 1.0
    src_mean, src_std = masked_stats(source / 255.0, core.astype(np.float32))
    out_mean, out_std = masked_stats(out / 255.0, core.astype(np.float32))
    # matched on the whole soft mask; on its core the stats agree to rounding and weighting
    np.testing.assert_allclose(out_mean, src_mean, atol=0.02)
    np.testing.assert_allclose(out_std, src_std, atol=0.02)
    # the core is the face's pattern, affinely recoloured: correlation ~ 1 per channel
    for c in range(3):
        corr = np.corrcoef(out[core][:, c].astype(float), face[core][:, c])[0, 1]
        assert corr > 0.99


def test_without_colour_matching_the_core_is_the_face():
    rng = np.random.default_rng(1)
    source = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    face = rng.random((32, 32, 3))
    mask = EllipseMask(feather=0.5).render(32, 32)
    out = blend_back(source, face, mask, colour="none")
    core = mask == 1.0
    np.testing.assert_array_equal(out[core], np.round(face[core] * 255).astype(np.uint8))
    edge = (mask > 0) & (mask < 1)
    expected = mask[edge][:, None] * face[edge] + (1 - mask[edge][:, None]) * source[edge] / 255
    np.testing.assert_allclose(out[edge] / 255.0, expected, atol=1 / 255 + 1e-9)


def test_bad_geometry_and_sizes_are_refused():
    with pytest.raises(ConfigError, match="feather"):
        EllipseMask(feather=1.5)
    with pytest.raises(ValueError, match="equal sizes"):
        blend_back(np.zeros((8, 8, 3), np.uint8), np.zeros((9, 8, 3)), np.ones((8, 8)))


def test_skin_colour_gain_matches_the_skin_patch_and_keeps_feature_contrast():
    rng = np.random.default_rng(2)
    source = np.full((64, 64, 3), (150, 110, 90), np.uint8)
    face = np.empty((64, 64, 3))
    face[:] = (0.4, 0.35, 0.3)  # the swapped face's skin: darker, another tone
    face[20:24, 10:54] = 0.05  # a dark feature (brows) that must stay dark
    face += rng.normal(0, 0.002, face.shape)
    mask = np.ones((64, 64), np.float32)
    out = blend_back(source, face, mask, colour="skin").astype(float)
    patch = skin_patch(64, 64)
    np.testing.assert_allclose(np.median(out[patch], 0), source[0, 0], atol=1.5)
    # one gain per channel: the feature keeps its ratio to the skin
    ratio = out[22, 30] / out[patch].mean(0)
    np.testing.assert_allclose(ratio, 0.05 / np.array([0.4, 0.35, 0.3]), rtol=0.1)
    # the same skin tone: the gain is ~1 and the face is pasted as it is
    same = blend_back(source, np.full((64, 64, 3), source[0, 0] / 255.0), mask, colour="skin")
    assert np.abs(same.astype(int) - source.astype(int)).max() <= 1
    assert skin_patch(8, 8).sum() >= 1  # tiny images still have a patch


def test_blend_options_read_the_recipe_and_refuse_unknown_keys():
    ellipse, colour = blend_options({"center": [0.5, 0.6], "colour": "skin"})
    assert ellipse.center == (0.5, 0.6) and colour == "skin"
    assert blend_options({"colour_match": False})[1] == "none"  # the old spelling
    assert blend_options(None)[1] == "mean_std"
    with pytest.raises(ConfigError, match="unknown key"):
        blend_options({"radius": 3})
    with pytest.raises(ConfigError, match="colour="):
        blend_options({"colour": "lab"})

"""Face-swap augmentation: seeded, shape-preserving, and the warp is the remap it claims to be."""

from __future__ import annotations

import pytest
import torch

from fakearena.data.transforms.warp import (
    AffineParams,
    WarpParams,
    augment_pair,
    identity_grid,
    random_affine,
    random_warp_offsets,
    seeded_generator,
)
from fakearena.errors import ConfigError

NO_AFFINE = AffineParams(rotation=0.0, zoom=0.0, shift=0.0, flip=0.0)


def _images(batch: int = 3, height: int = 24, width: int = 32) -> torch.Tensor:
    return torch.rand(batch, 3, height, width, generator=torch.Generator().manual_seed(7))


def test_same_seed_same_output_and_shape_is_preserved():
    images = _images()
    first = augment_pair(images, seeded_generator(0, 5))
    second = augment_pair(images, seeded_generator(0, 5))
    other = augment_pair(images, seeded_generator(0, 6))
    for a, b in zip(first, second):
        assert a.shape == images.shape
        assert torch.equal(a, b)
    assert not torch.allclose(first[0], other[0])
    assert not torch.allclose(first[1], other[1])


def test_zero_ranges_give_back_the_images():
    images = _images()
    inputs, targets = augment_pair(
        images, seeded_generator(1), NO_AFFINE, WarpParams(points=5, scale=0.0)
    )
    torch.testing.assert_close(targets, images, atol=1e-5, rtol=0)
    torch.testing.assert_close(inputs, images, atol=1e-5, rtol=0)


def test_certain_flip_mirrors_target_and_input_alike():
    images = _images()
    flip = AffineParams(rotation=0.0, zoom=0.0, shift=0.0, flip=1.0)
    inputs, targets = augment_pair(images, seeded_generator(2), flip, WarpParams(scale=0.0))
    torch.testing.assert_close(targets, images.flip(-1), atol=1e-5, rtol=0)
    torch.testing.assert_close(inputs, images.flip(-1), atol=1e-5, rtol=0)


def test_warp_moves_the_input_by_the_drawn_offsets_and_leaves_the_target():
    batch, height, width = 2, 20, 28
    # a horizontal ramp equal to the normalised x coordinate of each pixel centre: bilinear
    # sampling of a linear function is exact, so the warped value is the sampled x position
    ramp = identity_grid(1, height, width, torch.device("cpu"))[0, :, :, 0]
    images = ramp.expand(batch, 3, height, width).contiguous()
    warp = WarpParams(points=4, scale=0.03)
    inputs, targets = augment_pair(images, seeded_generator(3), NO_AFFINE, warp)
    torch.testing.assert_close(targets, images, atol=1e-5, rtol=0)
    replay = seeded_generator(3)
    random_affine(batch, NO_AFFINE, replay)  # same draw order as augment_pair
    offsets = random_warp_offsets(batch, height, width, warp, replay)
    sampled_x = ramp[None] + offsets[..., 0]
    inside = sampled_x.abs() < 1 - 2.0 / width  # away from the reflected border
    assert inside.float().mean() > 0.8
    expected = sampled_x[inside]
    torch.testing.assert_close(inputs[:, 0][inside], expected, atol=1e-4, rtol=0)
    assert (inputs - targets).abs().max() > 0.01


def test_bad_ranges_are_config_errors():
    with pytest.raises(ConfigError, match="warp_points"):
        augment_pair(_images(), seeded_generator(0), warp=WarpParams(points=1))
    with pytest.raises(ConfigError, match="flip"):
        augment_pair(_images(), seeded_generator(0), affine=AffineParams(flip=2.0))

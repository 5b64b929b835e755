"""benchmarks.gan_texture: the floor's faces re-rendered with scaled sensor noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from benchmarks._gan_reference import render_people, split_people
from benchmarks.gan_texture import grain, render_with_noise


def test_scale_one_is_the_reference_renders_and_scale_zero_only_drops_the_noise():
    people = split_people(10, 0, "train")
    rows = np.array([0, 7, 13])
    reference = render_people(people, 14, size=64, seed=0, first_index=120)[rows]
    same = render_with_noise(people, rows, scale=1.0, size=64, seed=0, first_index=120)
    assert torch.equal(same, reference)
    clean = render_with_noise(people, rows, scale=0.0, size=64, seed=0, first_index=120)
    difference = (reference - clean) * 255.0
    # what is left is the sensor noise: 1 to 6 grey levels (+ rounding), zero-mean
    assert 0.5 < float(difference.std()) < 7.0 and abs(float(difference.mean())) < 0.5
    assert grain(clean) < grain(reference)
    double = render_with_noise(people, rows, scale=2.0, size=64, seed=0, first_index=120)
    assert grain(double) > grain(reference)


def test_sensor_noise_on_samples_has_the_renders_std_per_image_and_8bit_levels():
    from benchmarks.gan_quality import parse_args, with_sensor_noise

    grey = torch.full((200, 3, 64, 64), 0.5)
    noisy = with_sensor_noise(grey, seed=0)
    assert torch.equal(noisy, with_sensor_noise(grey, seed=0))  # seeded
    assert not torch.equal(noisy, with_sensor_noise(grey, seed=1))
    assert torch.equal((noisy * 255).round(), noisy * 255)  # 8-bit levels
    stds = ((noisy - grey) * 255).flatten(1).std(dim=1)  # per image, grey levels
    # (1 + 5u) with u ~ U(0, 1): within [1, 6] (+ rounding's 0.29), mean 3.5
    assert float(stds.min()) > 0.9 and float(stds.max()) < 6.2
    assert float(stds.mean()) == pytest.approx(3.5, abs=0.25)
    assert parse_args(["--grain"]).grain and not parse_args([]).grain

"""benchmarks.gan_texture: the floor's faces re-rendered with scaled sensor noise."""

from __future__ import annotations

import numpy as np
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

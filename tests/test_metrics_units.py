"""The repeating unit: which one a set is resampled by, the CI that resamples it (checked
against a plain-loop cluster bootstrap with the same random draws), small-N and collapse flags."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from sklearn.metrics import roc_auc_score

from fakearena.errors import ConfigError
from fakearena.metrics.bootstrap import CHUNK, percentile_ci
from fakearena.metrics.detection import detection_metrics
from fakearena.metrics.units import choose_units, selection_warning


def people(n_people: int, shots: int, seed: int = 0):
    """Synthetic-faces-like rows: every image its own video, each person real and fake."""
    rng = np.random.default_rng(seed)
    person = np.repeat(np.arange(n_people), shots)
    labels = np.tile(np.arange(shots) % 2, n_people)
    offset = rng.normal(0, 0.2, n_people)[person]  # shots of a person score alike
    noise = rng.normal(0, 0.03, person.size)
    probs = np.round(np.clip(0.45 + 0.1 * labels + offset + noise, 0, 1), 3)
    identity = np.array([f"p{p:02d}" for p in person])
    video = np.array([f"img{i:04d}" for i in range(person.size)])
    return probs, labels, video, identity


def test_unit_choice_video_else_identity_else_image():
    labels = np.array([0, 0, 1, 1])
    assert choose_units(labels, ["a", "a", "b", "b"], ["x", "y", "x", "y"]).name == "video"
    unique_videos = ["a", "b", "c", "d"]
    units = choose_units(labels, unique_videos, ["x", "y", "x", "y"])
    assert units.name == "identity" and (units.n_real, units.n_fake) == (2, 2)
    assert choose_units(labels, unique_videos, ["", "", "", ""]).name == "image"
    assert choose_units(labels, unique_videos, None).name == "image"
    # a row without an identity is a unit of its own
    mixed = choose_units(labels, unique_videos, ["x", "x", "", ""])
    assert mixed.name == "identity" and (mixed.n_real, mixed.n_fake) == (1, 2)
    forced = choose_units(labels, ["a", "a", "b", "b"], ["x", "y", "x", "y"], unit="image")
    assert forced.name == "image" and forced.n == 4 and forced.chosen_by == "config"
    with pytest.raises(ConfigError, match="ci_unit=identity, but no row has an identity"):
        choose_units(labels, unique_videos, ["", "", "", ""], unit="identity")
    with pytest.raises(ConfigError, match="ci_unit='person'; choose one of auto, video"):
        choose_units(labels, unique_videos, None, unit="person")


def test_identity_ci_equals_a_plain_loop_cluster_bootstrap_with_the_same_draws():
    probs, labels, video, identity = people(6, 8, seed=1)
    n_boot, seed = CHUNK - 28, 3  # one chunk of draws: reals' people, then fakes' people
    result = detection_metrics(
        probs, labels, video_ids=video, n_bootstrap=n_boot, seed=seed, identities=identity
    )
    assert result["ci_unit"] == "identity"
    assert (result["n_units"], result["n_units_real"], result["n_units_fake"]) == (12, 6, 6)
    rng = np.random.default_rng(seed)
    names = sorted(set(identity))
    real_draws = rng.integers(0, len(names), (n_boot, len(names)))
    fake_draws = rng.integers(0, len(names), (n_boot, len(names)))
    brute = []
    for b in range(n_boot):
        rows = [np.flatnonzero((identity == names[k]) & (labels == 0)) for k in real_draws[b]]
        rows += [np.flatnonzero((identity == names[k]) & (labels == 1)) for k in fake_draws[b]]
        rows = np.concatenate(rows)
        brute.append(roc_auc_score(labels[rows], probs[rows]))
    assert result["auc_ci95"] == pytest.approx(percentile_ci(np.array(brute)), abs=1e-12)
    # every image its own video: the video-level CI resamples the same people
    assert result["video_auc_ci95"] == pytest.approx(result["auc_ci95"], abs=1e-12)
    # the image bootstrap of old is far too sure of itself on 6 people
    images = detection_metrics(probs, labels, video_ids=video, n_bootstrap=n_boot, seed=seed)
    assert images["ci_unit"] == "image"
    width = np.diff(result["auc_ci95"])[0]
    assert width > 2 * np.diff(images["auc_ci95"])[0]


def test_small_n_counts_units_not_images():
    probs, labels, video, identity = people(2, 60, seed=2)  # 120 images of 2 people
    result = detection_metrics(probs, labels, video_ids=video, identities=identity, n_bootstrap=50)
    assert result["flags"] == ["small_n"]
    assert result["warnings"] == [
        "only 4 identities (2 real, 2 fake), fewer than 30 identities or 10 of a class: these "
        "metrics and their intervals say little; test on more identities"
    ]
    probs, labels, video, identity = people(40, 4, seed=2)
    many = detection_metrics(probs, labels, video_ids=video, identities=identity, n_bootstrap=50)
    assert many["flags"] == [] and many["n_units"] == 80
    one_each = detection_metrics(*people(1, 6)[:2], identities=people(1, 6)[3], n_bootstrap=50)
    assert one_each["flags"] == ["small_n", "no_ci"] and one_each["auc_ci95"] is None


def test_collapsed_scores_are_flagged_with_a_sentence():
    labels = np.r_[np.zeros(40, int), np.ones(40, int)]
    probs = 0.4927 + np.linspace(0, 0.0004, 80)  # AUC 1, from noise-sized differences
    result = detection_metrics(probs, labels, n_bootstrap=50)
    assert result["auc"] == 1.0 and result["flags"] == ["collapsed"]
    assert result["warnings"][0].startswith(
        "collapsed scores: every probability lies in [0.49270, 0.49310] (a range below 0.001)"
    )
    spread = detection_metrics(np.linspace(0.49, 0.4911, 80), labels, n_bootstrap=50)
    assert "collapsed" not in spread["flags"]


def test_checkpoint_selection_on_a_small_val_split_warns():
    labels = np.array([0, 1] * 5)
    ids = [f"v{i}" for i in range(10)]
    warning = selection_warning(labels, ids, None, "val/auc")
    assert warning.startswith(
        "the checkpoint was chosen on val/auc of a val split of only 10 images (5 real, 5 fake)"
    )
    big = np.array([0, 1] * 30)
    assert selection_warning(big, [f"v{i}" for i in range(60)], None, "val/auc") is None


def test_an_unknown_unit_fails_before_training_and_before_scoring():
    from fakearena.runs.evaluate import run as evaluate
    from fakearena.tasks.detect import DetectTask

    with pytest.raises(ConfigError, match=r"task.ci_unit='videos'; choose one of auto, video"):
        DetectTask(net=torch.nn.Linear(1, 1), ci_unit="videos")
    cfg = OmegaConf.create({"ckpt": "absent.ckpt", "data": {"manifests": ["x.csv"]}})
    cfg.ci_unit = "frame"
    with pytest.raises(ConfigError, match=r"ci_unit='frame'; choose one of auto, video"):
        evaluate(cfg)

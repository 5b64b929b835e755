"""FID/KID math against scipy and numpy, the Inception extractor, the weights check, the CLI."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import scipy.linalg
import torch

from fakearena.errors import ConfigError
from fakearena.metrics.fid import FID, KID, FeatureStats, frechet_distance, kid
from fakearena.metrics.inception import (
    InceptionFeatures,
    WeightsSpec,
    cached_extractor,
    default_weights,
    load_torchscript,
    preprocess,
    verify_weights,
)


def random_spd(dim: int, rng: np.random.Generator) -> np.ndarray:
    a = rng.normal(size=(dim, dim))
    return a @ a.T / dim + 0.1 * np.eye(dim)


def sqrtm_formula(m1, c1, m2, c2) -> float:
    root = scipy.linalg.sqrtm(c1 @ c2).real
    return float(np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * np.trace(root))


@pytest.mark.parametrize("dim", [16, 128])
def test_frechet_equals_sqrtm_formula(dim: int) -> None:
    rng = np.random.default_rng(dim)
    m1, m2 = rng.normal(size=dim), rng.normal(size=dim)
    c1, c2 = random_spd(dim, rng), random_spd(dim, rng)
    expected = sqrtm_formula(m1, c1, m2, c2)
    assert frechet_distance(m1, c1, m2, c2) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(m1, c1, m1, c1) == pytest.approx(0, abs=1e-8)


def test_streaming_stats_equal_numpy_and_flag_small_n() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 64))
    stats = FeatureStats.from_features(features)
    np.testing.assert_allclose(stats.cov, np.cov(features, rowvar=False), atol=1e-12)
    metric = FID(feature_dim=64)
    for chunk in np.array_split(features, 7):
        metric.update(torch.from_numpy(chunk), real=True)
        metric.update(torch.from_numpy(chunk[::-1] + 0.5), real=False)
    result = metric.compute()
    other = FeatureStats.from_features(features + 0.5)
    expected = frechet_distance(stats.mean, stats.cov, other.mean, other.cov)
    assert result["fid"] == pytest.approx(expected, rel=1e-9)
    assert result["fid"] == pytest.approx(64 * 0.25, rel=1e-6)  # pure mean shift
    assert not result["rank_deficient"] and result["n_a"] == 200
    small = FeatureStats.from_features(features[:20])  # singular covariance: eigh factor
    assert small.rank_deficient
    assert frechet_distance(small.mean, small.cov, other.mean, other.cov) == pytest.approx(
        sqrtm_formula(small.mean, small.cov, other.mean, other.cov), rel=1e-6
    )
    with pytest.raises(ValueError, match="at least 2"):
        FeatureStats.from_features(features[:1])


def test_kid_near_zero_for_one_distribution() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(400, 2048)), rng.normal(size=(400, 2048))
    mean, std = kid(a, b, subsets=20, subset_size=200)
    assert abs(mean) < 3 * std / np.sqrt(20) + 1e-4
    shifted, _ = kid(a, b + 0.3, subsets=20, subset_size=200)
    assert shifted > 10 * abs(mean) + 1e-3
    metric = KID(subsets=20, subset_size=200)
    metric.update(torch.from_numpy(a), real=True)
    metric.update(torch.from_numpy(b), real=False)
    assert metric.compute()["kid_mean"] == pytest.approx(
        kid(a.astype(np.float32), b.astype(np.float32), subsets=20, subset_size=200)[0]
    )


def test_kid_depends_on_the_sets_not_the_row_order() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(120, 16)), rng.normal(size=(90, 16)) + 0.2
    a[10] = a[50]  # an exact duplicate row takes the tie-breaking path
    want = kid(a, b, subsets=15, subset_size=40, seed=3)
    for trial in range(3):
        shuffle = np.random.default_rng(trial)
        got = kid(
            a[shuffle.permutation(len(a))],
            b[shuffle.permutation(len(b))],
            subsets=15,
            subset_size=40,
            seed=3,
        )
        assert got == want  # bit-identical: the same subsets are drawn
    assert kid(a, b, subsets=15, subset_size=40, seed=4) != want


def test_weights_hash_check_rejects_a_modified_file(tmp_path) -> None:
    spec = default_weights()
    copy = tmp_path / "inception.pt"
    shutil.copyfile(spec.path, copy)
    verify_weights(WeightsSpec(copy, spec.sha256))  # the intact copy passes
    with open(copy, "r+b") as fh:
        fh.seek(1 << 20)
        byte = fh.read(1)
        fh.seek(1 << 20)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ConfigError, match="expected 7ff4a85c"):
        load_torchscript(WeightsSpec(copy, spec.sha256))
    with pytest.raises(ConfigError, match="does not exist"):
        verify_weights(WeightsSpec(tmp_path / "missing.pt", spec.sha256))


@pytest.fixture(scope="module")
def extractor() -> InceptionFeatures:
    return cached_extractor()


@pytest.fixture(scope="module")
def photos() -> torch.Tensor:
    """Twelve 96x128 crops of scikit-image's sample photographs, uint8 (B, 3, H, W)."""
    from skimage import data

    crops = []
    for image in (data.astronaut(), data.chelsea(), data.coffee(), data.rocket()):
        h, w = image.shape[:2]
        for y, x in ((0, 0), (h // 3, w // 3), (h - 96, w - 128)):
            crops.append(image[y : y + 96, x : x + 128])
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()


def test_extractor_follows_the_torchscript_file_on_the_protocol(extractor, photos) -> None:
    assert extractor.folded
    script = load_torchscript(extractor.spec)
    batch = photos[:3]
    with torch.no_grad():
        plain = script(preprocess(batch)).double()
    ours = extractor(batch)
    assert ours.shape == (3, 2048) and ours.dtype == torch.float64
    assert float((ours - plain).abs().max()) < 1e-3 * float(plain.abs().max())
    # float [0, 1] input is rounded to the same uint8 levels (0.4/255 off rounds back).
    as_float = (batch.double() + 0.4) / 255
    torch.testing.assert_close(extractor(as_float.float()), ours, atol=1e-6, rtol=0)
    assert extractor.protocol["weights_sha256"].startswith("7ff4a85c")


@pytest.mark.slow
def test_fid_zero_on_itself_and_grows_with_noise(extractor, photos) -> None:
    real = extractor(photos)
    fid = FID()
    fid.update(real, real=True)
    fid.update(real, real=False)
    assert fid.compute()["fid"] == pytest.approx(0, abs=1e-6)
    generator = torch.Generator().manual_seed(0)
    values = []
    for sigma in (8, 32, 96):
        noisy = photos.float() + sigma * torch.randn(photos.shape, generator=generator)
        fid.reset()
        fid.update(real, real=True)
        fid.update(extractor(noisy.clamp(0, 255).round().to(torch.uint8)), real=False)
        values.append(fid.compute()["fid"])
    assert values[0] > 1 and values == sorted(values), values


def test_fid_cli_prints_json(extractor, tmp_path, capsys) -> None:
    from fakearena.metrics.cli import main

    from conftest import make_toy_manifest

    csv = make_toy_manifest(tmp_path / "toy", n=12, size=32)
    code = main(
        [
            str(csv),
            str(csv),
            "label=0",
            "progress=false",
            "kid_subsets=5",
            f"cache_dir={tmp_path / 'cache'}",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["n_a"] == out["n_b"] == 6
    assert out["fid"] == pytest.approx(0, abs=1e-6)
    assert set(out["protocol"]) == {"weights_sha256", "resize", "size", "prdc"}
    assert out["precision"] == out["recall"] == out["coverage"] == 1.0 and out["k"] == 3
    assert "n=N" in out["floor"]["reason"]  # all rows compared: none left for a floor
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    args = [str(csv), str(csv), "label=0", "progress=false", "kid_subsets=5", "k=2"]
    args.append(f"cache_dir={tmp_path / 'cache'}")
    assert main([*args, "n=3"]) == 0
    floor = json.loads(capsys.readouterr().out)["floor"]
    assert floor["n_a"] == floor["n_b"] == 3 and floor["k"] == 2 and floor["fid"] > 0
    assert main([*args, "n=4"]) == 0  # 4 + 4 > 6 rows: the reason instead
    assert "needs 4 real rows" in json.loads(capsys.readouterr().out)["floor"]["reason"]


def test_rank_deficient_and_unequal_n_warn_in_console_and_json(
    extractor, tmp_path, capsys, monkeypatch
) -> None:
    from fakearena.metrics.cli import main
    from fakearena.metrics.quality import quality_warnings
    from fakearena.metrics.reference import default_cache_dir

    from conftest import make_toy_manifest

    assert quality_warnings(3000, 3000, 2048) == []
    assert ["unequal N" in w for w in quality_warnings(3000, 2500, 2048)] == [True]
    assert ["rank-deficient" in w for w in quality_warnings(2048, 2048, 2048)] == [True]
    a = make_toy_manifest(tmp_path / "a", n=12, size=32)
    b = make_toy_manifest(tmp_path / "b", n=8, size=32)
    monkeypatch.setenv("FAKEARENA_CACHE", str(tmp_path / "cache_home"))
    assert default_cache_dir() == tmp_path / "cache_home" / "fid"
    assert main([str(a), str(b), "progress=false", "kid_subsets=5", "floor=false"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["n_a"] == 12 and out["n_b"] == 8 and out["rank_deficient"]
    assert [w.split(":")[0] for w in out["warnings"]] == ["rank-deficient covariance", "unequal N"]
    assert "8 images per side for 2048-d features" in out["warnings"][0]
    assert f"warning: FID of {b} against {a}: unequal N: 12 real against 8" in captured.err
    assert out["cache_dir"] == str(tmp_path / "cache_home" / "fid")
    assert len(list((tmp_path / "cache_home" / "fid").glob("*.npz"))) == 2

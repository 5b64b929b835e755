"""FID where it runs: parallel decode to uint8 batches, the device, the weights config keys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fakearena.config import compose
from fakearena.errors import ConfigError
from fakearena.metrics.inception import cached_extractor, default_batch_size, exact_fp32
from fakearena.metrics.reference import embed_files, load_network_input
from fakearena.tasks import gan_eval


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    """Seven PNGs: five 40x48 (one batch, stacked) and two 64x64 (mixed sizes, one by one)."""
    root = tmp_path_factory.mktemp("fid_files")
    rng = np.random.default_rng(0)
    paths = []
    for i, shape in enumerate([(40, 48)] * 5 + [(64, 64)] * 2):
        image = (rng.random((*shape, 3)) * 255).astype(np.uint8)
        paths.append(root / f"{i}.png")
        Image.fromarray(image).save(paths[-1])
    return paths


def test_parallel_uint8_decode_equals_the_file_by_file_protocol(files):
    extractor = cached_extractor(batch_size=5)
    want = np.concatenate(
        [
            extractor.embed(torch.stack([load_network_input(p) for p in files[i : i + 5]]))
            .float()
            .numpy()
            for i in range(0, len(files), 5)
        ]
    )
    for workers in (0, 2):
        got = embed_files(files, extractor, batch_size=5, progress=False, num_workers=workers)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


def test_exact_fp32_turns_tf32_off_and_restores_the_settings():
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv
    before = (matmul.fp32_precision, conv.fp32_precision)
    with exact_fp32():
        assert (matmul.fp32_precision, conv.fp32_precision) == ("ieee", "ieee")
    assert (matmul.fp32_precision, conv.fp32_precision) == before


def test_batch_sizes_fill_the_device():
    assert default_batch_size("cpu") == 32 and default_batch_size("cuda") == 256
    assert cached_extractor().batch_size == 32
    assert cached_extractor().device.type == "cpu"


def test_fid_weights_are_config_keys_the_gan_task_uses(tmp_path):
    cfg = compose("train", ["task=gan"])
    assert dict(cfg.task.fid) == {"weights": None, "weights_sha256": None, "batch_size": None}
    other = tmp_path / "inception.pt"
    other.write_bytes(b"not the network")
    cfg = compose(
        "train",
        ["task=gan", f"metrics.fid.weights={other}", "metrics.fid.weights_sha256=00ff"],
    )
    fid = dict(cfg.task.fid)
    assert fid["weights"] == str(other) and fid["weights_sha256"] == "00ff"
    with pytest.raises(ConfigError, match=r"inception\.pt has SHA-256 .*, expected 00ff"):
        gan_eval.inception_features(torch.rand(2, 3, 16, 16), **fid)

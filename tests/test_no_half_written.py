"""No half-written outputs: concurrent FID caches, interrupted or overwritten fake sets."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from omegaconf import OmegaConf

from fakearena.config import compose
from fakearena.data.manifest import read_manifest
from fakearena.generation.fakeset import CheckpointInfo, FakeSetWriter
from fakearena.metrics.reference import features_of, image_set

from conftest import REPO_ROOT, make_toy_manifest

# A stand-in Inception network: 8 features per image (channel means and a few pixels), slow
# enough that two processes are writing the cache at the same time.
FAKE_EXTRACTOR = """
import time
from types import SimpleNamespace

class FakeExtractor:
    spec = SimpleNamespace(sha256="f" * 64)

    device = __import__("torch").device("cpu")

    def __init__(self, delay=0.0):
        self.delay, self.calls = delay, 0

    def __call__(self, batch):  # uint8 batches from the decoding loader
        return self.embed(batch.float() / 255.0)

    def embed(self, batch):
        self.calls += 1
        time.sleep(self.delay)
        means = batch.mean(dim=(2, 3))
        return __import__("torch").cat([means, batch[:, :, 0, :5].mean(1)], dim=1)
"""
namespace: dict = {}
exec(FAKE_EXTRACTOR, namespace)  # the same class in-process and in the workers
FakeExtractor = namespace["FakeExtractor"]

WORKER = """
import sys, time
from pathlib import Path
import numpy as np
from fakearena.metrics.reference import features_of, image_set
{extractor}
manifest, cache, ready_dir, me = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
images = image_set(manifest)
(ready_dir / me).touch()
while len(list(ready_dir.iterdir())) < 2:  # start embedding together
    time.sleep(0.01)
features = features_of(images, FakeExtractor(delay=0.3), batch_size=2, cache_dir=cache,
                       progress=False)
np.save(ready_dir.parent / f"out_{{me}}.npy", features)
"""


def test_two_processes_filling_the_same_fid_cache_leave_one_complete_file(tmp_path: Path):
    manifest = make_toy_manifest(tmp_path / "toy", n=8, size=16)
    cache, ready = tmp_path / "cache", tmp_path / "ready"
    ready.mkdir()
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(extractor=textwrap.dedent(FAKE_EXTRACTOR)))
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), str(manifest), str(cache), str(ready), name],
            cwd=REPO_ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-2000:]
    expected = features_of(image_set(manifest), FakeExtractor(), progress=False)
    for name in ("a", "b"):
        np.testing.assert_array_equal(np.load(tmp_path / f"out_{name}.npy"), expected)
    files = list(cache.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz", files  # no temp file left behind
    cached = FakeExtractor()
    again = features_of(image_set(manifest), cached, cache_dir=cache, progress=False)
    assert cached.calls == 0  # served from the cache
    np.testing.assert_array_equal(again, expected)


def test_a_damaged_cache_file_is_recomputed_not_trusted(tmp_path: Path):
    manifest = make_toy_manifest(tmp_path / "toy", n=6, size=16)
    cache = tmp_path / "cache"
    expected = features_of(image_set(manifest), FakeExtractor(), cache_dir=cache, progress=False)
    (entry,) = cache.iterdir()
    entry.write_bytes(entry.read_bytes()[:100])  # e.g. left by a killed non-atomic writer
    extractor = FakeExtractor()
    again = features_of(image_set(manifest), extractor, cache_dir=cache, progress=False)
    assert extractor.calls > 0
    np.testing.assert_array_equal(again, expected)
    np.testing.assert_array_equal(np.load(entry)["features"], expected)  # repaired


class _Interrupted(Exception):
    pass


def _gan_task():
    from fakearena.runs.train import build_task

    return build_task(compose("train", ["task=gan", "generator=mlp", "data.channels=1"]))


def _generate(task, out: Path, seed: int, monkeypatch, fail_after: int | None = None) -> Path:
    from fakearena.generation.gan import generate_fake_set

    if fail_after is not None:
        original = FakeSetWriter.write_image
        calls = SimpleNamespace(n=0)

        def write_then_fail(self, index, image):
            if calls.n == fail_after:
                raise _Interrupted
            calls.n += 1
            original(self, index, image)

        monkeypatch.setattr(FakeSetWriter, "write_image", write_then_fail)
    cfg = OmegaConf.create({"n": 6, "seed": seed, "batch_size": 2, "overwrite": True})
    info = CheckpointInfo(Path("gan.ckpt"), "0" * 64, "gan")
    try:
        return generate_fake_set(task, cfg, info, out)
    finally:
        monkeypatch.undo()


def test_an_interrupted_generate_leaves_no_manifest_pointing_at_missing_files(
    tmp_path: Path, monkeypatch
):
    task, out = _gan_task(), tmp_path / "fakes"
    with pytest.raises(_Interrupted):
        _generate(task, out, 0, monkeypatch, fail_after=3)
    assert not list(out.glob("*.csv")) and not list(out.glob("*.yaml"))
    assert sorted(p.name for p in (out / "images").iterdir()) == [
        "000000.png",
        "000001.png",
        "000002.png",
    ]  # complete files only, no temporaries
    csv_path = _generate(task, out, 0, monkeypatch)
    read_manifest(csv_path, check_files=True)
    # regenerating with another seed over it: interrupted, the old manifest must be gone
    with pytest.raises(_Interrupted):
        _generate(task, out, 1, monkeypatch, fail_after=2)
    assert not csv_path.exists() and not csv_path.with_suffix(".yaml").exists()
    assert not list(out.glob("*.csv"))
    finished = _generate(task, out, 1, monkeypatch)
    manifest = read_manifest(finished, check_files=True)
    assert len(manifest) == 6

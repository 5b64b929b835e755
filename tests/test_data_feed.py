"""The data path that feeds an accelerator: rendered rows cached once, uint8 to the device."""

from __future__ import annotations

import multiprocessing
import pickle

import numpy as np
import pytest
import torch

from fakearena.data.datamodule import FaceDataModule
from fakearena.data.datasets import ManifestDataset, float_images, to_tensor
from fakearena.data.manifest import read_manifest
from fakearena.data.row_cache import RowCache
from fakearena.data.synthetic import SyntheticRenderer
from fakearena.tasks.base import Task

SYNTHETIC = {"n_identities": 4, "per_identity": 6, "seed": 0}


@pytest.fixture()
def render_calls(monkeypatch):
    """A counter of SyntheticRenderer.render_row calls, shared with forked loader workers."""
    calls = multiprocessing.get_context("fork").Value("i", 0)
    render = SyntheticRenderer.render_row

    def counted(self, row):
        with calls.get_lock():
            calls.value += 1
        return render(self, row)

    monkeypatch.setattr(SyntheticRenderer, "render_row", counted)
    return calls


def _module(**options) -> FaceDataModule:
    return FaceDataModule(
        name="synthetic", synthetic=SYNTHETIC, image_size=32, batch_size=4, **options
    )


@pytest.mark.parametrize("workers", [0, 2])
def test_each_rendered_row_is_drawn_once_across_epochs(render_calls, workers: int):
    datamodule = _module(num_workers=workers)
    loader = datamodule.train_dataloader()
    rows = len(datamodule.dataset("train"))
    served = [sum(len(batch["label"]) for batch in loader) for _ in range(3)]
    assert served == [rows] * 3
    assert render_calls.value == rows
    assert datamodule.dataset("train").cache.filled() == rows


def test_without_the_cache_every_epoch_renders_again(render_calls):
    datamodule = _module(cache_rendered=False)
    loader = datamodule.train_dataloader()
    rows = len(datamodule.dataset("train"))
    for _ in range(2):
        for _ in loader:
            pass
    assert render_calls.value == 2 * rows
    assert datamodule.dataset("train").cache is None


def test_cached_pixels_equal_fresh_renders_and_survive_pickling():
    datamodule = _module()
    dataset = datamodule.dataset("val")
    first = [dataset[i]["image"] for i in range(len(dataset))]
    again = pickle.loads(pickle.dumps(dataset.cache))  # what a spawned worker gets
    assert again.filled() == len(dataset)
    for i, image in enumerate(first):
        fresh = torch.from_numpy(dataset.render(i)).permute(2, 0, 1)
        assert torch.equal(image, fresh)
        assert torch.equal(dataset[i]["image"], image)
        assert torch.equal(torch.from_numpy(again.get(i, lambda: None)).permute(2, 0, 1), image)


def test_the_cache_refuses_a_row_of_another_shape(tmp_path):
    cache = RowCache(2, (4, 4, 3), directory=str(tmp_path))
    with pytest.raises(ValueError, match=r"uint8 \(4, 4, 3\)"):
        cache.get(0, lambda: np.zeros((5, 4, 3), np.uint8))
    path = cache.path
    del cache
    assert not any(tmp_path.iterdir()), f"{path} was left behind"


def test_batches_travel_as_uint8_and_the_task_makes_the_same_floats():
    datamodule = _module()
    batch = next(iter(datamodule.val_dataloader()))
    assert batch["image"].dtype == torch.uint8
    dataset = datamodule.dataset("val")
    before = torch.stack([to_tensor(dataset.render(i), 32) for i in range(len(batch["label"]))])
    task = Task()
    moved = task.on_after_batch_transfer(dict(batch), 0)
    assert moved["image"].dtype == torch.float32
    assert torch.equal(moved["image"], before)  # exactly the float images of before


def test_resized_files_are_rounded_to_8_bit_levels(toy_manifest):
    manifest = read_manifest(toy_manifest)
    as_uint8 = ManifestDataset(manifest, image_size=20)[0]["image"]
    as_float = to_tensor(ManifestDataset(manifest, image_size=None).load(0), 20)
    assert as_uint8.dtype == torch.uint8
    assert float((float_images(as_uint8) - as_float).abs().max()) <= 0.5 / 255 + 1e-7


def test_an_augmentation_works_on_floats_and_its_samples_stay_float(toy_manifest):
    manifest = read_manifest(toy_manifest)
    dataset = ManifestDataset(manifest, image_size=32, transform=lambda x: x.flip(-1))
    image = dataset[0]["image"]
    plain = to_tensor(dataset.load(0), 32)
    assert image.dtype == torch.float32 and torch.equal(image, plain.flip(-1))


def test_pinning_follows_the_trainer_device_unless_set():
    assert _module().pin_memory is False  # no trainer attached: nothing to pin for
    assert _module(pin_memory=True).pin_memory is True
    options = _module(num_workers=2, prefetch_factor=4).loader_options()
    assert options == {
        "num_workers": 2,
        "pin_memory": False,
        "persistent_workers": True,
        "prefetch_factor": 4,
    }

"""Self-blended images: a fake differs from its real face only inside its mask, reals become
fakes in training only, held-out splits without fakes get deterministic ones, and a run on
real faces alone trains and tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from hydra.utils import instantiate

from fakearena.config import compose
from fakearena.data.datamodule import FaceDataModule
from fakearena.data.datasets import to_tensor
from fakearena.data.synthetic import SyntheticRenderer
from fakearena.data.transforms.augment import DetectorAugment
from fakearena.data.transforms.sbi import SOURCE_SBI, SelfBlend, SelfBlendedRows
from fakearena.errors import ConfigError
from fakearena.results import read_results


@pytest.fixture(scope="module")
def faces() -> list[torch.Tensor]:
    renderer = SyntheticRenderer(64, seed=0)
    return [to_tensor(renderer.render_face(i, i + 1), None) for i in range(6)]


def test_a_self_blended_fake_differs_from_its_face_only_inside_its_mask(faces):
    blend = SelfBlend()
    for k, face in enumerate(faces):
        fake, mask = blend.blend(face, torch.Generator().manual_seed(k))
        assert fake.shape == face.shape and mask.shape == face.shape[-2:]
        assert float(mask.min()) >= 0.0 and float(mask.max()) <= 1.0
        assert float(fake.min()) >= 0.0 and float(fake.max()) <= 1.0
        changed = (fake != face).any(dim=0)
        assert changed.any()
        assert not changed[mask == 0].any()  # outside the mask: the real face, bit for bit
        # the soft mask peaks at one of the paper's blend ratios
        assert any(float(mask.max()) == pytest.approx(r) for r in blend.blend_ratios)
        # the mask covers the face, not the whole crop
        assert 0.05 < float((mask > 0).float().mean()) < 0.8


def test_blends_are_reproducible_from_a_generator_and_vary_between_draws(faces):
    blend = SelfBlend()
    a = blend.blend(faces[0], torch.Generator().manual_seed(3))
    b = blend.blend(faces[0], torch.Generator().manual_seed(3))
    c = blend.blend(faces[0], torch.Generator().manual_seed(4))
    torch.testing.assert_close(a, b)
    assert not torch.equal(a[1], c[1])


def test_only_real_samples_become_fakes_and_masks_follow_on_request(faces):
    torch.manual_seed(0)
    blend = SelfBlend(p=1.0)
    real = {"image": faces[1], "label": torch.tensor(0), "index": torch.tensor(5)}
    out = blend.transform_sample(real)
    assert int(out["label"]) == 1 and out["index"] == 5 and "mask" not in out
    fake = {**real, "label": torch.tensor(1)}
    assert blend.transform_sample(fake)["image"] is faces[1]  # fakes are left alone
    asked = {**real, "mask": torch.zeros(1, 64, 64), "has_mask": torch.tensor(True)}
    out = blend.transform_sample(asked)
    assert out["mask"].shape == (1, 64, 64) and out["mask"].max() > 0 and out["has_mask"]
    never = SelfBlend(p=0.0).transform_sample(real)
    assert int(never["label"]) == 0 and torch.equal(never["image"], faces[1])
    post = SelfBlend(p=0.0, post=DetectorAugment(flip_p=1.0)).transform_sample(real)
    torch.testing.assert_close(post["image"], faces[1].flip(-1))


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match=r"augment\.p"):
        SelfBlend(p=2)
    with pytest.raises(ConfigError, match="held_out_fakes"):
        SelfBlend(held_out_fakes="sometimes")
    with pytest.raises(ConfigError, match="blend_ratios"):
        SelfBlend(blend_ratios=[0.0])


def _module(fake_fraction: float, **sbi) -> FaceDataModule:
    return FaceDataModule(
        name="synthetic",
        synthetic={"n_identities": 3, "per_identity": 4, "fake_fraction": fake_fraction},
        image_size=32,
        train_transform=SelfBlend(**sbi),
    )


def test_held_out_splits_without_fakes_get_one_deterministic_fake_per_real():
    datamodule = _module(0.0)
    val = datamodule.dataset("val")
    assert isinstance(val, SelfBlendedRows)
    frame = val.manifest.frame
    n = len(frame) // 2
    assert val.labels.tolist() == [0] * n + [1] * n
    assert set(frame["source"].iloc[n:]) == {SOURCE_SBI}
    assert frame["video_id"].iloc[n:].tolist() == ["sbi/" + v for v in frame["video_id"].iloc[:n]]
    first, again = val[n], val[n]
    torch.testing.assert_close(first["image"], again["image"])  # the same every epoch
    assert int(first["label"]) == 1 and int(first["index"]) == n
    assert not torch.equal(first["image"], val[0]["image"])
    assert isinstance(datamodule.dataset("train"), torch.utils.data.Dataset)
    assert not isinstance(datamodule.dataset("train"), SelfBlendedRows)
    # held-out splits that have fakes stay as they are, unless asked
    assert not isinstance(_module(0.5).dataset("val"), SelfBlendedRows)
    assert isinstance(_module(0.5, held_out_fakes="always").dataset("val"), SelfBlendedRows)
    assert not isinstance(_module(0.0, held_out_fakes="never").dataset("val"), SelfBlendedRows)


def test_augment_sbi_composes_with_the_papers_post_augmentation():
    cfg = compose("train", ["augment=sbi", "seed=7"])
    transform = instantiate(cfg.data).train_transform
    assert isinstance(transform, SelfBlend) and isinstance(transform.post, DetectorAugment)
    assert transform.seed == 7 and transform.post.jpeg_quality == (40.0, 100.0)


def test_a_run_on_real_faces_alone_trains_with_sbi_and_tests(tmp_path: Path):
    from fakearena.runs.train import run

    cfg = compose(
        "train",
        [
            "data=synthetic",
            "data.synthetic.fake_fraction=0",
            "data.synthetic.n_identities=4",
            "data.synthetic.per_identity=6",
            "data.image_size=32",
            "data.batch_size=8",
            "detector=small_cnn",
            "augment=sbi",
            "trainer.max_epochs=1",
            "logger=csv",
            f"paths.output_dir={tmp_path}",
        ],
    )
    assert 0.0 <= run(cfg) <= 1.0
    record = read_results(tmp_path)
    assert f"test/source={SOURCE_SBI}/auc" in record["metrics"]
    labels = pd.read_csv(tmp_path / "test" / "predictions.csv")["label"]
    assert labels.sum() * 2 == len(labels)  # one self-blended fake per real test face

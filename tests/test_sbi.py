"""Self-blended images: a fake differs from its real face only inside its mask, the mask is a
landmark hull where landmarks exist and a random shape otherwise (never the paste-back
ellipse), reals become fakes in training only, held-out splits without fakes get deterministic
ones reported as a sanity check, and a short run on real faces alone detects blended fakes of
unseen people clearly above chance."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from fakearena.config import compose
from fakearena.data.datamodule import FaceDataModule
from fakearena.data.datasets import to_tensor
from fakearena.data.synthetic import SyntheticRenderer
from fakearena.data.synthetic.landmarks import synthetic_landmarks
from fakearena.data.transforms.augment import DetectorAugment
from fakearena.data.transforms.face_masks import HULL_KINDS, landmark_hull_mask
from fakearena.data.transforms.sbi import SOURCE_SBI, SelfBlend, SelfBlendedRows
from fakearena.errors import ConfigError, DataError
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
        # a random shape (no landmarks given), not the whole crop
        assert 0.005 < float((mask > 0).float().mean()) < 0.8


def _marks(size: int, k: int) -> torch.Tensor:
    renderer = SyntheticRenderer(size, seed=0)
    shot, _ = renderer._scene(k, k + 1, 0)
    return torch.from_numpy(synthetic_landmarks(renderer.identity(k, 0), shot, size))


def test_masks_are_landmark_hulls_where_landmarks_exist_and_random_shapes_otherwise():
    blend = SelfBlend(elastic=0.0)
    for k in range(6):
        marks = _marks(64, k)
        mask = blend._mask(64, 64, torch.Generator().manual_seed(k), marks)
        hulls = [landmark_hull_mask(marks.double().numpy(), 64, 64, kind) for kind in HULL_KINDS]
        assert any(torch.equal(mask, hull) for hull in hulls)
        unknown = torch.full((68, 2), float("nan"))
        shape = blend._mask(64, 64, torch.Generator().manual_seed(k), unknown)
        assert not any(torch.equal(shape, hull) for hull in hulls)
        assert torch.equal(shape, blend._mask(64, 64, torch.Generator().manual_seed(k), None))
    assert blend.mask_kind(_marks(64, 0)) == "hull" and blend.mask_kind(None) == "random"
    assert SelfBlend(mask="random").mask_kind(_marks(64, 0)) == "random"
    with pytest.raises(DataError, match=r"train_transform\.mask=hull but a training row has no"):
        SelfBlend(mask="hull").mask_kind(None)
    with pytest.raises(ConfigError, match=r"data\.train_transform\.mask="):
        SelfBlend(mask="ellipse")


def test_random_shapes_never_copy_the_paste_back_ellipse():
    """The old mask was an ellipse at (0.5, 0.52) with semi-axes about (0.31, 0.38), the arena
    face swap's paste-back; random shapes wander and rarely overlap it closely."""
    with pytest.raises(TypeError):
        SelfBlend(mask_center=(0.5, 0.52))  # type: ignore[call-arg]
    ys, xs = torch.meshgrid(
        (torch.arange(64) + 0.5) / 64, (torch.arange(64) + 0.5) / 64, indexing="ij"
    )
    ellipse = ((xs - 0.5) / 0.31) ** 2 + ((ys - 0.52) / 0.38) ** 2 <= 1
    blend = SelfBlend(elastic=0.0)
    centres, overlaps = [], []
    for k in range(60):
        shape = blend._mask(64, 64, torch.Generator().manual_seed(k), None) > 0.5
        overlaps.append(float((shape & ellipse).sum() / (shape | ellipse).sum()))
        centres.append((float(xs[shape].mean()), float(ys[shape].mean())))
    centres = torch.tensor(centres)
    assert float(centres.std(dim=0).min()) > 0.07  # the old centre jitter was +-0.04
    assert sum(o > 0.8 for o in overlaps) <= 3


def test_synthetic_and_extracted_rows_get_hulls_and_the_run_says_so():
    datamodule = _module(0.5)
    census = datamodule.augment_masks()
    assert census["hull_rows"] == census["real_rows"] > 0 and census["random_shape_rows"] == 0
    train = datamodule.dataset("train")
    assert np.isfinite(train.stored_landmarks[train.labels == 0]).all()
    assert np.isnan(train.stored_landmarks[train.labels == 1]).all()  # a fake's face is mixed


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
    with pytest.raises(ConfigError, match=r"data\.train_transform\.p"):
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


def test_a_run_on_real_faces_alone_reports_its_own_fakes_as_a_sanity_check(tmp_path: Path):
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
    run(cfg)
    record = read_results(tmp_path)
    metrics = record["metrics"]
    assert "sanity/sbi_auc" in metrics and metrics["sanity/sbi_auc"]["n"] == 12
    assert not any(key.startswith("test/") for key in metrics)  # never a test AUC
    assert not (tmp_path / "test" / "predictions.csv").exists()
    assert record["augment_masks"]["hull_rows"] == record["augment_masks"]["real_rows"]


def test_experiment_sbi_trains_on_reals_only():
    cfg = compose("train", ["experiment=sbi", "data=synthetic"])
    assert list(cfg.data.train_labels) == [0]
    datamodule = instantiate(cfg.data)
    assert set(datamodule.dataset("train").labels) == {0}
    assert set(datamodule.dataset("test").labels) == {0, 1}  # the data's own fakes to test on


@pytest.mark.parametrize(
    ("overrides", "only"),
    [
        (["augment=sbi", "data.train_transform.p=0", "data.train_labels=[0]"], "real (0)"),
        (["data.train_labels=[0]"], "real (0)"),
        (["augment=sbi", "data.train_labels=[1]"], "fake (1)"),
    ],
)
def test_sbi_ablation_on_reals_alone_has_one_class_and_is_refused(
    overrides: list[str], only: str, tmp_path: Path
):
    """SBI's ablation (the same reals, no self-blends: data.train_transform.p=0) leaves a
    detector one class to learn from; it is refused before training, naming the cause and the
    fix, and writes nothing (it used to train and report an AUC of a model that never saw a
    fake)."""
    from fakearena.runs.train import run

    data = ["data=synthetic", "data.synthetic.n_identities=4", "data.synthetic.per_identity=4"]
    cfg = compose(
        "train",
        [*data, "data.image_size=32", *overrides, f"paths.output_dir={tmp_path / 'run'}"],
    )
    fix = "add the other class to the train split"
    kept = "[0]" if only == "real (0)" else "[1]"
    with pytest.raises(
        DataError,
        match=rf"the train rows of data synthetic are all {re.escape(only)} "
        rf"\(data\.train_labels={re.escape(kept)} keeps only those\): a detector learns "
        rf"nothing from one class; {fix}",
    ):
        run(cfg)
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_sbi_on_real_faces_alone_detects_blended_fakes_of_unseen_people(tmp_path: Path):
    """Trained on self-blends of real synthetic faces only (hull masks from the renderer's
    landmarks), a small CNN tells the renderer's blended fakes of 6 unseen people from their
    real faces: a blend it never trained on. 10 epochs, 10-20 s of training on one core.
    Test AUC measured with seeds 0 / 1 / 2: 0.723 / 0.702 / 0.700 (the test runs seed 0).
    With 3 test people (the default 15% of 20) it was 0.763 / 0.716 / 0.673: too few people
    to hold a bar; 20 epochs do not raise it (seed 2: 0.671)."""
    from fakearena.runs.train import run

    cfg = compose(
        "train",
        [
            "data=synthetic",
            "data.synthetic.n_identities=20",
            "+data.synthetic.identities={train: 12, val: 2, test: 6}",
            "data.synthetic.per_identity=40",
            "data.synthetic.fake_fraction=0.3",
            "data.image_size=64",
            "data.batch_size=16",
            "data.num_workers=0",
            "data.train_labels=[0]",
            "data.train_transform.post=null",
            "detector=small_cnn",
            "augment=sbi",
            "seed=0",
            "trainer.max_epochs=10",
            "logger=csv",
            f"paths.output_dir={tmp_path}",
        ],
    )
    run(cfg)
    metrics = read_results(tmp_path)["metrics"]
    assert metrics["test/source=blend/synthetic/auc"]["n_pos"] == 72  # 6 unseen people
    assert metrics["test/auc"]["n_units"] == 12  # clustered by person
    assert metrics["test/auc"]["value"] >= 0.65

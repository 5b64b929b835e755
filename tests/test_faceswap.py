"""task=faceswap: identity data, bad input, training lowers MSE, the run folder, fake sets."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image
from torch.utils.data import WeightedRandomSampler

from fakearena.data.datasets import float_images
from fakearena.data.identities import IdentityBatchSampler, IdentityDataModule
from fakearena.data.manifest import Manifest, ManifestCard, read_manifest, write_manifest
from fakearena.data.masks import read_mask
from fakearena.errors import ConfigError, DataError
from fakearena.generation.faceswap import generate_fake_set, row_targets
from fakearena.generation.fakeset import CheckpointInfo
from fakearena.generation.swapper import Swapper, blend_recipe
from fakearena.models.generators.faceswap_ae import FaceSwapAE
from fakearena.results import read_results
from fakearena.tasks.checkpoints import restore_task
from fakearena.tasks.faceswap import FaceSwapTask
from fakearena.utils.io import sha256_file

from conftest import run_cli

SIZE = 32


def make_identity_manifest(
    root: Path, people: int = 3, per_person: int = 16, videos: int = 4, size: int = SIZE
) -> Path:
    """Simple faces (a coloured ellipse per person on a varying background), real rows only
    for people 0..n-1 in the manifest's train split, plus one fake row per person."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    rows = []
    for person in range(people):
        skin, eyes = rng.random(3) * 180 + 40, rng.random(3) * 255
        for k in range(per_person + 1):
            cx, cy = 0.5 + rng.normal(0, 0.04), 0.52 + rng.normal(0, 0.04)
            image = np.empty((size, size, 3))
            image[:] = rng.random(3) * 120 + 40
            image[((xx - cx) / 0.3) ** 2 + ((yy - cy) / 0.38) ** 2 < 1] = skin
            for ex in (cx - 0.12, cx + 0.12):
                image[((xx - ex) / 0.06) ** 2 + ((yy - cy + 0.08) / 0.04) ** 2 < 1] = eyes
            image = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
            path = f"p{person}/{k:03d}.png"
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(root / path)
            fake = k == per_person
            rows.append(
                {
                    "path": path,
                    "label": int(fake),
                    "split": "train" if person < 2 else "test",
                    "video_id": f"toy/p{person}/{'fake' if fake else f'v{k % videos}'}",
                    "frame": k,
                    "identity": f"p{person}",
                    "source": "toy/fake" if fake else "real",
                }
            )
    card = ManifestCard(name="faces", image_size=size)
    return write_manifest(Manifest(pd.DataFrame(rows), card, root), root / "faces.csv")


def train_tiny(task: str, faces: Path, run_dir: Path, *overrides: str, size: int = SIZE):
    """One fast_dev_run of a tiny two-person `task` (faceswap or faceswap_masked) on the
    people p0 and p1 of `faces` (`size` pixels) with `overrides`; the CLI's result."""
    return run_cli(
        "train",
        f"task={task}",
        "data=manifest",
        f"data.manifests=[{faces}]",
        f"data.image_size={size}",
        "data.batch_size=8",
        "generator.width=8",
        "task.identities=[p0,p1]",
        *overrides,
        "debug=fast_dev_run",
        f"hydra.run.dir={run_dir}",
    )


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    return make_identity_manifest(tmp_path_factory.mktemp("faces"))


def _datamodule(faces: Path, **options) -> IdentityDataModule:
    defaults = dict(manifests=[str(faces)], image_size=SIZE, batch_size=8, n_identities=2)
    return IdentityDataModule(**{**defaults, **options})


def test_data_holds_out_whole_videos_per_identity_and_only_reals(faces: Path):
    dm = _datamodule(faces, split_seed=3)
    frame = dm.manifest.frame
    assert dm.identity_names == ["p0", "p1"]
    assert set(frame["label"]) == {0} and set(frame["identity"]) == {"p0", "p1"}
    assert len(frame) == 32  # 16 reals of each person; fakes and p2 left out
    for _, rows in frame.groupby("identity"):
        assert set(rows["split"]) == {"train", "val", "test"}
        assert (rows.groupby("video_id")["split"].nunique() == 1).all()  # no video split
    again = _datamodule(faces, split_seed=3).manifest.frame
    assert again["split"].tolist() == frame["split"].tolist()
    batch = next(iter(dm.val_dataloader()))
    names = dm.dataset("val").manifest.frame["identity"].to_numpy()
    assert [dm.identity_names[c] for c in batch["identity"]] == names[batch["index"]].tolist()


def test_batches_are_balanced_across_identities():
    codes = np.array([0] * 30 + [1] * 6 + [2] * 12)
    weights = 1.0 / np.bincount(codes)[codes]
    sampler = WeightedRandomSampler(torch.as_tensor(weights), len(codes))
    batches = list(IdentityBatchSampler(sampler, 9, False, codes))
    assert len(batches) == len(codes) // 9
    for batch in batches:
        assert np.bincount(codes[batch], minlength=3).tolist() == [3, 3, 3]


def test_bad_identity_choices_are_clear_errors(faces: Path, tmp_path: Path):
    with pytest.raises(ConfigError, match="at least two identities"):
        _datamodule(faces, n_identities=1).manifest  # noqa: B018
    with pytest.raises(DataError, match=r"\['nobody'\].*p0, p1, p2"):
        _datamodule(faces, identities=["p0", "nobody"]).manifest  # noqa: B018
    with pytest.raises(ConfigError, match="n_identities=3"):
        _datamodule(faces, identities=["p0", "p1", "p2"]).manifest  # noqa: B018
    # the manifest's own splits: p0 has no val rows there
    with pytest.raises(DataError, match=r"p0 has no real rows in split\(s\) \['val'\]"):
        _datamodule(faces, holdout="manifest").manifest  # noqa: B018
    single = make_identity_manifest(tmp_path / "one", people=1, per_person=4)
    with pytest.raises(DataError, match="1 identit"):
        _datamodule(single).manifest  # noqa: B018


def test_image_size_other_than_the_model_is_an_error_before_training(faces: Path):
    task = FaceSwapTask(net=FaceSwapAE(image_size=64, n_decoders=2, width=8), n_identities=2)
    trainer = L.Trainer(max_steps=1, logger=False, enable_checkpointing=False)
    with pytest.raises(ConfigError, match="32x32 images but the generator expects 3-channel 64"):
        trainer.fit(task, datamodule=_datamodule(faces))
    assert trainer.global_step == 0


def test_reconstruction_mse_falls_over_a_few_dozen_steps(faces: Path):
    L.seed_everything(0, verbose=False)
    dm = _datamodule(faces)
    optimizer = OmegaConf.create({"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-3})
    from hydra.utils import instantiate

    task = FaceSwapTask(
        net=FaceSwapAE(image_size=SIZE, n_decoders=2, width=8),
        optimizer=instantiate(optimizer),
        n_identities=2,
        preview_faces=0,
    )
    trainer = L.Trainer(
        max_steps=30,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        num_sanity_val_steps=0,
        check_val_every_n_epoch=1000,
    )
    trainer.fit(task, datamodule=dm)
    assert trainer.global_step == 30
    before = {k: v for k, (v, _) in task.init_summary.items() if k.startswith("init/mse/")}
    assert set(before) == {"init/mse/p0", "init/mse/p1"}
    val = dm.dataset("val")
    images = float_images(torch.stack([val[i]["image"] for i in range(len(val))]))
    codes = torch.as_tensor(val.codes)
    with torch.no_grad():
        recon = task.reconstruct(images, codes)
    for code, name in enumerate(dm.identity_names):
        mse = float((recon[codes == code] - images[codes == code]).pow(2).mean())
        assert mse < 0.7 * before[f"init/mse/{name}"], (name, mse, before)


@pytest.fixture(scope="module")
def trained_run(faces: Path, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("run") / "faceswap"
    result = train_tiny("faceswap", faces, run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def test_train_writes_results_preview_and_a_restorable_checkpoint(trained_run: Path):
    record = read_results(trained_run)
    assert record["task"] == "faceswap" and record["generator"] == "faceswap_ae"
    metrics = record["metrics"]
    for stage in ("init", "test"):
        for key in ("mse", "psnr", "ssim"):
            assert f"{stage}/{key}/p0" in metrics and f"{stage}/{key}/p1" in metrics
        mse, psnr = metrics[f"{stage}/mse/p0"]["value"], metrics[f"{stage}/psnr/p0"]["value"]
        assert 0 < mse < 1 and psnr > 0
    assert 0 < metrics["val/mse"]["value"] < 1
    assert record["train_data"][0]["identities"] == ["p0", "p1"]
    preview = trained_run / "previews" / "swap_epoch000.png"
    with Image.open(preview) as grid:
        # 6 columns (A, A->A, A->B, B, B->B, B->A) of 32-pixel tiles with 2-pixel padding
        assert grid.size[0] == 6 * (SIZE + 2) + 2
        assert (grid.size[1] - 2) % (SIZE + 2) == 0
    from fakearena.report.previews import MIN_FACE_PX, swap_preview

    titled = swap_preview(preview, trained_run / "titled_preview.png")  # the report reads it
    assert titled is not None and Image.open(titled).width >= 6 * MIN_FACE_PX
    task = restore_task(trained_run / "checkpoints" / "best.ckpt", "faceswap")
    assert task.identity_names == ["p0", "p1"] and task.net.n_decoders == 2


def test_generate_writes_a_manifest_mapping_back_to_source_rows(
    trained_run: Path, faces: Path, tmp_path: Path
):
    path = trained_run / "checkpoints" / "best.ckpt"
    task = restore_task(path, "faceswap")
    ckpt = CheckpointInfo(path=path, sha256=sha256_file(path), task="faceswap")
    cfg = OmegaConf.create(
        {
            "split": "train",
            "batch_size": 5,
            "data": {
                "_target_": "fakearena.data.datamodule.FaceDataModule",
                "manifests": [str(faces)],
                "image_size": SIZE,
            },
        }
    )
    csv = generate_fake_set(task, cfg, ckpt, tmp_path / "fakes")
    fakes = read_manifest(csv, check_files=True)
    source = read_manifest(faces)
    reals = source.frame[(source.frame.label == 0) & (source.frame.split == "train")]
    assert len(fakes) == len(reals) == 32
    frame = fakes.frame
    assert set(frame["label"]) == {1} and set(frame["source"]) == {"faceswap/faceswap_ae"}
    assert fakes.name == "faceswap_ae_p0-p1"
    assert fakes.card.provenance["checkpoint_sha256"] == ckpt.sha256
    by_path = source.frame.set_index("path")
    mask = Swapper(task, blend_recipe(task)).mask(SIZE, SIZE)  # the run's blend recipe
    for row in frame.itertuples():
        origin = by_path.loc[row.source_path]
        assert row.video_id == f"faceswap/faceswap_ae_p0-p1/{origin.video_id}"
        assert (row.split, row.frame) == (origin.split, origin.frame)
        assert {row.identity, origin.identity} == {"p0", "p1"}
        fake = np.asarray(Image.open(fakes.root / row.path))
        real = np.asarray(Image.open(source.root / row.source_path))
        assert fake.shape == real.shape
        assert np.array_equal(fake[mask == 0], real[mask == 0])
        assert not np.array_equal(fake[mask == 1], real[mask == 1])
        # the blend mask it was pasted through is written beside it (Face X-ray learns from it)
        assert row.mask == row.path.removesuffix(".png") + ".mask.png"
        np.testing.assert_allclose(read_mask(fakes.root / row.mask), mask, atol=0.5 / 255)
    assert frame["video_id"].nunique() == reals["video_id"].nunique()
    with pytest.raises(DataError, match="no real rows of identities"):
        generate_fake_set(task, OmegaConf.merge(cfg, {"split": "val"}), ckpt, tmp_path / "x")
    with pytest.raises(ConfigError, match="keeps the split of each source face"):
        generate_fake_set(task, OmegaConf.merge(cfg, {"split": {"train": 1.0}}), ckpt, tmp_path)
    other = CheckpointInfo(path=path, sha256="0" * 64, task="faceswap")
    with pytest.raises(ConfigError, match="another checkpoint"):
        generate_fake_set(task, cfg, other, tmp_path / "fakes")


def test_row_targets_swap_to_the_next_identity_or_to_the_one_a_column_names():

    names = ["a", "b", "c"]
    frame = pd.DataFrame({"identity": ["a", "b", "c", "a"], "donor": ["c", "a", "b", "b"]})
    codes = np.array([0, 1, 2, 0])
    assert row_targets(frame, names, codes, None, "m").tolist() == [1, 2, 0, 1]
    assert row_targets(frame, names, codes, "donor", "m").tolist() == [2, 0, 1, 1]
    with pytest.raises(DataError, match="'nope' is not a column of data m"):
        row_targets(frame, names, codes, "nope", "m")
    strangers = frame.assign(donor=["c", "z", "b", "b"])
    with pytest.raises(DataError, match=r"names identities \['z'\] that this checkpoint"):
        row_targets(strangers, names, codes, "donor", "m")
    selves = frame.assign(donor=["c", "b", "b", "b"])
    with pytest.raises(DataError, match=r"swaps a face to its own identity \(row 1\)"):
        row_targets(selves, names, codes, "donor", "m")

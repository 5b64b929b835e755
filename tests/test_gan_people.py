"""task=gan's data protocol: the GAN trains on the training people's real faces and is judged
against held-out faces of the same people (other rows), with the unseen people beside them;
the arena's GAN learns the test people from their generator shots."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from fakearena.data.gan_people import UNSEEN, GANDataModule
from fakearena.data.manifest import read_manifest, write_manifest
from fakearena.data.synthetic import (
    generator_shots_manifest,
    identity_splits,
    synthetic_manifest,
    write_rendered,
    write_synthetic_dataset,
)
from fakearena.errors import DataError
from fakearena.report.generator_details import generator_keys
from fakearena.runs.arena import generator_stages

FACES = dict(n_identities=4, per_identity=6, size=16, seed=0)
HOLDOUT = "people_holdout"
SHOTS = {"train": 2, "val": 2, "test": 2}


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> dict[str, Path]:
    """Small arena-like faces on disk: faces.csv (reals and blends) and people_holdout.csv."""
    root = tmp_path_factory.mktemp("faces")
    faces_csv = write_synthetic_dataset(
        root, name="faces", fake_fraction=0.5, progress=False, **FACES
    )
    # further shots of the train people (their own train rows dropped: faces.csv's are those)
    holdout = generator_shots_manifest("train", shots=SHOTS, name=HOLDOUT, **FACES)
    holdout.frame = holdout.frame[holdout.frame["split"] != "train"].reset_index(drop=True)
    holdout_csv = write_rendered(holdout, root, size=16, seed=0, progress=False)
    return {"faces": faces_csv, "holdout": holdout_csv}


def datamodule(**kwargs) -> GANDataModule:
    return GANDataModule(name="faces", image_size=16, batch_size=4, **kwargs)


def people(dm: GANDataModule, split: str) -> set[str]:
    return set(dm.dataset(split).manifest.frame["identity"])


def test_generator_shots_are_further_images_of_one_splits_people_in_every_generator_split():
    counts = {"train": 2, "val": 1, "test": 5}
    frame = generator_shots_manifest(
        "test", 8, 6, seed=0, shots={"train": 3, "val": 2, "test": 1}, identities=counts
    ).frame
    test_people = {i for i, s in identity_splits(8, 0, counts).items() if s == "test"}
    assert set(frame["synth_identity"]) == test_people and len(test_people) == 5
    assert frame["synth_index"].min() == 6  # never a shot of the detection data
    assert (frame["label"] == 0).all() and (frame["synth_donor"] == -1).all()
    per_split = frame.groupby(["synth_identity", "split"]).size().unstack()
    assert (per_split[["train", "val", "test"]].to_numpy() == [3, 2, 1]).all()
    faces = synthetic_manifest(8, 6, seed=0, identities=counts).frame
    assert not set(frame["path"]) & set(faces["path"])
    assert set(frame["identity"]) == set(faces.loc[faces["split"] == "test", "identity"])


def test_holdout_manifests_judge_the_training_people_on_other_rows(faces):
    dm = datamodule(manifests=[str(faces["faces"])], holdout_manifests=[str(faces["holdout"])])
    train = dm.dataset("train").manifest.frame
    assert (train["label"] == 0).all(), "fakes are not GAN training data"
    for split in ("val", "test"):
        assert people(dm, split) == set(train["identity"]), split
        rows = dm.dataset(split).manifest.frame
        assert not set(rows["video_id"]) & set(train["video_id"])
        assert not set(rows["path"]) & set(train["path"])
    names = [s.name for s in dm.evaluation_sets("test")]
    assert names == ["", UNSEEN]
    loaders = dm.test_dataloader()
    assert len(loaders) == 2
    unseen = dm.unseen_dataset("test").manifest.frame
    source = read_manifest(faces["faces"]).select(split="test", label=0).frame
    assert set(unseen["path"]) == set(source["path"])
    assert not set(unseen["identity"]) & set(train["identity"]), "the test people are unseen"
    reference = dm.references("test")[0]
    assert reference["gan_reference"] == "people" and reference["holdout"][0]["name"] == HOLDOUT
    assert reference["training_people"] == sorted(set(train["identity"]))


def test_without_holdout_manifests_each_training_person_loses_some_rows_to_val_and_test():
    synthetic = dict(n_identities=4, per_identity=40, fake_fraction=0.5, seed=0)
    dm = datamodule(synthetic=synthetic, val_fraction=0.2, test_fraction=0.2)
    train = dm.dataset("train").manifest.frame
    for split in ("val", "test"):
        rows = dm.dataset(split).manifest.frame
        assert people(dm, split) == set(train["identity"])
        assert not set(rows["video_id"]) & set(train["video_id"])
        assert (rows.groupby("identity").size() == 4).all()  # 20% of each person's 20 reals
    assert len(train) == 2 * 12


def test_reference_split_keeps_the_data_split_column(faces):
    dm = datamodule(manifests=[str(faces["faces"])], reference="split")
    assert [s.name for s in dm.evaluation_sets("val")] == [""]
    frame = read_manifest(faces["faces"]).frame
    assert people(dm, "val") == set(frame.loc[frame["split"] == "val", "identity"])


def test_a_holdout_with_other_people_or_training_rows_is_refused(faces, tmp_path):
    source = read_manifest(faces["faces"])
    strangers = source.select(split=["val", "test"], label=0)
    strangers.card.name = "strangers"
    bad = write_manifest(strangers, tmp_path / "strangers.csv")
    dm = datamodule(manifests=[str(faces["faces"])], holdout_manifests=[str(bad)])
    with pytest.raises(DataError, match="not in the train split"):
        dm.dataset("train")
    repeats = source.select(split="train", label=0)
    frame = repeats.frame.copy()
    frame["split"] = ["val", "test"] * (len(frame) // 2)
    repeats.frame, repeats.card.name = frame, "repeats"
    bad = write_manifest(repeats, tmp_path / "repeats.csv")
    dm = datamodule(manifests=[str(faces["faces"])], holdout_manifests=[str(bad)])
    with pytest.raises(DataError, match="repeats training rows"):
        dm.dataset("train")


def test_the_arena_gan_learns_the_test_people_and_is_judged_on_their_held_out_shots(tmp_path):
    cfg = OmegaConf.create(
        {
            "seed": 0,
            "faces": {
                "identities": {"train": 3, "val": 2, "test": 5},
                "per_identity": 8,
                "size": 16,
                "fake_fraction": 0.5,
            },
            "generators": {
                "gan": {"train": ["task=gan"]},
                "swap": {"train": ["task=faceswap"], "max_people": 3},
            },
        }
    )
    real = tmp_path / "data" / "real.csv"
    stages, generate, instances = generator_stages(cfg, tmp_path, real)
    shots = real.with_name("shots_test.csv")
    gan = stages[0].args
    assert f"data.manifests=[{shots}]" in gan and f"data.holdout_manifests=[{shots}]" in gan
    test_people = sorted(
        f"synth{i:03d}" for i, s in identity_splits(10, 0, cfg.faces.identities).items()
        if s == "test"
    )
    assert list(instances[0].people) == test_people
    # all its samples are test fakes, as many as its people's real test faces (4 each)
    assert "split=test" in generate[0].args and "n=20" in generate[0].args
    swap = stages[1].args
    assert f"task.identities=[{','.join(test_people[:3])}]" in swap
    assert "task.n_identities=3" in swap and "split=test" in generate[1].args
    assert not any(a.startswith("data.holdout_manifests") for a in swap)


def test_the_generator_table_shows_the_unseen_people_beside_the_headline():
    from fakearena.report.fold import Folded

    values = {
        key: Folded(1.0, None, 1)
        for key in (
            "test/fid",
            "test/fid_floor",
            "test/precision",
            "test/unseen_people/fid",
            "test/unseen_people/fid_floor",
            "test/unseen_people/precision",
            "val/mse/synth001",
        )
    }

    class Conf:
        key = "g"

    keys = generator_keys([Conf()], {"g": values})
    assert keys == [
        "test/fid",
        "test/precision",
        "test/unseen_people/fid",
        "test/unseen_people/precision",
    ]

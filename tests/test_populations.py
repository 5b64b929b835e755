"""The arena's populations: who each generator learns, and test sets whose real and fake rows
show the same unseen people (`fakearena.runs.populations`, `fakearena.runs.testsets`)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from fakearena.data.gan_people import GANDataModule
from fakearena.data.manifest import Manifest, read_manifest, write_manifest
from fakearena.errors import ConfigError, DataError
from fakearena.runs.arena import (
    detector_stages,
    fake_set_roles,
    generator_stages,
    training_fake_names,
)
from fakearena.runs.populations import (
    TRAIN_PEOPLE,
    generator_instances,
    prepare_faces,
    split_people,
)
from fakearena.runs.testsets import build_test_sets

IDENTITIES = {"train": 3, "val": 2, "test": 5}


def arena_cfg(**extra) -> OmegaConf:
    return OmegaConf.create(
        {
            "seed": 1,
            "faces": {
                "identities": IDENTITIES,
                "per_identity": 8,
                "size": 16,
                "fake_fraction": 0.5,
                "generator_shots": {"train": 3, "val": 2, "test": 2},
            },
            "generators": {
                "gan": {"train": ["task=gan"]},
                "swap": {"train": ["task=faceswap"], "max_people": 3},
            },
            "train_fakes": ["blend"],
            **extra,
        }
    )


SWAP_PEOPLE = 3  # arena_cfg's face swap: max_people


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("arena") / "data"
    swap_people = tuple(split_people(arena_cfg())["test"][:SWAP_PEOPLE])
    return prepare_faces(arena_cfg(), root, ("test", "train"), swap_people)


def test_the_swap_sources_mirror_the_blended_fakes_of_the_swap_people_row_for_row(faces):
    people = split_people(arena_cfg())
    trio = people["test"][:SWAP_PEOPLE]
    blend = read_manifest(faces["blend"]).frame
    name_of = dict(zip(blend["synth_identity"], blend["identity"]))
    mirrored = blend[(blend["split"] == "test") & blend["identity"].isin(trio)]
    # their blends take donors among them; the other test people's never do
    assert {name_of[d] for d in mirrored["synth_donor"]} <= set(trio)
    others = blend[(blend["split"] == "test") & ~blend["identity"].isin(trio)]
    assert not {name_of.get(d) for d in others["synth_donor"]} & set(trio)
    sources = read_manifest(faces["swap_sources"])
    frame = sources.frame
    key = ["synth_seed", "synth_identity", "synth_index"]
    assert sorted(map(tuple, frame[key].to_numpy())) == sorted(map(tuple, mirrored[key].to_numpy()))
    targets = dict(zip(map(tuple, mirrored[key].to_numpy()), mirrored["synth_donor"].map(name_of)))
    assert all(targets[tuple(r[key])] == r["swap_target"] for _, r in frame.iterrows())
    assert (frame["label"] == 0).all() and (frame["synth_donor"].astype(int) == -1).all()
    real = read_manifest(faces["real"]).frame
    assert not set(frame["path"]) & (set(real["path"]) | set(blend["path"]))
    # each source is the untouched shot its blend started from
    from fakearena.data.media import load_image
    from fakearena.data.synthetic import SyntheticRenderer

    row = frame.iloc[0]
    expected = SyntheticRenderer(16, seed=1).render_source(row.to_dict())
    assert (load_image(sources.abspath(0)) == expected).all()


def test_faces_written_with_other_parameters_are_written_again(tmp_path):
    cfg = arena_cfg()
    first = prepare_faces(cfg, tmp_path, ("test",))
    before = read_manifest(first["blend"]).frame["synth_donor"].tolist()
    swap_people = tuple(split_people(cfg)["test"][:2])
    again = prepare_faces(cfg, tmp_path, ("test",), swap_people)
    assert "swap_sources" in again and again["swap_sources"].is_file()
    after = read_manifest(again["blend"]).frame
    assert after["synth_donor"].tolist() != before  # donor groups changed the blends
    assert set(read_manifest(again["swap_sources"]).frame["identity"]) == set(swap_people)


def test_split_people_are_the_people_of_the_written_faces(faces):
    people = split_people(arena_cfg())
    frame = read_manifest(faces["real"]).frame
    for split, count in IDENTITIES.items():
        assert sorted(set(frame.loc[frame["split"] == split, "identity"])) == people[split]
        assert len(people[split]) == count
    for population in ("test", "train"):
        shots = read_manifest(faces[f"shots_{population}"]).frame
        assert sorted(set(shots["identity"])) == people[population]
        assert not set(shots["path"]) & set(frame["path"]), "shots are never detection rows"


def test_the_gan_learns_the_test_peoples_shots_and_is_judged_on_other_shots_of_them(faces):
    shots = str(faces["shots_test"])
    dm = GANDataModule(
        name="shots",
        image_size=16,
        batch_size=4,
        manifests=[shots],
        holdout_manifests=[shots],
        unseen_people=False,
    )
    train = dm.dataset("train").manifest.frame
    test_people = split_people(arena_cfg())["test"]
    assert sorted(set(train["identity"])) == test_people
    real = read_manifest(faces["real"]).frame
    test_reals = real[real["split"] == "test"]
    assert set(train["identity"]) == set(test_reals["identity"]), "its people = the test reals'"
    for split in ("val", "test"):
        rows = dm.dataset(split).manifest.frame
        assert sorted(set(rows["identity"])) == test_people
        assert not set(rows["path"]) & set(train["path"])
    assert [s.name for s in dm.evaluation_sets("test")] == [""]


def _fake_rows(rows: pd.DataFrame, source: str, **columns) -> pd.DataFrame:
    frame = rows.copy()
    frame["label"], frame["source"] = 1, source
    frame["video_id"] = source + "/" + frame["video_id"]
    for key, value in columns.items():
        frame[key] = value
    return frame


def test_every_test_set_shows_the_same_unseen_people_as_real_and_fake(faces, tmp_path, capsys):
    real = read_manifest(faces["blend"])
    images = real.select(split="test").frame  # other images than the test reals
    people = split_people(arena_cfg())
    # an unconditional GAN's samples (no identity) and swaps among 3 test people
    gan = _fake_rows(images, "gan/x", identity="")
    trio = people["test"][:3]
    swapped = images[images["identity"].isin(trio)]
    swap = _fake_rows(
        swapped,
        "faceswap/x",
        source_identity=swapped["identity"],
        identity=swapped["identity"].map(dict(zip(trio, trio[1:] + trio[:1]))),
    )
    sets = {"blend": faces["blend"]}
    for name, frame in (("gan", gan), ("swap", swap)):
        sets[name] = write_manifest(
            Manifest(frame.reset_index(drop=True), real.card, real.root), tmp_path / f"{name}.csv"
        )
    tests = build_test_sets(
        faces["real"],
        sets,
        tmp_path / "testsets",
        trained_on=[faces["real"], faces["blend"]],
        learned_people={"gan": people["test"]},
    )
    seen = set(people["train"]) | set(people["val"])
    expected_people = {"blend": people["test"], "gan": people["test"], "swap": sorted(trio)}
    for name, path in tests.items():
        frame = read_manifest(path).frame
        reals, fakes = frame[frame["label"] == 0], frame[frame["label"] == 1]
        assert sorted(set(reals["identity"])) == expected_people[name], name
        fake_people = set(fakes["identity"]) - {""} or set(people["test"])
        assert sorted(fake_people) == expected_people[name], name
        assert not (set(reals["identity"]) | fake_people) & seen
        pop = json.loads(path.with_suffix(".json").read_text())
        n = len(expected_people[name])
        assert pop["identities"] == {
            "real": n,
            "fake": n,
            "shared": n,
            "real_only": 0,
            "fake_only": 0,
        }
        assert pop["rows"] == {"real": len(reals), "fake": len(fakes)}
        assert pop["people_trained_on_by_detectors"] == 0
        assert pop["rows_per_identity"]["real"]["min"] == 4  # 4 reals of 8 images a person
    assert pop["rows"] == {"real": 12, "fake": 12}  # swap: 3 people x 4, both classes
    assert json.loads(tests["gan"].with_suffix(".json").read_text())[
        "fake_identities_from"
    ].startswith("learned")
    out = capsys.readouterr().out
    assert "test set swap: 12 real / 12 fake rows; people real 3, fake 3, shared 3; seen by " \
        "detectors 0" in out


def test_a_test_set_showing_a_person_a_detector_trained_on_is_refused(faces, tmp_path):
    real = read_manifest(faces["blend"])
    frame = real.select(split="test").frame
    intruder = split_people(arena_cfg())["train"][0]
    bad = _fake_rows(frame, "faceswap/x", source_identity=intruder)
    path = write_manifest(Manifest(bad, real.card, real.root), tmp_path / "bad.csv")
    with pytest.raises(DataError, match="1 people whom a detector trains on"):
        build_test_sets(faces["real"], {"bad": path}, tmp_path / "t", trained_on=[faces["real"]])


def test_training_fakes_of_a_generator_come_from_a_second_instance_on_the_train_people(tmp_path):
    cfg = arena_cfg(train_fakes=["blend", "gan"])
    assert training_fake_names(cfg) == ["gan"]
    assert training_fake_names(arena_cfg(leave_one_out=True)) == ["gan", "swap"]
    real = tmp_path / "data" / "real.csv"
    _, generate, instances = generator_stages(cfg, tmp_path, real)
    names = [i.name for i in instances]
    assert names == ["gan", f"gan{TRAIN_PEOPLE}", "swap"]
    # the test face swap swaps the blends' source shots to their donors
    sources = real.with_name("swap_sources.csv")
    assert f"data.manifests=[{sources}]" in generate[2].args
    assert "target_column=swap_target" in generate[2].args
    second = instances[1]
    assert second.population == "train" and list(second.people) == split_people(cfg)["train"]
    # 4 reals a person: as many samples as the train (3) and val (2) people's reals
    assert "n=20" in generate[1].args and "split={train: 12, val: 8}" in generate[1].args
    training, tested = fake_set_roles(instances, tmp_path / "blend.csv", tmp_path / "fakes")
    assert training["gan"].parent.name == f"gan{TRAIN_PEOPLE}"
    assert set(tested) == {"blend", "gan", "swap"} and tested["gan"].parent.name == "gan"
    cfg.detectors = {"meso4": ["detector=meso4"]}
    (stage,) = detector_stages(cfg, tmp_path, real, training, tested)
    manifests = next(a for a in stage.args if a.startswith("data.manifests="))
    assert manifests == f"data.manifests=[{real},{tmp_path / 'blend.csv'},{training['gan']}]"


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"train": ["task=gan"], "holdout": "people"}, "holdout is gone"),
        ({"train": ["task=faceswap"], "identities": "across_splits"}, "use max_people"),
        ({"train": ["task=gan"], "generate": {"split": "test"}}, "assigns splits by population"),
        ({"train": ["task=gan"], "max_people": 3}, "max_people is for face swaps"),
        ({"train": ["generator=dcgan"]}, "needs one `task=` override"),
        ({"train": ["task=faceswap"], "max_people": 1}, "at least 2 test people"),
        (
            {"train": ["task=faceswap", "data.people_per_batch=8"], "max_people": 3},
            r"data.people_per_batch=8 but it learns 3 test people; lower data.people_per_batch "
            r"to at most 3 \(or raise max_people\)",
        ),
        (
            {"train": ["task=faceswap", "data.people_per_batch=two"], "max_people": 3},
            "give a whole number of people",
        ),
    ],
)
def test_bad_generator_entries_name_the_fix(entry, message):
    cfg = arena_cfg(generators={"g": entry})
    with pytest.raises(ConfigError, match=message):
        generator_instances(cfg, [])


@pytest.mark.parametrize("value", ["3", "1", "null"])
def test_people_per_batch_that_fits_the_swap_people_passes(value):
    entry = {"train": ["task=faceswap", f"data.people_per_batch={value}"], "max_people": 3}
    (instance,) = generator_instances(arena_cfg(generators={"g": entry}), [])
    assert len(instance.people) == 3


def test_faces_without_people_per_split_keep_the_old_split_rule():
    cfg = arena_cfg()
    del cfg.faces["identities"]
    cfg.faces.n_identities = 20
    assert {k: len(v) for k, v in split_people(cfg).items()} == {"train": 14, "val": 3, "test": 3}
    del cfg.faces["n_identities"]
    with pytest.raises(ConfigError, match="neither `identities`"):
        split_people(cfg)


def test_a_face_swap_scores_its_swaps_with_the_confound_checks_identity_model(tmp_path):
    """Its training and generate stages name the model's settings and the arena's testsets/
    cache (one model for both), and the stages compose with them."""
    from fakearena.runs.stage_inputs import stage_inputs

    cfg = arena_cfg(confound={"identity_model": {"people": 16, "epochs": 4}})
    real = tmp_path / "data" / "real.csv"
    train, generate, instances = generator_stages(cfg, tmp_path, real)
    swap = [i.name for i in instances].index("swap")
    cache = tmp_path / "testsets"
    assert f"task.identity_model_cache={cache}" in train[swap].args
    assert "task.identity_model={people: 16, epochs: 4}" in train[swap].args
    assert f"identity_model_cache={cache}" in generate[swap].args
    assert "identity_model={people: 16, epochs: 4}" in generate[swap].args
    gan = [i.name for i in instances].index("gan")
    assert not any("identity_model" in arg for arg in train[gan].args + generate[gan].args)
    settings = stage_inputs(train[swap].args).settings
    assert settings["task.identity_model.people"] == 16
    assert settings["task.identity_model_cache"] == str(cache)
    assert stage_inputs(generate[swap].args).settings["identity_model.epochs"] == 4

"""Dataset builders on small trees that mirror each documented layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakearena.data.builders.celebdf import build_celebdf
from fakearena.data.builders.cli import main as build_main
from fakearena.data.builders.dfdc import build_dfdc
from fakearena.data.builders.ffpp import build_ffpp, load_splits
from fakearena.data.builders.folder import build_folder
from fakearena.data.manifest import read_manifest, validate_frame
from fakearena.errors import ConfigError, DataError

SHARED = next(
    (
        p
        for p in (Path(__file__).parents[1].parent / "shared", Path("/work/shared"))
        if (p / "fixtures").is_dir()
    ),
    None,
)


def touch(root: Path, *relatives: str) -> None:
    for relative in relatives:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def rows_by_id(manifest) -> dict[str, dict]:
    return {r["video_id"]: r for r in manifest.frame.to_dict("records")}


def test_ffpp_pairs_methods_and_official_splits(tmp_path):
    real = "original_sequences/youtube/c23/videos/{}.mp4"
    fake = "manipulated_sequences/{}/c23/videos/{}.mp4"
    touch(
        tmp_path,
        *(real.format(i) for i in ("071", "054", "004", "982", "xyz")),
        *(
            fake.format(m, n)
            for m in ("Deepfakes", "Face2Face")
            for n in ("071_054", "054_071", "004_982")
        ),
        fake.format("Deepfakes", "071_004"),  # not an official pair
        "manipulated_sequences/Deepfakes/c40/videos/071_054.mp4",
    )  # other compression
    manifest = build_ffpp(tmp_path)
    assert validate_frame(manifest.frame) == []
    rows = rows_by_id(manifest)
    assert len(rows) == 4 + 6  # 4 listed real videos, 3 pairs x 2 methods
    splits = load_splits()
    assert splits["071"] == "train" and splits["004"] == "val"  # from the official lists
    assert rows["ffpp/youtube/c23/071"]["split"] == "train"
    assert rows["ffpp/youtube/c23/004"]["split"] == "val"
    assert rows["ffpp/Deepfakes/c23/054_071"]["split"] == "train"
    assert rows["ffpp/Face2Face/c23/004_982"]["split"] == "val"
    assert rows["ffpp/Deepfakes/c23/004_982"]["label"] == 1
    assert rows["ffpp/youtube/c23/982"]["label"] == 0
    # Same pair under two methods: two videos. Swaps show the source, re-enactment the target.
    assert rows["ffpp/Deepfakes/c23/071_054"]["identity"] == "ffpp/054"
    assert rows["ffpp/Face2Face/c23/071_054"]["identity"] == "ffpp/071"
    assert rows["ffpp/Deepfakes/c23/071_054"]["source"] == "ffpp/Deepfakes"
    assert rows["ffpp/Deepfakes/c23/071_054"]["path"] == fake.format("Deepfakes", "071_054")
    left_out = manifest.card.provenance["left_out_not_in_official_splits"]
    assert sorted(left_out) == [fake.format("Deepfakes", "071_004"), real.format("xyz")]
    assert manifest.name == "ffpp_c23"


def test_ffpp_official_lists_are_complete():
    splits = load_splits()
    reals = [k for k in splits if "_" not in k]
    assert len(reals) == 1000
    assert sum(splits[k] == "train" for k in reals) == 720
    assert sum(splits[k] == "test" for k in reals) == 140


def test_ffpp_layout_errors_name_the_structure(tmp_path):
    with pytest.raises(DataError, match="original_sequences/youtube/<c>/videos"):
        build_ffpp(tmp_path / "nowhere")
    touch(tmp_path, "original_sequences/youtube/c23/videos/071.mp4")
    with pytest.raises(DataError, match="manipulated_sequences/<Method>/c23/videos"):
        build_ffpp(tmp_path)
    with pytest.raises(DataError, match="manipulated_sequences/FaceSwap/c23/videos"):
        build_ffpp(tmp_path, methods=["FaceSwap"])
    with pytest.raises(ConfigError, match="DeepFake"):
        build_ffpp(tmp_path, methods=["DeepFake"])
    with pytest.raises(DataError, match="original_sequences/youtube/c40/videos"):
        build_ffpp(tmp_path, compression="c40")


def test_ffpp_raw_folder_is_c0(tmp_path):
    touch(
        tmp_path,
        "original_sequences/youtube/raw/videos/071.mp4",
        "manipulated_sequences/FaceShifter/raw/videos/071_054.mp4",
    )
    ids = set(build_ffpp(tmp_path, compression="c0").frame["video_id"])
    assert ids == {"ffpp/youtube/c0/071", "ffpp/FaceShifter/c0/071_054"}


def test_celebdf_label_inversion_and_identity_val(tmp_path):
    touch(
        tmp_path,
        "YouTube-real/00170.mp4",  # test list: "1 YouTube-real/00170.mp4" -> real
        "Celeb-real/id0_0001.mp4",  # test list, real
        "Celeb-synthesis/id0_id16_0004.mp4",  # test list: "0 ..." -> fake
        *(f"Celeb-real/id{p}_000{k}.mp4" for p in range(40, 60) for k in (7, 8)),
        *(f"Celeb-synthesis/id{p}_id{p + 1}_0007.mp4" for p in range(40, 60)),
        "YouTube-real/99999.mp4",
    )
    manifest = build_celebdf(tmp_path, val_fraction=0.3, seed=1)
    assert validate_frame(manifest.frame) == []
    rows = rows_by_id(manifest)
    assert rows["celebdf_v2/YouTube-real/00170"] == {
        **rows["celebdf_v2/YouTube-real/00170"],
        "label": 0,
        "split": "test",
    }
    assert rows["celebdf_v2/Celeb-real/id0_0001"]["label"] == 0
    assert rows["celebdf_v2/Celeb-synthesis/id0_id16_0004"]["label"] == 1
    assert rows["celebdf_v2/Celeb-synthesis/id0_id16_0004"]["split"] == "test"
    assert rows["celebdf_v2/Celeb-real/id40_0007"]["split"] in ("train", "val")
    frame = manifest.frame[manifest.frame["split"] != "test"]
    per_identity = frame.groupby("identity")["split"].nunique()
    assert (per_identity == 1).all()  # no identity in both train and val
    val = frame[frame["split"] == "val"]
    assert 4 <= val["identity"].nunique() <= 8 and set(val["label"]) == {0, 1}
    # A fake goes with the person whose clip it was made from.
    assert rows["celebdf_v2/Celeb-synthesis/id41_id42_0007"]["identity"] == "celebdf/id41"
    assert manifest.frame["video_id"].is_unique
    again = build_celebdf(tmp_path, val_fraction=0.3, seed=1)
    assert list(again.frame["split"]) == list(manifest.frame["split"])


def test_celebdf_rejects_an_inverted_list(tmp_path):
    touch(
        tmp_path,
        "Celeb-real/id0_0001.mp4",
        "YouTube-real/00170.mp4",
        "Celeb-synthesis/id0_id16_0004.mp4",
    )
    inverted = tmp_path / "list.txt"
    inverted.write_text("0 Celeb-real/id0_0001.mp4\n1 Celeb-synthesis/id0_id16_0004.mp4\n")
    with pytest.raises(DataError, match="1 = real, 0 = fake"):
        build_celebdf(tmp_path, test_list=inverted)
    with pytest.raises(DataError, match=r"Celeb-synthesis/id0_id1_0000\.mp4"):
        build_celebdf(tmp_path / "empty")


def write_part(root: Path, number: int, metadata: dict) -> None:
    part = root / f"dfdc_train_part_{number}"
    touch(part, *metadata)
    (part / "metadata.json").write_text(json.dumps(metadata))


def test_dfdc_metadata_labels_and_part_splits(tmp_path):
    write_part(
        tmp_path,
        0,
        {
            "aaa.mp4": {"label": "REAL", "split": "train", "original": None},
            "bbb.mp4": {"label": "FAKE", "split": "train", "original": "aaa.mp4"},
        },
    )
    write_part(
        tmp_path,
        45,
        {
            "aaa.mp4": {"label": "REAL", "split": "train", "original": None},
            "ccc.mp4": {"label": "FAKE", "split": "train", "original": "aaa.mp4"},
        },
    )
    manifest, missing = build_dfdc(tmp_path)
    assert missing.total_missing == 0 and missing.listed == {
        "dfdc_train_part_0": 2,
        "dfdc_train_part_45": 2,
    }
    rows = rows_by_id(manifest)
    assert set(rows) == {
        "dfdc/dfdc_train_part_0/aaa",
        "dfdc/dfdc_train_part_0/bbb",
        "dfdc/dfdc_train_part_45/aaa",
        "dfdc/dfdc_train_part_45/ccc",
    }
    assert rows["dfdc/dfdc_train_part_0/bbb"]["label"] == 1
    assert rows["dfdc/dfdc_train_part_0/aaa"]["label"] == 0
    assert rows["dfdc/dfdc_train_part_0/bbb"]["split"] == "train"
    assert rows["dfdc/dfdc_train_part_45/ccc"]["split"] == "test"
    assert rows["dfdc/dfdc_train_part_0/bbb"]["identity"] == "dfdc/aaa"
    assert rows["dfdc/dfdc_train_part_0/bbb"]["path"] == "dfdc_train_part_0/bbb.mp4"
    custom = rows_by_id(build_dfdc(tmp_path, val_parts=[0], test_parts=[])[0])
    assert custom["dfdc/dfdc_train_part_0/aaa"]["split"] == "val"
    assert custom["dfdc/dfdc_train_part_45/ccc"]["split"] == "train"


def test_dfdc_errors(tmp_path):
    with pytest.raises(DataError, match=r"dfdc_train_part_0/metadata\.json"):
        build_dfdc(tmp_path)
    write_part(tmp_path, 1, {"x.mp4": {"label": "MAYBE"}})
    with pytest.raises(DataError, match="REAL or FAKE"):
        build_dfdc(tmp_path)
    (tmp_path / "dfdc_train_part_1" / "x.mp4").unlink()
    with pytest.raises(DataError, match="REAL or FAKE"):  # a broken entry is still an error
        build_dfdc(tmp_path)
    write_part(tmp_path, 1, {"x.mp4": {"label": "REAL"}})
    (tmp_path / "dfdc_train_part_1" / "x.mp4").unlink()
    with pytest.raises(DataError, match=r"none of the 1 videos listed .* dfdc_train_part_1"):
        build_dfdc(tmp_path)
    with pytest.raises(ConfigError, match="on_missing"):
        build_dfdc(tmp_path, on_missing="ignore")


def partial_dfdc(root: Path) -> None:
    """Three parts (train, val, train by default) whose folders each lack listed videos."""
    write_part(
        root,
        0,
        {
            "r0.mp4": {"label": "REAL"},
            "f0.mp4": {"label": "FAKE", "original": "r0.mp4"},
            "f1.mp4": {"label": "FAKE", "original": "r0.mp4"},
        },
    )
    write_part(root, 41, {"r1.mp4": {"label": "REAL"}, "f2.mp4": {"label": "FAKE"}})
    write_part(root, 7, {"r2.mp4": {"label": "REAL"}, "f3.mp4": {"label": "FAKE"}})
    (root / "dfdc_train_part_0" / "f1.mp4").unlink()
    (root / "dfdc_train_part_41" / "r1.mp4").unlink()
    (root / "dfdc_train_part_41" / "f2.mp4").unlink()


def test_dfdc_partial_copy_builds_what_is_there_and_lists_the_rest(tmp_path, capsys):
    root, out = tmp_path / "dfdc", tmp_path / "built"
    partial_dfdc(root)
    assert build_main(["dfdc", f"root={root}", f"out={out}"]) == 0
    printed = capsys.readouterr().out
    manifest = read_manifest(out / "videos.csv", check_files=True)
    assert sorted(manifest.frame["video_id"]) == [
        "dfdc/dfdc_train_part_0/f0",
        "dfdc/dfdc_train_part_0/r0",
        "dfdc/dfdc_train_part_7/f3",
        "dfdc/dfdc_train_part_7/r2",
    ]
    assert manifest.card.provenance["missing_videos"] == {
        "dfdc_train_part_0": 1,
        "dfdc_train_part_41": 2,
    }
    report = json.loads((out / "videos_report.json").read_text())
    assert report["totals"] == {
        "parts": 3,
        "incomplete_parts": 2,
        "listed": 7,
        "present": 4,
        "missing": 3,
    }
    assert report["parts"]["dfdc_train_part_0"]["missing"] == ["f1.mp4"]
    assert report["parts"]["dfdc_train_part_41"]["missing"] == ["f2.mp4", "r1.mp4"]
    assert report["parts"]["dfdc_train_part_41"]["split"] == "val"
    assert report["parts"]["dfdc_train_part_7"] == {
        "metadata": str(root.resolve() / "dfdc_train_part_7" / "metadata.json"),
        "split": "train",
        "listed": 2,
        "present": 2,
        "missing": [],
    }
    summary = [line for line in printed.splitlines() if "listed videos are missing" in line]
    assert len(summary) == 1
    assert summary[0].startswith("dfdc: 3 of 7 listed videos are missing in 2 of 3 part(s)")
    assert "dfdc_train_part_0 1" in summary[0] and str(out / "videos_report.json") in summary[0]
    # the val part lost every video, no part is a test part: the notes say what to do
    assert "note: no test rows (no part is a test part: choose some with test_parts" in printed
    assert "split=all" in printed
    assert "note: no val rows: training chooses its checkpoint on them, choose" in printed

    with pytest.raises(DataError) as error:
        build_main(["dfdc", f"root={root}", f"out={tmp_path / 'strict'}", "on_missing=error"])
    message = str(error.value)
    assert "dfdc_train_part_0/metadata.json: 1 missing" in message
    assert "dfdc_train_part_41/metadata.json: 2 missing" in message
    assert "on_missing=skip" in message
    assert not (tmp_path / "strict").exists()


def test_folder_tree_and_csv(tmp_path):
    touch(tmp_path / "set", "real/a.jpg", "real/sub/b.png", "fake/c.mp4", "fake/notes.txt")
    manifest = build_folder(tmp_path / "set")
    rows = rows_by_id(manifest)
    assert set(rows) == {"set/real/a", "set/real/sub/b", "set/fake/c"}
    assert rows["set/fake/c"]["label"] == 1 and rows["set/real/sub/b"]["label"] == 0
    assert set(manifest.frame["split"]) == {"test"}
    auto = build_folder(tmp_path / "set", split="auto", val_fraction=0.0, test_fraction=0.0)
    assert set(auto.frame["split"]) == {"train"}
    csv = tmp_path / "set" / "list.csv"
    csv.write_text("path,label,split\nreal/a.jpg,real,train\nfake/c.mp4,1,val\n")
    listed = rows_by_id(build_folder(csv=csv))
    assert listed["list/fake/c"]["split"] == "val" and listed["list/real/a"]["label"] == 0
    with pytest.raises(DataError, match="real/"):
        build_folder(tmp_path / "set" / "real")


def test_build_cli_writes_a_video_manifest(tmp_path):
    touch(tmp_path / "set", "real/a.jpg", "fake/c.mp4")
    assert build_main(["folder", f"root={tmp_path / 'set'}", f"out={tmp_path / 'built'}"]) == 0
    manifest = read_manifest(tmp_path / "built" / "videos.csv", check_files=True)
    assert len(manifest) == 2 and manifest.name == "set"
    with pytest.raises(ConfigError, match="ffpp"):
        build_main(["nope", "root=x", "out=y"])


@pytest.mark.real_data
@pytest.mark.slow
@pytest.mark.skipif(SHARED is None, reason="../shared/fixtures is absent")
def test_ffpp_mini_build_and_extract(tmp_path):
    from fakearena.faces.cli import main as faces_main

    root = SHARED / "fixtures" / "ffpp_mini"
    assert build_main(["ffpp", f"root={root}", f"out={tmp_path}"]) == 0
    videos = read_manifest(tmp_path / "videos.csv", check_files=True)
    assert len(videos) == 2
    code = faces_main(
        [
            "extract",
            f"input={tmp_path / 'videos.csv'}",
            f"out={tmp_path / 'faces'}",
            "frames_per_video=8",
            "size=64",
            "progress=false",
        ]
    )
    assert code == 0
    faces = read_manifest(tmp_path / "faces" / "ffpp_c23.csv", check_files=True)
    frame = faces.frame
    assert len(frame) == 16 and frame.groupby("video_id").size().tolist() == [8, 8]
    assert frame.groupby(["video_id", "frame"]).size().max() == 1
    labels = dict(zip(frame["video_id"], frame["label"]))
    assert labels == {"ffpp/youtube/c23/004": 0, "ffpp/NeuralTextures/c23/004_982": 1}
    report = json.loads((tmp_path / "faces" / "ffpp_c23_report.json").read_text())
    assert report["totals"]["frames_without_face"] == 0

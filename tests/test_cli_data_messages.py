"""Data and setup mistakes at the command line (FAKEARENA_DATA, dataset builds, manifest
cards): each message is produced through `fakearena`'s own entry point, `main(argv)`.

Every test pins the environment it depends on: HYDRA_FULL_ERROR unset (one-paragraph errors,
the `one_paragraph_errors` fixture), FAKEARENA_DATA unset, empty or set as the case needs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _cli import in_process_cli, one_line
from fakearena.data.builders.ffpp import load_splits


@pytest.fixture(autouse=True)
def one_paragraph_errors(monkeypatch):
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)


@pytest.fixture()
def cli(capsys, monkeypatch):
    return in_process_cli(capsys, monkeypatch)


@pytest.mark.parametrize("command", ["train", "protocol"])
def test_unset_fakearena_data_is_named_and_dot_data_is_never_used(
    command, cli, tmp_path: Path, monkeypatch
):
    monkeypatch.delenv("FAKEARENA_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "ffpp_c23" / "faces").mkdir(parents=True)
    (tmp_path / "data" / "ffpp_c23" / "faces" / "ffpp_c23.csv").write_text("path\n")
    args = ["data=ffpp_c23"] if command == "train" else []
    code, _, err = cli(command, *args, f"hydra.run.dir={tmp_path / 'run'}")
    assert code == 1
    assert one_line(err) == (
        "fakearena: error: data ffpp_c23: manifest $FAKEARENA_DATA/ffpp_c23/faces/ffpp_c23.csv "
        "(data.manifests) not found; data=ffpp_c23 reads its manifest under paths.data_dir, "
        "which is the environment variable FAKEARENA_DATA, and FAKEARENA_DATA is not set; "
        "export FAKEARENA_DATA=<the folder of your built datasets> (or pass "
        "paths.data_dir=DIR); to build the data: conf/data/ffpp_c23.yaml names the commands "
        "that build it"
    )
    assert not (tmp_path / "run").exists()


def _checkpoint(folder: Path) -> Path:
    from test_evaluate import save_detect_checkpoint

    return save_detect_checkpoint(folder / "d.ckpt")


def test_empty_fakearena_data_is_named_for_evaluate(cli, tmp_path: Path, monkeypatch):
    ckpt = _checkpoint(tmp_path)
    monkeypatch.setenv("FAKEARENA_DATA", "")
    code, _, err = cli("evaluate", f"ckpt={ckpt}", "data=dfdc", f"hydra.run.dir={tmp_path / 'r'}")
    assert code == 1
    assert "manifest $FAKEARENA_DATA/dfdc/faces/dfdc.csv (data.manifests) not found" in err
    assert "FAKEARENA_DATA is set but empty (FAKEARENA_DATA='')" in one_line(err)
    assert "/dfdc/faces/dfdc.csv" not in err.replace("$FAKEARENA_DATA/dfdc", "")


def test_wrong_fakearena_data_names_its_value_and_what_it_holds(cli, tmp_path: Path, monkeypatch):
    datasets = tmp_path / "datasets"
    (datasets / "ffpp_c23").mkdir(parents=True)
    monkeypatch.setenv("FAKEARENA_DATA", str(datasets))
    code, _, err = cli("train", "data=synthetic", "test_data=[dfdc]", f"hydra.run.dir={tmp_path}/r")
    assert code == 1
    assert one_line(err) == (
        f"fakearena: error: data dfdc: manifest {datasets}/dfdc/faces/dfdc.csv (data.manifests) "
        f"not found; FAKEARENA_DATA={datasets} (paths.data_dir) holds no dfdc/faces/dfdc.csv "
        "(it holds: ffpp_c23); build it there (conf/data/dfdc.yaml names the commands that "
        "build it) or point FAKEARENA_DATA at the folder that holds it"
    )
    monkeypatch.setenv("FAKEARENA_DATA", str(tmp_path / "nowhere"))
    code, _, err = cli("protocol", f"hydra.run.dir={tmp_path}/p")
    assert code == 1
    assert f"FAKEARENA_DATA={tmp_path / 'nowhere'} (paths.data_dir) does not exist" in err
    (datasets / "dfdc").mkdir()
    (datasets / "dfdc" / "videos.csv").write_text("path\n")  # built, faces not extracted
    monkeypatch.setenv("FAKEARENA_DATA", str(datasets))
    code, _, err = cli("evaluate", "ckpt=" + str(_checkpoint(tmp_path)), "data=dfdc")
    assert code == 1
    videos = datasets / "dfdc" / "videos.csv"
    assert one_line(err).endswith(
        f"FAKEARENA_DATA={datasets} (paths.data_dir) holds {videos}, the built video list, but "
        "no dfdc/faces/dfdc.csv: extract the faces with `fakearena faces extract "
        f"input={videos} out={datasets / 'dfdc' / 'faces'}`"
    )
    monkeypatch.delenv("FAKEARENA_DATA")  # the key given instead of the variable
    code, _, err = cli("train", "data=celebdf_v2", f"paths.data_dir={datasets}")
    assert code == 1
    assert one_line(err).endswith(
        f"paths.data_dir={datasets} holds no celebdf_v2/faces/celebdf_v2.csv (it holds: "
        "dfdc, ffpp_c23); build it there (conf/data/celebdf_v2.yaml names the commands that build "
        "it) or fix paths.data_dir"
    )


def _partial_ffpp(root: Path, source: Path) -> Path:
    """An FF++ tree of links to the two fixture videos: real 004, its NeuralTextures fake, and
    the same file as a Deepfakes fake 071_054 whose real video 071 is absent."""
    real = source / "original_sequences/youtube/c23/videos/004.mp4"
    fake = source / "manipulated_sequences/NeuralTextures/c23/videos/004_982.mp4"
    links = {
        "original_sequences/youtube/c23/videos/004.mp4": real,
        "manipulated_sequences/NeuralTextures/c23/videos/004_982.mp4": fake,
        "manipulated_sequences/Deepfakes/c23/videos/071_054.mp4": fake,
    }
    for relative, target in links.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).symlink_to(target)
    return root


@pytest.mark.real_data
def test_ffpp_build_reports_against_the_official_lists(
    cli, tmp_path: Path, fixtures_dir: Path
):
    root = _partial_ffpp(tmp_path / "ff", fixtures_dir / "ffpp_mini")
    out = tmp_path / "built"
    code, stdout, _ = cli("data", "build", "ffpp", f"root={root}", f"out={out}")
    assert code == 0
    splits = load_splits()
    per_kind = sum("_" not in name for name in splits)  # 1000 real, 1000 fakes per method
    assert per_kind == 1000
    assert (
        f"ffpp c23: 3 of {3 * per_kind} videos of the official split lists are present "
        f"(real 1/{per_kind}, Deepfakes 1/{per_kind}, NeuralTextures 1/{per_kind}); methods "
        "absent from this copy: Face2Face, FaceSwap, FaceShifter; 1 fake(s) without their "
        f"real (target) video: Deepfakes/071_054; report: {out / 'videos_report.json'}"
    ) in stdout
    report = json.loads((out / "videos_report.json").read_text())
    assert report["total"] == {"listed": 3000, "present": 3, "missing": 2997}
    assert report["fakes_without_real"] == ["Deepfakes/071_054"]
    real = report["kinds"]["real"]
    assert real["present"] == {"train": 0, "val": 1, "test": 0}  # 004 is a val video
    assert splits["004"] == "val" and "004" not in real["missing"] and len(real["missing"]) == 999
    real_splits = [v for name, v in splits.items() if "_" not in name]
    assert real["listed"] == {s: real_splits.count(s) for s in ("train", "val", "test")}
    assert real["listed"] == {"train": 720, "val": 140, "test": 140}
    deepfakes = report["kinds"]["Deepfakes"]
    assert deepfakes["present"][splits["071_054"]] == 1 and sum(deepfakes["present"].values()) == 1
    assert "071_054" not in deepfakes["missing"] and "054_071" in deepfakes["missing"]
    assert set(report["kinds"]) == {"real", "Deepfakes", "NeuralTextures"}


def test_ffpp_compression_that_is_absent_suggests_what_exists(cli, tmp_path: Path):
    (tmp_path / "original_sequences/youtube/c23/videos").mkdir(parents=True)
    out = tmp_path / "o"
    code, _, err = cli("data", "build", "ffpp", f"root={tmp_path}", f"out={out}", "compression=c40")
    assert code == 1 and not out.exists()
    assert one_line(err) == (
        "fakearena: error: ffpp: compression=c40 asks for original_sequences/youtube/c40/videos, "
        f"which {tmp_path} does not have; this copy holds c23: pass compression=c23 (or "
        "download c40 with the official FaceForensics++ script: -c c40)"
    )


def test_a_card_root_naming_an_empty_variable_is_refused(
    cli, tmp_path: Path, monkeypatch, toy_manifest: Path
):
    import yaml

    card_path = toy_manifest.with_suffix(".yaml")
    card = yaml.safe_load(card_path.read_text())
    card["root"] = "${oc.env:FAKEARENA_DATA}/toy"
    card_path.write_text(yaml.safe_dump(card))
    monkeypatch.setenv("FAKEARENA_DATA", str(toy_manifest.parent.parent))
    assert cli("data", "validate", str(toy_manifest))[0] == 0  # set: the root resolves
    monkeypatch.setenv("FAKEARENA_DATA", "")
    code, _, err = cli("data", "validate", str(toy_manifest))
    assert code == 1
    assert (
        "card root '${oc.env:FAKEARENA_DATA}/toy' names the environment variable FAKEARENA_DATA, "
        "which is set but empty; export FAKEARENA_DATA=<the folder it stands for> or write the "
        "folder in the card"
    ) in one_line(err)

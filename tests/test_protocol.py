"""`fakearena protocol`: the cross-dataset table (rows = detectors, columns = test sets, frame
AUC with CI and video AUC), the FF++ plan, the synthetic smoke version end to end, and the
public-data version on the FF++ fixture crops."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from fakearena.config import compose
from fakearena.errors import ConfigError
from fakearena.report.protocol import protocol_frame, protocol_markdown, write_protocol
from fakearena.runs.protocol import data_set_name, detector_stages, public_plan

from conftest import run_cli


def _record(detector: str, own: float, other: float | None) -> dict:
    metrics = {
        "test/auc": {
            "value": own,
            "ci95": [own - 0.05, own + 0.01],
            "n": 4000,
            "ci_unit": "video",
            "n_videos": 140,
            "n_videos_real": 70,
            "n_videos_fake": 70,
        },
        "test/video_auc": {"value": own + 0.01, "n": 140, "n_videos": 140},
    }
    if other is not None:  # as today's records write a set of 3 + 3 videos
        metrics["test/celebdf_v2/auc"] = {
            "value": other,
            "ci95": [0.5, 0.7],
            "n": 12,
            "ci_unit": "video",
            "n_videos": 6,
            "n_videos_real": 3,
            "n_videos_fake": 3,
            "warning": "only 6 videos (3 real, 3 fake), fewer than 30 videos",
        }
        metrics["test/celebdf_v2/video_auc"] = {"value": other, "n": 6, "n_videos": 6}
    return {"detector": detector, "metrics": metrics}


def test_the_table_has_a_row_per_detector_and_both_levels_per_test_set(tmp_path: Path):
    records = {"xray": _record("xray", 0.9, 0.6), "sbi": _record("efficientnet_b4", 0.8, None)}
    columns = {"ffpp_c23": "test", "celebdf_v2": "test/celebdf_v2"}
    frame = protocol_frame(records, columns)
    assert frame["detector"].tolist() == ["xray", "sbi"]
    assert frame.loc[0, "ffpp_c23/auc"] == 0.9 and frame.loc[0, "celebdf_v2/auc_ci_low"] == 0.5
    assert frame.loc[0, "ffpp_c23/video_auc"] == pytest.approx(0.91)
    # in-domain and cross-domain never averaged together: the cross mean is celebdf's alone
    assert frame.loc[0, "cross_mean/auc"] == pytest.approx(0.6)
    assert frame.loc[0, "cross_sets/auc"] == 1
    assert math.isnan(frame.loc[1, "celebdf_v2/auc"])  # not scored: shown as such
    assert math.isnan(frame.loc[1, "cross_mean/auc"]) and frame.loc[1, "cross_sets/auc"] == 0
    assert frame.loc[0, "celebdf_v2/auc_n_units"] == 6 and frame.loc[0, "ffpp_c23/auc_flags"] == ""
    assert frame.loc[0, "celebdf_v2/auc_flags"] == "small_n"
    text = protocol_markdown(frame, list(columns), "FF++ protocol", frames_per_video=32)
    assert "| detector | ffpp_c23 (in-domain) | celebdf_v2 | cross-domain mean |" in text
    assert (
        "| xray | 0.9000 [0.850, 0.910] N=140 videos | 0.6000 [0.500, 0.700] N=6 videos "
        "⚠ small N | 0.6000 (1/1 sets) ⚠ includes celebdf_v2 |"
    ) in text
    assert "| sbi (efficientnet_b4) | 0.8000 [0.750, 0.810] N=140 videos | - | - |" in text
    assert "- frames per video: 32 (fixed by the protocol" in text
    # the video level has no CI in these records: each cell says so, the notes say why once
    assert "| xray | 0.9100 (no CI) N=140 videos |" in text
    warnings = text.split("## Warnings\n", 1)[1]
    assert "xray on celebdf_v2 (auc): only 6 videos (3 real, 3 fake)" in warnings
    assert warnings.count("no CI recorded") == 1 and "3 cells: no CI recorded" in warnings
    written = write_protocol(frame, list(columns), tmp_path, "FF++ protocol", frames_per_video=32)
    assert pd.read_csv(written["csv"])["detector"].tolist() == ["xray", "sbi"]
    assert written["md"].read_text() == text


def test_a_missing_ci_gives_its_reason_and_flags_from_new_records_are_shown():
    """An entry written by the uncertainty code (n_units, flags) on 1 real + 5 fake identities:
    no CI, the reason names the class with one unit; `collapsed` is marked too."""
    entry = {
        "value": 0.0417,
        "n": 60,
        "ci95": None,
        "ci_unit": "identity",
        "n_units": 6,
        "n_units_real": 1,
        "n_units_fake": 5,
        "flags": ["small_n", "collapsed"],
    }
    record = {"detector": "meso4", "metrics": {"test/auc": {"value": 0.9}, "test/dfdc/auc": entry}}
    record["warnings"] = ["the val split has 2 videos: checkpoint selection is noise"]
    frame = protocol_frame({"meso": record}, {"ffpp_c23": "test", "dfdc": "test/dfdc"})
    text = protocol_markdown(frame, ["ffpp_c23", "dfdc"], "t")
    assert "0.0417 (no CI) N=6 identities ⚠ small N, collapsed scores" in text
    assert "meso on dfdc (auc): no CI: 1 identity in a class; the bootstrap resamples" in text
    assert "- meso: the val split has 2 videos: checkpoint selection is noise" in text


def test_a_set_of_ten_frames_per_video_keeps_the_frames_faces_extract_would_sample(tmp_path):
    """`data.frames_per_video` keeps, per video, the rows `sample_frame_indices` (the frame
    sampler of `faces extract`, an independent implementation) picks; short videos keep all."""
    from fakearena.data.manifest import Manifest, ManifestCard
    from fakearena.faces.video import sample_frame_indices

    rows = []
    for video, count in (("a", 50), ("b", 7), ("c", 33)):
        for i in range(count):
            rows.append(
                {
                    "path": f"{video}/{i}.png",
                    "label": int(video == "b"),
                    "split": "test",
                    "video_id": video,
                    "frame": i * 3,  # frame numbers need not be consecutive
                    "identity": "",
                    "source": "real",
                }
            )
    manifest = Manifest(pd.DataFrame(rows[::-1]), ManifestCard(name="m"), tmp_path)
    kept = manifest.frames_per_video(10).frame
    for video, count in (("a", 50), ("b", 7), ("c", 33)):
        expected = [3 * i for i in sample_frame_indices(count, 10)]
        assert sorted(kept[kept["video_id"] == video]["frame"]) == expected
    assert len(manifest.frames_per_video(100)) == 90


def test_the_protocol_fixes_frames_per_video_for_training_and_every_test_set(tmp_path: Path):
    cfg = compose("protocol")
    assert cfg.frames_per_video == 32
    train, entries = public_plan(cfg)
    stage = detector_stages(cfg, tmp_path, train, entries)[0]
    assert "++data.frames_per_video=32" in stage.args
    run_cfg = compose("train", [a for a in stage.args[1:] if not a.startswith("hydra.")])
    assert run_cfg.data.frames_per_video == 32
    off = compose("protocol", ["frames_per_video=null"])
    args = detector_stages(off, tmp_path, train, [])[0].args
    assert not any("frames_per_video" in a for a in args)
    with pytest.raises(ConfigError, match=r"frames_per_video=0: give a positive number"):
        detector_stages(compose("protocol", ["frames_per_video=0"]), tmp_path, train, [])


def test_a_bad_frames_per_video_stops_the_protocol_before_any_stage(tmp_path: Path):
    run_dir = tmp_path / "protocol"
    result = run_cli("protocol", "frames_per_video=0", f"hydra.run.dir={run_dir}")
    assert result.returncode == 1
    assert (
        "fakearena: error: frames_per_video=0: give a positive number of frames per video "
        "(DeepfakeBench's protocol uses 32), or null for every face crop"
    ) in result.stderr
    assert not (run_dir / "detectors").exists()


def test_the_ffpp_protocol_trains_on_four_manipulations_and_tests_on_every_set(tmp_path: Path):
    cfg = compose("protocol")
    train, entries = public_plan(cfg)
    assert train[0] == "data=ffpp_c23" and entries == ["celebdf_v2", "dfdc"]
    stages = detector_stages(cfg, tmp_path, train, entries)
    names = [stage.run_dir.name for stage in stages]
    assert {"xray", "sbi", "f3net", "srm", "cnndetection", "xception"} <= set(names)
    for stage in stages:
        args = stage.args
        assert args[:2] == ["train", "task=detect"] and "test=true" in args
        assert "test_data=[celebdf_v2,dfdc]" in args
        # every stage is a valid `fakearena train` command line
        run_cfg = compose("train", [a for a in args[1:] if not a.startswith("hydra.")])
        assert run_cfg.data.name == "ffpp_c23"
        assert list(run_cfg.data.sources) == [
            "real",
            "ffpp/Deepfakes",
            "ffpp/Face2Face",
            "ffpp/FaceSwap",
            "ffpp/NeuralTextures",
        ]
    sbi = compose("train", [a for a in stages[names.index("sbi")].args[1:] if "hydra" not in a])
    assert sbi.data.train_transform._target_.endswith("SelfBlend")
    assert list(sbi.data.train_labels) == [0]  # SBI's recipe: real faces only
    xray = compose("train", [a for a in stages[names.index("xray")].args[1:] if "hydra" not in a])
    assert xray.data.train_transform._target_.endswith("XrayBlend")  # blends of real faces
    assert xray.data.train_labels is None  # beside FF++'s own fakes, as the paper trains
    assert data_set_name("/x/testsets/dcgan.csv") == "dcgan" and data_set_name("dfdc") == "dfdc"


@pytest.mark.slow
def test_the_smoke_protocol_runs_on_synthetic_faces_and_resumes(tmp_path: Path):
    run_dir = tmp_path / "protocol"
    first = run_cli("protocol", "--config-name", "protocol_smoke", f"hydra.run.dir={run_dir}")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    table = pd.read_csv(run_dir / "protocol.csv")
    assert table["detector"].tolist() == ["meso4", "xray_small"]
    # One epoch on 3 people's 32 px faces learns nothing to hold to a bar (measured blend AUC
    # 0.425 meso4, 0.420 xray_small; meso4's scores collapse within 4e-4). What the protocol
    # must do: report sklearn's AUC of each detector's scores of each set's rows, per frame
    # and per video, and flag a cell `collapsed` exactly when its scores span less than 1e-3.
    folders = {"blend": "test", "dcgan": "test_data/dcgan", "faceswap": "test_data/faceswap"}
    for row in table.itertuples():
        for column, folder in folders.items():
            path = run_dir / "detectors" / row.detector / folder / "predictions.csv"
            scored = pd.read_csv(path)
            cell = table.loc[row.Index]
            auc = roc_auc_score(scored["label"], scored["prob"])
            assert cell[f"{column}/auc"] == pytest.approx(auc), (row.detector, column)
            by_video = scored.groupby("video_id")[["label", "prob"]].mean()
            video_auc = roc_auc_score(by_video["label"], by_video["prob"])
            assert cell[f"{column}/video_auc"] == pytest.approx(video_auc), (row.detector, column)
            collapsed = scored["prob"].max() - scored["prob"].min() < 1e-3
            assert ("collapsed" in str(cell[f"{column}/auc_flags"]).split(";")) == collapsed
    assert "| detector | blend (in-domain) | dcgan | faceswap | cross-domain mean |" in first.stdout
    assert "frames per video: 32" in first.stdout
    again = run_cli("protocol", "--config-name", "protocol_smoke", f"hydra.run.dir={run_dir}")
    assert again.returncode == 0 and again.stdout.count("done already") == 6


@pytest.mark.slow
@pytest.mark.real_data
def test_the_public_protocol_runs_on_ffpp_fixture_crops(
    ffpp_crops: Path, tmp_path: Path, monkeypatch
):
    data = tmp_path / "data"
    for name in ("ffpp_c23", "celebdf_v2", "dfdc"):  # the same two videos under three names
        folder = data / name / "faces"
        folder.mkdir(parents=True)
        manifest = pd.read_csv(ffpp_crops, dtype=str, keep_default_na=False)
        manifest.to_csv(folder / f"{name}.csv", index=False)
        (folder / f"{name}.yaml").write_text(f"name: {name}\nroot: {ffpp_crops.parent}\n")
    monkeypatch.setenv("FAKEARENA_DATA", str(data))
    run_dir = tmp_path / "protocol"
    result = run_cli(
        "protocol",
        f"hydra.run.dir={run_dir}",
        "~detectors",
        '+detectors={meso4: ["detector=meso4", "trainer.max_epochs=1"]}',
        'common=["data.image_size=64", "data.num_workers=0", "data.batch_size=4"]',
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = pd.read_csv(run_dir / "protocol.csv")
    assert table["detector"].tolist() == ["meso4"]
    # One epoch on 8 frames of two videos is no training to hold to a bar. What the protocol
    # must do: score each set's test rows with the one checkpoint and report sklearn's AUC of
    # those scores; the three names hold the same two videos, so every column gets the same
    # scores, frame AUC and video AUC.
    scores = {}
    folders = {"ffpp_c23": "test", "celebdf_v2": "test_data/celebdf_v2", "dfdc": "test_data/dfdc"}
    for column, folder in folders.items():
        scored = pd.read_csv(run_dir / "detectors" / "meso4" / folder / "predictions.csv")
        assert len(scored) == 4  # frames 6-7 of each video
        auc = roc_auc_score(scored["label"], scored["prob"])
        assert table.loc[0, f"{column}/auc"] == pytest.approx(auc)
        by_video = scored.groupby("video_id")[["label", "prob"]].mean()
        video_auc = roc_auc_score(by_video["label"], by_video["prob"])
        assert table.loc[0, f"{column}/video_auc"] == pytest.approx(video_auc)
        scores[column] = scored.sort_values("path")[["path", "label", "prob"]]
        pd.testing.assert_frame_equal(
            scores[column].reset_index(drop=True),
            scores["ffpp_c23"].reset_index(drop=True),
            atol=1e-6,
        )
        assert table.loc[0, f"{column}/auc_n_units"] == 2  # one real and one fake video
        # too few videos for a CI; an untrained-looking meso4 may also score them all alike
        flags = table.loc[0, f"{column}/auc_flags"].split(";")
        assert {"small_n", "no_ci"} <= set(flags) <= {"small_n", "no_ci", "collapsed"}
    text = (run_dir / "protocol.md").read_text()
    assert "- frames per video: 32 (fixed by the protocol" in text
    assert text.count("(no CI) N=2 videos ⚠ small N") == 6 and "## Warnings" in text
    record = json.loads((run_dir / "detectors" / "meso4" / "results.json").read_text())
    assert record["config"]["data"]["frames_per_video"] == 32


def test_data_frames_per_video_reaches_the_training_data_and_every_test_set(toy_manifest: Path):
    """`++data.frames_per_video=1` (as the protocol passes it) keeps one row per video in the
    data a `train` run composes and in a `test_data` set scored with the same data options."""
    from hydra.utils import instantiate

    from fakearena.runs.evaluate import test_set_module

    cfg = compose(
        "train",
        ["data=manifest", f"data.manifests=[{toy_manifest}]", "++data.frames_per_video=1"],
    )
    rows = instantiate(cfg.data).manifest.frame
    everything = pd.read_csv(toy_manifest)
    assert len(everything) == 60 and everything["video_id"].nunique() == 45
    assert len(rows) == 45 and rows["video_id"].is_unique
    tested = test_set_module(str(toy_manifest), seed=0, frames_per_video=1).manifest.frame
    assert len(tested) == 45
    with pytest.raises(ConfigError, match=r"data.frames_per_video=0: give a positive count"):
        test_set_module(str(toy_manifest), seed=0, frames_per_video=0)

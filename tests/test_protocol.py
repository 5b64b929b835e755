"""`fakearena protocol`: the cross-dataset table (rows = detectors, columns = test sets, frame
AUC with CI and video AUC), the FF++ plan, the synthetic smoke version end to end, and the
public-data version on the FF++ fixture crops."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from fakearena.config import compose
from fakearena.report.protocol import protocol_frame, protocol_markdown, write_protocol
from fakearena.runs.protocol import data_set_name, detector_stages, public_plan

from conftest import run_cli


def _record(detector: str, own: float, other: float | None) -> dict:
    metrics = {
        "test/auc": {"value": own, "ci95": [own - 0.05, own + 0.01], "n": 10},
        "test/video_auc": {"value": own + 0.01, "n": 4},
    }
    if other is not None:
        metrics["test/celebdf_v2/auc"] = {"value": other, "ci95": [0.5, 0.7], "n": 12}
        metrics["test/celebdf_v2/video_auc"] = {"value": other, "n": 3}
    return {"detector": detector, "metrics": metrics}


def test_the_table_has_a_row_per_detector_and_both_levels_per_test_set(tmp_path: Path):
    records = {"xray": _record("xray", 0.9, 0.6), "sbi": _record("efficientnet_b4", 0.8, None)}
    columns = {"ffpp_c23": "test", "celebdf_v2": "test/celebdf_v2"}
    frame = protocol_frame(records, columns)
    assert frame["detector"].tolist() == ["xray", "sbi"]
    assert frame.loc[0, "ffpp_c23/auc"] == 0.9 and frame.loc[0, "celebdf_v2/auc_ci_low"] == 0.5
    assert frame.loc[0, "ffpp_c23/video_auc"] == pytest.approx(0.91)
    assert frame.loc[0, "mean/auc"] == pytest.approx(0.75)
    assert math.isnan(frame.loc[1, "celebdf_v2/auc"])  # not scored: shown as such
    assert frame.loc[1, "mean/auc"] == pytest.approx(0.8)
    text = protocol_markdown(frame, list(columns), "FF++ protocol")
    assert "| detector | ffpp_c23 | celebdf_v2 | mean |" in text
    assert "| xray | 0.9000 [0.850, 0.910] | 0.6000 [0.500, 0.700] | 0.7500 |" in text
    assert "| sbi (efficientnet_b4) | 0.8000 [0.750, 0.810] | - | 0.8000 |" in text
    assert "## Video-level AUC" in text
    written = write_protocol(frame, list(columns), tmp_path, "FF++ protocol")
    assert pd.read_csv(written["csv"])["detector"].tolist() == ["xray", "sbi"]
    assert written["md"].read_text() == text


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
    for column in ("blend", "dcgan", "faceswap"):
        assert table[f"{column}/auc"].between(0, 1).all()
        assert table[f"{column}/video_auc"].between(0, 1).all()
    assert "| detector | blend | dcgan | faceswap | mean |" in first.stdout
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
    for column in ("ffpp_c23", "celebdf_v2", "dfdc"):
        assert 0.0 <= table.loc[0, f"{column}/auc"] <= 1.0
        assert 0.0 <= table.loc[0, f"{column}/video_auc"] <= 1.0

"""Parameter counts: each detector's trainable parameters beside its reference backbone's,
checked against counting a real model; the leaderboard's parameter column flags a gap beyond
+-25%."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import timm
from hydra.utils import instantiate
from omegaconf import OmegaConf

from fakearena.config import compose
from fakearena.models.detectors.capacity import (
    CAPACITY_TOLERANCE,
    backbone_parameters,
    capacity_record,
)
from fakearena.report.capacity import CAPACITY_HEADER, parameter_cell
from fakearena.report.leaderboard import write_leaderboard
from fakearena.results import metric
from test_leaderboard import make_record, read_md_table


def _detector(name: str, *extra: str):
    cfg = compose("train", [f"detector={name}", "data.image_size=32", *extra])
    node = OmegaConf.to_container(cfg.detector, resolve=True)
    net = instantiate({k: v for k, v in node.items() if k != "name"})
    return net, node


def _brute_count(module) -> int:
    total = 0
    for parameter in module.parameters():
        size = 1
        for dim in parameter.shape:
            size *= dim
        total += size if parameter.requires_grad else 0
    return total


def test_reference_is_the_plain_backbone_counted_on_a_real_model():
    real = timm.create_model("test_resnet", num_classes=1, in_chans=3)
    assert backbone_parameters("test_resnet", 3) == _brute_count(real)
    assert CAPACITY_TOLERANCE == 0.25


@pytest.mark.parametrize(
    ("name", "extra", "flagged"),
    [
        ("test_resnet", [], False),
        ("f3net", ["detector.model_name=test_resnet"], False),
        ("f3net_rgb", ["detector.model_name=test_resnet"], True),  # two backbones
        ("srm", ["detector.model_name=test_resnet"], False),
        ("meso4", [], False),  # its own architecture: its own reference
    ],
)
def test_each_detector_records_its_count_and_its_reference(name, extra, flagged):
    net, node = _detector(name, *extra)
    record = capacity_record(net, node)
    assert record["trainable"] == _brute_count(net)
    reference = "meso4" if name == "meso4" else "test_resnet"
    assert record["reference"] == reference
    if name != "meso4":
        plain = timm.create_model("test_resnet", num_classes=1, in_chans=3)
        assert record["reference_trainable"] == _brute_count(plain)
    ratio = record["trainable"] / record["reference_trainable"]
    assert record["ratio"] == pytest.approx(ratio, abs=1e-4)
    assert record["beyond_tolerance"] is flagged is (abs(ratio - 1) > 0.25)


def test_leaderboard_shows_the_parameter_column_and_flags_the_gap(tmp_path: Path):
    facts = {
        "meso4": {"trainable": 12617, "reference": "meso4", "reference_trainable": 12617},
        "f3net_rgb": {
            "trainable": 763249,
            "reference": "test_resnet",
            "reference_trainable": 372785,
        },
    }
    for i, (detector, fact) in enumerate(facts.items()):
        ratio = fact["trainable"] / fact["reference_trainable"]
        run = make_record(
            tmp_path / "runs" / detector,
            seed=0,
            detector=detector,
            metrics={"test/auc": metric(0.8 + i / 10, n=200, ci95=[0.7, 0.9])},
        )
        record_path = run / "results.json"
        record = json.loads(record_path.read_text())
        record["parameters"] = {
            **fact,
            "ratio": round(ratio, 4),
            "beyond_tolerance": abs(ratio - 1) > 0.25,
            "tolerance": 0.25,
        }
        record_path.write_text(json.dumps(record))
    written = write_leaderboard([tmp_path / "runs"], tmp_path / "out")
    md = written["md"].read_text()
    table = read_md_table(md, "Detectors")
    column = table[0].index(CAPACITY_HEADER)
    cells = {row[1]: row[column] for row in table[1:]}
    assert cells == {"f3net_rgb": "0.76M (2.05x test_resnet) ⚠", "meso4": "12,617"}
    note = "f3net_rgb: 2.05x the trainable parameters of its reference backbone test_resnet"
    assert note in md
    assert parameter_cell({"detector": "dcgan"}) == "-"
    frame = pd.read_csv(written["csv"]).set_index("detector")
    assert frame.loc["f3net_rgb", "parameters"] == 763249
    assert frame.loc["f3net_rgb", "parameters_reference"] == "test_resnet"
    assert frame.loc["f3net_rgb", "parameters_ratio"] == pytest.approx(763249 / 372785, abs=1e-4)
    assert bool(frame.loc["f3net_rgb", "parameters_beyond_tolerance"])
    assert not bool(frame.loc["meso4", "parameters_beyond_tolerance"])

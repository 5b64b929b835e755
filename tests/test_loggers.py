"""csv / tensorboard / wandb loggers: a real run logs its metrics and config; images go along."""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fakearena.utils import loggers as fa_loggers
from fakearena.utils.log_images import image_array, log_image, log_table

from conftest import run_cli


def wandb_records(path: Path) -> Iterator:
    """Protobuf records of an offline `run-*.wandb` file (wandb's LevelDB-style log)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, block, pending = 7, 32768, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # block trailer too small for a header: skip it
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        payload, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind in (1, 2):  # full / first chunk
            pending = payload
        elif kind in (3, 4):  # middle / last chunk
            pending += payload
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(pending)
            yield record


def wandb_history(run_file: Path) -> tuple[list[dict], set[str]]:
    """History rows (key -> value) and top-level config keys of an offline wandb run."""
    history, config = [], set()
    for record in wandb_records(run_file):
        kind = record.WhichOneof("record_type")
        if kind == "history":
            items = record.history.item  # keys with '/' are stored split into nested_key
            history.append(
                {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in items}
            )
        elif kind == "config":
            config |= {i.key for i in record.config.update}
    return history, config


def scalars(event_dir: Path) -> dict[str, list[float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(event_dir))
    events.Reload()
    return {tag: [e.value for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_tensorboard_and_wandb_offline_log_a_real_run(tmp_path: Path, toy_manifest: Path):
    run_dir = tmp_path / "run"
    result = run_cli(
        "train",
        "data=manifest",
        f"data.manifests=[{toy_manifest}]",
        "debug=fast_dev_run",
        "logger=[csv,tensorboard,wandb]",
        f"hydra.run.dir={run_dir}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run_dir / "results.json").read_text())["metrics"]
    board = scalars(run_dir / "tensorboard")
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert board["test/auc"] == [pytest.approx(metrics["test/auc"]["value"])]
    assert max(board["val/auc"]) == pytest.approx(metrics["val/auc"]["value"])
    (run_file,) = run_dir.glob("wandb/offline-run-*/run-*.wandb")
    history, config = wandb_history(run_file)
    logged = {k: v for row in history for k, v in row.items()}
    assert logged["test/auc"] == pytest.approx(metrics["test/auc"]["value"])
    assert logged["test/acc"] == pytest.approx(metrics["test/acc"]["value"])
    assert any("train/loss" in row for row in history)
    assert {"data", "detector", "task", "trainer", "seed"} <= config  # the resolved config
    csv_metrics = pd.read_csv(run_dir / "csv" / "metrics.csv")
    assert csv_metrics["test/auc"].dropna().tolist() == [metrics["test/auc"]["value"]]


def test_log_image_and_table_reach_tensorboard_and_wandb(tmp_path: Path):
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    image = (np.random.default_rng(0).random((16, 24, 3)) * 255).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "grid.png")
    tb = TensorBoardLogger(tmp_path, name="tb", version="")
    wb = fa_loggers.wandb_logger(save_dir=str(tmp_path), project="test", offline=True)
    csv = CSVLogger(tmp_path, name="csv", version="")
    assert log_image([tb, wb, csv], "val/samples", tmp_path / "grid.png", step=3) == 2
    assert log_image(csv, "val/samples", image) == 0  # csv: the PNG on disk is the record
    table = pd.DataFrame({"name": ["a", "b"], "test/auc": [0.9, None]})
    assert log_table([tb, wb, csv], "leaderboard", table) == 2
    fa_loggers.close_loggers([tb, wb, csv])
    events = EventAccumulator(str(tmp_path / "tb"), size_guidance={"images": 0})
    events.Reload()
    (event,) = events.Images("val/samples")
    assert event.step == 3
    decoded = np.asarray(Image.open(io.BytesIO(event.encoded_image_string)))
    assert np.array_equal(decoded, image)
    (run_dir,) = tmp_path.glob("wandb/offline-run-*")
    (logged_png,) = run_dir.glob("files/media/images/val/samples_*.png")
    assert np.array_equal(np.asarray(Image.open(logged_png).convert("RGB")), image)
    (logged_table,) = run_dir.glob("files/media/table/leaderboard_*.table.json")
    assert json.loads(logged_table.read_text())["columns"] == ["name", "test/auc"]


def test_image_array_layouts():
    chw = np.zeros((3, 4, 5), np.float32)
    chw[0] = 1.0
    hwc = image_array(chw)
    assert hwc.shape == (4, 5, 3) and hwc.dtype == np.uint8
    assert hwc[..., 0].min() == 255 and hwc[..., 1:].max() == 0
    assert image_array(np.full((4, 5), 0.5)).shape == (4, 5, 1)
    with pytest.raises(Exception, match="does not exist"):
        image_array("/nonexistent/grid.png")


def test_wandb_offline_without_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    assert fa_loggers.wandb_offline() is True
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert fa_loggers.wandb_offline() is False
    assert fa_loggers.wandb_offline(True) is True  # an explicit setting wins
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert fa_loggers.wandb_offline() is True
    monkeypatch.delenv("WANDB_API_KEY")
    monkeypatch.delenv("WANDB_MODE")
    (tmp_path / ".netrc").write_text("machine api.wandb.ai\n  login user\n  password abc\n")
    (tmp_path / ".netrc").chmod(0o600)
    assert fa_loggers.wandb_offline() is False

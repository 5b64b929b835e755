"""Two CPU processes (gloo): every task trains under DDP, evaluation and generation count each
row exactly once and give the one-process result."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hydra.utils import instantiate

from fakearena.config import compose
from fakearena.data.manifest import read_manifest

from conftest import make_toy_manifest, run_cli

pytestmark = [pytest.mark.ddp, pytest.mark.slow]

GAN_SMALL = [
    "task=gan",
    "data.reference=split",  # 8 faces per person: too few to hold shots of each out
    "data.image_size=32",
    "data.batch_size=8",
    "data.synthetic.n_identities=3",
    "data.synthetic.per_identity=8",
    "task.fid_n=8",
    "task.kid_subset_size=4",
    "task.kid_subsets=2",
    "task.grid_size=4",
    "debug=fast_dev_run",
]


def _ok(proc) -> None:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_evaluate_two_processes_equals_one_on_odd_test_set(tmp_path: Path) -> None:
    csv = make_toy_manifest(tmp_path / "toy", n=45, size=16)  # rows 36..44: 9 test rows
    n_test = int((read_manifest(csv).frame["split"] == "test").sum())
    assert n_test % 2 == 1
    data = ["data=manifest", f"data.manifests=[{csv}]", "data.image_size=16"]
    train_dir = tmp_path / "train"
    _ok(run_cli("train", *data, "debug=fast_dev_run", "test=false", f"hydra.run.dir={train_dir}"))
    ckpt = train_dir / "checkpoints" / "best.ckpt"
    metrics = {}
    for devices in (1, 2):
        out = tmp_path / f"eval{devices}"
        args = [f"ckpt={ckpt}", *data, "device=cpu", f"devices={devices}", "batch_size=2"]
        _ok(run_cli("evaluate", *args, "n_bootstrap=50", f"hydra.run.dir={out}"))
        metrics[devices] = json.loads((out / "metrics.json").read_text())
        frame = pd.read_csv(out / "predictions.csv")
        assert len(frame) == n_test and frame["path"].is_unique  # no padded duplicate counted
    for key in ("auc", "ap", "eer", "acc", "video_auc", "n", "n_videos"):
        assert metrics[2][key] == pytest.approx(metrics[1][key], abs=1e-9), key
    assert metrics[2]["auc_ci95"] == pytest.approx(metrics[1]["auc_ci95"], abs=1e-9)
    assert metrics[1]["n"] == n_test


def test_gan_epoch_under_ddp_then_sharded_generation(tmp_path: Path) -> None:
    run = tmp_path / "gan"
    _ok(
        run_cli(
            "train", *GAN_SMALL, "trainer=ddp", "trainer.accelerator=cpu", f"hydra.run.dir={run}"
        )
    )
    results = json.loads((run / "results.json").read_text())
    assert results["metrics"]["val/fid"]["value"] > 0
    ckpt = run / "checkpoints" / "best.ckpt"
    hashes = {}
    for devices in (1, 2):
        out = tmp_path / f"fakes{devices}"
        _ok(
            run_cli(
                "generate",
                f"ckpt={ckpt}",
                "n=7",
                f"out={out}",
                "batch_size=2",
                f"devices={devices}",
                f"hydra.run.dir={tmp_path / f'gen{devices}'}",
            )
        )
        frame = read_manifest(next(out.glob("*.csv")), check_files=True).frame
        assert len(frame) == 7 and frame["path"].is_unique
        assert sorted(p.name for p in (out / "images").iterdir()) == sorted(
            Path(p).name for p in frame["path"]
        )  # no stray or missing image
        hashes[devices] = frame.set_index("path")["sha256"].to_dict()
    # image i is seeded by i: the set does not depend on how many processes made it
    assert hashes[2] == hashes[1]


def test_faceswap_epoch_under_ddp_then_sharded_generation(tmp_path: Path) -> None:
    run = tmp_path / "fs"
    args = ["task=faceswap", "trainer=ddp", "trainer.accelerator=cpu", "debug=fast_dev_run"]
    args += ["data.image_size=32", "data.batch_size=4", "data.synthetic.n_identities=3"]
    args += ["data.synthetic.per_identity=12", f"hydra.run.dir={run}"]
    _ok(run_cli("train", *args))
    metrics = json.loads((run / "results.json").read_text())["metrics"]
    assert 0 < metrics["test/mse"]["value"] < 1
    assert (run / "checkpoints" / "best.ckpt").is_file()
    data = ["data=synthetic", "data.synthetic.n_identities=3", "data.synthetic.per_identity=12"]
    data += ["data.image_size=32", "split=all", "batch_size=5"]
    frames = {}
    for devices in (1, 2):
        out = tmp_path / f"swaps{devices}"
        ckpt = f"ckpt={run / 'checkpoints' / 'best.ckpt'}"
        gen_dir = f"hydra.run.dir={tmp_path / f'gen{devices}'}"
        _ok(run_cli("generate", ckpt, *data, f"out={out}", f"devices={devices}", gen_dir))
        frame = read_manifest(next(out.glob("*.csv")), check_files=True).frame
        assert frame["path"].is_unique and frame["source_path"].is_unique
        frames[devices] = frame[["path", "source_path", "sha256"]]
    source = instantiate(compose("generate", data[:4]).data).manifest.frame
    people = sorted(source.loc[source["label"] == 0, "identity"].unique())[:2]  # the trained 2
    expected = source[(source["label"] == 0) & source["identity"].isin(people)]
    assert set(frames[1]["source_path"]) == set(expected["path"])  # each real face swapped once
    pd.testing.assert_frame_equal(frames[2], frames[1])  # same rows, same order, same bytes


def test_faceswap_identity_terms_under_ddp_count_each_validation_face_once(tmp_path: Path):
    run = tmp_path / "fs"
    args = ["task=faceswap", "trainer=ddp", "trainer.accelerator=cpu", "debug=fast_dev_run"]
    args += ["data.image_size=32", "data.batch_size=4", "data.synthetic.n_identities=3"]
    args += ["data.synthetic.per_identity=12", f"hydra.run.dir={run}"]
    args += ["task.latent_adversary_weight=0.1", "task.swap_identity_weight=0.01"]
    _ok(run_cli("train", *args))
    metrics = json.loads((run / "results.json").read_text())["metrics"]
    # the shards' rows gathered once: as many as the reconstruction metrics counted
    for key in ("val/latent_id_top1", "val/id_classifier_top1", "val/swap_id_top1"):
        assert metrics[key]["n"] == metrics["val/psnr"]["n"] > 0, key
        assert 0.0 <= metrics[key]["value"] <= 1.0, key

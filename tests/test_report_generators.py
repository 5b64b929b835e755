"""The generator tables of an arena report: one row per generator (a face swap's training
run and its fake set are one), a headline table of a few columns, the rest in the details."""

from __future__ import annotations

import json
from pathlib import Path

from fakearena.report.leaderboard import write_leaderboard
from fakearena.results import metric
from test_leaderboard import make_record, read_md_table


def arena_like(root: Path) -> None:
    """The records the default arena writes: dcgan and faceswap runs, the face swap's and the
    blends' fake set records, and two detectors tested on each generator's test set."""
    make_record(
        root / "generators" / "dcgan",
        seed=0,
        detector=None,
        generator="dcgan",
        metrics={
            "test/fid": metric(80.0, n=500),
            "test/fid_floor": metric(20.0, n=500),
            "test/kid_mean": metric(0.05, n=500),
            "test/precision": metric(0.4, n=500),
        },
    )
    make_record(
        root / "generators" / "faceswap",
        seed=0,
        detector=None,
        generator="faceswap",
        metrics={"val/mse": metric(0.01, n=48), "test/truth_psnr": metric(21.5, n=48)},
    )
    for name, source, psnr in (("faceswap", "faceswap/faceswap_ae", 22.3), ("blend", None, 30)):
        run = make_record(
            root / "fakes" / name,
            seed=0,
            detector=None,
            generator=source or "blend/synthetic",
            metrics={
                "fakes/truth_psnr": metric(psnr, n=120),
                "fakes/truth_gain_db": metric(1.25, n=120),
                "fakes/closer_to_truth": metric(0.85, n=120),
            },
        )
        record = json.loads((run / "results.json").read_text())
        record.update(task="fakeset", seed=None, test_set=name)
        (run / "results.json").write_text(json.dumps(record))
    for detector, best in (("meso4", 0.7), ("resnet", 0.95)):
        make_record(
            root / "detectors" / detector,
            seed=0,
            detector=detector,
            metrics={
                "test/auc": metric(0.9, n=100),
                **{f"test/{s}/auc": metric(best - i / 10, n=100) for i, s in enumerate(
                    ["dcgan", "faceswap", "blend"]
                )},
            },
        )  # fmt: skip


def test_one_row_per_generator_and_a_headline_a_reader_takes_in_at_a_glance(tmp_path: Path):
    arena_like(tmp_path / "runs")
    written = write_leaderboard([tmp_path / "runs"], tmp_path / "out")
    md = written["md"].read_text()
    headline = read_md_table(md, "Generators")
    header, rows = headline[0], {row[1]: dict(zip(headline[0], row)) for row in headline[1:]}
    assert len(header) <= 6 and sorted(rows) == ["blend/synthetic", "dcgan", "faceswap"]
    assert rows["dcgan"]["quality"] == "FID 80.000 (floor 20.000); KID 0.050"
    assert rows["dcgan"]["N"] == "500"
    # the face swap's row joins its fake set's truth metrics (what the detectors saw)
    assert rows["faceswap"]["quality"] == (
        "PSNR to the true swap 22.300 dB (gain over the unswapped source +1.250 dB)"
    )
    assert rows["faceswap"]["evasion: best AUC (detector)"] == "0.850 (resnet)"
    details = read_md_table(md, "Generator details")
    by_name = {row[1]: dict(zip(details[0], row)) for row in details[1:]}
    assert sorted(by_name) == sorted(rows)  # one row per generator there too
    swap = by_name["faceswap"]
    assert swap["test/truth_psnr"] == "21.500" and swap["fakes/truth_psnr"] == "22.300"
    assert swap["AUC meso4"] == "0.600" and swap["seeds (runs)"].startswith("[0]")
    assert "[record]" in swap["seeds (runs)"]  # both records linked


def test_an_evasion_score_on_a_small_set_is_marked(tmp_path: Path):
    make_record(
        tmp_path / "g", seed=0, detector=None, generator="dcgan", metrics={"test/fid": metric(9.0)}
    )
    auc = metric(0.8, n=200, n_videos=20, n_videos_real=10, n_videos_fake=10)
    make_record(tmp_path / "d", seed=0, metrics={"test/auc": auc, "test/dcgan/auc": auc})
    md = write_leaderboard([tmp_path], tmp_path / "out")["md"].read_text()
    row = dict(zip(*read_md_table(md, "Generators")[:2]))
    assert row["evasion: best AUC (detector)"] == "0.800 ⚠ (meso4)"  # 20 videos < 30


def test_the_face_swap_papers_metrics_are_generator_columns_with_their_embedding(tmp_path: Path):
    """A face swap of real faces: its run's held-out ID, pose and expression metrics (dlib)
    beside its evasion; yaw/pitch/roll stay in the CSV."""
    about = {"embedding": "dlib_face_recognition_resnet_model_v1", "gallery_identities": 2}
    make_record(
        tmp_path / "generators" / "faceswap",
        seed=0,
        detector=None,
        generator="faceswap",
        metrics={
            "val/mse": metric(0.01, n=48),
            "test/id_top1": metric(0.865, n=48, chance=0.5, **about),
            "test/id_top5": metric(1.0, n=48, k=2, **about),
            "test/id_similarity": metric(0.919, n=48, **about),
            "test/id_similarity_target": metric(0.889, n=48, **about),
            "test/pose_error": metric(33.6, n=48, unit="deg"),
            "test/yaw_error": metric(20.0, n=48, unit="deg"),
            "test/expression_error": metric(0.049, n=48),
        },
    )
    make_record(
        tmp_path / "detectors" / "meso4",
        seed=0,
        detector="meso4",
        metrics={"test/auc": metric(0.9, n=100), "test/faceswap/auc": metric(0.7, n=100)},
    )
    written = write_leaderboard([tmp_path], tmp_path / "out")
    md = written["md"].read_text()
    details = read_md_table(md, "Generator details")
    header = details[0]
    row = dict(zip(header, details[1]))
    shown = [h for h in header if h.startswith("test/")]
    assert shown == [
        "test/id_top1",
        "test/id_top5",
        "test/id_similarity",
        "test/id_similarity_target",
        "test/pose_error",
        "test/expression_error",
    ]
    assert row["test/id_top1"] == "0.865" and row["test/pose_error"] == "33.600"
    assert row["ID embedding"] == "dlib ResNet"
    assert row["evasion: best AUC (detector)"] == "0.700 (meso4)"
    assert "the network that embedded them" in md
    assert "test/yaw_error" in written["csv"].read_text().splitlines()[0]

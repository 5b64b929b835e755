"""The leaderboard on handmade result records: folding, missing cells, sorting, plots, CLI."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fakearena.errors import ConfigError, DataError, FakearenaError
from fakearena.report.cli import main as leaderboard_main
from fakearena.report.leaderboard import write_leaderboard
from fakearena.results import SCHEMA_VERSION, metric, write_results


def make_record(
    run_dir: Path,
    *,
    seed: int,
    metrics: dict[str, Any],
    detector: str | None = "meso4",
    generator: str | None = None,
    train: str = "ffpp",
    lr: float = 1e-3,
    artifacts: dict[str, Any] | None = None,
) -> Path:
    """Write a results.json like `fakearena train` does, with chosen metrics."""
    record = {
        "schema_version": SCHEMA_VERSION,
        "task": "detect" if detector else "gan",
        "generator": generator,
        "detector": detector,
        "train_data": [{"name": train, "sha256": f"sha-{train}", "rows": 100}],
        "test_data": [{"name": train, "sha256": f"sha-{train}", "split": "test"}],
        "metrics": metrics,
        "seed": seed,
        "artifacts": {"run_dir": str(run_dir), **(artifacts or {})},
        "environment": {"packages": {"torch": "2.14.1"}, "git_commit": "abcdef0123456789"},
        "config": {
            "seed": seed,
            "paths": {"output_dir": str(run_dir)},
            "data": {"synthetic": {"seed": seed}, "manifests": [f"/data/{train}.csv"]},
            "task": {"optimizer": {"lr": lr}},
        },
    }
    write_results(run_dir, record)
    return run_dir


def read_md_table(text: str, title: str) -> list[list[str]]:
    """The rows (header first) of the markdown table under `## title`."""
    lines = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0].splitlines()
    rows = [line for line in lines if line.startswith("|") and not line.startswith("|---")]
    return [[c.strip() for c in row.strip("|").split(" | ")] for row in rows]


@pytest.fixture()
def board(tmp_path: Path) -> dict[str, Any]:
    """Three seeds of meso4@ffpp, one meso4@ffpp with another lr, one meso4@celebdf."""
    aucs = [0.81, 0.85, 0.90]
    cross = [0.61, 0.66, 0.58]
    for seed, (auc, other) in enumerate(zip(aucs, cross)):
        make_record(
            tmp_path / "runs" / f"a{seed}",
            seed=seed,
            metrics={
                "val/auc": metric(auc + 0.05),
                "test/auc": metric(auc, n=200, ci95=[auc - 0.04, auc + 0.03]),
                "test/eer": metric(1 - auc, n=200),
                "test/celebdf/auc": metric(other, n=300),
            },
        )
    make_record(
        tmp_path / "runs" / "b0",
        seed=0,
        lr=1e-2,
        metrics={"test/auc": metric(0.95, n=200, ci95=[0.93, 0.97]), "test/eer": metric(0.02)},
    )
    make_record(
        tmp_path / "runs" / "c0",
        seed=0,
        train="celebdf",
        metrics={"test/auc": metric(0.7, n=300), "test/eer": metric(0.3)},
    )
    return {"root": tmp_path / "runs", "aucs": aucs, "cross": cross, "out": tmp_path / "out"}


def test_seeds_fold_into_mean_std_matching_numpy(board):
    written = write_leaderboard([board["root"]], board["out"])
    table = pd.read_csv(written["csv"]).set_index("name")
    assert len(table) == 3  # 3 seeds folded into one row, plus 2 single-seed configurations
    folded = table.loc["meso4 task.optimizer.lr=0.001"]
    aucs = np.array(board["aucs"])
    assert folded["test/auc"] == pytest.approx(aucs.mean(), abs=1e-12)
    assert folded["test/auc:std"] == pytest.approx(aucs.std(ddof=1), abs=1e-12)
    assert folded["test/auc:seeds"] == 3
    assert folded["seeds"] == "0 1 2"
    assert folded["test/celebdf/auc"] == pytest.approx(np.mean(board["cross"]), abs=1e-12)
    assert np.isnan(folded["test/auc:ci95_low"])  # per-seed CIs are not folded
    single = table.loc["meso4 task.optimizer.lr=0.01"]
    assert (single["test/auc:ci95_low"], single["test/auc:ci95_high"]) == (0.93, 0.97)
    assert single["test/auc:seeds"] == 1
    md = written["md"].read_text()
    expected = f"{aucs.mean():.3f} ± {aucs.std(ddof=1):.3f}"
    rows = read_md_table(md, "Detectors")
    assert any(expected in row for row in rows), rows
    assert any("0.950 [0.930, 0.970]" in row for row in rows)


def test_rows_ranked_by_chosen_metric(board):
    by_auc = pd.read_csv(write_leaderboard([board["root"]], board["out"])["csv"])
    assert list(by_auc["test/auc"]) == sorted(by_auc["test/auc"], reverse=True)
    by_eer = pd.read_csv(write_leaderboard([board["root"]], board["out"], "test/eer")["csv"])
    assert list(by_eer["test/eer"]) == sorted(by_eer["test/eer"])  # EER: lower ranks first
    assert list(by_eer["rank"]) == [1, 2, 3]


def test_missing_cells_are_dashes_and_matrix_crosses_datasets(board):
    written = write_leaderboard([board["root"]], board["out"])
    md = written["md"].read_text()
    matrix = read_md_table(md, "Cross-dataset AUC: meso4 (train set × test set)")
    header, rows = matrix[0], {row[0]: row[1:] for row in matrix[1:]}
    assert header == ["train \\ test", "ffpp", "celebdf"]
    assert rows["celebdf"] == ["-", "0.700"]  # trained on celebdf, never tested on ffpp
    detectors = read_md_table(md, "Detectors")
    ap_column = detectors[0].index("AP")
    assert all(row[ap_column] == "-" for row in detectors[1:])  # no record has test/ap
    html = written["html"].read_text()
    assert '<td class="missing">-</td>' in html


def test_heatmap_and_roc_from_predictions(tmp_path: Path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    probs = np.clip(labels * 0.3 + rng.random(400) * 0.7, 0, 1)
    run = tmp_path / "run"
    run.mkdir()
    pd.DataFrame({"prob": probs, "label": labels}).to_csv(run / "pred.csv", index=False)
    make_record(
        run,
        seed=0,
        metrics={"test/auc": metric(0.8, n=400), "test/gan_fakes/auc": metric(0.6, n=50)},
        artifacts={"predictions": "pred.csv"},
    )
    moved = tmp_path / "moved"
    shutil.copytree(run, moved)  # absolute artifact paths are re-rooted at the moved folder
    shutil.rmtree(run)
    written = write_leaderboard([moved], tmp_path / "out")
    assert set(written) >= {"md", "csv", "runs_csv", "html", "auc_heatmap", "roc_ffpp"}
    with Image.open(written["auc_heatmap"]) as heatmap:
        assert heatmap.size[0] > 300
    html = written["html"].read_text()
    embedded = base64.b64encode(written["roc_ffpp"].read_bytes()).decode()
    assert embedded in html  # self-contained: the PNG is inside the page


def test_generator_table_and_gallery(tmp_path: Path):
    grid = tmp_path / "g0" / "samples.png"
    grid.parent.mkdir()
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(grid)
    for seed, fid in enumerate([40.0, 44.0]):
        make_record(
            tmp_path / f"g{seed}",
            seed=seed,
            detector=None,
            generator="dcgan",
            metrics={"val/fid": metric(fid, n=256), "val/kid_mean": metric(0.01 * (seed + 1))},
            artifacts={"sample_grid": "samples.png"} if seed == 0 else {},
        )
    written = write_leaderboard([tmp_path], tmp_path / "out")
    rows = read_md_table(written["md"].read_text(), "Generator details")
    header, row = rows[0], rows[1]
    assert row[header.index("val/fid")] == f"42.000 ± {np.std([40.0, 44.0], ddof=1):.3f}"
    assert row[header.index("N (FID)")] == "256"
    assert "auc_heatmap" not in written
    assert (tmp_path / "out" / "images" / "dcgan_sample_grid.png").is_file()
    assert "dcgan: sample_grid" in written["html"].read_text()


def test_generator_table_shows_quality_floors_and_evasion_ranked_by_it(tmp_path: Path):
    """Each generator's row: its quality (floor beside FID), every detector's AUC on the
    test set named like it, and the best of them; `generator_sort_by=evasion` ranks by it."""
    gan = {
        "val/fid": metric(90.0, n=500),  # shown only where a run has no test metrics
        "test/fid": metric(80.0, n=500),
        "test/fid_floor": metric(20.0, n=500),
        "test/precision": metric(0.4, n=500, k=3),
        "test/recall": metric(0.25, n=500, k=3),
    }
    swap = {"test/truth_psnr": metric(21.5, n=40), "test/closer_to_truth": metric(0.85, n=40)}
    make_record(tmp_path / "g" / "gan", seed=0, detector=None, generator="dcgan", metrics=gan)
    make_record(tmp_path / "g" / "fs", seed=0, detector=None, generator="faceswap", metrics=swap)
    aucs = {"meso4": {"dcgan": 0.95, "faceswap": 0.70}, "resnet": {"dcgan": 0.99, "faceswap": 0.6}}
    for detector, by_set in aucs.items():
        make_record(
            tmp_path / "d" / detector,
            seed=0,
            detector=detector,
            metrics={
                "test/auc": metric(0.9, n=100),
                **{f"test/{name}/auc": metric(v, n=100) for name, v in by_set.items()},
            },
        )
    written = write_leaderboard([tmp_path], tmp_path / "out", generator_sort_by="evasion")
    rows = read_md_table(written["md"].read_text(), "Generator details")
    header, first, second = rows[0], rows[1], rows[2]
    assert [first[1], second[1]] == ["faceswap", "dcgan"]  # best AUC 0.70 < 0.99: evades more
    assert first[header.index("evasion: best AUC (detector)")] == "0.700 (meso4)"
    assert second[header.index("evasion: best AUC (detector)")] == "0.990 (resnet)"
    assert second[header.index("AUC meso4")] == "0.950"
    assert second[header.index("test/fid")] == "80.000 (floor 20.000)"
    assert "val/fid" not in header and "test/fid_floor" not in header
    assert second[header.index("test/recall")] == "0.250"
    assert first[header.index("test/truth_psnr")] == "21.500"
    assert first[header.index("test/fid")] == "-"
    by_fid = read_md_table(
        write_leaderboard([tmp_path], tmp_path / "fid", generator_sort_by="test/fid")[
            "md"
        ].read_text(),
        "Generator details",
    )
    assert by_fid[1][1] == "dcgan"  # has the metric: ranked first


def test_runs_csv_has_one_row_per_record(board):
    written = write_leaderboard([board["root"]], board["out"])
    runs = pd.read_csv(written["runs_csv"])
    assert len(runs) == 5
    seeds_a = runs[runs["name"] == "meso4 task.optimizer.lr=0.001"].sort_values("seed")
    assert list(seeds_a["test/auc"]) == board["aucs"]


def test_records_as_dicts_and_errors(tmp_path: Path, board):
    from fakearena.results import read_results

    records = [read_results(p) for p in sorted(board["root"].rglob("results.json"))]
    written = write_leaderboard(records, tmp_path / "from_dicts")
    assert len(pd.read_csv(written["csv"])) == 3
    (tmp_path / "empty").mkdir()
    with pytest.raises(FakearenaError, match=r"no results\.json under"):
        write_leaderboard([tmp_path / "empty"], tmp_path / "x")
    with pytest.raises(FakearenaError, match="does not exist"):
        write_leaderboard([tmp_path / "nope"], tmp_path / "x")
    bad = tmp_path / "bad"
    bad.mkdir()
    pd.DataFrame({"score": [0.1]}).to_csv(bad / "p.csv", index=False)
    make_record(bad, seed=0, metrics={"test/auc": metric(0.5)}, artifacts={"predictions": "p.csv"})
    with pytest.raises(DataError, match="lacks column"):
        write_leaderboard([bad], tmp_path / "x")


def test_cli(board, capsys):
    out = board["out"]
    assert leaderboard_main([str(board["root"]), f"out={out}", "sort=test/eer"]) == 0
    assert str(out / "leaderboard.html") in capsys.readouterr().out
    assert "ranked by test/eer" in (out / "leaderboard.md").read_text()
    with pytest.raises(ConfigError, match="needs out="):
        leaderboard_main([str(board["root"])])
    with pytest.raises(ConfigError, match=r"has no argument 'srot'; did you mean sort\?"):
        leaderboard_main([str(board["root"]), f"out={out}", "srot=x"])


def test_fake_set_records_show_their_truth_metrics_in_the_generator_table(tmp_path: Path):
    make_record(
        tmp_path / "runs" / "swap",
        seed=0,
        detector=None,
        generator="faceswap_ae",
        metrics={"val/mse": metric(0.01, n=12), "test/truth_psnr": metric(21.5, n=12)},
    )
    fakes = make_record(
        tmp_path / "runs" / "fakes",
        seed=0,
        detector=None,
        generator="faceswap/faceswap_ae",
        metrics={
            "fakes/truth_psnr": metric(22.3, n=120),
            "fakes/closer_to_truth": metric(0.85, n=120),
            "fakes/test/truth_psnr": metric(22.0, n=24),  # per split: the CSV only
            "fakes/source_psnr": metric(23.0, n=120),  # context of the gain: the CSV only
        },
    )
    record = json.loads((fakes / "results.json").read_text())
    record.update(task="fakeset", seed=None, test_set="swaps")  # the arena names its test set
    (fakes / "results.json").write_text(json.dumps(record))
    make_record(
        tmp_path / "runs" / "detector",
        seed=0,
        detector="meso4",
        metrics={"test/auc": metric(0.9, n=100), "test/swaps/auc": metric(0.8, n=100)},
    )
    written = write_leaderboard([tmp_path / "runs"], tmp_path / "report")
    table = read_md_table(Path(written["md"]).read_text(), "Generator details")
    header = table[0]
    assert "fakes/truth_psnr" in header and "fakes/closer_to_truth" in header
    assert "fakes/test/truth_psnr" not in header and "fakes/source_psnr" not in header
    assert "fakes/source_psnr" in pd.read_csv(written["csv"]).columns
    rows = {row[1]: dict(zip(header, row)) for row in table[1:]}
    assert rows["faceswap/faceswap_ae"]["fakes/truth_psnr"].startswith("22.3")
    assert rows["faceswap_ae"]["test/truth_psnr"].startswith("21.5")
    # the fake set joins its detectors' AUCs through the test set it names
    assert rows["faceswap/faceswap_ae"]["evasion: best AUC (detector)"] == "0.800 (meso4)"
    assert rows["faceswap/faceswap_ae"]["seeds (runs)"].startswith("[record]")

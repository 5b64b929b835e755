"""Small data marked in every picture: the AUC heatmap's diverging colours, N and flags in
its cells, per-source slices kept out of its columns; N and warnings on ROC figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from fakearena.report.fold import Folded
from fakearena.report.heatmap import heatmap_cell_text, heatmap_figure
from fakearena.report.plots import RocNote, plot_roc, roc_note
from fakearena.report.units import Units, entry_flags, entry_units, grouped_warnings


def _cell_colours(figure) -> np.ndarray:
    image = figure.axes[0].images[0]
    return image.to_rgba(image.get_array())  # (rows, columns, 4) exactly as painted


def test_an_auc_of_004_is_as_far_from_chance_as_096_on_the_other_side_of_the_scale():
    small = Units(6, "videos", 3, 3)
    values = [
        [
            Folded(0.04, None, 1, units=small, flags=("small_n",)),
            Folded(0.5, None, 1),
            Folded(0.96, None, 1),
        ]
    ]
    figure = heatmap_figure(["meso4"], ["dfdc", "celebdf_v2", "ffpp_c23"], values)
    low, chance, high = _cell_colours(figure)[0, :, :3]
    cmap = figure.axes[0].images[0].get_cmap()
    assert np.allclose(chance, cmap(0.5)[:3], atol=0.01)  # chance is the centre colour
    assert np.allclose(low, cmap(0.04)[:3], atol=0.01)  # not clipped to chance's colour
    assert np.linalg.norm(low - chance) > 0.5 and np.linalg.norm(high - chance) > 0.5
    assert low[0] > low[2] and high[2] > high[0]  # red side below chance, blue side above
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert texts[0] == "0.040\nN=6 videos\n⚠ small N" and texts[1] == "0.500"
    hatched = [p for p in figure.axes[0].patches if p.get_hatch()]
    assert [tuple(p.get_xy()) for p in hatched] == [(-0.5, -0.5)]  # only the small-N cell
    import matplotlib.pyplot as plt

    plt.close(figure)


def test_heatmap_cells_show_n_without_units_and_the_seed_spread():
    assert heatmap_cell_text(Folded(0.9, 0.01, 3, n=200)) == "0.900 ±0.010\nN=200"
    assert heatmap_cell_text(None) == "-"


def test_old_and_new_entries_give_their_units_and_small_sets_are_flagged():
    old = {"value": 0.7, "n": 60, "n_videos": 6, "n_videos_real": 3, "n_videos_fake": 3}
    assert entry_units(old) == Units(6, "videos", 3, 3) and entry_flags(old) == ("small_n",)
    new = {"value": 0.7, "n_units": 45, "ci_unit": "identity", "n_units_real": 20}
    new["n_units_fake"], new["flags"] = 25, ["collapsed"]
    assert entry_units(new).text() == "45 identities (20 real, 25 fake)"
    assert entry_flags(new) == ("collapsed",)  # 45 units, 20+ a class: not small
    frames = {"value": 0.7, "n": 4000, "n_neg": 2000, "n_pos": 2000}
    assert entry_units(frames).short() == "N=4000 samples" and entry_flags(frames) == ()


def test_one_warning_per_kind_with_a_count():
    lines = grouped_warnings(
        [(f"d{i} on dfdc", f"only {i + 2} videos (1 real, {i + 1} fake)") for i in range(8)]
        + [("d0 on x", "scores collapsed")]
    )
    assert lines == [
        "8 cells: only 2 videos (1 real, 1 fake) (e.g. d0 on dfdc); also: "
        + ", ".join(f"d{i} on dfdc" for i in range(1, 8)),
        "d0 on x: scores collapsed",
    ]


def test_roc_figures_carry_n_flags_and_warnings(tmp_path: Path):
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 20)
    good = np.clip(labels * 0.6 + rng.uniform(0, 0.4, 40), 0, 1)
    collapsed = 0.4927 + rng.uniform(0, 4e-4, 40)  # all within 1e-3: an AUC of noise
    entry = {
        "value": 0.9,
        "n": 40,
        "n_videos": 4,
        "n_videos_real": 2,
        "n_videos_fake": 2,
        "warning": "only 4 videos (2 real, 2 fake), fewer than 30 videos",
    }
    import matplotlib.pyplot as plt

    seen = {}
    real_close = plt.close

    def keep(fig):  # read the legend before the figure is closed
        seen["legend"] = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        seen["footer"] = [t.get_text() for t in fig.texts]
        real_close(fig)

    plt.close = keep
    try:
        path = plot_roc(
            {"meso4": (good, labels), "flat": (collapsed, labels)},
            tmp_path / "roc.png",
            notes={"meso4": roc_note(entry)},
        )
    finally:
        plt.close = real_close
    assert seen["legend"][0].startswith("meso4 (AUC ") and "N=4 videos, ⚠ small N)" in seen[
        "legend"
    ][0]
    assert seen["legend"][1].endswith("N=40 samples, ⚠ collapsed scores)")
    footer = seen["footer"][0]
    assert "meso4: only 4 videos (2 real, 2 fake)" in footer and "flat: scores collapsed" in footer
    assert Image.open(path).size[1] > 4.2 * 110  # grew to hold the warnings
    assert RocNote().units is None


def test_per_source_slices_are_not_heatmap_columns(tmp_path: Path):
    from fakearena.report.leaderboard import write_leaderboard
    from fakearena.results import metric
    from test_leaderboard import make_record

    make_record(
        tmp_path / "r",
        seed=0,
        metrics={
            "test/auc": metric(0.9, n=100),
            "test/dfdc/auc": metric(0.04, n=60),
            "test/dfdc/source=a/auc": metric(0.1, n=30),
            "test/dfdc/source=b/auc": metric(0.2, n=30),
        },
    )
    from fakearena.report.cross_dataset import auc_matrix
    from fakearena.report.fold import fold_all
    from fakearena.report.records import collect_records, group_configurations

    confs = group_configurations(collect_records([tmp_path / "r"]))
    _, columns, _ = auc_matrix(confs, {c.key: fold_all(c) for c in confs})
    assert columns == ["ffpp", "dfdc"]
    md = write_leaderboard([tmp_path / "r"], tmp_path / "out")["md"].read_text()
    assert "dfdc/source=a" in md and "dfdc/source=b" in md  # rows of the detector table


def test_the_detector_table_marks_flags_gives_n_in_units_and_record_warnings(tmp_path: Path):
    from fakearena.report.leaderboard import write_leaderboard
    from fakearena.results import metric
    from test_leaderboard import make_record, read_md_table

    entry = metric(0.93, n=1400, n_units=140, ci_unit="video", n_units_real=70)
    entry.update(n_units_fake=70, flags=["collapsed"])
    run = make_record(tmp_path / "r", seed=0, metrics={"test/auc": entry})
    record = json.loads((run / "results.json").read_text())
    record["warnings"] = ["val split: 2 videos, checkpoint chosen on noise", "x"]
    (run / "results.json").write_text(json.dumps(record))
    md = write_leaderboard([run], tmp_path / "out")["md"].read_text()
    table = read_md_table(md, "Detectors")
    row = dict(zip(table[0], table[1]))
    assert row["AUC [95% CI]"] == "0.930 ⚠" and row["N"] == "1400 (140 videos)"
    note = md.split("## Detectors\n", 1)[1].split("\n|", 1)[0]
    assert "meso4 on ffpp: flagged collapsed" in note
    assert "meso4: val split: 2 videos, checkpoint chosen on noise" in note
    csv = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    assert csv.loc[0, "test/auc:units"] == "140 videos (70 real, 70 fake)"
    assert csv.loc[0, "test/auc:flags"] == "collapsed"


def test_evaluate_roc_figure_gets_the_sets_n_and_warning(tmp_path: Path, monkeypatch):
    from fakearena.metrics.detection import detection_metrics
    from fakearena.runs import scoring

    rng = np.random.default_rng(0)
    labels, probs = np.repeat([0, 1], 20), rng.uniform(size=40)
    videos = [f"v{i // 10}" for i in range(40)]
    result = detection_metrics(probs, labels, video_ids=videos, n_bootstrap=20)
    frame = pd.DataFrame({"video_id": videos, "label": labels, "prob": probs})
    seen = {}
    monkeypatch.setattr(scoring, "plot_roc", lambda *args: seen.update(notes=args[3]))
    scoring.write_evaluation(tmp_path, frame, result, "t")
    note = seen["notes"]["detector"]
    assert note.units == Units(4, "videos", 2, 2) and note.flags == ("small_n",)
    assert note.warnings[0].startswith("only 4 videos (2 real, 2 fake)")

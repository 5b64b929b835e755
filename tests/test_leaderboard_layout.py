"""A leaderboard mixing `train` and `evaluate` runs: names that say what differs, an
evaluations table, heatmap labels that fit, and an HTML page usable at 1400 and 900 px.

The layout rules are checked in the HTML/CSS itself; the browser check runs only where
Chromium is installed (CI has none unless `.ci/run` installs it).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from fakearena.report.fold import Folded
from fakearena.report.heatmap import heatmap_figure
from fakearena.report.leaderboard import write_leaderboard
from fakearena.report.records import collect_records, group_configurations
from fakearena.results import SCHEMA_VERSION, metric, write_results

CALLBACKS = {
    "model_checkpoint": {"_target_": "lightning.pytorch.callbacks.ModelCheckpoint"},
    "last_checkpoint": {
        "_target_": "lightning.pytorch.callbacks.ModelCheckpoint",
        "enable_version_counter": False,
    },
}


def train_record(run: Path, *, seed: int, size: int, detector: str = "meso4", auc: float = 0.9):
    """What `fakearena train detector=... data=ffpp_c23 data.image_size=...` records."""
    overrides = [f"detector={detector}", "data=ffpp_c23", f"seed={seed}"]
    if size != 256:
        overrides.append(f"data.image_size={size}")
    record = {
        "schema_version": SCHEMA_VERSION,
        "task": "detect",
        "detector": detector,
        "generator": None,
        "train_data": [{"name": "ffpp_c23", "sha256": "f" * 64, "path": "/d/ffpp_c23.csv"}],
        "test_data": [{"name": "ffpp_c23", "sha256": "f" * 64, "split": "test"}],
        "metrics": {
            "val/auc": metric(auc + 0.02),
            "test/auc": metric(auc, n=1400, ci95=[auc - 0.03, auc + 0.02], ci_unit="video"),
            "test/video_auc": metric(auc + 0.01, n=140),
        },
        "seed": seed,
        "artifacts": {
            "run_dir": str(run),
            "checkpoints": {"best": str(run / "checkpoints" / "best.ckpt")},
        },
        "environment": {"packages": {"torch": "2.14.1"}, "git_commit": "abcdef0123456789"},
        "invocation": {
            "command": "train",
            "overrides": overrides,
            "choices": {"detector": detector, "data": "ffpp_c23", "callbacks": "default"},
        },
        "config": {
            "seed": seed,
            "callbacks": {
                **CALLBACKS,
                "model_checkpoint": {**CALLBACKS["model_checkpoint"], "dirpath": str(run)},
            },
            "data": {"image_size": size, "batch_size": 32, "manifests": ["/d/ffpp_c23.csv"]},
            "trainer": {"max_epochs": 20, "enable_progress_bar": True},
            "task": {"optimizer": {"lr": 1e-3}},
        },
    }
    write_results(run, record)
    return run


def evaluate_record(run: Path, *, checkpoint_run: Path, test_set: str, auc: float, videos=140):
    """What `fakearena evaluate ckpt=<train run> data=<test_set>` records."""
    warning = None if videos >= 30 else f"only {videos} videos (1 real, 1 fake), fewer than 30"
    entry = metric(auc, n=videos * 10, ci95=None if warning else [auc - 0.05, auc + 0.04])
    if warning:
        entry["warning"] = warning
    record = {
        "schema_version": SCHEMA_VERSION,
        "task": "detect",
        "detector": "meso4",
        "generator": None,
        "train_data": [{"name": "ffpp_c23", "sha256": "f" * 64, "path": "/d/ffpp_c23.csv"}],
        "test_data": [{"name": test_set, "sha256": test_set * 4, "split": "test"}],
        "metrics": {f"test/{test_set}/auc": entry},
        "seed": 0,
        "split": "test",
        "artifacts": {
            "run_dir": str(run),
            "checkpoint": str(checkpoint_run / "checkpoints" / "best.ckpt"),
        },
        "environment": {"packages": {"torch": "2.14.1"}, "git_commit": "abcdef0123456789"},
        "invocation": {
            "command": "evaluate",
            "overrides": [f"ckpt={checkpoint_run}", f"data={test_set}", "batch_size=64"],
            "choices": {"data": test_set},
        },
        "config": {"ckpt": str(checkpoint_run), "batch_size": 64, "split": "test", "seed": 0},
    }
    write_results(run, record)
    return run


@pytest.fixture()
def mixed(tmp_path: Path) -> Path:
    """meso4 at 64 px (seeds 0, 1) and 128 px (seed 0), each evaluated on celebdf_v2; one
    evaluation of a checkpoint whose training run is not on the board; a 2-video set."""
    root = tmp_path / "runs"
    small = [
        train_record(root / f"train/s64_{s}", seed=s, size=64, auc=0.80 + s / 100) for s in (0, 1)
    ]
    large = train_record(root / "train/s128_0", seed=0, size=128, auc=0.93)
    for i, run in enumerate([*small, large]):
        evaluate_record(
            root / f"evaluate/celebdf_{i}", checkpoint_run=run, test_set="celebdf_v2",
            auc=0.61 + i / 50,
        )  # fmt: skip
    evaluate_record(
        root / "evaluate/foreign", checkpoint_run=tmp_path / "elsewhere/2026-01-01_00-00-00",
        test_set="dfdc", auc=0.7,
    )  # fmt: skip
    evaluate_record(
        root / "evaluate/tiny", checkpoint_run=large, test_set="two_clips", auc=1.0, videos=2
    )
    return root


def test_names_are_the_settings_that_differ_not_defaults_or_callbacks(mixed: Path):
    confs = group_configurations(collect_records([mixed]))
    trained = sorted(c.label for c in confs if not c.evaluation)
    assert trained == ["meso4 data.image_size=128", "meso4 data.image_size=64"]
    by_label = {c.label: c for c in confs if not c.evaluation}
    assert by_label["meso4 data.image_size=64"].seeds == [0, 1]  # seeds fold
    evaluated = {
        (c.label, c.first.record["test_data"][0]["name"]): c for c in confs if c.evaluation
    }
    assert set(evaluated) == {
        ("meso4 data.image_size=64", "celebdf_v2"),
        ("meso4 data.image_size=128", "celebdf_v2"),
        ("meso4 (2026-01-01_00-00-00)", "dfdc"),  # its training run is not on the board
        ("meso4 data.image_size=128", "two_clips"),
    }
    # the evaluations of the two 64 px checkpoints fold, seeds being the training seeds
    assert evaluated["meso4 data.image_size=64", "celebdf_v2"].seeds == [0, 1]
    for conf in confs:
        assert not re.search(r"callbacks|batch_size|_target_|ckpt=|#\d|@", conf.label), conf.label


def test_names_of_records_without_an_invocation_skip_callback_internals(mixed: Path):
    records = collect_records([mixed / "train"])
    for run in records:  # as written before records carried their command line
        run.record.pop("invocation")
        run.record["config"]["callbacks"]["last_checkpoint"]["_target_"] = str(run.run_dir)
    labels = sorted(c.label for c in group_configurations(records))
    assert labels == ["meso4 data.image_size=128", "meso4 data.image_size=64"]


def test_report_has_an_evaluations_table_and_marks_small_sets(mixed: Path, tmp_path: Path):
    written = write_leaderboard([mixed], tmp_path / "report")
    md = written["md"].read_text()
    assert "## Detectors\n" in md and "## Evaluations (fakearena evaluate" in md
    evaluations = md.split("## Evaluations", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in evaluations.splitlines() if line.startswith("| ")]
    assert [row[2] for row in rows[1:]] == ["celebdf_v2", "celebdf_v2", "dfdc", "two_clips"]
    assert rows[1][1] == "meso4 data.image_size=128" and rows[4][1] == rows[1][1]
    assert "1.000 ⚠" in evaluations  # the 2-video AUC is marked and the note says why
    assert "⚠ meso4 data.image_size=128 on two_clips: only 2 videos" in evaluations
    csv = written["csv"].read_text().splitlines()
    assert csv[0].split(",")[:5] == ["rank", "name", "task", "command", "detector"]


def test_heatmap_rows_hold_the_evaluations_of_their_configuration(mixed: Path):
    from fakearena.report.cross_dataset import auc_matrix
    from fakearena.report.fold import fold_all

    confs = group_configurations(collect_records([mixed]))
    folded = {conf.key: fold_all(conf) for conf in confs}
    trained = [c for c in confs if not c.evaluation]
    rows, columns, values = auc_matrix(trained, folded, [c for c in confs if c.evaluation])
    assert columns == ["ffpp_c23", "celebdf_v2", "two_clips", "dfdc"]
    cells = dict(zip(rows, values))
    assert len(rows) == 3 and cells["meso4 (2026-01-01_00-00-00)"][:3] == [None] * 3
    large = cells["meso4 data.image_size=128"]
    assert [round(v.mean, 3) for v in large[:3]] == [0.93, 0.65, 1.0] and large[3] is None


def test_html_keeps_metrics_in_view_and_names_whole(mixed: Path, tmp_path: Path):
    page = write_leaderboard([mixed], tmp_path / "report")["html"].read_text()
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    assert re.search(r"\.scroll \{[^}]*overflow-x: auto", style)  # wide tables scroll in a box
    assert re.search(r"td\.name, th\.name \{[^}]*white-space: normal", style)  # names wrap
    assert re.search(r"\.sticky \{[^}]*position: sticky; left: 0", style)  # and stay in view
    tables = re.findall(r"<div class='scroll'><table>.*?</table></div>", page, flags=re.S)
    assert len(tables) == page.count("<table>") >= 3
    for table in tables[:2]:  # detectors and evaluations: metrics right after the names
        headers = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", table)
        assert headers[:4] == ["#", "detector", "test set", "AUC [95% CI]"]
        assert headers.index("video AUC") < headers.index("train data")
        assert '<th class="name sticky">detector</th>' in table
    names = re.findall(r'<td class="name sticky">(.*?)</td>', tables[0])
    assert "meso4 data.image_size=128" in names and not any("..." in n for n in names)


def test_heatmap_labels_wrap_whole_and_fit_inside_the_figure():
    rows = [
        "meso4 data.image_size=64 augment=standard task.optimizer.lr=0.0001 +2 more",
        "xception_pretrained_on_imagenet data.image_size=299",
        "small_cnn",
    ]
    columns = ["ffpp_c23", "celebdf_v2/source=Celeb-synthesis", "dfdc"]
    values = [[Folded(0.9, None, 1), None, Folded(0.7, 0.01, 3)] for _ in rows]
    figure = heatmap_figure(rows, columns, values)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    box = figure.bbox
    axis = figure.axes[0]
    labels = [*axis.get_yticklabels(), *axis.get_xticklabels(), axis.yaxis.label]
    for label in labels:
        extent = label.get_window_extent(renderer)
        assert extent.x0 >= box.x0 - 0.5 and extent.x1 <= box.x1 + 0.5, label.get_text()
        assert extent.y0 >= box.y0 - 0.5 and extent.y1 <= box.y1 + 0.5, label.get_text()
    shown = [t.get_text().replace("\n", " ") for t in axis.get_yticklabels()]
    assert shown == rows  # wrapped at spaces, never cut
    import matplotlib.pyplot as plt

    plt.close(figure)


CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
)
PROBE = """<script>
window.addEventListener('load', () => {
  const out = {width: window.innerWidth, tables: []};
  for (const box of document.querySelectorAll('div.scroll')) {
    const heads = [...box.querySelectorAll('th')];
    const find = (text) => heads.find((h) => h.textContent === text);
    const auc = find('AUC [95% CI]');
    const video = find('video AUC');
    const name = box.querySelector('td.name');
    const entry = {scrolls: box.scrollWidth > box.clientWidth};
    entry.boxRight = box.getBoundingClientRect().right;
    if (auc) {
      entry.aucRight = auc.getBoundingClientRect().right;
      entry.videoRight = video.getBoundingClientRect().right;
      entry.nameFits = name.scrollWidth <= name.clientWidth;
      box.scrollLeft = box.scrollWidth;  // scrolled to the far right, the name stays in view
      entry.nameLeft = name.getBoundingClientRect().left - box.getBoundingClientRect().left;
    }
    out.tables.push(entry);
  }
  const probe = document.createElement('pre');
  probe.id = 'probe';
  probe.textContent = JSON.stringify(out);
  document.body.appendChild(probe);
});
</script>"""


def _probe(page: Path, width: int) -> dict[str, Any]:
    probed = page.with_name(f"probe_{width}.html")
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             f"--user-data-dir={profile}", f"--window-size={width},900", "--dump-dom",
             probed.as_uri()],
            capture_output=True, text=True, timeout=120,
        ).stdout  # fmt: skip
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, flags=re.S)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


# CI (.ci/run) installs chromium and sets this: there the test fails rather than skips
CHROMIUM_REQUIRED = os.environ.get("FAKEARENA_REQUIRE_CHROMIUM") == "1"


@pytest.mark.skipif(
    CHROMIUM is None and not CHROMIUM_REQUIRED,
    reason="Chromium is not installed (apt-get install chromium; CI installs it)",
)
def test_in_chromium_metrics_are_visible_at_1400_and_usable_at_900(mixed: Path, tmp_path: Path):
    assert CHROMIUM is not None, (
        "FAKEARENA_REQUIRE_CHROMIUM=1 but no chromium on PATH: apt-get install -y chromium"
    )
    page = write_leaderboard([mixed], tmp_path / "report")["html"]
    wide = _probe(page, 1400)
    detectors = wide["tables"][0]
    assert detectors["videoRight"] <= wide["width"] and detectors["aucRight"] <= wide["width"]
    assert detectors["nameFits"]  # the name wraps: nothing hidden
    narrow = _probe(page, 900)
    for table in narrow["tables"]:
        assert table["boxRight"] <= narrow["width"]  # the page itself never scrolls sideways
    detectors = narrow["tables"][0]
    assert detectors["aucRight"] <= narrow["width"]  # the AUC is in view without scrolling
    assert detectors["scrolls"] and abs(detectors["nameLeft"]) <= 1  # the name sticks

"""Run-time messages at the command line: files that are not checkpoints, `detect` on group
photos and truncated videos, collapsed scores in `evaluate`, log lines, tags and configs that
cannot be resolved. Each goes through `fakearena`'s entry point (in-process `main(argv)`, or a
subprocess where a run is started as a user would).

Every test pins the environment it depends on (HYDRA_FULL_ERROR unset: `one_paragraph_errors`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from _cli import in_process_cli


@pytest.fixture(autouse=True)
def one_paragraph_errors(monkeypatch):
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)


@pytest.fixture()
def cli(capsys, monkeypatch):
    return in_process_cli(capsys, monkeypatch)


def test_wrong_files_given_as_checkpoints_are_named_as_such(cli, tmp_path: Path):
    from test_evaluate import save_detect_checkpoint

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    best = save_detect_checkpoint(run / "checkpoints" / "best.ckpt")
    metrics = run / "csv" / "version_0" / "metrics.csv"
    metrics.parent.mkdir(parents=True)
    metrics.write_text("epoch,step,train/loss\n0,1,0.69\n")
    (run / "results.json").write_text(json.dumps({"schema_version": 1, "task": "detect"}))
    image = tmp_path / "face.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    fix = f"its run's best checkpoint is {best}: give ckpt={run} (the run folder) or that file"

    code, _, err = cli("evaluate", f"ckpt={metrics}", f"hydra.run.dir={tmp_path / 'e'}")
    assert code == 1
    assert err.strip() == (
        f"fakearena: error: {metrics} is a CSV file (a text table with header "
        f"'epoch,step,train/loss'), not a checkpoint; {fix}"
    )
    code, _, err = cli("detect", str(image), f"ckpt={run / 'results.json'}")
    assert code == 1
    assert err.strip() == (
        f"fakearena: error: {run / 'results.json'} is a JSON file (e.g. a run's results.json), "
        f"not a checkpoint; {fix}"
    )
    stray = tmp_path / "elsewhere.ckpt"
    stray.write_bytes(b"")
    code, _, err = cli("evaluate", f"ckpt={stray}", f"hydra.run.dir={tmp_path / 'e'}")
    assert err.strip() == (
        f"fakearena: error: {stray} is empty (0 bytes; a write that was interrupted?), not a "
        "checkpoint; give a .ckpt file written by `fakearena train` (or its run folder)"
    )


def test_a_real_checkpoint_passes_the_format_check(tmp_path: Path):
    import torch

    from fakearena.tasks.checkpoints import load_checkpoint
    from fakearena.utils.checkpoint_paths import check_checkpoint_format

    zipped = tmp_path / "zip.ckpt"
    torch.save({"state_dict": {}}, zipped)
    legacy = tmp_path / "legacy.ckpt"
    torch.save({"state_dict": {}}, legacy, _use_new_zipfile_serialization=False)
    for path in (zipped, legacy):
        check_checkpoint_format(path)
        assert load_checkpoint(path) == {"state_dict": {}}


@pytest.fixture(scope="module")
def detect_ckpt(tmp_path_factory) -> Path:
    from test_evaluate import save_detect_checkpoint

    return save_detect_checkpoint(tmp_path_factory.mktemp("ckpt") / "d.ckpt", size=64)


@pytest.mark.real_data
def test_detect_on_a_group_photo_gives_the_most_suspicious_face_and_the_mean(
    tmp_path: Path, detect_ckpt: Path, fixtures_dir: Path
):
    from conftest import run_cli

    photo = fixtures_dir / "faces" / "photos" / "multiface.jpg"
    run_dir = tmp_path / "run"
    result = run_cli("detect", str(photo), f"ckpt={detect_ckpt}", f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    item = json.loads((run_dir / "detections.json").read_text())["results"][0]
    probs = [face["prob"] for face in item["frames"]]
    assert len(probs) == 6  # the fixture's six faces
    assert item["prob"] == pytest.approx(max(probs))  # the verdict: the most suspicious face
    assert item["mean_prob"] == pytest.approx(sum(probs) / 6)  # beside it: the mean
    assert item["most_suspicious_face"] == probs.index(max(probs))
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["input", "frames", "faces", "P(fake)", "mean", "verdict"]
    assert lines[1].split()[:5] == [
        "multiface.jpg", "1", "6", f"{max(probs):.3f}", f"{sum(probs) / 6:.3f}",
    ]  # fmt: skip
    marked = [line for line in lines if line.endswith("<- most suspicious")]
    assert len(marked) == 1 and f"{max(probs):.3f}" in marked[0]
    assert "P(fake) of an input with several faces in a frame is its most suspicious" in (
        result.stdout
    )


@pytest.mark.real_data
def test_detect_warns_on_a_video_cut_in_half(tmp_path: Path, detect_ckpt: Path, fixtures_dir):
    import av
    import numpy as np
    from PIL import Image

    from _media import write_video
    from fakearena.faces.video import probe_video, truncation_note

    source = fixtures_dir / "ffpp_mini/original_sequences/youtube/c23/videos/004.mp4"
    frames = []
    with av.open(str(source)) as container:
        for frame in container.decode(video=0):
            image = frame.to_image().resize((640, 360), Image.BILINEAR)
            frames.append(np.asarray(image))
            if len(frames) == 16:
                break
    whole = write_video(tmp_path / "whole.mp4", frames, faststart=True)
    cut = tmp_path / "in" / "cut.mp4"
    cut.parent.mkdir()
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    info = probe_video(cut)
    assert info.declared_frames == 16 and 0 < info.frame_count < 16
    run_dir = tmp_path / "run"
    result = run_cli_detect(cut, detect_ckpt, run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    share = f"{info.frame_count / 16:.0%}"
    assert (
        f"fakearena: warning: 1 video(s) are truncated (listed in {run_dir / 'detections.json'})"
        f": {cut}: {info.frame_count} of the 16 frames its container declares are readable (the "
        f"file is cut short: frames were sampled from its first {share} only)"
    ) in result.stderr
    item = json.loads((run_dir / "detections.json").read_text())["results"][0]
    assert item["truncation"].startswith(f"{info.frame_count} of the 16 frames")
    scanned = item["frames_scanned"]  # the last readable packet may not decode
    assert 0 < scanned <= 4
    if scanned < 4:
        stopped = f"decoding stopped after {scanned} of the 4 sampled frames"
        assert item["truncation"].endswith(stopped)
    whole_info = probe_video(whole)  # the uncut file: nothing to say
    assert truncation_note(whole_info.declared_frames, whole_info.frame_count, 4, 4) == ""


def run_cli_detect(video: Path, ckpt: Path, run_dir: Path):
    from conftest import run_cli

    return run_cli(
        "detect", str(video), f"ckpt={ckpt}", "frames_per_video=4", "progress=false",
        f"hydra.run.dir={run_dir}",
    )  # fmt: skip


def _last_layer_checkpoint(path: Path, scale: float, bias: float) -> Path:
    """A random detector whose last layer's weights are scaled by `scale` and bias set: scale 0
    ignores the input (every probability is sigmoid(bias)), a large scale spreads the scores."""
    import torch

    from test_evaluate import save_detect_checkpoint

    save_detect_checkpoint(path)
    checkpoint = torch.load(path, weights_only=True)
    state = checkpoint["state_dict"]
    last = [k for k, v in state.items() if k.endswith(".weight") and v.ndim == 2][-1]
    state[last].mul_(scale)
    state[last.removesuffix(".weight") + ".bias"].fill_(bias)
    torch.save(checkpoint, path)
    return path


def test_evaluate_shows_collapsed_scores_prominently(cli, tmp_path: Path, toy_manifest: Path):
    from fakearena.results import read_results

    ckpt = _last_layer_checkpoint(tmp_path / "flat.ckpt", scale=0.0, bias=-0.0285)
    run_dir = tmp_path / "run"
    args = [f"ckpt={ckpt}", "data=manifest", f"data.manifests=[{toy_manifest}]", "split=all"]
    code, out, err = cli("evaluate", *args, "n_bootstrap=50", f"hydra.run.dir={run_dir}")
    assert code == 0, err
    predictions = __import__("pandas").read_csv(run_dir / "predictions.csv")
    low, high = predictions["prob"].min(), predictions["prob"].max()
    assert high - low < 1e-3 and 0.4928 < low < 0.4930  # sigmoid(-0.0285) = 0.49288
    warning = (
        f"toy: collapsed scores: every probability lies in [{low:.5f}, {high:.5f}] (a range "
        "below 0.001); the detector barely tells rows apart and its AUC ranks noise"
    )
    lines = out.splitlines()
    assert lines[0].startswith("toy: AUC 0.5000") and lines[0].endswith("⚠ collapsed scores")
    assert f"  ⚠ 1 warning(s), also in {run_dir / 'results.json'} `warnings`:" in lines
    assert f"  ⚠ {warning}" in lines
    assert f"fakearena: warning: {warning}" in err.splitlines()
    record = read_results(run_dir)
    assert record["warnings"] == [f"test/{warning}"]
    assert "collapsed scores" in record["metrics"]["test/toy/auc"]["warning"]


def test_collapse_is_a_range_below_1e_3_and_flagged_once(capsys, tmp_path: Path):
    import numpy as np

    from fakearena.metrics.detection import detection_metrics
    from fakearena.metrics.units import collapsed
    from fakearena.runs.evaluate_summary import print_summary

    assert not collapsed(np.array([0.2, 0.2 + 1e-3, 0.9]))
    assert not collapsed(np.array([0.5, 0.5 + 1.001e-3]))  # just above the range
    assert collapsed(np.array([0.5, 0.5 + 0.999e-3]))
    labels = np.array([0, 1] * 20)
    flat = detection_metrics(0.5 + 0.0009 * np.linspace(0, 1, 40), labels, n_bootstrap=0)
    assert flat["flags"].count("collapsed") == 1
    assert sum("collapsed scores" in w for w in flat["warnings"]) == 1
    varied = {"auc": 0.7, "ap": 0.6, "eer": 0.3, "acc": 0.5, "n": 3}
    print_summary("set", varied, tmp_path)
    out = capsys.readouterr()
    assert "⚠" not in out.out and out.err == ""


def test_one_copy_of_each_log_line_tags_and_an_unresolved_config_said(tmp_path: Path):
    """One short training run from the command line: Lightning's lines once, `tags` recorded,
    and a config key that cannot be resolved said in results.json and on the console."""
    import os
    import subprocess

    from fakearena.results import read_results

    from conftest import REPO_ROOT

    run_dir = tmp_path / "run"
    env = dict(os.environ, WANDB_MODE="offline", PYTHONWARNINGS="ignore")
    env.pop("FAKEARENA_TEST_UNSET", None)
    args = [
        "train", "data=synthetic", "debug=fast_dev_run", "tags=[ablation,v2]",
        "+notes=${oc.env:FAKEARENA_TEST_UNSET}", f"hydra.run.dir={run_dir}",
    ]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "fakearena.cli", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr
    for line in ("GPU available: False", "Loaded model weights from the checkpoint"):
        assert console.count(line) == 1, console
    log_file = (run_dir / "train.log").read_text()
    assert log_file.count("GPU available: False") == 1  # the run's log file keeps them
    record = read_results(run_dir)
    assert record["tags"] == ["ablation", "v2"]
    warning = (
        "config key notes could not be resolved (Environment variable 'FAKEARENA_TEST_UNSET' "
        "not found), so results.json `config` holds the whole config unresolved (every ${...} "
        "as written, not the value the run used); set what it names (e.g. the environment "
        "variable) or give the key a plain value"
    )
    assert warning in record["warnings"]
    assert record["config"]["notes"] == "${oc.env:FAKEARENA_TEST_UNSET}"
    assert f"fakearena: warning: {warning}" in result.stderr.splitlines()


def test_tags_reach_the_wandb_logger(tmp_path: Path):
    from hydra.utils import instantiate

    from fakearena.config import compose

    cfg = compose("train", ["logger=wandb", "tags=[ablation,v2]"])
    cfg.logger.wandb.save_dir = str(tmp_path)
    logger = instantiate(cfg.logger.wandb, offline=True)
    assert logger._wandb_init["tags"] == ["ablation", "v2"]
    plain = compose("train", ["logger=wandb"])
    assert list(plain.logger.wandb.tags) == []



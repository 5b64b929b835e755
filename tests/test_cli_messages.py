"""Data and setup mistakes at the command line: each message is produced through `fakearena`'s
own entry point (in-process `main(argv)`, or a subprocess where a fixture video is decoded).

Every test pins the environment it depends on: HYDRA_FULL_ERROR unset (one-paragraph errors),
FAKEARENA_DATA unset, empty or set as the case needs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from fakearena.cli import main
from fakearena.data.builders.ffpp import load_splits


@pytest.fixture(autouse=True)
def one_paragraph_errors(monkeypatch):
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)


@pytest.fixture()
def cli(capsys, monkeypatch):
    """`fakearena ARGS` in this process: (exit code, stdout, stderr)."""
    from hydra.core.global_hydra import GlobalHydra

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["fakearena"])
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        finally:
            GlobalHydra.instance().clear()
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def _one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("command", ["train", "protocol"])
def test_unset_fakearena_data_is_named_and_dot_data_is_never_used(
    command, cli, tmp_path: Path, monkeypatch
):
    monkeypatch.delenv("FAKEARENA_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "ffpp_c23" / "faces").mkdir(parents=True)
    (tmp_path / "data" / "ffpp_c23" / "faces" / "ffpp_c23.csv").write_text("path\n")
    args = ["data=ffpp_c23"] if command == "train" else []
    code, _, err = cli(command, *args, f"hydra.run.dir={tmp_path / 'run'}")
    assert code == 1
    assert _one_line(err) == (
        "fakearena: error: data ffpp_c23: manifest $FAKEARENA_DATA/ffpp_c23/faces/ffpp_c23.csv "
        "(data.manifests) not found; data=ffpp_c23 reads its manifest under paths.data_dir, "
        "which is the environment variable FAKEARENA_DATA, and FAKEARENA_DATA is not set; "
        "export FAKEARENA_DATA=<the folder of your built datasets> (or pass "
        "paths.data_dir=DIR); to build the data: conf/data/ffpp_c23.yaml names the commands "
        "that build it"
    )
    assert not (tmp_path / "run").exists()


def test_empty_fakearena_data_is_named_for_evaluate(cli, tmp_path: Path, monkeypatch):
    from test_evaluate import save_detect_checkpoint

    ckpt = save_detect_checkpoint(tmp_path / "d.ckpt")
    monkeypatch.setenv("FAKEARENA_DATA", "")
    code, _, err = cli("evaluate", f"ckpt={ckpt}", "data=dfdc", f"hydra.run.dir={tmp_path / 'r'}")
    assert code == 1
    assert "manifest $FAKEARENA_DATA/dfdc/faces/dfdc.csv (data.manifests) not found" in err
    assert "FAKEARENA_DATA is set but empty (FAKEARENA_DATA='')" in _one_line(err)
    assert "/dfdc/faces/dfdc.csv" not in err.replace("$FAKEARENA_DATA/dfdc", "")


def test_wrong_fakearena_data_names_its_value_and_what_it_holds(cli, tmp_path: Path, monkeypatch):
    datasets = tmp_path / "datasets"
    (datasets / "ffpp_c23").mkdir(parents=True)
    monkeypatch.setenv("FAKEARENA_DATA", str(datasets))
    code, _, err = cli("train", "data=synthetic", "test_data=[dfdc]", f"hydra.run.dir={tmp_path}/r")
    assert code == 1
    assert _one_line(err) == (
        f"fakearena: error: data dfdc: manifest {datasets}/dfdc/faces/dfdc.csv (data.manifests) "
        f"not found; FAKEARENA_DATA={datasets} (paths.data_dir) holds no dfdc/faces/dfdc.csv "
        "(it holds: ffpp_c23); build it there (conf/data/dfdc.yaml names the commands that "
        "build it) or point FAKEARENA_DATA at the folder that holds it"
    )
    monkeypatch.setenv("FAKEARENA_DATA", str(tmp_path / "nowhere"))
    code, _, err = cli("protocol", f"hydra.run.dir={tmp_path}/p")
    assert code == 1
    assert f"FAKEARENA_DATA={tmp_path / 'nowhere'} (paths.data_dir) does not exist" in err
    code, _, err = cli("train", "data=celebdf_v2", f"paths.data_dir={datasets}")
    assert code == 1
    assert _one_line(err).endswith(
        f"paths.data_dir={datasets} holds no celebdf_v2/faces/celebdf_v2.csv (it holds: "
        "ffpp_c23); build it there (conf/data/celebdf_v2.yaml names the commands that build it) "
        "or fix paths.data_dir"
    )


def _partial_ffpp(root: Path, source: Path) -> Path:
    """An FF++ tree of links to the two fixture videos: real 004, its NeuralTextures fake, and
    the same file as a Deepfakes fake 071_054 whose real video 071 is absent."""
    real = source / "original_sequences/youtube/c23/videos/004.mp4"
    fake = source / "manipulated_sequences/NeuralTextures/c23/videos/004_982.mp4"
    links = {
        "original_sequences/youtube/c23/videos/004.mp4": real,
        "manipulated_sequences/NeuralTextures/c23/videos/004_982.mp4": fake,
        "manipulated_sequences/Deepfakes/c23/videos/071_054.mp4": fake,
    }
    for relative, target in links.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).symlink_to(target)
    return root


@pytest.mark.real_data
def test_ffpp_build_reports_against_the_official_lists(
    cli, tmp_path: Path, fixtures_dir: Path
):
    root = _partial_ffpp(tmp_path / "ff", fixtures_dir / "ffpp_mini")
    out = tmp_path / "built"
    code, stdout, _ = cli("data", "build", "ffpp", f"root={root}", f"out={out}")
    assert code == 0
    splits = load_splits()
    per_kind = sum("_" not in name for name in splits)  # 1000 real, 1000 fakes per method
    assert per_kind == 1000
    assert (
        f"ffpp c23: 3 of {3 * per_kind} videos of the official split lists are present "
        f"(real 1/{per_kind}, Deepfakes 1/{per_kind}, NeuralTextures 1/{per_kind}); methods "
        "absent from this copy: Face2Face, FaceSwap, FaceShifter; 1 fake(s) without their "
        f"real (target) video: Deepfakes/071_054; report: {out / 'videos_report.json'}"
    ) in stdout
    report = json.loads((out / "videos_report.json").read_text())
    assert report["total"] == {"listed": 3000, "present": 3, "missing": 2997}
    assert report["fakes_without_real"] == ["Deepfakes/071_054"]
    real = report["kinds"]["real"]
    assert real["present"] == {"train": 0, "val": 1, "test": 0}  # 004 is a val video
    assert splits["004"] == "val" and "004" not in real["missing"] and len(real["missing"]) == 999
    real_splits = [v for name, v in splits.items() if "_" not in name]
    assert real["listed"] == {s: real_splits.count(s) for s in ("train", "val", "test")}
    assert real["listed"] == {"train": 720, "val": 140, "test": 140}
    deepfakes = report["kinds"]["Deepfakes"]
    assert deepfakes["present"][splits["071_054"]] == 1 and sum(deepfakes["present"].values()) == 1
    assert "071_054" not in deepfakes["missing"] and "054_071" in deepfakes["missing"]
    assert set(report["kinds"]) == {"real", "Deepfakes", "NeuralTextures"}


def test_ffpp_compression_that_is_absent_suggests_what_exists(cli, tmp_path: Path):
    (tmp_path / "original_sequences/youtube/c23/videos").mkdir(parents=True)
    out = tmp_path / "o"
    code, _, err = cli("data", "build", "ffpp", f"root={tmp_path}", f"out={out}", "compression=c40")
    assert code == 1 and not out.exists()
    assert _one_line(err) == (
        "fakearena: error: ffpp: compression=c40 asks for original_sequences/youtube/c40/videos, "
        f"which {tmp_path} does not have; this copy holds c23: pass compression=c23 (or "
        "download c40 with the official FaceForensics++ script: -c c40)"
    )


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
    from fakearena.runs.evaluate_summary import flag_collapsed, print_summary

    metrics = {"auc": 0.7, "ap": 0.6, "eer": 0.3, "acc": 0.5, "n": 3}
    varied = dict(metrics)
    flag_collapsed(varied, [0.2, 0.2 + 1e-3, 0.9])
    assert varied.get("flags") == [] and "warnings" not in varied
    edge = dict(metrics)
    flag_collapsed(edge, [0.5, 0.5 + 1.001e-3])  # just above the range: not collapsed
    assert edge["flags"] == []
    flat = dict(metrics)
    flag_collapsed(flat, [0.5, 0.5 + 0.999e-3])
    assert flat["flags"] == ["collapsed"] and len(flat["warnings"]) == 1
    flag_collapsed(flat, [0.5, 0.5])  # already flagged (e.g. by the metrics): not twice
    assert flat["flags"] == ["collapsed"] and len(flat["warnings"]) == 1
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


def test_a_card_root_naming_an_empty_variable_is_refused(
    cli, tmp_path: Path, monkeypatch, toy_manifest: Path
):
    import yaml

    card_path = toy_manifest.with_suffix(".yaml")
    card = yaml.safe_load(card_path.read_text())
    card["root"] = "${oc.env:FAKEARENA_DATA}/toy"
    card_path.write_text(yaml.safe_dump(card))
    monkeypatch.setenv("FAKEARENA_DATA", str(toy_manifest.parent.parent))
    assert cli("data", "validate", str(toy_manifest))[0] == 0  # set: the root resolves
    monkeypatch.setenv("FAKEARENA_DATA", "")
    code, _, err = cli("data", "validate", str(toy_manifest))
    assert code == 1
    assert (
        "card root '${oc.env:FAKEARENA_DATA}/toy' names the environment variable FAKEARENA_DATA, "
        "which is set but empty; export FAKEARENA_DATA=<the folder it stands for> or write the "
        "folder in the card"
    ) in _one_line(err)

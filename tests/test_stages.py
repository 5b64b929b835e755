"""Stages of arena/protocol: done only for the same inputs, replaced attempts kept, failures
told in the parent's console with the child's own error line; `train` into a folder holding
another run's results and `faces extract` into a folder of other crops refuse with the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from skimage import data

from fakearena.errors import FakearenaError
from fakearena.faces.options import ExtractOptions
from fakearena.metrics.one_class import one_class_metrics
from fakearena.runs.stage_inputs import stage_inputs
from fakearena.runs.stages import Stage, run_stage
from fakearena.utils.io import sha256_file
from fakearena.utils.set_aside import set_aside, set_aside_together

from conftest import make_toy_manifest, run_cli

TRAIN = ["train", "task=detect", "detector=meso4", "data=manifest", "trainer.max_epochs=1"]


def test_stage_inputs_follow_settings_and_data_but_not_the_run_folder(tmp_path: Path):
    csv = make_toy_manifest(tmp_path / "toy", n=12, size=8)
    base = [*TRAIN, f"data.manifests=[{csv}]"]
    first = stage_inputs([*base, f"hydra.run.dir={tmp_path / 'a'}"])
    assert first.settings["trainer.max_epochs"] == 1 and first.settings["task.name"] == "detect"
    assert not any(key.startswith(("paths.", "hydra.")) for key in first.settings)
    card = csv.with_suffix(".yaml")
    expected = (
        __import__("hashlib").sha256((sha256_file(csv) + sha256_file(card)).encode()).hexdigest()
    )
    assert first.files == {str(csv): expected}  # csv and card, hashed independently here
    moved = stage_inputs([*base, f"hydra.run.dir={tmp_path / 'b'}"])
    assert moved.fingerprint == first.fingerprint  # where it runs does not matter
    longer = stage_inputs([*base, "trainer.max_epochs=5"])
    assert longer.changes_from(first.to_dict()) == ["trainer.max_epochs: 1 -> 5"]
    csv.write_text(csv.read_text().replace("train", "val", 1))  # the data changed
    edited = stage_inputs(base)
    assert edited.changes_from(first.to_dict()) == [
        f"sha256 of {csv}: {expected[:57]}... -> {edited.files[str(csv)][:57]}..."
    ]
    named = stage_inputs([*TRAIN, "test_data=[dfdc]", f"paths.data_dir={tmp_path}"])
    assert named.files[f"{tmp_path}/dfdc/faces/dfdc.csv"] == "missing"  # a data config's file


def _synth(out: Path, size: int) -> Stage:
    args = ["data", "synth", f"out={out}", "n_identities=3", "per_identity=2", f"size={size}"]
    return Stage("render faces", args, out, out / "synthetic.csv")


def test_a_stage_reruns_when_its_inputs_change_and_keeps_what_it_replaces(tmp_path, capsys):
    job, replaced = tmp_path / "job", tmp_path / "job" / "replaced"
    stage = _synth(job / "faces", 16)
    assert run_stage(stage, replaced_dir=replaced).status == "ran"
    first = stage.done_file.read_bytes()
    recorded = json.loads((stage.run_dir / "stage.json").read_text())
    assert recorded["settings"] == {"args": stage.args[1:]}
    assert run_stage(stage, replaced_dir=replaced).status == "skipped"
    assert "done already" in capsys.readouterr().out

    bigger = _synth(job / "faces", 24)
    assert run_stage(bigger, replaced_dir=replaced).status == "ran"
    (kept,) = replaced.glob("*/faces")
    printed = capsys.readouterr().out
    assert "render faces: reruns: its inputs changed (args: " in printed
    assert f"the previous run is kept in {kept}" in printed
    assert (kept / "synthetic.csv").read_bytes() == first  # nothing lost
    assert bigger.done_file.read_bytes() != first

    (bigger.run_dir / "stage.json").unlink()  # made by an older version: inputs unknown
    assert run_stage(bigger, replaced_dir=replaced).status == "ran"
    assert "stage.json is missing, so the inputs of its result are unknown" in (
        capsys.readouterr().out
    )
    assert len(list(replaced.glob("*/faces"))) == 2


def test_a_failed_stage_prints_the_childs_error_and_keeps_its_log(tmp_path: Path):
    """Was: `FileNotFoundError: .../stage.log` (the child removed its folder, log included)."""
    missing = tmp_path / "nowhere" / "faces.csv"
    stage_dir = tmp_path / "job" / "detectors" / "meso4"
    stage = Stage(
        "train detector meso4",
        [*TRAIN, f"data.manifests=[{missing}]", f"hydra.run.dir={stage_dir}"],
        stage_dir,
        stage_dir / "results.json",
    )
    with pytest.raises(FakearenaError) as failed:
        run_stage(stage, "1/1")
    message = str(failed.value)
    log = stage_dir / "stage.log"
    child_error = next(
        line for line in log.read_text().splitlines() if line.startswith("fakearena: error:")
    )
    assert child_error.removeprefix("fakearena: error: ") in message
    assert str(missing) in message and message.startswith(
        "stage 'train detector meso4' failed (exit code 1) after"
    )
    assert message.endswith(
        f"Its full log is kept in {log}. Fix the cause and rerun the same command: finished "
        "stages with unchanged inputs are skipped."
    )


def test_set_aside_never_overwrites(tmp_path: Path):
    table = tmp_path / "protocol.md"
    table.write_text("old")
    first = set_aside(table)
    assert first.name.startswith("protocol.replaced-") and first.suffix == ".md"
    table.write_text("older still")
    second = set_aside(table)
    assert {first.read_text(), second.read_text()} == {"old", "older still"}
    assert set_aside_together([tmp_path / "absent"], tmp_path / "replaced") is None


def test_one_class_scores_match_a_count():
    probs = [0.9, 0.2, 0.7, 0.5, 0.1]
    videos = ["a", "a", "b", "c", "c"]
    result = one_class_metrics(probs, [1] * 5, videos)
    assert result["class"] == "fake" and result["n"] == 5
    assert result["acc"] == sum(p >= 0.5 for p in probs) / 5  # 3 of 5 called fake
    # per video means: a 0.55, b 0.7, c 0.3 -> 2 of 3 called fake
    assert result["n_videos"] == 3 and result["video_acc"] == pytest.approx(2 / 3)
    real = one_class_metrics(probs, [0] * 5)
    assert real["class"] == "real" and real["acc"] == pytest.approx(2 / 5)
    with pytest.raises(Exception, match="labels of one class"):
        one_class_metrics(probs, [0, 1, 0, 1, 0])


def test_train_refuses_a_folder_holding_another_runs_results(tmp_path: Path):
    csv = make_toy_manifest(tmp_path / "toy", n=12, size=8)
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "results.json").write_text("{}")
    (run_dir / "checkpoints" / "best.ckpt").write_bytes(b"x")
    result = run_cli(*TRAIN, f"data.manifests=[{csv}]", f"hydra.run.dir={run_dir}")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"fakearena: error: the run folder {run_dir} holds another run's results (results.json, "
        "checkpoints/best.ckpt); training here would replace them. Give a new "
        "hydra.run.dir=DIR, continue that run with resume=true, or pass overwrite=true to "
        "train afresh (the old files are then moved to run.replaced-<time>/ beside it)"
    )
    assert (run_dir / "results.json").read_text() == "{}"  # untouched, folder kept


@pytest.mark.slow
def test_train_overwrite_moves_the_previous_run_aside(tmp_path: Path):
    csv = make_toy_manifest(tmp_path / "toy", n=24, size=32)
    run_dir = tmp_path / "run"
    args = [*TRAIN, f"data.manifests=[{csv}]", "data.image_size=32", f"hydra.run.dir={run_dir}"]
    assert run_cli(*args).returncode == 0
    first = (run_dir / "results.json").read_text()
    again = run_cli(*args, "overwrite=true")
    assert again.returncode == 0, again.stderr[-2000:]
    (kept,) = tmp_path.glob("run.replaced-*")
    assert f"the previous run's files are kept in {kept}" in again.stdout
    assert (kept / "results.json").read_text() == first
    assert (kept / "checkpoints" / "best.ckpt").is_file()
    assert json.loads((run_dir / "results.json").read_text())["config"]["overwrite"] is True


def test_faces_extract_refuses_a_crop_folder_of_another_size(tmp_path: Path):
    inputs, out = tmp_path / "in", tmp_path / "crops"
    inputs.mkdir()
    Image.fromarray(data.astronaut()[:64, :64]).save(inputs / "astro.png")
    shard = {"version": 1, "key": "astro", "options": ExtractOptions(size=128).signature()}
    (out / ".shards").mkdir(parents=True)
    (out / ".shards" / "0.json").write_text(json.dumps(shard))  # what a 128-px run leaves
    refused = run_cli("faces", "extract", f"input={inputs}", f"out={out}", "size=64")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"fakearena: error: out={out} holds the crops of 1 video(s) made with other options: "
        "size=128 (now 64); extracting here would replace them all. Give a new out=DIR, or "
        "pass overwrite=true to extract afresh (the old folder is then moved to "
        "crops.replaced-<time>/ beside it)"
    )
    assert json.loads((out / ".shards" / "0.json").read_text()) == shard  # untouched


@pytest.mark.slow
def test_faces_extract_overwrite_keeps_the_old_crops_beside(tmp_path: Path):
    inputs, out = tmp_path / "in", tmp_path / "crops"
    inputs.mkdir()
    Image.fromarray(data.astronaut()).save(inputs / "astro.png")
    extract = ["faces", "extract", f"input={inputs}", f"out={out}", "detect_size=320"]
    assert run_cli(*extract, "size=64", "progress=false").returncode == 0
    crops = sorted(p.name for p in (out / "astro").iterdir())
    refused = run_cli(*extract, "size=32", "format=png", "progress=false")
    assert refused.returncode == 1
    assert "format=jpg (now png), size=64 (now 32)" in refused.stderr
    again = run_cli(*extract, "size=32", "format=png", "progress=false", "overwrite=true")
    assert again.returncode == 0, again.stderr
    (kept,) = tmp_path.glob("crops.replaced-*")
    assert f"the previous crops are kept in {kept}" in again.stdout
    assert sorted(p.name for p in (kept / "astro").iterdir()) == crops
    assert sorted(p.suffix for p in (out / "astro").iterdir()) == [".png"]


def test_a_test_set_failing_after_training_is_recorded_and_the_others_kept(tmp_path: Path):
    from fakearena.config import compose
    from fakearena.runs.test_data import evaluate_test_data
    from fakearena.runs.train import build_task

    good = make_toy_manifest(tmp_path / "good", n=16, size=32)
    bad = make_toy_manifest(tmp_path / "bad", n=16, size=32)
    cfg = compose(
        "train",
        [
            *TRAIN[1:],
            f"data.manifests=[{good}]",
            "data.image_size=32",
            "data.num_workers=0",
            f"test_data=[{good},{bad}]",
            "test_split=all",
        ],
    )
    for image in (tmp_path / "bad" / "img").glob("*.png"):  # gone after the check
        image.unlink()
    metrics, references, files, failures = evaluate_test_data(
        cfg, None, build_task(cfg), tmp_path / "run"
    )
    assert list(failures) == ["toy_2"] and failures["toy_2"].startswith("image file not found")
    assert metrics["test/toy/auc"]["n"] == 16 and not any("toy_2" in key for key in metrics)
    assert [r["set"] for r in references] == ["toy"] and list(files) == ["toy"]

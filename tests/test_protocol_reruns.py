"""Issue 23's scenarios 1, 2, 3 and 9 replayed: a partial FF++ tree (from ffpp_mini) and a partial
DFDC tree (from dfdc_real, a real video whose listed fake is absent), and a protocol stage
killed with SIGKILL mid-training. Each failure prints its cause and the fix in the console of
the command the user ran, nothing is lost, and a rerun after a change reruns what changed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from fakearena.results import read_results

from conftest import REPO_ROOT, run_cli

MESO = '+detectors={meso4: ["detector=meso4", "trainer.max_epochs=1"]}'
COMMON = 'common=["data.image_size=64", "data.num_workers=0", "data.batch_size=4"]'


@pytest.fixture(scope="module")
def partial_trees(ffpp_crops: Path, fixtures_dir: Path, tmp_path_factory) -> Path:
    """FAKEARENA_DATA with ffpp_c23 (2 of ~5,000 FF++ videos) and dfdc (1 real video present,
    the fake its metadata.json lists is absent); no celebdf_v2."""
    from fakearena.data.builders.cli import main as build_main
    from fakearena.faces.cli import main as faces_main

    data = tmp_path_factory.mktemp("fakearena_data")
    folder = data / "ffpp_c23" / "faces"
    folder.mkdir(parents=True)
    frame = pd.read_csv(ffpp_crops, dtype=str, keep_default_na=False)
    frame.to_csv(folder / "ffpp_c23.csv", index=False)
    (folder / "ffpp_c23.yaml").write_text(f"name: ffpp_c23\nroot: {ffpp_crops.parent}\n")
    part = tmp_path_factory.mktemp("dfdc_copy") / "dfdc_train_part_45"  # a test part
    part.mkdir()
    (part / "lynaeydofd.mp4").symlink_to(fixtures_dir / "dfdc_real" / "lynaeydofd.mp4")
    listed = {
        "lynaeydofd.mp4": {"label": "REAL"},
        "aaaaaaaaaa.mp4": {"label": "FAKE", "original": "lynaeydofd.mp4"},
    }
    (part / "metadata.json").write_text(json.dumps(listed))
    built = part.parent.parent / "dfdc_built"
    assert build_main(["dfdc", f"root={part.parent}", f"out={built}"]) == 0
    extract = [f"input={built / 'videos.csv'}", f"out={data / 'dfdc' / 'faces'}", "name=dfdc"]
    assert faces_main(["extract", *extract, "frames_per_video=8", "size=64"]) == 0
    return data


def _protocol(run_dir: Path, data: Path, *overrides: str):
    env_before = os.environ.get("FAKEARENA_DATA")
    os.environ["FAKEARENA_DATA"] = str(data)
    try:
        return run_cli(
            "protocol", f"hydra.run.dir={run_dir}", "~detectors", MESO, COMMON, *overrides
        )
    finally:
        if env_before is None:
            os.environ.pop("FAKEARENA_DATA")
        else:
            os.environ["FAKEARENA_DATA"] = env_before


@pytest.mark.slow
@pytest.mark.real_data
def test_scenario_1_an_absent_test_set_is_named_in_the_parents_console(
    partial_trees: Path, tmp_path: Path
):
    """An absent test set stops the protocol before any stage (its preflight checks every
    set), naming the set, the variable and what the folder holds; nothing is trained."""
    run_dir = tmp_path / "protocol"
    result = _protocol(run_dir, partial_trees, "test_sets=[celebdf_v2]")
    assert result.returncode == 1
    error = result.stderr
    assert error.startswith("fakearena: error: data celebdf_v2: manifest")
    assert f"FAKEARENA_DATA={partial_trees} (paths.data_dir) holds no " in error
    assert "celebdf_v2/faces/celebdf_v2.csv" in error
    assert not (run_dir / "detectors").exists()  # checked before any stage


@pytest.mark.slow
@pytest.mark.real_data
def test_scenarios_2_and_3_one_class_sets_and_changed_settings_rerun_and_keep_the_old(
    partial_trees: Path, tmp_path: Path
):
    run_dir, stage_dir = tmp_path / "protocol", tmp_path / "protocol" / "detectors" / "meso4"
    # 3: the partial DFDC copy is all real: refused before training, with the fix
    refused = _protocol(run_dir, partial_trees, "test_sets=[dfdc]")
    assert refused.returncode == 1
    assert (
        "test set dfdc: its 8 test rows are all real (0), and AUC needs real and fake rows; add "
        "the missing class, drop it from test_data, or declare it one-class with "
        "test_one_class=[dfdc]"
    ) in refused.stderr
    declared = _protocol(run_dir, partial_trees, "test_sets=[dfdc]", "test_one_class=[dfdc]")
    assert declared.returncode == 0, declared.stderr[-3000:]
    assert "reruns: the previous attempt did not finish" in declared.stdout  # the refused try
    record = read_results(stage_dir)
    assert record["metrics"]["test/dfdc/acc"]["one_class"] == "real"
    assert record["metrics"]["test/dfdc/acc"]["n"] == 8
    assert record["test_data_failures"] == {}
    acc = record["metrics"]["test/dfdc/acc"]["value"]
    assert (
        f"fakearena protocol: meso4: dfdc holds real rows only: acc {acc:.4f} (n=8; one class "
        "only (all real): acc is the specificity (reals) at 0.5; no AUC)"
    ) in declared.stdout
    first_table = (run_dir / "protocol.md").read_text()
    same = _protocol(run_dir, partial_trees, "test_sets=[dfdc]", "test_one_class=[dfdc]")
    assert "train detector meso4: done already" in same.stdout  # the stage counts as done
    # 2: more epochs and another test set: the stage reruns, the old run and table are kept
    more = '+detectors={meso4: ["detector=meso4", "trainer.max_epochs=2"]}'
    copy = tmp_path / "ffpp_again.csv"
    copy.write_bytes((partial_trees / "ffpp_c23" / "faces" / "ffpp_c23.csv").read_bytes())
    copy.with_suffix(".yaml").write_text(
        (partial_trees / "ffpp_c23" / "faces" / "ffpp_c23.yaml").read_text()
    )
    changed = _protocol(
        run_dir, partial_trees, f"test_sets=[dfdc,{copy}]", "test_one_class=[dfdc]", more
    )
    assert changed.returncode == 0, changed.stderr[-3000:]
    assert "train detector meso4: reruns: its inputs changed (" in changed.stdout
    assert "trainer.max_epochs: 1 -> 2" in changed.stdout
    refused_try, old_run = sorted((run_dir / "replaced").glob("*/detectors/meso4"))
    assert "test_one_class=[dfdc]" in (refused_try / "stage.log").read_text()
    assert read_results(old_run)["training"]["max_epochs"] == 1
    (old_table,) = (run_dir / "replaced").glob("*/protocol.md")
    assert old_table.read_text() == first_table
    header = "| detector | ffpp_c23 (in-domain) | dfdc | ffpp_again | cross-domain mean |"
    assert header in (run_dir / "protocol.md").read_text()
    summary = json.loads((run_dir / "protocol.json").read_text())
    now = read_results(stage_dir)
    assert now["training"]["max_epochs"] == 2
    assert summary["config"]["detectors"]["meso4"] == ["detector=meso4", "trainer.max_epochs=2"]
    assert (
        summary["detector_runs"]["meso4"]["inputs_fingerprint"]
        == json.loads((stage_dir / "stage.json").read_text())["fingerprint"]
    )


@pytest.mark.slow
@pytest.mark.real_data
def test_scenario_9_a_second_train_and_a_smaller_extraction_refuse_with_the_fix(
    ffpp_crops: Path, tmp_path: Path
):
    faces = ffpp_crops.parent  # 64-px crops of the two FF++ fixture videos
    before = {p: p.read_bytes() for p in faces.rglob("*.jpg")}
    extract = ["faces", "extract", f"input={faces.parent / 'videos.csv'}", f"out={faces}"]
    refused = run_cli(*extract, "frames_per_video=8", "size=32")
    assert refused.returncode == 1
    assert (
        f"out={faces} holds the crops of 2 video(s) made with other options: size=64 (now 32); "
        "extracting here would replace them all. Give a new out=DIR, or pass overwrite=true"
    ) in refused.stderr
    assert {p: p.read_bytes() for p in faces.rglob("*.jpg")} == before
    run_dir = tmp_path / "run"
    train = [
        "train",
        "task=detect",
        "detector=meso4",
        "data=manifest",
        f"data.manifests=[{ffpp_crops}]",
        "data.image_size=64",
        "data.num_workers=0",
        "trainer.max_epochs=1",
        f"hydra.run.dir={run_dir}",
    ]
    assert run_cli(*train).returncode == 0
    first = (run_dir / "results.json").read_bytes()
    second = run_cli(*train, "trainer.max_epochs=2")
    assert second.returncode == 1
    assert (
        f"the run folder {run_dir} holds another run's results (results.json, "
        "checkpoints/best.ckpt, checkpoints/last.ckpt); training here would replace them. Give "
        "a new hydra.run.dir=DIR, continue that run with resume=true, or pass overwrite=true"
    ) in second.stderr
    assert (run_dir / "results.json").read_bytes() == first


SMOKE = [
    "protocol",
    "--config-name",
    "protocol_smoke",
    "generators.dcgan=null",
    "generators.faceswap=null",
    "test_sets=[]",
    "detectors.xray_small=null",
    'detectors.meso4=["detector=meso4","trainer.max_epochs=3"]',
    "faces.identities={train: 2, val: 1, test: 1}",
    "faces.per_identity=8",
]


def _child_of(stage_dir: Path) -> int:
    """The pid of the `fakearena train` process writing into `stage_dir`."""
    wanted = f"hydra.run.dir={stage_dir}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if wanted in (entry / "cmdline").read_bytes().split(b"\0"):
                    return int(entry.name)
            except OSError:
                continue
    raise AssertionError(f"no process trains into {stage_dir}")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the stage's process in /proc")
def test_a_stage_killed_mid_training_reruns_to_the_table_of_an_uninterrupted_run(tmp_path):
    whole = run_cli(*SMOKE, f"hydra.run.dir={tmp_path / 'whole'}")
    assert whole.returncode == 0, whole.stderr[-3000:]
    run_dir = tmp_path / "killed"
    stage_dir = run_dir / "detectors" / "meso4"
    env = dict(os.environ, WANDB_MODE="offline", PYTHONWARNINGS="ignore")
    parent = subprocess.Popen(
        [sys.executable, "-m", "fakearena.cli", *SMOKE, f"hydra.run.dir={run_dir}"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not (stage_dir / "checkpoints" / "last.ckpt").is_file():  # epoch 1 of 3 is over
        assert parent.poll() is None and time.monotonic() < deadline, parent.communicate()
        time.sleep(0.1)
    os.kill(_child_of(stage_dir), signal.SIGKILL)
    _, err = parent.communicate(timeout=120)
    assert parent.returncode == 1
    assert "it was killed by signal 9" in err and not (stage_dir / "results.json").exists()
    again = run_cli(*SMOKE, f"hydra.run.dir={run_dir}")
    assert again.returncode == 0, again.stderr[-3000:]
    assert (
        "train detector meso4: reruns: the previous attempt did not finish (no results.json: "
        "failed or killed)"
    ) in again.stdout
    (kept,) = (run_dir / "replaced").glob("*/detectors/meso4")
    assert (kept / "checkpoints" / "last.ckpt").is_file()  # the killed attempt is kept
    resumed = pd.read_csv(run_dir / "protocol.csv")
    pd.testing.assert_frame_equal(resumed, pd.read_csv(tmp_path / "whole" / "protocol.csv"))

"""`fakearena detect`: faces found, scored and averaged per input; no face -> exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fakearena.runs.detect_report import Verdicts
from test_evaluate import save_detect_checkpoint

from conftest import run_cli

skimage_data = pytest.importorskip("skimage.data")


def _write_video(path: Path, frame: np.ndarray, n: int = 3) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = frame.shape[1], frame.shape[0], "yuv420p"
        for _ in range(n):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def _no_face_image() -> np.ndarray:
    y, x = np.mgrid[0:240, 0:320]
    return np.stack([x * 255 // 320, y * 255 // 240, np.full_like(x, 128)], -1).astype(np.uint8)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return save_detect_checkpoint(tmp_path_factory.mktemp("ckpt") / "d.ckpt", size=64)


def test_detect_on_a_folder_scores_faces_and_averages_per_input(tmp_path: Path, ckpt: Path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    astronaut = skimage_data.astronaut()
    Image.fromarray(astronaut).save(inputs / "astronaut.png")
    Image.fromarray(_no_face_image()).save(inputs / "wall.png")
    _write_video(inputs / "clip.mp4", astronaut, n=3)
    run_dir = tmp_path / "run"
    result = run_cli("detect", str(inputs), f"ckpt={ckpt}", f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "NO FACE" in result.stdout and "astronaut.png" in result.stdout
    rows = pd.read_csv(run_dir / "detections.csv")
    report = {
        Path(r["input"]).name: r
        for r in json.loads((run_dir / "detections.json").read_text())["results"]
    }
    photo = rows[rows.input.str.endswith("astronaut.png")]
    assert len(photo) == 1 and photo.frame.iat[0] == 0
    # Eileen Collins' face: the box lies around (180..270, 60..175) in the 512x512 photo
    cx, cy = (photo.x1.iat[0] + photo.x2.iat[0]) / 2, (photo.y1.iat[0] + photo.y2.iat[0]) / 2
    assert 170 < cx < 280 and 60 < cy < 180
    assert 0.0 < photo.prob.iat[0] < 1.0
    video = rows[rows.input.str.endswith("clip.mp4")]
    assert sorted(video.frame) == [0, 1, 2]
    assert report["clip.mp4"]["frames_scanned"] == 3
    assert report["clip.mp4"]["mean_prob"] == pytest.approx(video.prob.mean())
    assert report["clip.mp4"]["verdict"] == Verdicts(0.5, 0.1).of(video.prob.mean())
    assert report["wall.png"]["verdict"] == "no face" and report["wall.png"]["faces"] == 0


def test_detect_without_any_face_says_so_and_exits_2(tmp_path: Path, ckpt: Path):
    image = tmp_path / "wall.png"
    Image.fromarray(_no_face_image()).save(image)
    run_dir = tmp_path / "run"
    result = run_cli("detect", str(image), f"ckpt={ckpt}", f"hydra.run.dir={run_dir}")
    assert result.returncode == 2, result.stderr[-3000:]
    assert "no face found in" in result.stderr and "Traceback" not in result.stderr
    assert json.loads((run_dir / "detections.json").read_text())["results"][0]["faces"] == 0


def test_detect_for_real_use_bar_bad_file_faces_and_uncertain(tmp_path: Path, ckpt: Path):
    """A folder as users have them: a group photo, a WebP saved as .jpg, a broken file.

    The bar counts frames, the broken file is listed and skipped, the photo of two people
    gets a line per face, and verdicts within 0.49 of the threshold are called uncertain.
    """
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    astronaut = skimage_data.astronaut()
    Image.fromarray(np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)).save(
        inputs / "two_people.png"
    )
    Image.fromarray(astronaut).save(inputs / "saved_as.jpg", format="WEBP")
    (inputs / "broken.jpg").write_bytes(b"this is not a picture")
    train_run = tmp_path / "train_run"  # ckpt= takes the training run folder
    (train_run / "checkpoints").mkdir(parents=True)
    (train_run / "checkpoints" / "best.ckpt").write_bytes(ckpt.read_bytes())
    run_dir = tmp_path / "run"
    result = run_cli(
        "detect", str(inputs), f"ckpt={train_run}", "uncertain=0.49", f"hydra.run.dir={run_dir}"
    )
    assert result.returncode == 1, result.stderr[-3000:]  # one input could not be read
    assert "detect: 100%" in result.stderr and "| 3/3 [" in result.stderr  # the bar
    assert "fakearena: could not read" in result.stderr and "broken.jpg" in result.stderr
    assert "1 of 3 input(s) could not be read" in result.stderr
    lines = result.stdout.splitlines()
    row = {line.split()[0]: line for line in lines if line.split() and "." in line.split()[0]}
    assert row["broken.jpg"].rstrip().endswith("UNREADABLE")
    assert "UNCERTAIN (leans" in row["saved_as.jpg"]
    faces = [line for line in lines if line.strip().startswith("face ")]
    assert [line.split(":")[0].strip() for line in faces] == ["face 1", "face 2"]
    assert all("box (" in line and "UNCERTAIN (leans" in line for line in faces)
    report = json.loads((run_dir / "detections.json").read_text())
    assert report["checkpoint"] == str((train_run / "checkpoints" / "best.ckpt").resolve())
    assert list(report["unreadable"]) == [str(inputs / "broken.jpg")]
    by_name = {Path(r["input"]).name: r for r in report["results"]}
    assert by_name["broken.jpg"]["verdict"] == "unreadable" and by_name["broken.jpg"]["error"]
    assert by_name["two_people.png"]["faces"] == 2
    assert by_name["saved_as.jpg"]["verdict"] == "uncertain"
    rows = pd.read_csv(run_dir / "detections.csv")
    pair = rows[rows.input.str.endswith("two_people.png")].sort_values("x1")
    assert pair.x2.iat[0] < 512 < pair.x1.iat[1]  # one face in each half


def test_verdicts_near_the_threshold_are_uncertain():
    verdicts = Verdicts(threshold=0.5, uncertain=0.1)
    assert [verdicts.of(p) for p in (0.2, 0.41, 0.5, 0.59, 0.6, 0.95)] == [
        "real", "uncertain", "uncertain", "uncertain", "fake", "fake",
    ]  # fmt: skip
    assert verdicts.text(0.55) == "UNCERTAIN (leans fake)"
    assert verdicts.text(0.45) == "UNCERTAIN (leans real)"
    assert Verdicts(0.5, 0.0).of(0.5) == "fake"


@pytest.mark.real_data
def test_detect_on_the_group_photo_prints_a_line_per_face(tmp_path: Path, ckpt: Path, fixtures_dir):
    photo = fixtures_dir / "faces" / "photos" / "multiface.jpg"
    result = run_cli("detect", str(photo), f"ckpt={ckpt}", f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 0, result.stderr[-3000:]
    faces = [line for line in result.stdout.splitlines() if line.strip().startswith("face ")]
    assert len(faces) == 6 and all("box (" in line for line in faces)

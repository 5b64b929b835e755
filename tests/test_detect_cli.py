"""`fakearena detect`: faces found, scored and averaged per input; no face -> exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
from PIL import Image

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
    assert report["clip.mp4"]["verdict"] == ("fake" if video.prob.mean() >= 0.5 else "real")
    assert report["wall.png"]["verdict"] == "no face" and report["wall.png"]["faces"] == 0


def test_detect_without_any_face_says_so_and_exits_2(tmp_path: Path, ckpt: Path):
    image = tmp_path / "wall.png"
    Image.fromarray(_no_face_image()).save(image)
    run_dir = tmp_path / "run"
    result = run_cli("detect", str(image), f"ckpt={ckpt}", f"hydra.run.dir={run_dir}")
    assert result.returncode == 2, result.stderr[-3000:]
    assert "no face found in" in result.stderr and "Traceback" not in result.stderr
    assert json.loads((run_dir / "detections.json").read_text())["results"][0]["faces"] == 0

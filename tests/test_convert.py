"""`fakearena convert`: paste-back geometry, tracking, and a real clip converted end to end."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fakearena.data.manifest import read_manifest
from fakearena.faces.detect import Face, alignment_matrix, warp_affine
from fakearena.faces.tracking import FaceTrack, box_iou
from fakearena.faces.video import probe_video, read_frames
from fakearena.generation.video_swap import paste_back

from conftest import run_cli


def textured_frame(height=120, width=160, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((width, height), Image.BILINEAR))


def face_at(x: float, y: float, scale: float = 1.0, prob: float = 0.99) -> Face:
    points = np.array([[-10, -8], [10, -8], [0, 2], [-7, 10], [7, 10]], float) * scale
    box = np.array([x - 16 * scale, y - 20 * scale, x + 16 * scale, y + 20 * scale])
    return Face(box=box, landmarks=points + np.array([x, y]), prob=prob)


def test_paste_back_leaves_pixels_outside_the_mask_exactly_and_puts_the_crop_inside():
    frame = textured_frame()
    face = face_at(70, 60, scale=1.3)
    matrix = alignment_matrix(face, 64, "similarity", 0.15)
    grey = np.full((64, 64, 3), 200, np.uint8)
    mask = np.zeros((64, 64), np.float32)
    mask[16:48, 16:48] = 1.0
    out, full = paste_back(frame, grey, mask, matrix)
    untouched = full == 0
    assert untouched.any() and (~untouched).any()
    assert np.array_equal(out[untouched], frame[untouched])
    assert np.all(out[full > 0.999] == 200)
    # the mask lands where the crop's centre maps: the crop of the result is grey there
    again = warp_affine(out, matrix, 64)
    assert np.abs(again[24:40, 24:40].astype(int) - 200).max() <= 1


def test_paste_back_of_the_unchanged_crop_reproduces_the_frame():
    frame = textured_frame(seed=1)
    matrix = alignment_matrix(face_at(80, 60, scale=1.0), 128, "similarity", 0.15)
    crop = warp_affine(frame, matrix, 128)  # upsampled 2x: resampling back loses little
    out, full = paste_back(frame, crop, np.ones((128, 128), np.float32), matrix)
    inside = full > 0.999
    assert inside.sum() > 500
    error = np.abs(out.astype(int) - frame.astype(int))[inside]
    assert error.mean() < 6  # bilinear there and back on a texture of 8-px blocks


def test_box_iou_equals_a_pixel_count():
    a, b = (10, 10, 30, 40), (20, 15, 50, 35)
    grid_a = np.zeros((60, 60), bool)
    grid_b = np.zeros((60, 60), bool)
    grid_a[10:40, 10:30] = True
    grid_b[15:35, 20:50] = True
    expected = (grid_a & grid_b).sum() / (grid_a | grid_b).sum()
    assert box_iou(a, b) == pytest.approx(expected)
    assert box_iou(a, (100, 100, 110, 110)) == 0.0


def test_the_track_follows_its_person_not_the_largest_face():
    track = FaceTrack(patience=2)
    me, big = face_at(40, 40), face_at(120, 60, scale=2.0)
    assert track.follow([me]) is me
    moved = face_at(44, 41)
    assert track.follow([big, moved]) is moved  # overlap wins over size
    assert track.follow([big]) is None  # lost: the big face is someone else
    assert track.follow([big]) is None
    assert track.follow([big]) is big  # lost for `patience` frames: start again
    assert track.restarts == 1
    assert track.follow([face_at(120, 60, scale=2.0, prob=0.5)]) is None  # too unsure


def make_clip(source: Path, out: Path, frames: int = 10, size=(480, 270)) -> Path:
    """The first `frames` frames of a real video, scaled, with a black frame first (no face)
    and the matching stretch of its audio re-encoded."""
    container = av.open(str(out), "w", format="mp4")
    video = container.add_stream("libx264", rate=Fraction(25))
    video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
    audio_in = av.open(str(source))
    has_audio = bool(audio_in.streams.audio)
    audio = container.add_stream("aac", rate=48000) if has_audio else None
    pictures = [np.zeros((size[1], size[0], 3), np.uint8)]
    for _, frame in read_frames(source, range(frames - 1)):
        pictures.append(np.asarray(Image.fromarray(frame).resize(size, Image.BILINEAR)))
    for picture in pictures:
        for packet in video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
            container.mux(packet)
    for packet in video.encode():
        container.mux(packet)
    if audio is not None:
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48000)
        for decoded in audio_in.decode(audio_in.streams.audio[0]):
            if decoded.time > frames / 25:
                break
            for piece in resampler.resample(decoded):
                for packet in audio.encode(piece):
                    container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
    audio_in.close()
    container.close()
    return out


@pytest.fixture(scope="module")
def swap_run(tmp_path_factory) -> Path:
    """A face-swap checkpoint of two synthetic people after a few steps (its swaps are
    blurry; the conversion's mechanics are what is tested)."""
    run_dir = tmp_path_factory.mktemp("swap") / "run"
    result = run_cli(
        "train",
        "task=faceswap",
        "data=synthetic",
        "data.synthetic.n_identities=4",
        "data.synthetic.per_identity=20",
        "trainer.max_epochs=1",
        "data.epoch_size=32",
        "task.preview_faces=0",
        "task.face_metrics_n=0",  # the held-out ID metrics: tests/test_swap_heldout.py
        f"hydra.run.dir={run_dir}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


@pytest.mark.real_data
def test_convert_swaps_every_face_frame_keeps_size_rate_audio_and_writes_a_manifest(
    swap_run: Path, fixtures_dir: Path, tmp_path: Path
):
    clip = make_clip(fixtures_dir / "dfdc_real" / "lynaeydofd.mp4", tmp_path / "clip.mp4")
    out = tmp_path / "converted"
    result = run_cli(
        "convert",
        f"ckpt={swap_run}",
        f"video={clip}",
        "donor=synth001",
        "target=lynaeydofd",
        f"out={out}",
        "device=cpu",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    video = out / "clip_to_synth001.mp4"
    before, after = probe_video(clip), probe_video(video)
    assert (after.frame_count, after.width, after.height) == (10, 480, 270)
    assert after.fps == pytest.approx(before.fps)
    with av.open(str(video)) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]
    frames = pd.read_csv(out / "frames.csv")
    assert len(frames) == 10
    assert not frames.loc[0, "swapped"] and frames.loc[0, "reason"] == "no face"
    assert frames["swapped"].sum() >= 8  # the seated person is found in (nearly) every frame
    assert "9 of 10 frames swapped" in result.stdout or "8 of 10 frames" in result.stdout
    # pixels outside the paste-back mask are the source's (up to the two H.264 encodes)
    source = dict(read_frames(clip))
    converted = dict(read_frames(video))
    first = int(frames.loc[frames["swapped"], "frame"].iloc[0])
    mask = np.asarray(Image.open(out / frames.loc[first, "mask"]))
    outside, inside = mask == 0, mask == 255
    difference = np.abs(converted[first].astype(int) - source[first].astype(int)).mean(axis=2)
    assert difference[outside].mean() < 2.0
    assert difference[inside].mean() > difference[outside].mean() + 5
    manifest = read_manifest(out / "clip_to_synth001.csv")
    row = manifest.frame.iloc[0]
    assert (row["label"], row["identity"], row["donor"]) == (1, "lynaeydofd", "synth001")
    assert manifest.card.provenance["convert"]["swapped"] == int(frames["swapped"].sum())


def test_an_unknown_donor_is_named_with_the_choices(swap_run: Path, tmp_path: Path):
    result = run_cli(
        "convert", f"ckpt={swap_run}", "video=x.mp4", "donor=nobody", f"out={tmp_path}"
    )
    assert result.returncode != 0
    assert "donor='nobody' is not a person of this face-swap checkpoint" in result.stderr
    assert "synth000" in result.stderr

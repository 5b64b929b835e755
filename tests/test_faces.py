"""Face detection, alignment and extraction on real pixels (scikit-image's astronaut)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage import data
from skimage.transform import SimilarityTransform

from _media import moving_face_frames, write_video
from fakearena.data.manifest import read_manifest
from fakearena.errors import DataError
from fakearena.faces.cli import main as faces_main
from fakearena.faces.detect import (
    ARCFACE_TEMPLATE_112,
    Face,
    FaceDetector,
    align_face,
    alignment_matrix,
    select_faces,
    template_landmarks,
    transform_points,
    umeyama,
    warp_affine,
)
from fakearena.faces.extract import ExtractOptions, SourceItem, extract_faces


@pytest.fixture(scope="module")
def detector():
    return FaceDetector(detect_size=320)


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut()


@pytest.fixture(scope="module")
def astronaut_face(detector, astronaut):
    faces = detector.detect(astronaut)
    assert len(faces) == 1
    return faces[0]


def test_umeyama_matches_scikit_image():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -4.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = scale * src @ rot.T + shift
    np.testing.assert_allclose(
        umeyama(src, dst), np.hstack([scale * rot, shift[:, None]]), atol=1e-9
    )
    noisy = dst + rng.normal(0, 2.0, dst.shape)
    if hasattr(SimilarityTransform, "from_estimate"):
        reference = SimilarityTransform.from_estimate(src, noisy)
    else:
        reference = SimilarityTransform()
        assert reference.estimate(src, noisy)
    np.testing.assert_allclose(umeyama(src, noisy), reference.params[:2], atol=1e-8)


def test_template_is_arcface_scaled_with_margin():
    np.testing.assert_allclose(template_landmarks(112, 0.0), ARCFACE_TEMPLATE_112)
    t = template_landmarks(256, 0.25)
    # The margin shrinks the template about the centre by 1 / 1.5.
    np.testing.assert_allclose(t - 128, (ARCFACE_TEMPLATE_112 / 112 * 256 - 128) / 1.5)


def test_warp_translation_is_an_exact_slice():
    image = np.random.default_rng(1).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    matrix = np.array([[1.0, 0.0, -13.0], [0.0, 1.0, -7.0]])  # crop origin at (13, 7)
    np.testing.assert_array_equal(warp_affine(image, matrix, 32), image[7:39, 13:45])


def test_astronaut_aligned_eyes_land_on_the_template(detector, astronaut, astronaut_face):
    face = astronaut_face
    assert face.prob > 0.99
    x1, y1, x2, y2 = face.box
    assert 150 < x1 < x2 < 300 and 30 < y1 < y2 < 200  # her face, not the flag or the suit
    size = 128
    crop = align_face(astronaut, face, size, "similarity")
    assert crop.shape == (size, size, 3) and crop.dtype == np.uint8
    template = template_landmarks(size)
    moved = transform_points(alignment_matrix(face, size), face.landmarks)
    assert np.abs(moved[:2] - template[:2]).max() < 3
    # Independent check: detect again on the crop itself.
    again = FaceDetector(detect_size=0, min_face_size=20).detect(crop)
    assert len(again) == 1
    assert np.linalg.norm(again[0].landmarks[:2] - template[:2], axis=1).max() < 4


def test_detection_on_a_downscaled_frame_maps_back(astronaut, astronaut_face):
    big = np.asarray(Image.fromarray(astronaut).resize((1024, 1024), Image.BILINEAR))
    faces = FaceDetector(detect_size=320).detect(big)
    assert len(faces) == 1
    np.testing.assert_allclose(faces[0].box, astronaut_face.box * 2, atol=12)
    np.testing.assert_allclose(faces[0].landmarks, astronaut_face.landmarks * 2, atol=8)


def test_detector_equals_facenet_mtcnn_at_full_resolution(astronaut):
    """Our stages (channels_last on CPU) give facenet-pytorch's own boxes, landmarks, probs."""
    from facenet_pytorch import MTCNN

    ours = FaceDetector(detect_size=0, min_prob=0.0).detect(astronaut)
    boxes, probs, points = MTCNN(keep_all=True, device="cpu").detect(astronaut, landmarks=True)
    assert len(ours) == len(boxes) >= 1
    order = np.argsort(-np.asarray(probs, np.float64))
    for face, k in zip(ours, order):
        np.testing.assert_allclose(face.box, np.asarray(boxes[k], np.float64), atol=1e-2)
        np.testing.assert_allclose(face.landmarks, np.asarray(points[k], np.float64), atol=1e-2)
        assert face.prob == pytest.approx(float(probs[k]), abs=1e-5)


def test_box_crop_is_centred_on_the_box(astronaut, astronaut_face):
    matrix = alignment_matrix(astronaut_face, 100, "box", margin=0.25)
    box = astronaut_face.box
    centre = transform_points(matrix, [[(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]])
    np.testing.assert_allclose(centre, [[50, 50]], atol=1e-9)
    side = max(box[2] - box[0], box[3] - box[1])
    assert matrix[0, 0] == pytest.approx(100 / (1.5 * side))


def test_selection_largest_or_confident():
    small = Face(np.array([0, 0, 10, 10.0]), np.zeros((5, 2)), 0.99)
    big = Face(np.array([0, 0, 50, 50.0]), np.zeros((5, 2)), 0.95)
    assert select_faces([small, big], "largest") == [big]
    assert select_faces([small, big], "confident") == [small]
    assert select_faces([small, big], "largest", multi_face=True) == [big, small]
    assert select_faces([], "largest") == []


def test_noise_has_no_face(detector):
    noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    assert detector.detect(noise) == []


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    frames, offsets = moving_face_frames(12)
    write_video(folder / "moving.mp4", frames)
    ramp = np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None]
    blank = [np.broadcast_to(ramp, (48, 64, 3)).copy() for _ in range(6)]  # no face in it
    write_video(folder / "blank.mp4", blank)
    return folder, offsets


def test_video_extraction_end_to_end_with_resume(tmp_path, media):
    folder, offsets = media
    options = ExtractOptions(frames_per_video=4, size=64, detect_size=320)
    items = [
        SourceItem(
            path=folder / "moving.mp4",
            kind="video",
            video_id="set/moving",
            label=1,
            split="train",
            identity="astro",
            source="test/paste",
        ),
        SourceItem(
            path=folder / "blank.mp4", kind="video", video_id="set/blank", label=0, split="train"
        ),
    ]
    out = tmp_path / "out"
    summary = extract_faces(items, out, options, name="clip", progress=False)
    manifest = read_manifest(summary.manifest_path, check_files=True)
    frame = manifest.frame
    assert list(frame["frame"]) == [1, 4, 7, 10]  # 4 frames spread over 12
    assert set(frame["video_id"]) == {"set/moving"} and set(frame["label"]) == {1}
    assert set(frame["identity"]) == {"astro"} and set(frame["source"]) == {"test/paste"}
    for _, row in frame.iterrows():  # the box follows the pasted face
        x, y = offsets[row["frame"]]
        x1, y1, x2, y2 = map(float, row["box"].split())
        assert x < (x1 + x2) / 2 < x + 160 and y < (y1 + y2) / 2 < y + 160
        assert len(row["landmarks"].split()) == 10 and float(row["face_prob"]) > 0.9
    assert np.asarray(Image.open(manifest.abspath(0))).shape == (64, 64, 3)
    report = json.loads(summary.report_path.read_text())
    assert report["videos_without_face"] == ["set/blank"]
    assert report["videos"]["set/blank"]["no_face_frames"] == [0, 2, 3, 5]
    assert report["totals"]["frames_without_face"] == 4

    # Rerun: both videos are skipped, the manifest is the same.
    first = summary.manifest_path.read_bytes()
    again = extract_faces(items, out, options, name="clip", progress=False)
    assert again.totals["resumed"] == 2 and again.manifest_path.read_bytes() == first
    # A different crop size is refused rather than replacing every crop without a word ...
    bigger = ExtractOptions(frames_per_video=4, size=80, detect_size=320)
    with pytest.raises(DataError) as refused:
        extract_faces(items[1:], out, bigger, name="blank", progress=False)
    assert str(refused.value) == (
        f"out={out} holds the crops of 2 video(s) made with other options: size=64 (now 80); "
        "extracting here would replace them all. Give a new out=DIR, or pass overwrite=true "
        "to extract afresh (the old folder is then moved to out.replaced-<time>/ beside it)"
    )
    assert summary.manifest_path.read_bytes() == first  # untouched
    # ... and with overwrite the old folder is moved aside whole, then the work is redone.
    redone = extract_faces(items[1:], out, bigger, name="blank", progress=False, overwrite=True)
    assert redone.totals["resumed"] == 0
    (kept,) = tmp_path.glob("out.replaced-*")
    assert (kept / "clip.csv").read_bytes() == first


def test_cli_on_an_image_and_a_broken_video(tmp_path, astronaut):
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.fromarray(astronaut).save(inputs / "astro.png")
    (inputs / "broken.mp4").write_bytes(b"not a video at all")
    code = faces_main(
        [
            "extract",
            f"input={inputs}",
            f"out={tmp_path / 'out'}",
            "size=64",
            "detect_size=320",
            "label=fake",
            "split=val",
            "progress=false",
        ]
    )
    assert code == 1  # the broken video is reported, and the exit code says so
    table = pd.read_csv(tmp_path / "out" / "in.csv")
    assert list(table["video_id"]) == ["astro"] and list(table["label"]) == [1]
    assert list(table["split"]) == ["val"] and list(table["source"]) == ["fake"]
    report = json.loads((tmp_path / "out" / "in_report.json").read_text())
    assert "broken" in report["videos_unreadable"]


def test_a_truncated_video_reports_frames_read_against_the_declared_count(tmp_path):
    from fakearena.faces.video import probe_video

    frames, _ = moving_face_frames(16)
    whole = write_video(tmp_path / "in" / "whole.mp4", frames, faststart=True)
    data = whole.read_bytes()
    cut = tmp_path / "in" / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # a download that stopped halfway
    info = probe_video(cut)
    assert info.declared_frames == 16 and 0 < info.frame_count < 16 and info.truncated
    assert not probe_video(whole).truncated
    options = ["frames_per_video=2", "size=32", "detect_size=160", "progress=false"]
    code = faces_main(["extract", f"input={tmp_path / 'in'}", f"out={tmp_path / 'out'}", *options])
    assert code == 0  # decodable: its faces are used, and the report says what is missing
    report = json.loads((tmp_path / "out" / "in_report.json").read_text())
    cut_report, whole_report = report["videos"]["cut"], report["videos"]["whole"]
    assert cut_report["status"] == "ok" and cut_report["truncated"] is True
    assert cut_report["frames_in_container"] == 16
    assert cut_report["frames_readable"] == info.frame_count
    assert (
        f"{info.frame_count} of the 16 frames its container declares" in (cut_report["truncation"])
    )
    assert whole_report["truncated"] is False and whole_report["frames_readable"] == 16
    assert report["totals"]["videos_truncated"] == 1
    assert list(report["videos_truncated"]) == ["cut"]


def test_crops_of_a_dataset_keep_its_license_and_citation(tmp_path, astronaut):
    from fakearena.data.manifest import Manifest, ManifestCard, write_manifest

    Image.fromarray(astronaut).save(tmp_path / "astro.png")
    row = {"path": "astro.png", "label": 0, "split": "test", "video_id": "astro", "frame": 0}
    card = ManifestCard(name="src", license="Research only", citation="Someone et al., 2020")
    source = Manifest(pd.DataFrame([{**row, "identity": "", "source": "real"}]), card, tmp_path)
    path = write_manifest(source, tmp_path / "src.csv")
    out = tmp_path / "faces"
    code = faces_main(
        ["extract", f"input={path}", f"out={out}", "size=32", "detect_size=320", "progress=false"]
    )
    assert code == 0
    crops = read_manifest(out / "src.csv").card
    assert crops.license == "Research only" and crops.citation == "Someone et al., 2020"

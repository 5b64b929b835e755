"""68-point landmarks and identity embeddings (dlib): pinned model files, the same numbers as
dlib's own calls on the same pixels, landmarks stored with every extracted crop in crop pixels,
validated on read, and failures reported like frames without faces."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fakearena.data.landmarks import LANDMARKS_COLUMN, format_landmarks, parse_landmarks
from fakearena.data.manifest import read_manifest
from fakearena.errors import DataError, ManifestError
from fakearena.faces import landmarks as landmarks_module
from fakearena.faces.crop import landmarks_agree
from fakearena.faces.detect import Face, FaceDetector, alignment_matrix, transform_points
from fakearena.faces.extract import (
    ExtractOptions,
    SourceItem,
    extract_faces,
    extract_item,
    load_image_rgb,
)
from fakearena.faces.identity import FaceEmbedder, identity_distance
from fakearena.faces.landmarks import MODEL_SHA256, LandmarkDetector, model_path

dlib = pytest.importorskip("dlib")


@pytest.fixture(scope="module")
def landmarker() -> LandmarkDetector:
    return LandmarkDetector()


@pytest.fixture(scope="module")
def photos(fixtures_dir: Path) -> dict[str, np.ndarray]:
    folder = fixtures_dir / "faces" / "photos"
    people = ("angelina_jolie", "kate_siegel", "paul_rudd")
    return {p: _smaller(load_image_rgb(folder / p / "1.jpg")) for p in people}


def _smaller(image: np.ndarray, side: int = 480) -> np.ndarray:
    """The photo with its long side at `side` pixels (dlib's HOG detector is slow on 2 MP)."""
    from PIL import Image

    scale = side / max(image.shape[:2])
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))


def test_model_files_are_checked_by_sha256(tmp_path: Path, monkeypatch):
    for name, expected in MODEL_SHA256.items():
        path = model_path(name)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == expected
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "shape_predictor_68_face_landmarks.dat").write_bytes(b"not a model")

    from types import SimpleNamespace

    spec = SimpleNamespace(submodule_search_locations=[str(tmp_path)])
    monkeypatch.setattr(landmarks_module.importlib.util, "find_spec", lambda name: spec)
    monkeypatch.setattr(landmarks_module, "_VERIFIED", set())
    with pytest.raises(DataError, match="reinstall: pip install --force-reinstall"):
        model_path("shape_predictor_68_face_landmarks.dat")
    monkeypatch.setattr(landmarks_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match="face-recognition-models"):
        model_path("shape_predictor_68_face_landmarks.dat")


def test_landmark_text_round_trips_and_names_bad_cells():
    points = np.random.default_rng(0).uniform(0, 256, (68, 2)).astype(np.float32)
    np.testing.assert_allclose(parse_landmarks(format_landmarks(points)), points, atol=0.005)
    assert parse_landmarks("") is None and parse_landmarks(float("nan")) is None
    with pytest.raises(DataError, match="row 3: landmarks68 holds 4 values"):
        parse_landmarks("1 2 3 4", "row 3")
    with pytest.raises(DataError, match="numbers separated by spaces"):
        parse_landmarks("1 x", "row 3")


@pytest.mark.real_data
def test_landmarks_equal_dlibs_own_output_on_the_same_pixels(landmarker, photos):
    predictor = dlib.shape_predictor(str(model_path("shape_predictor_68_face_landmarks.dat")))
    for image in photos.values():
        box = (30.5, 20.2, image.shape[1] - 30.0, image.shape[0] - 20.7)
        ours = landmarker(image, box)
        rect = dlib.rectangle(30, 20, image.shape[1] - 31, image.shape[0] - 21)
        theirs = predictor(image, rect)
        expected = np.array([[p.x + 0.5, p.y + 0.5] for p in theirs.parts()], np.float32)
        assert ours.shape == (68, 2) and ours.dtype == np.float32
        np.testing.assert_array_equal(ours, expected)
    # without a box: dlib's own HOG detector finds the face
    image = photos["kate_siegel"]
    detected = dlib.get_frontal_face_detector()(image, 1)[0]
    expected = predictor(image, detected)
    found = landmarker(image)
    np.testing.assert_array_equal(found, [[p.x + 0.5, p.y + 0.5] for p in expected.parts()])


@pytest.mark.real_data
def test_identity_embedding_is_dlibs_descriptor_and_separates_people(landmarker, photos):
    embedder = FaceEmbedder()
    network = dlib.face_recognition_model_v1(
        str(model_path("dlib_face_recognition_resnet_model_v1.dat"))
    )
    predictor = dlib.shape_predictor(str(model_path("shape_predictor_68_face_landmarks.dat")))
    detector = dlib.get_frontal_face_detector()
    vectors = {}
    for person, image in photos.items():
        marks = landmarker(image)
        vectors[person] = embedder.embed(image, marks)
        shape = predictor(image, detector(image, 1)[0])
        reference = np.array(network.compute_face_descriptor(image, shape, 1, 0.25), np.float32)
        np.testing.assert_allclose(vectors[person], reference, atol=1e-6)
    batch = embedder.embed_batch(list(photos.values()), [landmarker(i) for i in photos.values()])
    np.testing.assert_allclose(batch, np.stack(list(vectors.values())), atol=1e-6)
    people = list(vectors)
    for i, a in enumerate(people):
        for b in people[i + 1 :]:
            assert identity_distance(vectors[a], vectors[b]) > 0.6  # dlib's same-person bound
    with pytest.raises(DataError, match=r"\(68, 2\) finite landmarks"):
        embedder.embed(photos["paul_rudd"], np.zeros((5, 2)))


@pytest.mark.real_data
def test_extraction_stores_each_crops_landmarks_in_crop_pixels(fixtures_dir, tmp_path, landmarker):
    folder = fixtures_dir / "faces" / "photos"
    items = [
        SourceItem(path=folder / p / "1.jpg", video_id=p, label=0, split="train", kind="image")
        for p in ("kate_siegel", "noise")
    ]
    options = ExtractOptions(size=128, detect_size=640, format="png")
    summary = extract_faces(items, tmp_path / "out", options, name="faces", progress=False)
    manifest = read_manifest(summary.manifest_path)
    frame = manifest.frame
    assert frame["video_id"].tolist() == ["kate_siegel"] and summary.without_face == ["noise"]
    stored = parse_landmarks(frame[LANDMARKS_COLUMN].iloc[0])
    # independent: dlib's predictor on the full photo in MTCNN's box, through the crop matrix
    image = load_image_rgb(folder / "kate_siegel" / "1.jpg")
    box = np.array([float(v) for v in frame["box"].iloc[0].split()])
    five = np.array([float(v) for v in frame["landmarks"].iloc[0].split()]).reshape(5, 2)
    face = FaceDetector(detect_size=640).detect(image)[0]
    np.testing.assert_allclose(face.box, box, atol=0.06)
    matrix = alignment_matrix(face, 128, "similarity", options.margin)
    expected = transform_points(matrix, landmarker(image, face.box))
    np.testing.assert_allclose(stored, expected, atol=0.006)
    assert ((stored > 0) & (stored < 128)).all()
    assert landmarks_agree(Face(box=box, landmarks=five, prob=1.0), landmarker(image, face.box))
    report = json.loads(summary.report_path.read_text())
    assert report["totals"]["frames_without_landmarks"] == 0
    # a corrupted cell is named on read
    csv = pd.read_csv(summary.manifest_path, dtype=str, keep_default_na=False)
    csv.loc[0, LANDMARKS_COLUMN] = "1 2 3"
    csv.to_csv(summary.manifest_path, index=False)
    with pytest.raises(ManifestError, match=r"row\(s\) 1 \(1 in all\): landmarks68 must be empty"):
        read_manifest(summary.manifest_path)


class _StrayLandmarks:
    """A landmark model whose points land far from the face (what a failure looks like)."""

    def __call__(self, image, box=None):
        return np.full((68, 2), 1.0, np.float32)


@pytest.mark.real_data
def test_a_face_without_landmarks_is_reported_and_deepfakebench_crops_skip_it(
    fixtures_dir, tmp_path
):
    path = fixtures_dir / "faces" / "photos" / "paul_rudd" / "1.jpg"
    item = SourceItem(path=path, video_id="p", label=0, split="test", kind="image")
    detector = FaceDetector(detect_size=640)
    options = ExtractOptions(size=64, detect_size=640)
    result = extract_item(item, detector, options, tmp_path / "a", _StrayLandmarks())
    assert result.no_landmark_frames == [0] and result.no_face_frames == []
    assert len(result.rows) == 1 and result.rows[0][LANDMARKS_COLUMN] == ""
    dfb = ExtractOptions(detect_size=640, crop="deepfakebench")
    skipped = extract_item(item, detector, dfb, tmp_path / "b", _StrayLandmarks())
    assert skipped.no_landmark_frames == [0] and skipped.rows == []
    kept = extract_item(item, detector, dfb, tmp_path / "c", LandmarkDetector())
    assert kept.no_landmark_frames == [] and len(kept.rows) == 1
    assert parse_landmarks(kept.rows[0][LANDMARKS_COLUMN]).shape == (68, 2)


def test_deepfakebench_crops_refuse_other_sizes():
    from fakearena.errors import ConfigError

    with pytest.raises(ConfigError, match="crop=deepfakebench is DeepfakeBench's crop"):
        ExtractOptions(crop="deepfakebench", size=128).check()
    with pytest.raises(ConfigError, match="drop landmarks=false"):
        ExtractOptions(crop="deepfakebench", landmarks=False).check()
    ExtractOptions(crop="deepfakebench").check()

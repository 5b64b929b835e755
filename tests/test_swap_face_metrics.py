"""Face-swap metrics of the literature: ID retrieval and similarity, pose and expression error,
each against an independent computation."""

from __future__ import annotations

import numpy as np
import pytest

from fakearena.errors import DataError
from fakearena.metrics.face_geometry import (
    GENERIC_FACE,
    POSE_POINTS,
    camera_matrix,
    expression_error,
    head_pose,
    pose_error,
    similarity_align,
)
from fakearena.metrics.swap_identity import id_retrieval, id_similarity, identity_gallery


def people_embeddings(rng, n_people=12, shots=5, dim=16, spread=0.3):
    centres = rng.standard_normal((n_people, dim))
    names = [f"p{i:02d}" for i in range(n_people)]
    embeddings = np.concatenate([c + spread * rng.standard_normal((shots, dim)) for c in centres])
    identities = [name for name in names for _ in range(shots)]
    return names, centres, embeddings, identities


def brute_force_topk(swaps, donors, embeddings, identities, k):
    """Rank identities by cosine to their centroid with a plain loop and sorted()."""
    names = sorted(set(identities))
    centroids = {}
    for name in names:
        rows = [e / np.linalg.norm(e) for e, i in zip(embeddings, identities) if i == name]
        mean = np.mean(rows, axis=0)
        centroids[name] = mean / np.linalg.norm(mean)
    hits = 0
    for swap, donor in zip(swaps, donors):
        unit = swap / np.linalg.norm(swap)
        ranked = sorted(names, key=lambda n: (-float(unit @ centroids[n]), names.index(n)))
        hits += donor in ranked[:k]
    return hits / len(swaps)


def test_id_retrieval_equals_a_brute_force_ranking():
    rng = np.random.default_rng(0)
    names, centres, embeddings, identities = people_embeddings(rng)
    donors = [names[i] for i in rng.integers(0, len(names), 40)]
    # swaps: a mix of donor and another face, so some retrievals fail
    swaps = np.stack(
        [0.6 * centres[names.index(d)] + rng.standard_normal(16) for d in donors]
    )
    gallery = identity_gallery(embeddings, identities)
    scores = id_retrieval(swaps, donors, gallery, ks=(1, 3, 5))
    for k in (1, 3, 5):
        assert scores[f"top{k}"] == pytest.approx(
            brute_force_topk(swaps, donors, embeddings, identities, k)
        )
    assert 0 < scores["top1"] < scores["top5"] < 1  # the data make both kinds of outcome


def test_an_identity_swap_retrieves_its_donor_every_time():
    rng = np.random.default_rng(1)
    _, _, embeddings, identities = people_embeddings(rng, spread=0.05)
    gallery = identity_gallery(embeddings, identities)
    # the "swap" is the donor's own real face
    assert id_retrieval(embeddings, identities, gallery) == {"top1": 1.0, "top5": 1.0}
    assert id_similarity(embeddings, identities, gallery) > 0.95


def test_id_similarity_is_the_mean_cosine_to_the_centroid():
    rng = np.random.default_rng(2)
    names, _, embeddings, identities = people_embeddings(rng)
    gallery = identity_gallery(embeddings, identities)
    swaps = rng.standard_normal((7, 16))
    donors = [names[i] for i in range(7)]
    expected = []
    for swap, donor in zip(swaps, donors):
        mine = [e for e, i in zip(embeddings, identities) if i == donor]
        rows = np.array([e / np.linalg.norm(e) for e in mine])
        centroid = rows.mean(axis=0) / np.linalg.norm(rows.mean(axis=0))
        expected.append(swap @ centroid / np.linalg.norm(swap))
    assert id_similarity(swaps, donors, gallery) == pytest.approx(np.mean(expected))


def test_a_donor_without_real_faces_is_named():
    rng = np.random.default_rng(3)
    _, _, embeddings, identities = people_embeddings(rng, n_people=3)
    gallery = identity_gallery(embeddings, identities)
    with pytest.raises(DataError, match=r"donor identities \['nobody'\]"):
        id_retrieval(embeddings[:1], ["nobody"], gallery)


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    y, p, r = np.radians([yaw, pitch, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def projected_landmarks(yaw, pitch, roll, size=(256, 256), distance=2000.0) -> np.ndarray:
    """68 landmarks whose pose points are the generic face turned by known angles and
    projected by a pinhole camera (the other 62 points are filler)."""
    model = GENERIC_FACE * np.array([1.0, -1.0, -1.0])  # camera frame: y down, z away
    points = model @ rotation(yaw, pitch, roll).T + np.array([0.0, 0.0, distance])
    pixels = points @ camera_matrix(size).T
    landmarks = np.full((68, 2), 128.0)
    landmarks[list(POSE_POINTS)] = pixels[:, :2] / pixels[:, 2:]
    return landmarks


@pytest.mark.parametrize("angles", [(0, 0, 0), (20, 0, 0), (0, -15, 0), (0, 0, 10), (25, 10, -8)])
def test_head_pose_recovers_a_known_rotation(angles):
    recovered = head_pose(projected_landmarks(*angles), (256, 256))
    np.testing.assert_allclose(recovered, angles, atol=0.05)


def test_pose_error_is_zero_for_the_same_face_and_the_angle_gap_otherwise():
    a, b = projected_landmarks(10, 5, 0), projected_landmarks(-5, 5, 3)
    assert pose_error(a, a, (256, 256))["pose_error"] == pytest.approx(0, abs=1e-3)
    errors = pose_error(a, b, (256, 256))
    assert errors["yaw_error"] == pytest.approx(15, abs=0.05)
    assert errors["pitch_error"] == pytest.approx(0, abs=0.05)
    assert errors["roll_error"] == pytest.approx(3, abs=0.05)
    assert errors["pose_error"] == pytest.approx(np.hypot(15, 3), abs=0.05)


def least_squares_similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """x' = a x - b y + tx, y' = b x + a y + ty fitted as one linear least-squares problem."""
    rows, values = [], []
    for (x, y), (u, v) in zip(source, target):
        rows += [[x, -y, 1, 0], [y, x, 0, 1]]
        values += [u, v]
    a, b, tx, ty = np.linalg.lstsq(np.array(rows), np.array(values), rcond=None)[0]
    x, y = source[:, 0], source[:, 1]
    return np.stack([a * x - b * y + tx, b * x + a * y + ty], axis=1)


def test_similarity_alignment_equals_linear_least_squares():
    rng = np.random.default_rng(4)
    source, target = rng.uniform(0, 100, (51, 2)), rng.uniform(0, 100, (51, 2))
    np.testing.assert_allclose(
        similarity_align(source, target), least_squares_similarity(source, target), atol=1e-8
    )


def test_expression_error_ignores_in_plane_pose_and_size_but_sees_an_open_mouth():
    rng = np.random.default_rng(5)
    face = rng.uniform(40, 200, (68, 2))
    angle = np.radians(17)
    r = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    turned = 1.7 * face @ r.T + np.array([13.0, -40.0])
    assert expression_error(face, turned) == pytest.approx(0, abs=1e-9)
    mouth_open = face.copy()
    mouth_open[57:60, 1] += 12.0  # lower lip down
    error = expression_error(face, mouth_open)
    aligned = least_squares_similarity(mouth_open[17:68], face[17:68])
    eyes = np.linalg.norm(face[36] - face[45])
    assert error == pytest.approx(np.mean(np.linalg.norm(aligned - face[17:68], axis=1)) / eyes)
    assert error > 0


def test_bad_landmarks_are_named():
    with pytest.raises(DataError, match=r"68 finite \(x, y\) landmarks, got shape \(5, 2\)"):
        head_pose(np.zeros((5, 2)), (64, 64))

"""Blend-mask shapes for training-time forgeries: landmark hulls, and random shapes without them.

Both SBI and Face X-ray paste a face region through a mask. Where a row has 68-point landmarks
(`fakearena.data.landmarks`) the region is a convex hull of them, as the papers draw it; where it
has none, a random star-shaped polygon placed and sized over a wide range stands in: it imitates
no generator's paste-back (the arena's face swap pastes through an ellipse around a fixed
centre), at the price of covering non-face pixels at times.

Hull kinds follow SBI's `random_get_hull` (the authors' code, on 81 points; here 68):
`facehull` (every point), `extended` (the brows lifted by their height above the eyes, for the
forehead the 68-point markup lacks) and `components` (eyes with brows, and nose with mouth, as
two hulls).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from fakearena.data.landmarks import BROWS, LEFT_EYE, MOUTH, NOSE, RIGHT_EYE
from fakearena.data.transforms.warp import WarpParams, random_warp_offsets

HULL_KINDS = ("facehull", "extended", "components")
MASK_MODES = ("auto", "hull", "random")


def convex_hull(points: np.ndarray) -> np.ndarray:
    """The convex hull of (N, 2) points, counter-clockwise (Andrew's monotone chain)."""
    pts = sorted({(float(x), float(y)) for x, y in np.asarray(points, dtype=np.float64)})
    if len(pts) <= 2:
        return np.array(pts, dtype=np.float64)

    def cross(o, a, b) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1], dtype=np.float64)


def polygon_mask(polygons: list[np.ndarray], height: int, width: int) -> np.ndarray:
    """float32 (H, W) mask, 1 inside any of the (K, 2) polygons (pixel-continuous x, y)."""
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    for polygon in polygons:
        if len(polygon) >= 3:
            # PIL draws pixel (i, j) when its centre lies inside: shift to pixel-centre indices
            draw.polygon([(float(x) - 0.5, float(y) - 0.5) for x, y in polygon], fill=255)
    return np.asarray(canvas, dtype=np.float32) / 255.0


def convex_mask(polygons: list[np.ndarray], height: int, width: int) -> np.ndarray:
    """float32 (H, W) mask, 1 where a pixel's centre lies inside any of the convex (K, 2)
    polygons (counter-clockwise in x-right, y-down coordinates, as `convex_hull` gives)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    out = np.zeros((height, width), dtype=bool)
    for polygon in polygons:
        if len(polygon) < 3:
            continue
        inside = np.ones((height, width), dtype=bool)
        for (x0, y0), (x1, y1) in zip(polygon, np.roll(polygon, -1, axis=0)):
            inside &= (x1 - x0) * (ys - y0) - (y1 - y0) * (xs - x0) >= 0
        out |= inside
    return out.astype(np.float32)


def hull_polygons(landmarks: np.ndarray, kind: str) -> list[np.ndarray]:
    """The hull polygon(s) of one of `HULL_KINDS` from (68, 2) landmarks."""
    marks = np.asarray(landmarks, dtype=np.float64)
    if kind == "facehull":
        return [convex_hull(marks)]
    if kind == "extended":
        brows = marks[list(BROWS)]
        eyes_y = marks[list(LEFT_EYE) + list(RIGHT_EYE)][:, 1].mean()
        lift = max(float(eyes_y - brows[:, 1].mean()), 1.0)
        raised = brows - np.array([0.0, lift])
        return [convex_hull(np.vstack([marks, raised]))]
    if kind == "components":
        upper = marks[list(BROWS) + list(LEFT_EYE) + list(RIGHT_EYE)]
        lower = marks[list(NOSE) + list(MOUTH)]
        return [convex_hull(upper), convex_hull(lower)]
    raise ValueError(f"unknown hull kind {kind!r}; kinds: {list(HULL_KINDS)}")


def landmark_hull_mask(
    landmarks: np.ndarray, height: int, width: int, kind: str = "facehull"
) -> torch.Tensor:
    """(H, W) hard mask of the hull of `landmarks` (in the image's pixels)."""
    return torch.from_numpy(convex_mask(hull_polygons(landmarks, kind), height, width))


def random_hull_kind(generator: torch.Generator | None) -> str:
    """One of `HULL_KINDS`, uniformly."""
    return HULL_KINDS[int(torch.randint(len(HULL_KINDS), (), generator=generator))]


def random_shape_mask(
    height: int,
    width: int,
    generator: torch.Generator | None,
    *,
    center: tuple[float, float] = (0.3, 0.7),
    radius: tuple[float, float] = (0.12, 0.42),
    vertices: tuple[int, int] = (5, 12),
) -> torch.Tensor:
    """(H, W) hard mask of a random star-shaped polygon.

    Its centre is uniform in `center` x `center` (fractions of the side), its vertices sit at
    sorted random angles with radii drawn independently in `radius` (fractions of the side):
    no fixed centre, axes or outline.
    """

    def uniform(low: float, high: float, n: int = 1) -> np.ndarray:
        return low + (high - low) * torch.rand(n, generator=generator).double().numpy()

    count = int(torch.randint(vertices[0], vertices[1] + 1, (), generator=generator))
    cx, cy = uniform(*center, 2)
    angles = np.sort(uniform(0.0, 2.0 * np.pi, count))
    radii = uniform(*radius, count)
    xs = (cx + radii * np.cos(angles)) * width
    ys = (cy + radii * np.sin(angles)) * height
    return torch.from_numpy(polygon_mask([np.stack([xs, ys], axis=1)], height, width))


def elastic_deform(
    mask: torch.Tensor, strength: float, generator: torch.Generator | None, points: int = 5
) -> torch.Tensor:
    """(H, W) mask warped by a smooth random displacement field (`strength`: fraction of the
    side moved by a control point)."""
    if strength <= 0:
        return mask
    height, width = mask.shape
    params = WarpParams(points=points, scale=strength)
    offsets = random_warp_offsets(1, height, width, params, generator)
    eye = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    grid = F.affine_grid(eye, [1, 1, height, width], align_corners=False) + offsets
    return F.grid_sample(mask[None, None], grid, align_corners=False)[0, 0]

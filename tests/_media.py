"""Media made in tests: short videos written with PyAV, face images from scikit-image."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def write_video(
    path: Path, frames: list[np.ndarray], fps: int = 10, faststart: bool = False
) -> Path:
    """Encode RGB uint8 frames (even width/height) as an H.264 mp4.

    `faststart` puts the index (moov) before the data, as streaming sites do: a copy cut short
    then still opens and declares every frame, but holds only the first ones.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames[0].shape[:2]
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), mode="w", options=options) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "12", "g": "4"}
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def astronaut_small(size: int = 160) -> np.ndarray:
    from PIL import Image
    from skimage import data

    return np.asarray(Image.fromarray(data.astronaut()).resize((size, size), Image.BILINEAR))


def moving_face_frames(n: int = 12, width: int = 320, height: int = 240) -> tuple[list, list]:
    """Frames with the astronaut pasted at moving positions; also the paste offsets (x, y)."""
    face = astronaut_small(160)
    frames, offsets = [], []
    for i in range(n):
        frame = np.full((height, width, 3), 90, dtype=np.uint8)
        x, y = 10 + (140 * i) // max(1, n - 1), 40 + (i % 3) * 10
        frame[y : y + 160, x : x + 160] = face
        frames.append(frame)
        offsets.append((x, y))
    return frames, offsets

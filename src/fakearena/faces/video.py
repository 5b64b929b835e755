"""Video decoding with PyAV: frame counts, evenly spread frame sampling, seeking decode.

Frame `i` of a video is the i-th decoded frame (presentation order). Frames are decoded in one
forward pass that stops after the last wanted frame and converts only the wanted ones to RGB.
We do not seek: on FaceForensics++ c23 files the container marks non-IDR I-frames as keyframes,
and decoding from such a seek point gives frames with missing (green) slices, silently. The
packet index (a demux pass without decoding, milliseconds) gives exact frame counts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from fakearena.errors import ConfigError, DataError


@dataclass(frozen=True)
class VideoInfo:
    """What a video holds: frames (presentation order), rate, duration in seconds, size.

    `frame_count` counts the frames whose packets can be read; `declared_frames` is what the
    container's header says (0 when it says nothing). A truncated file (a cut download) can
    declare more frames than it holds.
    """

    frame_count: int
    fps: float
    duration: float
    width: int
    height: int
    declared_frames: int = 0

    @property
    def truncated(self) -> bool:
        """Whether the header promises frames the file does not hold."""
        return self.declared_frames > self.frame_count


def truncation_note(declared: int, readable: int, decoded: int, wanted: int) -> str:
    """A sentence when a video holds less than its header says or decoding stopped early.

    Args:
        declared: frames the container's header declares (0: unknown).
        readable: frames whose packets can be read (`VideoInfo.frame_count`).
        decoded: sampled frames that decoded.
        wanted: sampled frame indices asked for.

    Returns:
        The sentence, or "" for a whole video.
    """
    notes = []
    if declared > readable:
        notes.append(
            f"{readable} of the {declared} frames its container declares are readable (the "
            f"file is cut short: frames were sampled from its first {readable / declared:.0%} "
            "only)"
        )
    if decoded < wanted:
        notes.append(f"decoding stopped after {decoded} of the {wanted} sampled frames")
    return "; ".join(notes)


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise DataError(f"video {path} not found; check the path")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise DataError(
            f"video {path} cannot be opened ({exc}); the file is not a video container PyAV "
            "can read, or it is truncated: re-download or re-encode it (e.g. with ffmpeg)"
        ) from exc
    if not container.streams.video:
        container.close()
        raise DataError(f"video {path} has no video stream; give a file with video in it")
    return container


def _count_packets(container: av.container.InputContainer) -> int:
    """Video packets in the file (a demux pass, no decoding): one per frame for common codecs."""
    stream = container.streams.video[0]
    count = 0
    try:
        for packet in container.demux(stream):
            if packet.size > 0:  # skip the empty flush packet at the end
                count += 1
    except av.error.FFmpegError:
        pass  # a damaged tail: count what is readable
    return count


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Frame count (from the packet index, exact for normal files), fps, duration and size.

    Raises:
        DataError: when the file is missing, not a video, or has no video packets.
    """
    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 0.0)
        declared = int(stream.frames or 0)
        count = _count_packets(container) or declared
        if count == 0:
            raise DataError(f"video {path} has no video frames; the file is empty or damaged")
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = count / fps if fps else 0.0
        width = int(stream.codec_context.width)
        height = int(stream.codec_context.height)
        return VideoInfo(count, fps, duration, width, height, declared)
    finally:
        container.close()


def sample_frame_indices(frame_count: int, frames_per_video: int = 32, every: int = 0) -> list[int]:
    """Indices of the frames to take from a video of `frame_count` frames.

    With `every > 0`, every `every`-th frame from the first (0, every, 2*every, ...). Otherwise
    `frames_per_video` frames spread evenly over the whole video: the centre frame of each of
    that many equal segments (all frames when the video is shorter; `frames_per_video <= 0`
    means all frames).
    """
    if frame_count <= 0:
        return []
    if every > 0:
        return list(range(0, frame_count, every))
    if frames_per_video <= 0 or frames_per_video >= frame_count:
        return list(range(frame_count))
    centres = (np.arange(frames_per_video) + 0.5) * frame_count / frames_per_video
    return sorted({int(i) for i in np.floor(centres)})


def read_frames(
    path: str | os.PathLike[str], indices: Sequence[int] | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield `(index, RGB uint8 HxWx3 frame)` for the wanted frame indices, in increasing order.

    `indices=None` yields every frame. Indices past the end are not yielded (a video whose
    header promises more frames than it holds ends early). Damaged packets are skipped.

    Raises:
        DataError: when the video cannot be opened or not one frame of it decodes.
    """
    path = Path(path)
    container = _open(path)
    yielded = 0
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        wanted = None if indices is None else sorted({int(i) for i in indices if int(i) >= 0})
        frames = _read_sequential(container, stream, wanted)
        for item in frames:
            yielded += 1
            yield item
    finally:
        container.close()
    if yielded == 0 and (indices is None or len(indices) > 0):
        raise DataError(
            f"video {path} has no decodable frames; the file is damaged or uses a codec this "
            "FFmpeg build lacks: re-encode it with ffmpeg (e.g. -c:v libx264)"
        )


def _decoded(container, stream) -> Iterator[av.VideoFrame]:
    """Decoded frames from the current position, skipping packets that fail to decode."""
    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.error.FFmpegError:
            continue


def _read_sequential(container, stream, wanted: list[int] | None):
    want = None if wanted is None else set(wanted)
    last = None if wanted is None else (wanted[-1] if wanted else -1)
    for i, frame in enumerate(_decoded(container, stream)):
        if last is not None and i > last:
            return
        if want is None or i in want:
            yield i, frame.to_ndarray(format="rgb24")


def check_sampling(frames_per_video: int, every: int) -> None:
    """Raise ConfigError for sampling options that cannot work."""
    if every < 0:
        raise ConfigError(f"every={every}: give 0 (spread frames_per_video evenly) or k > 0")
    if every == 0 and frames_per_video < 0:
        raise ConfigError(
            f"frames_per_video={frames_per_video}: give a positive count (0 means all frames)"
        )

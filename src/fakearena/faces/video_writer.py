"""Writing a video like another one: H.264 frames at the source's rate and size, its audio
copied packet for packet (PyAV).

The output is written under a temporary name and renamed when complete, so an interrupted
conversion never leaves a playable-looking half video under the final name.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from fakearena.errors import DataError
from fakearena.utils.io import atomic_path


class VideoWriter:
    """An mp4 with the frame rate and size of `like` and a copy of its first audio stream.

    Use as a context manager; `write(frame)` takes RGB uint8 (H, W, 3) frames of the source's
    size. On a clean exit the audio packets are copied and the file is moved into place.

    Args:
        path: the .mp4 to write.
        like: the source video (its rate, size and audio are kept).
        crf: H.264 constant rate factor (lower: larger, closer to the frames given; 18 is
            visually lossless for most content).
    """

    def __init__(self, path: str | os.PathLike[str], like: str | os.PathLike[str], crf: int = 18):
        self.path, self.like, self.crf = Path(path), Path(like), int(crf)
        self.frames = 0
        self.audio_packets = 0

    def __enter__(self) -> VideoWriter:
        source = av.open(str(self.like))
        try:
            video = source.streams.video[0]
            self.rate = Fraction(video.average_rate or video.guessed_rate or 25)
            self.width, self.height = video.codec_context.width, video.codec_context.height
            self.has_audio = bool(source.streams.audio)
        finally:
            source.close()
        self._atomic = atomic_path(self.path)
        self._partial = self._atomic.__enter__()
        self._output = av.open(str(self._partial), "w", format="mp4")
        self._video = self._output.add_stream("libx264", rate=self.rate)
        self._video.width, self._video.height = self.width, self.height
        self._video.pix_fmt = "yuv420p"
        self._video.options = {"crf": str(self.crf)}
        self._audio = None
        if self.has_audio:
            source = av.open(str(self.like))
            try:
                self._audio = self._output.add_stream_from_template(source.streams.audio[0])
            finally:
                source.close()
        return self

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise DataError(
                f"frame {self.frames} is {frame.shape} {frame.dtype}; the video needs uint8 "
                f"({self.height}, {self.width}, 3) frames"
            )
        picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
        for packet in self._video.encode(picture):
            self._output.mux(packet)
        self.frames += 1

    def _copy_audio(self) -> None:
        source = av.open(str(self.like))
        try:
            stream = source.streams.audio[0]
            for packet in source.demux(stream):
                if packet.dts is None:  # the demuxer's flush packet
                    continue
                packet.stream = self._audio
                self._output.mux(packet)
                self.audio_packets += 1
        finally:
            source.close()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                for packet in self._video.encode():  # flush the encoder
                    self._output.mux(packet)
                if self._audio is not None:
                    self._copy_audio()
        finally:
            self._output.close()
            self._atomic.__exit__(kind, error, trace)

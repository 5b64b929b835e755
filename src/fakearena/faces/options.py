"""What `fakearena faces extract` can be asked: sampling, detection, alignment and crop files.

Kept free of torch and the video decoder, so the command's `--help` and its argument errors
answer without loading them (`fakearena.faces.cli`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from fakearena.errors import ConfigError

DEFAULT_DETECT_SIZE = 640
DEFAULT_MARGIN = 0.15
ALIGN_MODES = ("similarity", "box")
SELECT_MODES = ("largest", "confident")
# Crop files. JPEG q95 is the default: at 256 px it decodes 4.3x faster than PNG per core at
# 45 dB PSNR against the lossless crop (benchmarks/results/crop_formats.json); png keeps the
# crop exactly, webp is the smallest file.
CROP_FORMATS = ("jpg", "png", "webp")


@dataclass(frozen=True)
class ExtractOptions:
    """How frames are sampled, faces detected and crops written (see `fakearena faces`)."""

    frames_per_video: int = 32
    every: int = 0
    size: int = 256
    align: str = "similarity"
    margin: float = DEFAULT_MARGIN
    detect_size: int = DEFAULT_DETECT_SIZE
    min_face_size: int = 20
    min_prob: float = 0.9
    multi_face: bool = False
    select: str = "largest"
    format: str = "jpg"
    jpeg_quality: int = 95
    device: str = "auto"

    def check(self) -> None:
        """Raise ConfigError for options that cannot work."""
        from fakearena.faces.video import check_sampling

        check_sampling(self.frames_per_video, self.every)
        if self.align not in ALIGN_MODES:
            raise ConfigError(f"align={self.align!r}: choose one of {list(ALIGN_MODES)}")
        if self.select not in SELECT_MODES:
            raise ConfigError(f"select={self.select!r}: choose one of {list(SELECT_MODES)}")
        if self.format not in CROP_FORMATS:
            raise ConfigError(f"format={self.format!r}: choose one of {list(CROP_FORMATS)}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ConfigError(f"jpeg_quality={self.jpeg_quality}: give 1..100 (default 95)")
        if self.size < 8:
            raise ConfigError(f"size={self.size}: give a crop side of at least 8 pixels")
        if self.margin < 0:
            raise ConfigError(f"margin={self.margin}: give a fraction >= 0 (e.g. 0.15)")

    def signature(self) -> dict[str, Any]:
        """The options that change the crops (a shard made with others is redone)."""
        data = asdict(self)
        data.pop("device")
        return data

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
# Crop conventions. fakearena: MTCNN's 5 points on the ArcFace template. deepfakebench: the
# 5 points DeepfakeBench's preprocessing takes from dlib's landmarks (indices 37, 44, 30, 49,
# 55: an upper eyelid point of each eye, the nose tip, an inner point of each mouth corner) on
# the same ArcFace template scaled by 1.3 (margin 0.15 per side) at 256 px.
CROP_STYLES = ("fakearena", "deepfakebench")
DEEPFAKEBENCH_POINTS = (37, 44, 30, 49, 55)
DEEPFAKEBENCH_CROP = {"size": 256, "margin": 0.15, "align": "similarity"}


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
    landmarks: bool = True
    crop: str = "fakearena"

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
        if self.crop not in CROP_STYLES:
            raise ConfigError(f"crop={self.crop!r}: choose one of {list(CROP_STYLES)}")
        if self.crop == "deepfakebench":
            if not self.landmarks:
                raise ConfigError(
                    "crop=deepfakebench aligns on dlib's landmarks: drop landmarks=false"
                )
            differ = {k: v for k, v in DEEPFAKEBENCH_CROP.items() if getattr(self, k) != v}
            if differ:
                wrong = ", ".join(f"{k}={getattr(self, k)}" for k in differ)
                raise ConfigError(
                    f"crop=deepfakebench is DeepfakeBench's crop ({DEEPFAKEBENCH_CROP}); "
                    f"{wrong} differs: drop it, or use crop=fakearena"
                )

    def signature(self) -> dict[str, Any]:
        """The options that change the crops (a shard made with others is redone)."""
        data = asdict(self)
        data.pop("device")
        return data

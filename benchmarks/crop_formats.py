"""Face-crop file formats: decode images/s per core, file size and quality cost at 256 px.

    python benchmarks/crop_formats.py [--quick]

The crops are real faces: `fakearena faces extract` (MTCNN, 5-point similarity alignment,
256 px) on the two FaceForensics++ c23 videos of `../shared/fixtures/ffpp_mini` (32 frames
each); without the fixtures, synthetic faces (smoother than real ones, so PNG looks better
than it is, noted in the JSON). Each crop is stored as PNG (compress_level 1: what
`faces extract` writes), JPEG q95 (4:2:0 and 4:4:4 chroma), WebP q95 and lossless WebP, and
decoded with `fakearena.data.media.load_image` (the loaders' decode) in one process, one
thread: images/s per core. Quality: PSNR of each lossy file against the PNG pixels (the
extracted crop itself). The format with the highest decode rate whose PSNR is at least 40 dB
is the recommendation; `faces extract` writes it by default.
"""

from __future__ import annotations

import io
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import ensure_importable, paired_best, standalone

ensure_importable()

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

NAME = "crop_formats"
SIZE = 256
MIN_PSNR = 40.0  # dB: below this a lossy crop visibly changes the face
FORMATS: dict[str, dict[str, Any]] = {
    "png": {"format": "PNG", "compress_level": 1},
    "jpg_q95": {"format": "JPEG", "quality": 95},
    "jpg_q95_444": {"format": "JPEG", "quality": 95, "subsampling": 0},
    "webp_q95": {"format": "WEBP", "quality": 95},
    "webp_lossless": {"format": "WEBP", "lossless": True, "quality": 80, "method": 4},
}
SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}


def real_crops(n_frames: int, out: Path) -> list[np.ndarray] | None:
    """Face crops of the FF++ fixture videos, or None when the fixtures are absent."""
    from fakearena.faces.extract import ExtractOptions, SourceItem, extract_faces

    fixtures = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "ffpp_mini"
    if not fixtures.is_dir():
        fixtures = Path("/work/shared/fixtures/ffpp_mini")
    videos = sorted(fixtures.rglob("*.mp4"))
    if not videos:
        return None
    items = [
        SourceItem(path=v, kind="video", video_id=f"ffpp/{v.stem}", label=0, split="test")
        for v in videos
    ]
    options = ExtractOptions(frames_per_video=n_frames, size=SIZE, format="png", device="cpu")
    summary = extract_faces(items, out, options, name="crops", progress=False)
    rows = __import__("pandas").read_csv(summary.manifest_path)
    return [np.asarray(Image.open(out / p).convert("RGB")) for p in rows["path"]]


def synthetic_crops(n: int) -> list[np.ndarray]:
    from fakearena.data.synthetic import SyntheticRenderer

    renderer = SyntheticRenderer(size=SIZE, seed=0)
    return [renderer.render_face(i % 8, i) for i in range(n)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _quality(detail: dict[str, Any]) -> str:
    psnr_db = detail["psnr_db_vs_png"]
    shown = "lossless" if psnr_db is None else f"{psnr_db:.1f} dB"
    return f"{shown}, {detail['kib_per_image']:.0f} KiB"


def run(quick: bool) -> dict[str, Any]:
    from fakearena.data.media import load_image

    n_frames, rounds = (4, 1) if quick else (32, 5)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        crops = real_crops(n_frames, root / "extract")
        source = "ffpp_mini c23 face crops (MTCNN, similarity, 256 px)"
        if crops is None:
            crops, source = synthetic_crops(2 * n_frames), "synthetic faces (no fixtures)"
        files: dict[str, list[Path]] = {}
        detail: dict[str, dict[str, float]] = {}
        for name, options in FORMATS.items():
            folder = root / name
            folder.mkdir()
            files[name], sizes, quality = [], [], []
            for i, crop in enumerate(crops):
                buffer = io.BytesIO()
                Image.fromarray(crop).save(buffer, **options)
                path = folder / f"{i:04d}{SUFFIX[options['format']]}"
                path.write_bytes(buffer.getvalue())
                files[name].append(path)
                sizes.append(len(buffer.getvalue()))
                quality.append(psnr(load_image(path), crop))
            lossless = all(np.isinf(quality))  # stored as null: JSON has no infinity
            detail[name] = {
                "kib_per_image": float(np.mean(sizes)) / 1024,
                "psnr_db_vs_png": None if lossless else float(np.mean(quality)),
                "psnr_db_worst": None if lossless else float(np.min(quality)),
            }

        def decoder(paths: list[Path]):
            return lambda: [load_image(p) for p in paths]

        best = paired_best(
            {name: decoder(paths) for name, paths in files.items()}, repeats=rounds, warmup=1
        )
    for name, seconds in best.items():
        detail[name]["decode_images_per_s_per_core"] = len(crops) / seconds
    usable = [n for n in FORMATS if (detail[n]["psnr_db_vs_png"] or math.inf) >= MIN_PSNR]
    choice = max(usable, key=lambda n: detail[n]["decode_images_per_s_per_core"])
    png_rate = detail["png"]["decode_images_per_s_per_core"]
    checks = [
        {
            "benchmark": f"decode {name} ({SIZE}px, 1 core)",
            "ours": detail[name]["decode_images_per_s_per_core"],
            "unit": "img/s",
            "baseline": png_rate,
            "baseline_name": "png",
            "ratio": detail[name]["decode_images_per_s_per_core"] / png_rate,
            "limit": _quality(detail[name]),
            "target": "chosen" if name == choice else "",
            "pass": None,
        }
        for name in FORMATS
    ]
    return {
        "config": {"images": len(crops), "size": SIZE, "source": source, "rounds": rounds},
        "formats": {name: {**FORMATS[name], **detail[name]} for name in FORMATS},
        "choice": choice,
        "rule": f"fastest decode with mean PSNR >= {MIN_PSNR} dB against the lossless crop",
        "checks": checks,
    }


def main(argv: list[str] | None = None) -> int:
    return standalone(NAME, run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())

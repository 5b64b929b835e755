"""Data loading: images/s of our manifest DataModule vs a PIL decode-only loop over the same files.

    python benchmarks/data_loading.py [--quick]

Writes a manifest of synthetic face crops as PNG (256 px, compress level 1: what
`fakearena faces` writes), then times one epoch of `FaceDataModule(...).train_dataloader()`
(ManifestDataset: decode, resize to the default 64 px with antialiasing, to float; default
collate) with 2 workers, after a warm-up epoch (the workers persist, as in training), against
a single-process loop that only opens and decodes each file with PIL to a uint8 array.
Both rates are best of interleaved rounds. Target: ours >= 0.9x the decode-only loop.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import ensure_importable, paired_best, standalone

ensure_importable()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from PIL import Image  # noqa: E402

NAME = "data_loading"
TARGET = 0.9
WORKERS = 2
UNIQUE = 16


def write_crops(root: Path, n: int, size: int) -> tuple[Path, list[Path]]:
    """`n` synthetic faces as PNG crops under `root` and their manifest (all in train)."""
    from fakearena.data.manifest import Manifest, ManifestCard, write_manifest
    from fakearena.data.synthetic import SyntheticRenderer

    renderer = SyntheticRenderer(size=size, seed=0)
    faces = [Image.fromarray(renderer.render_face(i % 8, i)) for i in range(UNIQUE)]
    rows, files = [], []
    (root / "img").mkdir(parents=True, exist_ok=True)
    for i in range(n):  # rendering is slow; files repeat 16 faces (decoding costs the same)
        relative = f"img/{i:05d}.png"
        faces[i % UNIQUE].save(root / relative, compress_level=1)
        files.append(root / relative)
        rows.append(
            {
                "path": relative,
                "label": i % 2,
                "split": "train",
                "video_id": f"bench/{i}",
                "frame": 0,
                "identity": f"id{i % 8}",
                "source": "real" if i % 2 == 0 else "bench/fake",
            }
        )
    card = ManifestCard(name="bench_loading", image_size=size)
    return write_manifest(Manifest(pd.DataFrame(rows), card, root), root / "bench.csv"), files


def decode_only(files: list[Path]) -> None:
    for path in files:
        with Image.open(path) as image:
            np.asarray(image.convert("RGB"))


def run(quick: bool) -> dict[str, Any]:
    from fakearena.data.datamodule import FaceDataModule

    n, size, rounds = (64, 128, 1) if quick else (512, 256, 3)
    with tempfile.TemporaryDirectory() as tmp:
        csv, files = write_crops(Path(tmp), n, size)
        datamodule = FaceDataModule(
            name="bench", manifests=[str(csv)], image_size=64, batch_size=32, num_workers=WORKERS
        )
        loader = datamodule.train_dataloader()
        counted = []

        def epoch() -> None:
            counted.append(sum(len(batch["label"]) for batch in loader))

        best = paired_best(
            {"ours": epoch, "decode_only": lambda: decode_only(files)}, repeats=rounds, warmup=1
        )
        loader = None  # drop the persistent workers
    if any(c != n for c in counted):
        raise RuntimeError(f"an epoch served {counted} images, expected {n} each")
    ours, baseline = n / best["ours"], n / best["decode_only"]
    return {
        "config": {
            "images": n,
            "file_size_px": size,
            "format": "png (compress_level=1)",
            "image_size": 64,
            "batch_size": 32,
            "num_workers": WORKERS,
            "rounds": rounds,
        },
        "seconds": best,
        "checks": [
            {
                "benchmark": f"data loading ({size}px png -> 64px, {WORKERS} workers)",
                "ours": ours,
                "unit": "img/s",
                "baseline": baseline,
                "baseline_name": "PIL decode, 1 process",
                "ratio": ours / baseline,
                "limit": f"{WORKERS}x decode-only on {WORKERS} free cores",
                "target": f">= {TARGET}x",
                "pass": ours / baseline >= TARGET,
            }
        ],
    }


def main(argv: list[str] | None = None) -> int:
    return standalone(NAME, run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())

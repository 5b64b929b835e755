"""Inception features of image sets (manifests or folders), with an on-disk cache for manifests.

The cache holds the float32 features (exactly what the network returns) in an `.npz` file whose
name is keyed by the manifest's sha256 (of the selected rows), N, the subset seed, the resize
protocol and the weights hash. Files are written to a temporary name and renamed, so concurrent
writers never leave a half-written file and a reader sees either nothing or a complete file.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from fakearena.errors import DataError
from fakearena.metrics.inception import RESIZE, SIZE, InceptionFeatures, preprocess
from fakearena.metrics.tf_resize import resize_bilinear_tf1
from fakearena.utils.io import atomic_path, sha256_bytes

CACHE_VERSION = 1


@dataclass(frozen=True)
class ImageSet:
    """Files to embed, and the manifest sha256 that identifies them (None for a folder)."""

    name: str
    paths: list[Path]
    manifest_sha256: str | None


def default_cache_dir() -> Path:
    """`$FAKEARENA_CACHE/fid`, else `~/.cache/fakearena/fid`."""
    base = os.environ.get("FAKEARENA_CACHE") or Path.home() / ".cache" / "fakearena"
    return Path(base) / "fid"


def image_set(
    path: str | os.PathLike[str], *, split: str | None = None, label: int | None = None
) -> ImageSet:
    """A manifest (`.csv`/`.yaml`, filtered by split and label) or a folder of images."""
    from fakearena.data.manifest import read_manifest
    from fakearena.data.media import IMAGE_SUFFIXES

    path = Path(path)
    if path.is_dir():
        if split is not None or label is not None:
            raise DataError(
                f"{path} is a folder of images: split= and label= apply to "
                "manifests only; drop them or pass the folder's manifest"
            )
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found under {path}")
        return ImageSet(path.name, files, None)
    manifest = read_manifest(path).select(split=split, label=label)
    if len(manifest) == 0:
        raise DataError(
            f"manifest {path} has no rows with split={split} and label={label}; "
            "check the split=/label= arguments against the manifest"
        )
    files = [manifest.abspath(i) for i in range(len(manifest))]
    return ImageSet(manifest.name, files, manifest.sha256)


def subset(n_total: int, n: int | None, seed: int) -> np.ndarray:
    """Row positions used: all rows, or a seeded sample of `n` in file order."""
    if n is None or n >= n_total:
        return np.arange(n_total)
    if n < 2:
        raise DataError(f"n={n}: FID needs at least 2 images per side (a covariance)")
    return np.sort(np.random.default_rng(seed).choice(n_total, n, replace=False))


def cache_key(
    manifest_sha256: str, n: int, seed: int, weights_sha256: str, rows_sha256: str | None = None
) -> str:
    """Hex key of one cached feature file (`rows_sha256`: rows chosen other than by seed)."""
    fields = {
        "version": CACHE_VERSION,
        "manifest_sha256": manifest_sha256,
        "n": n,
        "seed": seed,
        "resize": RESIZE,
        "size": SIZE,
        "weights_sha256": weights_sha256,
    }
    if rows_sha256 is not None:
        fields["rows_sha256"] = rows_sha256
    return sha256_bytes(json.dumps(fields, sort_keys=True).encode())


def load_network_input(path: Path) -> torch.Tensor:
    """One image file -> (3, 299, 299) network input on the protocol (see `inception`)."""
    from fakearena.data.media import load_image

    image = torch.from_numpy(load_image(path)).permute(2, 0, 1)[None].float()
    if image.shape[-2:] != (SIZE, SIZE):
        image = resize_bilinear_tf1(image, (SIZE, SIZE))
    return ((image - 128.0) / 128.0)[0]


class ImageFiles(Dataset):
    """Image files decoded to uint8 (3, H, W) tensors: what the FID loader's workers make."""

    def __init__(self, paths: list[Path]):
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        from fakearena.data.media import load_image

        return torch.from_numpy(load_image(self.paths[index])).permute(2, 0, 1)


def stack_same_size(images: list[torch.Tensor]) -> torch.Tensor | list[torch.Tensor]:
    """One uint8 batch when every image has the same size, else the list (resized one by one)."""
    if len({tuple(image.shape) for image in images}) == 1:
        return torch.stack(images)
    return images


def file_loader(paths: list[Path], batch_size: int, num_workers: int, pin: bool) -> DataLoader:
    """Decode files in `num_workers` processes into uint8 batches (pinned for a GPU)."""
    return DataLoader(
        ImageFiles(paths),
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=stack_same_size,
        pin_memory=pin,
        prefetch_factor=4 if num_workers else None,
    )


def embed_files(
    paths: list[Path],
    extractor: InceptionFeatures,
    batch_size: int = 32,
    progress: bool = True,
    num_workers: int = 0,
) -> np.ndarray:
    """(N, 2048) float32 features of image files (images of any size).

    Files are decoded by `num_workers` DataLoader processes (0: in this one) and reach the
    extractor's device as uint8; the protocol's resize and scaling run there. The numbers
    equal `load_network_input` file by file.
    """
    from tqdm import tqdm

    device = extractor.device
    out = []
    bar = tqdm(total=len(paths), desc="inception", unit="img", disable=not progress)
    for batch in file_loader(paths, batch_size, num_workers, pin=device.type == "cuda"):
        if isinstance(batch, list):
            inputs = torch.cat([preprocess(image[None].to(device)) for image in batch])
            features = extractor.embed(inputs)
        else:
            features = extractor(batch)
        out.append(features.float().cpu().numpy())
        bar.update(len(batch))
    bar.close()
    return np.concatenate(out)


def read_cache(cache_file: Path, key: str) -> np.ndarray | None:
    """Cached features when `cache_file` holds a complete entry for `key`, else None.

    A damaged file (e.g. left by an older, non-atomic writer) counts as absent: it is
    recomputed and replaced, never trusted. Pickled objects are never loaded.
    """
    if not cache_file.is_file():
        return None
    try:
        with np.load(cache_file, allow_pickle=False) as data:
            if str(data["key"]) != key:
                return None
            return np.asarray(data["features"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def features_of(
    images: ImageSet,
    extractor: InceptionFeatures,
    *,
    n: int | None = None,
    seed: int = 0,
    rows: np.ndarray | None = None,
    batch_size: int = 32,
    cache_dir: Path | None = None,
    progress: bool = True,
    num_workers: int = 0,
) -> np.ndarray:
    """Features of (a seeded subset, or the given `rows`, of) an image set, cached for manifests."""
    explicit = rows is not None
    rows = np.asarray(rows) if explicit else subset(len(images.paths), n, seed)
    cache_file = None
    if cache_dir is not None and images.manifest_sha256 is not None:
        rows_sha256 = sha256_bytes(np.asarray(rows, np.int64).tobytes()) if explicit else None
        key = cache_key(images.manifest_sha256, len(rows), seed, extractor.spec.sha256, rows_sha256)
        cache_file = Path(cache_dir) / f"{images.name}-{key[:24]}.npz"
        cached = read_cache(cache_file, key)
        if cached is not None:
            return cached
    files = [images.paths[i] for i in rows]
    features = embed_files(files, extractor, batch_size, progress, num_workers)
    if cache_file is not None:
        with atomic_path(cache_file) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, features=features, key=np.array(key))
    return features

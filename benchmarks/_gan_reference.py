"""Real reference faces for judging a GAN trained on the arena's faces, with cached features.

The arena's default faces (10 people x 120 images, half of them blended fakes) hold 120 real
test faces: too few for the GAN targets (N >= 500 generated against real test faces, and the
real-vs-real floor at the same N, which needs 2N reals). The synthetic renderer draws any
number of images of a person, so a reference renders one split's people at more shot indices
(the same renderer, seed and size):

- `test`: the arena's *test-split people* from shot 0 on (the arena's own 120 real test faces
  are among them): the issue's reference, people the GAN never saw;
- `train`: the *training people* from shot `per_identity` (120) on, shots the arena never drew:
  the distribution the GAN learns, without its training images.

Features (TF-Inception pool3, the FID protocol) are cached under the fakearena cache folder,
keyed by everything that draws the images and by the weights hash.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from fakearena.metrics.reference import default_cache_dir, read_cache
from fakearena.utils.io import atomic_path, sha256_bytes


def reference_parser(doc: str, out: Path) -> argparse.ArgumentParser:
    """The options every scoring against a reference takes: N, seed, threads, output folder."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="faces scored against N real ones")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=out)
    return parser


def split_people(n_identities: int, seed: int, split: str) -> list[int]:
    """Identities of one split of the synthetic faces (the arena's assignment)."""
    from fakearena.data.synthetic import identity_splits

    return sorted(i for i, s in identity_splits(n_identities, seed).items() if s == split)


def render_people(
    people: list[int], count: int, *, size: int, seed: int, first_index: int = 0
) -> torch.Tensor:
    """`count` real faces, people taken in turn from shot `first_index` on, as
    (count, 3, size, size) floats in [0, 1]."""
    from fakearena.data.synthetic import SyntheticRenderer

    renderer = SyntheticRenderer(size, seed)
    n = len(people)
    images = [renderer.render_face(people[i % n], first_index + i // n) for i in range(count)]
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div_(255.0)


def reference_features(
    *,
    count: int,
    split: str = "test",
    n_identities: int = 10,
    size: int = 64,
    seed: int = 0,
    first_index: int = 0,
    cache_dir: Path | None = None,
) -> np.ndarray:
    """(count, 2048) Inception features of `count` real faces of one split's people (shots
    from `first_index` on), cached."""
    from fakearena.metrics.inception import default_weights
    from fakearena.tasks.gan_eval import inception_features

    fields = {
        "what": "synthetic reference faces",
        "version": 1,
        "count": count,
        "split": split,
        "n_identities": n_identities,
        "size": size,
        "seed": seed,
        **({"first_index": first_index} if first_index else {}),
        **default_weights().protocol(),
    }
    key = sha256_bytes(json.dumps(fields, sort_keys=True).encode())
    cache_file = Path(cache_dir or default_cache_dir()) / f"synthetic-{split}-{key[:24]}.npz"
    cached = read_cache(cache_file, key)
    if cached is not None:
        return cached
    people = split_people(n_identities, seed, split)
    images = render_people(people, count, size=size, seed=seed, first_index=first_index)
    features = inception_features(images).astype(np.float32)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache_file) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, features=features, key=np.array(key))
    return features

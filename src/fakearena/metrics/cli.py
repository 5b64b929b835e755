"""`fakearena fid A B`: FID, KID and PRDC between two image sets, with A's real-vs-real floor.

Prints one JSON object. The floor is the same scores between A's sample and as many *other*
rows of A as B has (disjoint, seeded): what a perfect B would score at these sizes. It needs
`--n N` with A holding at least 2N rows; otherwise `floor` says why there is none.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fakearena.metrics.inception import cached_extractor
from fakearena.metrics.prdc import DEFAULT_K
from fakearena.metrics.quality import FLOOR_PROTOCOL, floor_rows, sample_quality
from fakearena.metrics.reference import default_cache_dir, features_of, image_set, subset

# Keys of the printed object, in order (the floor's own scores nest under "floor").
SCORE_KEYS = ("fid", "kid_mean", "kid_std", "precision", "recall", "density", "coverage")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fakearena fid",
        description="FID, KID and precision/recall/density/coverage (TF Inception 2015-12-05 "
        "pool3, 299x299 bilinear) between two manifests (.csv/.yaml) or image folders, and "
        "the real-vs-real floor of A at the same sizes; prints one JSON object.",
    )
    parser.add_argument("a", help="first manifest or image folder (e.g. the reals)")
    parser.add_argument("b", help="second manifest or image folder (e.g. the fakes)")
    parser.add_argument(
        "--n",
        type=int,
        default=None,
        help="use a seeded sample of at most N images per side (default: all)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--split", default=None, help="manifest rows of this split only")
    parser.add_argument(
        "--label",
        type=int,
        choices=(0, 1),
        default=None,
        help="manifest rows of this label only (0 real, 1 fake)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the --n sample and KID")
    parser.add_argument("--k", type=int, default=DEFAULT_K, help="PRDC nearest neighbours")
    parser.add_argument("--no-floor", action="store_true", help="skip the real-vs-real floor of A")
    parser.add_argument("--kid-subsets", type=int, default=100)
    parser.add_argument("--kid-subset-size", type=int, default=1000)
    parser.add_argument(
        "--weights",
        default=None,
        help="another Inception TorchScript file (needs --weights-sha256)",
    )
    parser.add_argument("--weights-sha256", default=None)
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help=f"feature cache for manifests (default {default_cache_dir()})",
    )
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write it")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    extractor = cached_extractor(args.weights, args.weights_sha256, args.batch_size)
    cache_dir = None if args.no_cache else (args.cache_dir or default_cache_dir())
    sets = [image_set(path, split=args.split, label=args.label) for path in (args.a, args.b)]

    def features(images, rows=None):
        return features_of(
            images,
            extractor,
            n=args.n,
            seed=args.seed,
            rows=rows,
            batch_size=args.batch_size,
            cache_dir=cache_dir,
            progress=not args.quiet,
        )

    real, fake = features(sets[0]), features(sets[1])
    options = dict(
        k=args.k,
        kid_subsets=args.kid_subsets,
        kid_subset_size=args.kid_subset_size,
        seed=args.seed,
    )
    scores = sample_quality(real, fake, **options)
    if args.no_floor:
        floor: dict[str, Any] = {"reason": "--no-floor"}
    elif args.n is None:
        floor = {"reason": "the floor compares A's sample with other rows of A: pass --n N"}
    else:
        used = subset(len(sets[0].paths), args.n, args.seed)
        rows = floor_rows(len(sets[0].paths), used, len(fake), args.seed)
        if isinstance(rows, str):
            floor = {"reason": f"{rows} (A is {args.a}): lower --n"}
        else:
            floor = _shown(sample_quality(real, features(sets[0], rows), **options))
            floor["protocol"] = FLOOR_PROTOCOL
    result = {
        **_shown(scores),
        "floor": floor,
        "protocol": {**extractor.protocol, "prdc": f"k={args.k}, exact Euclidean k-NN"},
    }
    print(json.dumps(result))
    return 0


def _shown(scores: dict[str, Any]) -> dict[str, Any]:
    """The printed fields of one comparison, in order."""
    shown = {"kid_mean" if key == "kid" else key: value for key, value in scores.items()}
    order = (*SCORE_KEYS, "k", "n_a", "n_b", "rank_deficient")
    shown["n_a"], shown["n_b"] = scores["n_real"], scores["n_fake"]
    return {key: shown[key] for key in order}

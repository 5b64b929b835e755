"""`fakearena fid A B`: FID and KID between two manifests or image folders, as one JSON line."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from fakearena.metrics.fid import FeatureStats, fid_from_stats, kid
from fakearena.metrics.inception import cached_extractor
from fakearena.metrics.reference import default_cache_dir, features_of, image_set


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fakearena fid",
        description="FID and KID (TF Inception 2015-12-05 pool3, 299x299 bilinear) between two "
                    "manifests (.csv/.yaml) or image folders; prints one JSON object.")
    parser.add_argument("a", help="first manifest or image folder (e.g. the reals)")
    parser.add_argument("b", help="second manifest or image folder (e.g. the fakes)")
    parser.add_argument("--n", type=int, default=None,
                        help="use a seeded sample of at most N images per side (default: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--split", default=None, help="manifest rows of this split only")
    parser.add_argument("--label", type=int, choices=(0, 1), default=None,
                        help="manifest rows of this label only (0 real, 1 fake)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the --n sample and KID")
    parser.add_argument("--kid-subsets", type=int, default=100)
    parser.add_argument("--kid-subset-size", type=int, default=1000)
    parser.add_argument("--weights", default=None,
                        help="another Inception TorchScript file (needs --weights-sha256)")
    parser.add_argument("--weights-sha256", default=None)
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help=f"feature cache for manifests (default {default_cache_dir()})")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write it")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    extractor = cached_extractor(args.weights, args.weights_sha256, args.batch_size)
    cache_dir = None if args.no_cache else (args.cache_dir or default_cache_dir())
    features = [
        features_of(image_set(path, split=args.split, label=args.label), extractor, n=args.n,
                    seed=args.seed, batch_size=args.batch_size, cache_dir=cache_dir,
                    progress=not args.quiet)
        for path in (args.a, args.b)
    ]
    result = fid_from_stats(*(FeatureStats.from_features(f) for f in features))
    kid_mean, kid_std = kid(*features, subsets=args.kid_subsets,
                            subset_size=args.kid_subset_size, seed=args.seed)
    result.update(kid_mean=kid_mean, kid_std=kid_std, protocol=extractor.protocol)
    order = ("fid", "kid_mean", "kid_std", "n_a", "n_b", "rank_deficient", "protocol")
    print(json.dumps({key: result[key] for key in order}))
    return 0

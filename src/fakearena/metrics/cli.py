"""`fakearena fid A B [key=value ...]`: FID and KID between two manifests or image folders."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from fakearena.tool_args import Arg, ToolArgs

ARGS = ToolArgs(
    command="fid",
    summary=(
        "FID and KID (TF Inception 2015-12-05 pool3, 299x299 bilinear) between two manifests "
        "(.csv/.yaml) or image folders; prints one JSON object. Runs on the GPU when there is "
        "one (device=auto), decoding files in parallel."
    ),
    args=(
        Arg(
            "a",
            help="first manifest or image folder (e.g. the reals)",
            positional=True,
            required=True,
        ),
        Arg(
            "b",
            help="second manifest or image folder (e.g. the fakes)",
            positional=True,
            required=True,
        ),
        Arg("n", None, "use a seeded sample of at most N images per side (default: all)", kind=int),
        Arg("device", "auto", "auto (the first GPU when there is one, else cpu) | cpu | cuda:N"),
        Arg(
            "batch_size",
            None,
            "images per Inception forward (default: 32 on CPU, 256 on GPU)",
            kind=int,
        ),
        Arg("num_workers", None, "decoding processes (default: the spare CPU cores)", kind=int),
        Arg("split", None, "manifest rows of this split only"),
        Arg("label", None, "manifest rows of this label only (0 real, 1 fake)", kind=int),
        Arg("seed", 0, "seed of the n= sample and of KID's subsets"),
        Arg("kid_subsets", 100, "KID subsets"),
        Arg("kid_subset_size", 1000, "rows per KID subset (capped at N)"),
        Arg("weights", None, "another Inception TorchScript file (needs weights_sha256=)"),
        Arg("weights_sha256", None, "SHA-256 of the weights= file"),
        Arg("cache_dir", None, "feature cache for manifests (default $FAKEARENA_CACHE/fid)"),
        Arg("cache", True, "read and write the feature cache"),
        Arg("progress", True, "show a progress bar"),
    ),
)


def main(argv: Sequence[str]) -> int:
    """Print the FID/KID JSON of two image sets; returns the exit code."""
    if ARGS.wants_help(argv):
        print(ARGS.usage())
        return 0
    args = ARGS.parse(argv)
    from fakearena.errors import ConfigError, DataError

    if args.label is not None and args.label not in (0, 1):
        raise ConfigError(f"`fakearena fid`: label={args.label}; give 0 (real) or 1 (fake)")
    for path in (args.a, args.b):  # before torch loads: a typo should cost no seconds
        if not Path(path).exists():
            raise DataError(f"{path} does not exist; give a manifest (.csv/.yaml) or a folder")
    from fakearena.metrics.fid import FeatureStats, fid_from_stats, kid
    from fakearena.metrics.inception import cached_extractor
    from fakearena.metrics.reference import default_cache_dir, features_of, image_set
    from fakearena.utils.parallel import default_num_workers, resolve_device

    device = resolve_device(str(args.device))
    extractor = cached_extractor(args.weights, args.weights_sha256, args.batch_size, str(device))
    workers = default_num_workers(limit=None) if args.num_workers is None else args.num_workers
    cache_dir = None
    if args.cache:
        cache_dir = Path(args.cache_dir) if args.cache_dir else default_cache_dir()
    features = [
        features_of(
            image_set(path, split=args.split, label=args.label),
            extractor,
            n=args.n,
            seed=args.seed,
            batch_size=extractor.batch_size,
            cache_dir=cache_dir,
            progress=args.progress,
            num_workers=int(workers),
        )
        for path in (args.a, args.b)
    ]
    result = fid_from_stats(*(FeatureStats.from_features(f) for f in features))
    kid_mean, kid_std = kid(
        *features, subsets=args.kid_subsets, subset_size=args.kid_subset_size, seed=args.seed
    )
    result.update(kid_mean=kid_mean, kid_std=kid_std, protocol=extractor.protocol)
    order = ("fid", "kid_mean", "kid_std", "n_a", "n_b", "rank_deficient", "protocol")
    print(json.dumps({key: result[key] for key in order}))
    return 0

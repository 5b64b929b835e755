"""`fakearena fid A B [key=value ...]`: FID, KID and PRDC between two image sets, with A's
real-vs-real floor.

Prints one JSON object. The floor is the same scores between A's sample and as many *other*
rows of A as B has (disjoint, seeded): what a perfect B would score at these sizes. It needs
`n=N` with A holding at least 2N rows; otherwise `floor` says why there is none.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fakearena.tool_args import Arg, ToolArgs

# Keys of the printed object, in order (the floor's own scores nest under "floor").
SCORE_KEYS = ("fid", "kid_mean", "kid_std", "precision", "recall", "density", "coverage")

ARGS = ToolArgs(
    command="fid",
    summary=(
        "FID, KID and precision/recall/density/coverage (TF Inception 2015-12-05 pool3, "
        "299x299 bilinear) between two manifests (.csv/.yaml) or image folders, and the "
        "real-vs-real floor of A at the same sizes; prints one JSON object. Runs on the GPU "
        "when there is one (device=auto), decoding files in parallel."
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
        Arg("seed", 0, "seed of the n= sample, the floor's rows and KID's subsets"),
        Arg("k", 3, "nearest neighbours of precision/recall/density/coverage"),
        Arg("floor", True, "also score n other rows of A against A's sample (needs n=)"),
        Arg("kid_subsets", 100, "KID subsets"),
        Arg("kid_subset_size", 1000, "rows per KID subset (capped at N)"),
        Arg("weights", None, "another Inception TorchScript file (needs weights_sha256=)"),
        Arg("weights_sha256", None, "SHA-256 of the weights= file"),
        Arg(
            "cache_dir",
            None,
            "feature cache for manifests (default $FAKEARENA_CACHE/fid, else "
            "~/.cache/fakearena/fid)",
        ),
        Arg("cache", True, "read and write the feature cache"),
        Arg("progress", True, "show a progress bar"),
    ),
)


def main(argv: Sequence[str]) -> int:
    """Print the FID/KID/PRDC JSON of two image sets and A's floor; returns the exit code."""
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
    from fakearena.metrics.inception import cached_extractor
    from fakearena.metrics.quality import FLOOR_PROTOCOL, floor_rows, sample_quality
    from fakearena.metrics.reference import default_cache_dir, features_of, image_set, subset
    from fakearena.utils.parallel import default_num_workers, resolve_device

    device = resolve_device(str(args.device))
    extractor = cached_extractor(args.weights, args.weights_sha256, args.batch_size, str(device))
    workers = default_num_workers(limit=None) if args.num_workers is None else args.num_workers
    cache_dir = None
    if args.cache:
        cache_dir = Path(args.cache_dir) if args.cache_dir else default_cache_dir()
    sets = [image_set(path, split=args.split, label=args.label) for path in (args.a, args.b)]

    def features(images, rows=None):
        return features_of(
            images,
            extractor,
            n=args.n,
            seed=args.seed,
            rows=rows,
            batch_size=extractor.batch_size,
            cache_dir=cache_dir,
            progress=args.progress,
            num_workers=int(workers),
        )

    real, fake = features(sets[0]), features(sets[1])
    options = dict(
        k=args.k,
        kid_subsets=args.kid_subsets,
        kid_subset_size=args.kid_subset_size,
        seed=args.seed,
    )
    scores = sample_quality(real, fake, **options)
    if not args.floor:
        floor: dict[str, Any] = {"reason": "floor=false"}
    elif args.n is None:
        floor = {"reason": "the floor compares A's sample with other rows of A: pass n=N"}
    else:
        used = subset(len(sets[0].paths), args.n, args.seed)
        rows = floor_rows(len(sets[0].paths), used, len(fake), args.seed)
        if isinstance(rows, str):
            floor = {"reason": f"{rows} (A is {args.a}): lower n="}
        else:
            floor = _shown(sample_quality(real, features(sets[0], rows), **options))
            floor["protocol"] = FLOOR_PROTOCOL
    result = {
        **_shown(scores),
        "floor": floor,
        "protocol": {**extractor.protocol, "prdc": f"k={args.k}, exact Euclidean k-NN"},
        "warnings": scores["warnings"],
        "cache_dir": None if cache_dir is None else str(cache_dir),
    }
    for warning in result["warnings"]:
        print(f"warning: FID of {args.b} against {args.a}: {warning}", file=sys.stderr)
    print(json.dumps(result))
    return 0


def _shown(scores: dict[str, Any]) -> dict[str, Any]:
    """The printed fields of one comparison, in order."""
    shown = {"kid_mean" if key == "kid" else key: value for key, value in scores.items()}
    order = (*SCORE_KEYS, "k", "n_a", "n_b", "rank_deficient", "warnings")
    shown["n_a"], shown["n_b"] = scores["n_real"], scores["n_fake"]
    return {key: shown[key] for key in order}

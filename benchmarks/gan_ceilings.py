"""What the GAN targets allow on the arena's faces: floors, a perfect generator, small images.

Scores (FID, KID, precision/recall/density/coverage with k=3, Inception pool3) of real faces
that stand in for generators, against N real faces of the arena's test people (see
`benchmarks/_gan_reference.py`), each beside the real-vs-real floor at the same N:

- `floor`: N other real faces of the test people (a perfect generator *of the test people*);
- `perfect generator of the training people`: N unseen shots of the 6 training people, all a
  GAN trained on the arena's train split can learn to draw;
- `32 px, upsampled`: the floor's N test faces downsampled to 32 px (antialiased) and
  upsampled back to 64 (bilinear), what a flawless generator working at 32 px would give;
- the floor at smaller N, to read FIDs taken at other N (the arena's 120 real test faces
  allow N=60).

    python -m benchmarks.gan_ceilings --n 500

Writes benchmarks/results/gan_quality/ceilings.json and prints the table.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from benchmarks._common import machine_info, print_table, write_json
from benchmarks._gan_reference import (
    reference_features,
    reference_parser,
    render_people,
    split_people,
)
from fakearena.metrics.quality import floor_rows, sample_quality
from fakearena.metrics.reference import subset
from fakearena.tasks.gan_eval import inception_features

OUT = Path(__file__).resolve().parent / "results" / "gan_quality"
SCORES = ("fid", "kid", "precision", "recall", "density", "coverage")


def main(argv: list[str] | None = None) -> dict:
    parser = reference_parser(__doc__, OUT)
    parser.add_argument("--smaller", type=int, nargs="*", default=[200, 120, 60])
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    n, seed = args.n, args.seed
    test = reference_features(count=2 * n, split="test", seed=seed)
    train = reference_features(count=2 * n, split="train", first_index=120, seed=seed)
    used = subset(len(test), n, seed)
    others = floor_rows(len(test), used, n, seed)
    reference = test[used]
    rows = {
        "floor": sample_quality(reference, test[others], seed=seed),
        "perfect generator of the training people": sample_quality(
            reference, train[subset(len(train), n, seed)], seed=seed
        ),
    }
    faces = render_people(split_people(10, seed, "test"), 2 * n, size=64, seed=seed)
    small = F.interpolate(faces[torch.from_numpy(others)], size=32, mode="bilinear", antialias=True)
    upsampled = F.interpolate(small, size=64, mode="bilinear", align_corners=False)
    rows["32 px, upsampled"] = sample_quality(
        reference, inception_features(upsampled.clamp(0, 1)), seed=seed
    )
    for m in args.smaller:
        a = subset(len(test), m, seed)
        rows[f"floor at N={m}"] = sample_quality(
            test[a], test[floor_rows(len(test), a, m, seed)], seed=seed
        )
    floor = rows["floor"]["fid"]
    record = {
        "reference": f"N={n} real faces of the arena's test people (seeded sample of {2 * n})",
        "rows": {
            name: {
                **{k: s[k] for k in (*SCORES, "n_real", "n_fake", "k")},
                "fid_over_floor": s["fid"] / floor if s["n_real"] == n else None,
            }
            for name, s in rows.items()
        },
        "machine": machine_info(),
    }
    write_json(args.out / "ceilings.json", record, indent=1)
    table = [
        {
            "stand-in": name,
            "N": str(s["n_fake"]),
            **{k: f"{s[k]:.3f}" for k in SCORES},
            "fid/floor": "" if s["fid_over_floor"] is None else f"{s['fid_over_floor']:.2f}",
        }
        for name, s in record["rows"].items()
    ]
    print_table(table, ("stand-in", "N", *SCORES, "fid/floor"))
    return record


if __name__ == "__main__":
    main()

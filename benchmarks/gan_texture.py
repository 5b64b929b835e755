"""How much of a GAN's FID can missing grain explain: real faces rendered without it.

The renders carry Gaussian sensor noise (`fakearena.data.synthetic.paint.finish`: 1 to 6 grey
levels per pixel and colour); the GAN's samples are smoother. This scores stand-ins for a
generator that draws every face perfectly but with other grain: the floor's faces of a
reference of `benchmarks.gan_quality` (the same people, shots, light and camera; only the
sensor noise's std scaled by each `--noise-scale`, 0 = none, 1 = the renders themselves)
against that reference's N faces, beside the floor, with FID, KID and PRDC (k=3) on
Inception pool3, and each stand-in's grain (`benchmarks.gan_grain.noise_sigma`, median over
images and colours, grey levels).

    python -m benchmarks.gan_texture --n 500 --noise-scale 0 0.5 1 2

Writes OUT/texture.json (OUT defaults to benchmarks/results/gan_quality) and prints the table.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from benchmarks._common import machine_info, print_table, write_json
from benchmarks._gan_reference import reference_features, reference_parser, split_people
from benchmarks.gan_grain import noise_sigma
from benchmarks.gan_quality import REFERENCES, SCORES
from fakearena.metrics.quality import floor_rows, sample_quality
from fakearena.metrics.reference import subset
from fakearena.tasks.gan_eval import inception_features

OUT = Path(__file__).resolve().parent / "results" / "gan_quality"


def render_with_noise(
    people: list[int], rows: np.ndarray, *, scale: float, size: int, seed: int, first_index: int
) -> torch.Tensor:
    """Rows `rows` of `_gan_reference.render_people`'s sequence (person i % n, shot
    first_index + i // n), their sensor noise's std times `scale`; (N, 3, size, size) in [0, 1]."""
    from fakearena.data.synthetic import SyntheticRenderer, paint

    renderer = SyntheticRenderer(size, seed)
    n, images = len(people), []
    for i in rows.tolist():
        person, shot_index = people[i % n], first_index + i // n
        who = renderer.identity(person)
        shot, rng = renderer._scene(person, shot_index, seed)  # the shot's own draws
        shot = dataclasses.replace(shot, noise=shot.noise * scale)
        img = paint.paint_background(renderer.canvas, shot)
        paint.paint_face(img, renderer.canvas, who, shot)
        images.append(paint.finish(img, shot, rng))
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div_(255.0)


def grain(images: torch.Tensor) -> float:
    """Median Immerkaer sigma over images and colour channels, grey levels."""
    pixels = (images * 255.0).round().double().numpy()
    return float(np.median([noise_sigma(image[c]) for image in pixels for c in range(3)]))


def main(argv: list[str] | None = None) -> dict:
    parser = reference_parser(__doc__, OUT)
    parser.add_argument("--noise-scale", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0])
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    n, seed = args.n, args.seed
    record = {
        "what": "the floor's faces of each reference re-rendered with their sensor noise's std "
        "scaled, against the reference's N faces (benchmarks.gan_quality's protocol)",
        "n": n,
        "seed": seed,
        "references": {},
        "machine": machine_info(),
    }
    table = []
    for name, where in REFERENCES.items():
        pool = reference_features(count=2 * n, seed=seed, **where)
        used = subset(len(pool), n, seed)
        others = floor_rows(len(pool), used, n, seed)
        rows = {"floor": sample_quality(pool[used], pool[others], seed=seed)}
        grains = {}
        for scale in args.noise_scale:
            images = render_with_noise(
                split_people(10, seed, where["split"]),
                others,
                scale=scale,
                size=64,
                seed=seed,
                first_index=where["first_index"],
            )
            label = f"noise x{scale:g}"
            rows[label] = sample_quality(pool[used], inception_features(images), seed=seed)
            grains[label] = grain(images)
        floor = rows["floor"]["fid"]
        record["references"][name] = {
            label: {
                **{k: s[k] for k in (*SCORES, "n_real", "n_fake", "k")},
                "fid_over_floor": s["fid"] / floor,
                "grain_sigma": grains.get(label),
            }
            for label, s in rows.items()
        }
        write_json(args.out / "texture.json", record, indent=1)
        table += [
            {
                "reference": name,
                "stand-in": label,
                **{k: f"{s[k]:.3f}" for k in SCORES},
                "fid/floor": f"{s['fid_over_floor']:.2f}",
                "grain": "" if s["grain_sigma"] is None else f"{s['grain_sigma']:.2f}",
            }
            for label, s in record["references"][name].items()
        ]
    print_table(table, ("reference", "stand-in", *SCORES, "fid/floor", "grain"))
    return record


if __name__ == "__main__":
    main()

"""The confound check on the default arena's faces: what the identity model costs, how well it
recognises people, and the identity-only AUC of test sets built like the arena's.

    python benchmarks/confound.py [--quick] [--out PATH]

With the default arena's faces (`conf/arena.yaml`: 10 identities x 120 images at 64 px, seed
0) it trains the default synthetic identity model (`IdentityModelSettings()`, timed), measures
its top-1 accuracy among the arena's 10 people (held-out real shots, clean and degraded by
blur/scaling/JPEG/noise) and among 40 people it never trained on, and runs the confound check
on four test sets of the arena's test people's real test shots against:
- `blend`: their blended fakes (the arena's `blend` test set, as `fakearena arena` builds it),
- `true_swaps_train_donors`: true swaps of the test people with training people's inner faces
  (what a perfect `faceswap` entry of `identities: across_splits` makes),
- `train_people_as_fakes`: real shots of the training people labelled fake (what a perfect GAN
  of the training people makes: the shape of the arena's `dcgan` test set),
- `halves`: the real test shots with half of each person's rows labelled fake (no
  confound by construction).
The last three are stand-ins built from rendered faces, not trained generators' outputs.
Writes benchmarks/results/confound.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks._common import write_json
from fakearena import __version__
from fakearena.data.synthetic import SyntheticRenderer, synthetic_manifest
from fakearena.metrics.confound import confound_check
from fakearena.metrics.identity_model import (
    IdentityModelSettings,
    degrade,
    train_identity_model,
)
from fakearena.metrics.identity_source import GALLERY_FIRST_SHOT, GALLERY_SHOTS, centroids, nearest


def top1(model, renderer: SyntheticRenderer, people: list[int], shots: range, rng) -> dict:
    """Top-1 accuracy of the nearest gallery centroid on clean and degraded shots."""
    gallery = np.stack(
        [
            renderer.render_face(p, GALLERY_FIRST_SHOT + k)
            for p in people
            for k in range(GALLERY_SHOTS)
        ]
    )
    known, centres = centroids(model(gallery), np.repeat([str(p) for p in people], GALLERY_SHOTS))
    queries = np.stack([renderer.render_face(p, k) for p in people for k in shots])
    truth = np.repeat([str(p) for p in people], len(shots))
    degraded = np.stack([degrade(q, rng) for q in queries])
    return {
        "people": len(people),
        "queries": len(queries),
        "top1": float(np.mean(nearest(model(queries), known, centres) == truth)),
        "top1_degraded": float(np.mean(nearest(model(degraded), known, centres) == truth)),
        "chance": 1.0 / len(people),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small model, a few seconds")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "confound.json"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    n_identities, per_identity, size, seed = 10, 120, 64, 0
    settings = IdentityModelSettings(seed=seed, render_size=size)
    if args.quick:
        settings = IdentityModelSettings(seed=seed, render_size=size, people=16, shots=8, epochs=3)
    start, cpu_start = time.perf_counter(), time.process_time()
    model = train_identity_model(settings)
    train_seconds = time.perf_counter() - start
    train_cpu_seconds = time.process_time() - cpu_start
    renderer = SyntheticRenderer(size, seed)
    rng = np.random.default_rng(0)
    arena_people = list(range(n_identities))
    recognition = {
        "arena_people": top1(model, renderer, arena_people, range(0, per_identity, 6), rng),
        "unseen_people": top1(model, renderer, list(range(100, 140)), range(10), rng),
    }

    frame = synthetic_manifest(n_identities, per_identity, 0.5, seed, size).frame
    known, centres = centroids(
        model(
            np.stack(
                [
                    renderer.render_face(p, GALLERY_FIRST_SHOT + k)
                    for p in arena_people
                    for k in range(GALLERY_SHOTS)
                ]
            )
        ),
        np.repeat([f"synth{p:03d}" for p in arena_people], GALLERY_SHOTS),
    )

    def who(images: np.ndarray) -> np.ndarray:
        return nearest(model(images), known, centres)

    test = frame[frame["split"] == "test"]
    train_people = sorted(frame.loc[frame["split"] == "train", "synth_identity"].unique())
    reals = test[test["label"] == 0]
    real_images = np.stack([renderer.render_row(r) for r in reals.to_dict("records")])
    fakes = {
        "blend": np.stack(
            [renderer.render_row(r) for r in test[test["label"] == 1].to_dict("records")]
        ),
        "true_swaps_train_donors": np.stack(
            [
                renderer.render_swap(
                    int(r["synth_identity"]),
                    int(r["synth_index"]),
                    int(train_people[k % len(train_people)]),
                )
                for k, r in enumerate(test[test["label"] == 1].to_dict("records"))
            ]
        ),
        "train_people_as_fakes": np.stack(
            [renderer.render_face(int(p), k) for k in range(10) for p in train_people]
        ),
    }
    sets = {}
    real_ids = who(real_images)
    for name, images in fakes.items():
        result = confound_check(
            np.r_[real_ids, who(images)],
            np.r_[np.zeros(len(real_images), int), np.ones(len(images), int)],
            identity_source="synthetic identity model (default settings)",
            seed=seed,
        )
        sets[name] = result.to_dict()
        print(f"{name}: AUC {result.auc:.3f} {result.ci95} {result.flag} {result.identities}")
    halves = (reals.groupby("synth_identity").cumcount() % 2).to_numpy()  # per person
    sets["halves"] = confound_check(real_ids, halves, seed=seed).to_dict()
    record = {
        "command": "python benchmarks/confound.py" + (" --quick" if args.quick else ""),
        "fakearena_version": __version__,
        "faces": dict(n_identities=n_identities, per_identity=per_identity, size=size, seed=seed),
        "identity_model": {
            **settings.__dict__,
            "train_seconds": round(train_seconds, 1),
            "train_cpu_seconds": round(train_cpu_seconds, 1),
        },
        "torch_threads": 1,
        "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        "recognition": recognition,
        "test_sets": sets,
    }
    print(json.dumps({"train_seconds": record["identity_model"]["train_seconds"], **recognition}))
    write_json(args.out, record)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

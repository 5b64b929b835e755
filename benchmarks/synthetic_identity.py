"""The face swaps' identity embedding on the default arena's test people: does it see the donor?

    python -m benchmarks.synthetic_identity [--quick] [--out PATH] [--fakes CSV ...]

On the rows of the default arena's blended test fakes (`conf/arena.yaml` faces: 40 test people,
20 fakes each, 64 px, seed 0; each row is a target's shot and a donor among the test people)
it trains both synthetic identity models (timed, one thread) and scores, as swaps of each
row's donor, with the swap ID metrics (`fakearena.metrics.synthetic_swap_identity`: donor
top-1/top-5 among the 40 people, similarity to donor and target, gallery of real shots):

- `true_swap`: the renderer's perfect swap (target's shot, outline, hair and skin; donor's
  inner face): the ceiling a swap can reach;
- `source`: the untouched target shot (no swap at all): the floor;
- `reverse_mix`: the donor's shot, outline, hair and skin with the target's inner face (a
  "swap" that moved everything but the face);
- `blend`: the renderer's blended fakes of those rows (the arena's `blend` test set);
- `fakes/<name>`, for each `--fakes` manifest: a learned swap's fake set of the same rows
  (`fakearena generate` of an arena's face swap, read only; its CSV's sha256 is recorded).

Each kind is scored by the inner-face model (`region=inner_face`, what the swap metrics use)
and, for comparison, the head model (the confound check's), so the record shows why the
metric changed. Real shots' top-1 (the sources as their own person) is recorded too.
Writes benchmarks/results/synthetic_identity.json (`--quick`: a small model and every 10th
row, under benchmarks/results/quick/).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks._common import write_json
from fakearena import __version__
from fakearena.data.manifest import read_manifest
from fakearena.data.synthetic import SyntheticRenderer, synthetic_manifest
from fakearena.data.synthetic.dataset import identity_splits
from fakearena.generation.swap_literature import read_fakes
from fakearena.metrics.identity_model import (
    IdentityModelSettings,
    SyntheticIdentityModel,
    train_identity_model,
)
from fakearena.metrics.identity_source import gallery_shots
from fakearena.metrics.swap_identity import id_entries, identity_gallery
from fakearena.metrics.synthetic_swap_identity import inner_face_settings, synthetic_id_metrics
from fakearena.utils.io import sha256_file

RESULTS = Path(__file__).resolve().parent / "results"
FACES = {"identities": {"train": 21, "val": 6, "test": 40}, "per_identity": 40, "size": 64}
SMALL = {"people": 16, "shots": 8, "epochs": 3}  # --quick


def arena_rows(seed: int) -> tuple[list[int], list[tuple[int, int, int]]]:
    """The default arena's test people and its blended test fakes as (target, shot, donor)."""
    counts = FACES["identities"]
    n = sum(counts.values())
    test = sorted(p for p, split in identity_splits(n, seed, counts).items() if split == "test")
    faces = synthetic_manifest(
        n, FACES["per_identity"], 0.5, seed, FACES["size"], identities=counts, donor_groups=[test]
    ).frame
    fakes = faces[(faces["split"] == "test") & (faces["label"] == 1)]
    rows = [
        (int(r.synth_identity), int(r.synth_index), int(r.synth_donor))
        for r in fakes.itertuples()
    ]
    return test, rows


def rendered_kinds(rows: list[tuple[int, int, int]], seed: int) -> dict[str, np.ndarray]:
    """The images of every row, by kind (see the module docstring)."""
    renderer = SyntheticRenderer(FACES["size"], seed)
    return {
        "true_swap": np.stack([renderer.render_swap(t, k, d) for t, k, d in rows]),
        "source": np.stack([renderer.render_face(t, k) for t, k, _ in rows]),
        "reverse_mix": np.stack([renderer.render_swap(d, k, t) for t, k, d in rows]),
        "blend": np.stack([renderer.render_blended_fake(t, k, d) for t, k, d in rows]),
    }


def timed_model(settings: IdentityModelSettings) -> tuple[SyntheticIdentityModel, dict]:
    start, cpu = time.perf_counter(), time.process_time()
    model = train_identity_model(settings)
    timing = {
        "train_seconds": round(time.perf_counter() - start, 1),
        "train_cpu_seconds": round(time.process_time() - cpu, 1),
    }
    return model, {**settings.__dict__, "key": settings.key(), **timing}


def values(entries: dict[str, dict[str, Any]], suffix: str = "") -> dict[str, float]:
    """{top1, top5, similarity, similarity_target, chance, n} of a stage's ID entries."""
    stage = next(iter(entries)).split("/")[0]
    top1 = entries[f"{stage}/id_top1{suffix}"]
    return {
        "top1": round(top1["value"], 4),
        "top5": round(entries[f"{stage}/id_top5{suffix}"]["value"], 4),
        "similarity": round(entries[f"{stage}/id_similarity{suffix}"]["value"], 4),
        "similarity_target": round(entries[f"{stage}/id_similarity_target{suffix}"]["value"], 4),
        "chance": round(top1["chance"], 4),
        "n": top1["n"],
    }


def head_scores(model, people, kinds, rows, seed) -> dict[str, dict[str, float]]:
    """The same scores with the head model (the confound check's), for comparison."""
    shots, owners = gallery_shots(people, seed=seed, size=FACES["size"])
    gallery = identity_gallery(model.embed(shots), [str(p) for p in owners])
    donors = [str(d) for _, _, d in rows]
    targets = [str(t) for t, _, _ in rows]
    return {
        kind: values(id_entries(model.embed(images), donors, targets, gallery, "x"))
        for kind, images in kinds.items()
    }


def fake_set(
    path: Path, people: list[int], seed: int, cache: Path, options: dict | None
) -> dict[str, Any]:
    """The swap ID metrics of a learned swap's fake set (all rows), with its provenance."""
    manifest = read_manifest(path)
    frame = manifest.frame
    entries = synthetic_id_metrics(
        read_fakes(frame, manifest.root),
        donors=frame["synth_donor"].astype(int).tolist(),
        targets=frame["synth_identity"].astype(int).tolist(),
        people=people,
        seed=seed,
        stage="fakes",
        cache=cache,
        model_options=options,
        shot_indices=frame["synth_index"].astype(int).tolist(),
    )
    provenance = manifest.card.provenance or {}
    return {
        "manifest": str(path),
        "sha256": sha256_file(path),
        "command": provenance.get("command"),
        "checkpoint_sha256": provenance.get("checkpoint_sha256"),
        "blend": provenance.get("blend"),
        "fakes": values(entries),
        "true_swaps_of_the_same_rows": values(entries, "_truth"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small models, every 10th row")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--fakes", type=Path, nargs="*", default=[], help="fake-set manifests")
    args = parser.parse_args(argv)
    options = SMALL if args.quick else None
    out = args.out or (RESULTS / "quick" if args.quick else RESULTS) / "synthetic_identity.json"
    torch.set_num_threads(1)
    seed = 0
    people, rows = arena_rows(seed)
    if args.quick:
        rows = rows[::10]
    inner_settings = inner_face_settings(seed, FACES["size"], options)
    head_settings = IdentityModelSettings(seed=seed, render_size=FACES["size"], **(options or {}))
    inner, inner_record = timed_model(inner_settings)
    head, head_record = timed_model(head_settings)
    kinds = rendered_kinds(rows, seed)
    with tempfile.TemporaryDirectory() as cache:
        inner.save(Path(cache) / f"identity_model-{inner_settings.key()}.pt")
        scores = {}
        for kind, images in kinds.items():
            entries = synthetic_id_metrics(
                list(images), [d for *_, d in rows], [t for t, *_ in rows], people, seed=seed,
                stage="x", cache=cache, model_options=options,
            )  # fmt: skip
            scores[kind] = values(entries)
        sources = synthetic_id_metrics(
            list(kinds["source"]), [t for t, *_ in rows], [t for t, *_ in rows], people,
            seed=seed, stage="x", cache=cache, model_options=options,
        )  # fmt: skip
        fakes = {str(p): fake_set(p, people, seed, Path(cache), options) for p in args.fakes}
    head_kinds = head_scores(head, people, kinds, rows, seed)
    head_sources = head_scores(head, people, {"source": kinds["source"]},
                               [(t, k, t) for t, k, _ in rows], seed)  # fmt: skip
    record = {
        "command": "python -m benchmarks.synthetic_identity"
        + (" --quick" if args.quick else "")
        + (" --fakes " + " ".join(str(p) for p in args.fakes) if args.fakes else ""),
        "fakearena_version": __version__,
        "faces": {**FACES, "seed": seed, "test_people": len(people), "rows": len(rows)},
        "torch_threads": 1,
        "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        "inner_face_model": {
            "settings": inner_record,
            "donor_scores": scores,
            "real_shots_as_their_person": values(sources),
        },
        "head_model": {
            "settings": head_record,
            "donor_scores": head_kinds,
            "real_shots_as_their_person": head_sources["source"],
        },
        "learned_swaps": fakes,
    }
    write_json(out, record)
    for model in ("inner_face_model", "head_model"):
        print(model, record[model]["settings"]["train_cpu_seconds"], "CPU-s")
        for kind, score in record[model]["donor_scores"].items():
            print(f"  {kind:12s} donor top-1 {score['top1']:.3f} top-5 {score['top5']:.3f}")
        print(f"  real shots   top-1 {record[model]['real_shots_as_their_person']['top1']:.3f}")
    for path, entry in fakes.items():
        print(f"{path}: donor top-1 {entry['fakes']['top1']:.3f} (true swaps "
              f"{entry['true_swaps_of_the_same_rows']['top1']:.3f})")  # fmt: skip
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

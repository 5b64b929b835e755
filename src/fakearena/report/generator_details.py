"""The generator details table: every quality metric of each generator's runs beside its
floor or truth, and its evasion (the headline table is `fakearena.report.generators`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fakearena.report.fold import MISSING, Folded, cell
from fakearena.report.records import Configuration
from fakearena.report.table import FACT_HEADERS, Table, row_facts

# Generator metric names in display order; other metrics follow alphabetically.
GENERATOR_ORDER = (
    "fid",
    "kid_mean",
    "kid",
    "kid_std",
    "precision",
    "recall",
    "density",
    "coverage",
    "truth_psnr",
    "truth_ssim",
    "truth_gain_db",
    "closer_to_truth",
    "outside_rmse",
    "outside_changed",
    "id_top1",
    "id_top1_truth",
    "id_top5",
    "id_similarity",
    "id_similarity_target",
    "pose_error",
    "expression_error",
    "source_psnr",
    "source_ssim",
    "mse",
    "psnr",
    "ssim",
)


# metrics kept in leaderboard.csv but not shown as generator columns (context of the shown
# ones: doing nothing's scores behind truth_gain_db, the SSIM twin of truth_psnr, and the
# parts of pose_error)
GENERATOR_CSV_ONLY = (
    "source_psnr",
    "source_ssim",
    "truth_ssim",
    "yaw_error",
    "pitch_error",
    "roll_error",
)
# the face recognition network behind the ID metrics, as the table names it
EMBEDDING_NAMES = {
    "dlib_face_recognition_resnet_model_v1": "dlib ResNet",
    "synthetic_identity_model": "synthetic identity model",
    "synthetic_inner_face_model": "synthetic inner-face model",
}
EMBEDDING_HEADER = "ID embedding"


FLOOR_SUFFIX = "_floor"  # `<stage>/<metric>_floor`: the metric between two real samples


FAKES_STAGE = "fakes"  # a fake set's own record (truth metrics of swaps and blends)


def generator_keys(confs: list[Configuration], folded: dict[str, dict[str, Folded]]) -> list[str]:
    """Generator quality keys to show, in display order: each configuration's test metrics
    (its val metrics when it has no test metrics) and its fake set's (`fakes/...`), floors
    folded into their metric's cell.

    A GAN's headline reference (`test/<metric>`) comes first, then its further references
    (`test/unseen_people/<metric>`: the people it never saw), each in metric order.
    """
    keys: set[str] = set()
    for conf in confs:
        mine = [k for k in folded[conf.key] if _quality_key(k)]
        tested = [k for k in mine if k.startswith("test/")]
        keys.update(tested or [k for k in mine if k.startswith("val/")])
        keys.update(k for k in mine if k.startswith(FAKES_STAGE + "/"))
    keys = {k for k in keys if not (k.endswith(FLOOR_SUFFIX) and k[: -len(FLOOR_SUFFIX)] in keys)}
    keys = {k for k in keys if k.rsplit("/", 1)[-1] not in GENERATOR_CSV_ONLY}

    def order(key: str) -> tuple[str, int, str, str]:
        parts = key.split("/")
        reference = parts[1] if len(parts) == 3 else ""
        name = parts[-1]
        rank = GENERATOR_ORDER.index(name) if name in GENERATOR_ORDER else len(GENERATOR_ORDER)
        return (reference, rank, name, key)

    return sorted(keys, key=order)


def _quality_key(key: str) -> bool:
    """`stage/metric`, or `stage/<reference>/<metric>` of a further reference; per-identity
    breakdowns (`val/mse/<person>`) stay in the CSV."""
    parts = key.split("/")
    if len(parts) == 2:
        return True
    return (
        len(parts) == 3
        and parts[0] != FAKES_STAGE  # a fake set's per-split numbers stay in the CSV
        and parts[2].removesuffix(FLOOR_SUFFIX) in GENERATOR_ORDER
    )


def _quality_cell(values: dict[str, Folded], key: str) -> str:
    """A metric's cell, with its real-vs-real floor beside it where the run has one."""
    text = cell(values, key)
    if text != MISSING and key + FLOOR_SUFFIX in values:
        text += f" (floor {values[key + FLOOR_SUFFIX].text()})"
    return text


def id_embedding(conf: Configuration, keys: list[str]) -> str:
    """Which network embedded the ID metrics (`id_top1`, ...) of a configuration's runs."""
    found = {
        str(entry.get("embedding"))
        for run in conf.runs
        for key in keys
        if key.rsplit("/", 1)[-1].startswith("id_")
        and isinstance(entry := run.record.get("metrics", {}).get(key), dict)
        and entry.get("embedding")
    }
    return ", ".join(sorted(EMBEDDING_NAMES.get(name, name) for name in found)) or MISSING


def generator_table(
    confs: list[Configuration],
    folded: dict[str, dict[str, Folded]],
    out_dir: Path,
    envs,
    evasion: dict[str, Any] | None = None,
) -> Table:
    """One row per generator configuration: quality (FID with its floor, KID, PRDC, truth
    PSNR, ...), then each detector's AUC on its test fakes and the best one (evasion).

    `evasion` maps a configuration key to its `fakearena.report.evasion.Evasion`.
    """
    keys = generator_keys(confs, folded)
    fid_key = next((k for k in keys if k.endswith("/fid")), None)
    detectors = list(dict.fromkeys(d for e in (evasion or {}).values() for d in e.aucs))
    with_ids = any(k.rsplit("/", 1)[-1].startswith("id_") for k in keys)
    headers = ["#", "generator", "train data", *keys, "N (FID)"]
    headers += [EMBEDDING_HEADER] if with_ids else []
    headers += [f"AUC {d}" for d in detectors]
    if evasion is not None:
        headers.append("evasion: best AUC (detector)")
    table = Table("Generators", [*headers, *FACT_HEADERS])
    for rank, conf in enumerate(confs, 1):
        values = folded[conf.key]
        n = values[fid_key].n if fid_key and fid_key in values else None
        row: list[Any] = [str(rank), conf.label, conf.first.train_name]
        row += [_quality_cell(values, k) for k in keys]
        row.append(MISSING if n is None else str(n))
        row += [id_embedding(conf, keys)] if with_ids else []
        if evasion is not None:
            mine = evasion[conf.key]
            row += [mine.aucs[d].text() if d in mine.aucs else MISSING for d in detectors]
            row.append(mine.best_text())
        table.rows.append([*row, *row_facts(conf, envs, out_dir)])
    table.note = (
        "Quality on the test split (val where a run has none); FID is biased at small N: "
        "compare FID only at equal N, beside its floor (the same score between two disjoint "
        "real samples of these sizes: what a perfect generator would get); KID is unbiased. "
        "AUC <detector>: that detector's frame AUC on the generator's test fakes (the test set "
        "named like the generator) against real test faces; evasion is the best of them: "
        "lower is a better generator, 0.5 is chance."
    )
    if with_ids:
        table.note += (
            " Face swaps as the face-swap papers score them: id_top1/id_top5, the share of "
            "swaps whose donor is the nearest (within the 5 nearest) of the source identities; "
            "id_similarity, the mean cosine to the donor's faces (id_similarity_target: to the "
            "replaced face's); pose_error (degrees) and expression_error, between swap and "
            f"target (lower is better). {EMBEDDING_HEADER}: the network that embedded them "
            "(dlib's on real faces, never trained with this suite; the synthetic identity "
            "model on synthetic faces)."
        )
    return table

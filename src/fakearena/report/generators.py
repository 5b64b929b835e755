"""The generators of a report: one row per generator, a headline table and a detail table.

A generator can leave two records: its training run (`fakearena train task=gan|faceswap`,
quality metrics) and its fake set's own record (task `fakeset`: truth metrics of the swaps it
made). Both name the same detector test set (`fakearena.report.evasion.generator_name`: the
arena names a generator, its fake set and its test set alike), so they are one generator and
one row. The headline table is what a reader takes in at a glance: the quality number beside
its floor or truth, its N, and the evasion score; every metric, each detector's AUC and the
run facts follow in the detail table (`fakearena.report.generator_details`) and the CSV.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fakearena.report.evasion import Evasion, generator_name
from fakearena.report.fold import MISSING, Folded
from fakearena.report.generator_details import FLOOR_SUFFIX, generator_table
from fakearena.report.records import Configuration
from fakearena.report.table import Table

FAKESET_TASK = "fakeset"
DETAILS_TITLE = "Generator details"
# headline quality, first found wins: (metric, how the cell names it, unit)
HEADLINE_QUALITY = (
    ("fid", "FID", ""),
    ("truth_psnr", "PSNR to the true swap", " dB"),
    ("mse", "MSE", ""),
)
# where a headline metric is looked for, in this order: the fake set the detectors saw first
STAGES = ("fakes", "test", "val")


def merge_generators(
    confs: list[Configuration],
    folded: dict[str, dict[str, Folded]],
    evasion: dict[str, Evasion] | None,
) -> list[Configuration]:
    """One configuration per generator: a training run and the fake set record naming the
    same test set become one (their metrics joined in `folded` and `evasion` under the new
    key); everything else stays as it is. Order: the first of each group's position."""
    groups: dict[str, list[Configuration]] = {}
    for conf in confs:
        groups.setdefault(generator_name(conf), []).append(conf)
    merged = []
    for conf in confs:
        group = groups[generator_name(conf)]
        fakes = [c for c in group if c.first.record.get("task") == FAKESET_TASK]
        trained = [c for c in group if c.first.record.get("task") != FAKESET_TASK]
        if len(fakes) != 1 or len(trained) != 1:
            merged.append(conf)  # nothing to join, or no single pair to join it to
            continue
        if conf is fakes[0]:
            continue  # joined to its training run
        key = f"{conf.key}+{fakes[0].key}"
        merged.append(Configuration(key, [*conf.runs, *fakes[0].runs], conf.label, None))
        folded[key] = {**folded[fakes[0].key], **folded[conf.key]}
        if evasion is not None:
            evasion[key] = evasion[conf.key]
    return merged


def headline_quality(values: dict[str, Folded]) -> tuple[str, str]:
    """(`FID 80.000 (floor 20.000)`, N) of a generator's headline metric, or ("-", "-")."""
    for metric, name, unit in HEADLINE_QUALITY:
        for stage in STAGES:
            key = f"{stage}/{metric}"
            if key not in values:
                continue
            value = values[key]
            text = f"{name} {value.text()}{unit}"
            floor = values.get(key + FLOOR_SUFFIX)
            if floor is not None:
                text += f" (floor {floor.text()})"
            gain = values.get(f"{stage}/truth_gain_db")
            if metric == "truth_psnr" and gain is not None:
                text += f" (gain over the unswapped source {gain.mean:+.3f} dB)"
            kid = values.get(f"{stage}/kid_mean")
            if metric == "fid" and kid is not None:
                text += f"; KID {kid.text()}"
            return text, MISSING if value.n is None else str(value.n)
    return MISSING, MISSING


def generator_headline(
    confs: Sequence[Configuration],
    folded: dict[str, dict[str, Folded]],
    evasion: dict[str, Evasion] | None,
) -> Table:
    """One row per generator: its headline quality, N, and evasion (best detector's AUC)."""
    headers = ["#", "generator", "quality", "N", "trained on"]
    if evasion is not None:
        headers.append("evasion: best AUC (detector)")
    table = Table("Generators", headers)
    for rank, conf in enumerate(confs, 1):
        quality, n = headline_quality(folded[conf.key])
        row: list[Any] = [str(rank), conf.label, quality, n, conf.first.train_name]
        if evasion is not None:
            row.append(evasion[conf.key].best_text())
        table.rows.append(row)
    table.note = (
        "Quality: FID beside its floor (the same score between two real samples of these "
        "sizes) on the test split, else PSNR to the true swap (of the fake set, else the "
        "test split), else reconstruction MSE; "
        "compare FID only at equal N. Evasion: the best detector's frame AUC on the "
        "generator's test fakes (lower evades more; 0.5 is chance). Every metric and each "
        f"detector's AUC: {DETAILS_TITLE} below and leaderboard.csv."
    )
    return table


def generator_tables(
    confs: list[Configuration],
    folded: dict[str, dict[str, Folded]],
    out_dir: Path,
    envs: dict[str, str],
    evasion: dict[str, Evasion] | None,
) -> list[Table]:
    """The headline table and the detail table, one row per generator in both."""
    rows = merge_generators(confs, folded, evasion)
    details = generator_table(rows, folded, out_dir, envs, evasion)
    details.title = DETAILS_TITLE
    return [generator_headline(rows, folded, evasion), details]

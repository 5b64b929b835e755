"""`fakearena protocol`: the cross-dataset protocol of DeepfakeBench in one command.

Each configured detector is trained on one dataset (FF++ c23, all four manipulations, by
default) and its best checkpoint is scored on that dataset's test split and on every further
test set (Celeb-DF v2, DFDC); the table has a row per detector and, per test set, frame-level
AUC with its bootstrap CI and video-level AUC (`fakearena.report.protocol`). With `faces` set
(`--config-name protocol_smoke`) the same command runs on the built-in synthetic faces: the
arena's generators make the fake sets, detectors train on real + blended faces and are scored
on the dcgan and face-swap fakes.

Folder of a protocol run:

    detectors/<d>/   `fakearena train task=detect` run of each detector
    data/ generators/ fakes/ testsets/   the synthetic world (smoke version only)
    protocol.md protocol.csv             the table
    protocol.json                        stages with wall time, peak memory and inputs
    replaced/<time>/                     what a rerun replaced: stage folders whose inputs
                                         changed, unfinished attempts, the previous table
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from fakearena.errors import ConfigError
from fakearena.report.protocol import protocol_frame, protocol_markdown, write_protocol
from fakearena.results import now_iso, read_results
from fakearena.runs.arena import fake_set_roles, generator_stages
from fakearena.runs.populations import BLEND, prepare_faces, swap_group
from fakearena.runs.preflight import fixed_frames_per_video
from fakearena.runs.stages import Stage, StageReport, run_stages
from fakearena.runs.testsets import build_test_sets
from fakearena.utils.io import atomic_write_json
from fakearena.utils.quiet import quiet_third_party
from fakearena.utils.set_aside import set_aside_together

REPLACED = "replaced"
TABLE_FILES = ("protocol.md", "protocol.csv", "protocol.json")


def data_set_name(entry: str) -> str:
    """The name a `test_data` entry gets in metric keys: a data config's name, a file's stem."""
    path = Path(entry)
    return path.stem if path.suffix == ".csv" else entry


def synthetic_world(cfg: DictConfig, run_dir: Path) -> tuple[list[str], dict[str, str], list]:
    """The arena's synthetic faces, generators and fake sets for the smoke version.

    Returns:
        (training overrides, test set name -> manifest path, stage reports).
    """
    fakes = [str(name) for name in cfg.train.fakes]
    train_stages, generate_stages, instances = generator_stages(
        cfg, run_dir, run_dir / "data" / "real.csv", [name for name in fakes if name != BLEND]
    )
    populations = tuple(sorted({i.population for i in instances}))
    faces = prepare_faces(cfg, run_dir / "data", populations, swap_group(instances))
    reports = run_stages(train_stages + generate_stages, run_dir / REPLACED)
    training, tested = fake_set_roles(instances, faces[BLEND], run_dir / "fakes")
    unknown = [name for name in fakes if name not in training]
    if unknown:
        raise ConfigError(
            f"train.fakes {unknown} are not fake sets of this run; choose from {list(tested)}"
        )
    manifests = [faces["real"], *(training[name] for name in fakes)]
    tests = build_test_sets(
        faces["real"],
        tested,
        run_dir / "testsets",
        trained_on=manifests,
        learned_people={i.entry: i.people for i in instances if i.makes_test_set},
    )
    overrides = [
        "data=manifest",
        f"data.manifests=[{','.join(str(p) for p in manifests)}]",
        f"data.image_size={int(cfg.faces.size)}",
        "data.balanced_sampling=true",
    ]
    return overrides, {name: str(path) for name, path in tests.items()}, reports


def public_plan(cfg: DictConfig) -> tuple[list[str], list[str]]:
    """(training overrides, test set entries) of the protocol on public datasets."""
    train = [f"data={cfg.train.data}", *list(cfg.train.get("overrides") or [])]
    return train, [str(entry) for entry in cfg.test_sets]


def detector_stages(
    cfg: DictConfig, run_dir: Path, train: list[str], test_entries: list[str]
) -> list[Stage]:
    """One `fakearena train task=detect` stage per detector: fit on the training data, test its
    own test split, score every further test set."""
    stages = []
    for name, overrides in (cfg.detectors or {}).items():
        if overrides is None:  # dropped: detectors.<name>=null
            continue
        stage_dir = run_dir / "detectors" / str(name)
        tests = [f"test_data=[{','.join(test_entries)}]"] if test_entries else []
        frames = fixed_frames_per_video(cfg)
        fixed = [] if frames is None else [f"++data.frames_per_video={frames}"]
        one_class = [str(name) for name in cfg.get("test_one_class") or []]
        if one_class:
            tests.append(f"test_one_class=[{','.join(one_class)}]")
        args = [
            "train",
            "task=detect",
            *train,
            "test=true",
            *tests,
            *fixed,
            f"seed={int(cfg.seed)}",
            *list(overrides),
            *list(cfg.get("common") or []),
            f"hydra.run.dir={stage_dir}",
        ]
        stages.append(Stage(f"train detector {name}", args, stage_dir, stage_dir / "results.json"))
    if not stages:
        raise ConfigError("no detectors to run; add detectors.<name>=[detector=...]")
    return stages


def keep_previous_table(run_dir: Path, new_table: str) -> Path | None:
    """Move the previous protocol.md/.csv/.json to `replaced/<time>/` when the table changes.

    Returns the folder they went to (None: no previous table, or the same one).
    """
    previous = run_dir / "protocol.md"
    if not previous.is_file() or previous.read_text(encoding="utf-8") == new_table:
        return None
    kept = set_aside_together([run_dir / name for name in TABLE_FILES], run_dir / REPLACED)
    print(f"fakearena protocol: the table changed; the previous one is kept in {kept}", flush=True)
    return kept


def run(cfg: DictConfig) -> None:
    """Run (or continue) the protocol in the run folder and print the table."""
    quiet_third_party()
    run_dir = Path(cfg.paths.output_dir)
    started_at, start = now_iso(), time.perf_counter()
    frames_per_video = fixed_frames_per_video(cfg)  # a bad value fails before any stage
    print(f"fakearena protocol: run folder {run_dir}", flush=True)
    reports: list[StageReport] = []
    if cfg.get("faces") is not None:
        train, sets, reports = synthetic_world(cfg, run_dir)
        missing = [name for name in cfg.test_sets if name not in sets]
        if missing:
            raise ConfigError(
                f"test_sets {missing} are not fake sets of this run; choose from {list(sets)}"
            )
        entries = [sets[name] for name in cfg.test_sets]
    else:
        train, entries = public_plan(cfg)
    own = str(cfg.train.name)
    columns = {own: "test", **{data_set_name(e): f"test/{data_set_name(e)}" for e in entries}}
    if len(columns) != len(entries) + 1:
        raise ConfigError(
            f"test set names {list(map(data_set_name, entries))} repeat each other or the "
            f"training data's name {own!r} (train.name); give each column its own name"
        )
    stages = detector_stages(cfg, run_dir, train, entries)
    reports += run_stages(stages, run_dir / REPLACED)
    records = {stage.run_dir.name: read_results(stage.run_dir) for stage in stages}
    for detector, record in records.items():
        for name, reason in (record.get("test_data_failures") or {}).items():
            print(f"fakearena: warning: {detector}: test set {name} was not scored: {reason}")
        for key, entry in record.get("metrics", {}).items():
            if key.endswith("/acc") and entry.get("one_class"):  # no AUC: not in the table
                name, kind = key.split("/")[1], entry["one_class"]
                print(
                    f"fakearena protocol: {detector}: {name} holds {kind} rows only: acc "
                    f"{entry['value']:.4f} (n={entry['n']}; {entry['warning']})"
                )
    frame = protocol_frame(records, columns, in_domain=own)
    title = f"Cross-dataset protocol: trained on {own}, tested on {', '.join(columns)}"
    table = {"in_domain": own, "frames_per_video": frames_per_video}
    keep_previous_table(run_dir, protocol_markdown(frame, list(columns), title, **table))
    written = write_protocol(frame, list(columns), run_dir, title, **table)
    summary: dict[str, Any] = {
        "started_at": started_at,
        "ended_at": now_iso(),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "frames_per_video": frames_per_video,
        "stages": [r.to_dict() for r in reports],
        "detector_runs": {
            stage.run_dir.name: {
                "results": str(stage.done_file),
                "inputs_fingerprint": (stage.recorded_inputs() or {}).get("fingerprint"),
            }
            for stage in stages
        },
        "table": {k: str(v) for k, v in written.items()},
        "config": OmegaConf.to_container(cfg, resolve=True),
    }
    atomic_write_json(run_dir / "protocol.json", summary)
    print(written["md"].read_text(encoding="utf-8"), flush=True)
    print(f"fakearena protocol: table in {written['md']} and {written['csv']}", flush=True)

"""`fakearena arena`: generators x detectors in one command, ending in a leaderboard.

Folder of an arena run:

    data/            real faces (real.csv), their blended fakes (blend.csv) and further shots
                     of the training people (people_holdout.csv: the GANs' references)
    generators/<g>/  `fakearena train` run of each generator (results.json, checkpoints)
    fakes/<g>/       its fake set (`fakearena generate`): PNGs + <g>.csv (+ results.json: a
                     face swap's truth metrics); fakes/blend/results.json: the blended fakes'
                     truth metrics, the reference a learned swap should reach
    testsets/<g>.csv real test faces + generator g's test fakes (one test set per generator)
    testsets/<g>/    its confound check (results.json: the identity-only AUC, identities per
                     class); testsets/identity_model-*.pt: the identity model it used
    detectors/<d>/   `fakearena train task=detect` run of each detector, scored on every test set
                     (with `seeds=[0,1,2]`: detectors/<d>/seed<k>/, one run per seed)
    report/          leaderboard.{md,csv,html}, auc_heatmap.png, ...
    arena.json       the stages with wall time and peak memory
    replaced/<time>/ what a rerun replaced (stage folders whose inputs changed, unfinished
                     attempts, the previous report): moved aside, never overwritten
"""

from __future__ import annotations

import resource
import time
from itertools import product
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from fakearena.data.manifest import Manifest, read_manifest, union_manifests, write_manifest
from fakearena.errors import ConfigError, DataError
from fakearena.results import now_iso
from fakearena.runs.stages import Stage, StageReport, run_stages
from fakearena.runs.testsets import score_test_sets
from fakearena.utils.io import atomic_write_json
from fakearena.utils.quiet import quiet_third_party
from fakearena.utils.set_aside import set_aside_together

BLEND = "blend"
HOLDOUT = "people_holdout"  # further shots of the training people, never in real.csv
REPLACED = "replaced"  # what reruns replaced: stage folders, the previous report


def _peak_self_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def prepare_faces(cfg: DictConfig, data_dir: Path) -> dict[str, Path]:
    """Write the synthetic faces once: real.csv, blend.csv and people_holdout.csv.

    people_holdout.csv holds `faces.holdout_shots` further real shots of each training person
    (half val, half test), images real.csv never shows: what a GAN entry with
    `holdout: people` is judged against (`fakearena.data.gan_people`).
    """
    paths = {
        "real": data_dir / "real.csv",
        BLEND: data_dir / "blend.csv",
        HOLDOUT: data_dir / f"{HOLDOUT}.csv",
    }
    if all(path.is_file() for path in paths.values()):
        return paths
    from fakearena.data.synthetic import (
        holdout_shots_manifest,
        write_rendered,
        write_synthetic_dataset,
    )

    faces = cfg.faces
    common = dict(
        n_identities=int(faces.n_identities),
        per_identity=int(faces.per_identity),
        size=int(faces.size),
        seed=int(cfg.seed),
    )
    all_csv = write_synthetic_dataset(
        data_dir, name="faces", fake_fraction=float(faces.fake_fraction), **common
    )
    everything = read_manifest(all_csv)
    for label, name in ((0, "real"), (1, BLEND)):
        part = everything.select(label=label)
        part.card.name = name
        write_manifest(part, paths[name])
    shots = int(faces.get("holdout_shots") or 0)
    if shots > 0:  # a config without them has no `holdout: people` entries to serve
        holdout = holdout_shots_manifest(shots=shots, name=HOLDOUT, **common)
        write_rendered(holdout, data_dir, size=common["size"], seed=common["seed"])
    return paths


def _holdout_overrides(spec: DictConfig, name: str, holdout_csv: Path) -> list[str]:
    """`holdout: people` judges a GAN against further shots of its training people."""
    choice = spec.get("holdout")
    if choice is None:
        return []
    if choice != "people":
        raise ConfigError(
            f"generators.{name}.holdout={choice!r}; use `people` (judged against further "
            "shots of the training people, data/people_holdout.csv) or null"
        )
    return [f"data.holdout_manifests=[{holdout_csv}]"]


def score_blend_truth(blend_csv: Path, out_dir: Path) -> Path:
    """The blended fakes' truth metrics (`out_dir/results.json`), once."""
    record = out_dir / "results.json"
    if not record.is_file():
        from fakearena.generation.truth import fake_set_truth

        # its test set is named `blend`: the report joins its detectors' AUCs (evasion)
        fake_set_truth(read_manifest(blend_csv), out_dir, test_set=BLEND)
    return record


def _identity_overrides(spec: DictConfig, real_csv: Path) -> list[str]:
    """`identities: across_splits` picks a face-swap pair of one train and one test person.

    Swaps keep the split of their source image, so such a pair yields fakes in the training
    data and in the test set, and the test fakes show a person no detector trained on.
    """
    choice = spec.get("identities")
    if choice is None:
        return []
    if choice != "across_splits":
        return [f"task.identities=[{','.join(str(i) for i in choice)}]"]
    frame = read_manifest(real_csv).frame
    people = {}
    for split in ("train", "test"):
        names = sorted(set(frame.loc[frame["split"] == split, "identity"]) - {""})
        if not names:
            raise DataError(f"{real_csv} has no identities in split {split!r} to swap")
        people[split] = names[0]
    return [f"task.identities=[{people['train']},{people['test']}]"]


def _split_override(value: Any) -> str:
    return f"split={value}"


def budget_overrides(minutes: Any, where: str) -> list[str]:
    """`trainer.max_time` for a stage's wall-clock budget in minutes (None: no budget).

    A budget replaces the epoch count (`trainer.max_epochs=-1`): the stage trains until its
    time is spent, so a faster machine trains more steps in it, then validates and tests.
    """
    if minutes is None:
        return []
    try:
        seconds = round(float(minutes) * 60)
    except (TypeError, ValueError):
        seconds = 0
    if seconds < 1:
        raise ConfigError(
            f"{where}.budget_minutes={minutes!r}: give a number of minutes >= 1/60 "
            "(e.g. 3.5), or null to train for the configured epochs"
        )
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return [
        f"trainer.max_time={days:02d}:{hours:02d}:{rest // 60:02d}:{rest % 60:02d}",
        "trainer.max_epochs=-1",
    ]


def detector_spec(name: str, spec: Any) -> tuple[list[str], Any]:
    """A detector entry's overrides and budget: a list of overrides, or {train, budget_minutes}."""
    if isinstance(spec, DictConfig):
        unknown = set(spec) - {"train", "budget_minutes"}
        if unknown:
            raise ConfigError(
                f"detectors.{name} has unknown keys {sorted(unknown)}; an entry is a list of "
                "overrides or a mapping with `train` (overrides) and `budget_minutes`"
            )
        return list(spec.get("train") or []), spec.get("budget_minutes")
    return list(spec), None


def generator_stages(
    cfg: DictConfig, run_dir: Path, real_csv: Path, holdout_csv: Path | None = None
) -> tuple[list, list]:
    """Training stages and generation stages of the configured generators.

    `holdout_csv`: the further shots of the training people (default: people_holdout.csv
    beside real.csv).
    """
    holdout_csv = holdout_csv or real_csv.with_name(f"{HOLDOUT}.csv")
    common = list(cfg.get("common") or [])
    train_stages, generate_stages = [], []
    for name, spec in (cfg.generators or {}).items():
        if spec is None:  # dropped: generators.<name>=null
            continue
        if name == BLEND:
            raise ConfigError(f"generator name {BLEND!r} is reserved for the blended fakes")
        train_dir = run_dir / "generators" / name
        identities = _identity_overrides(spec, real_csv)
        holdout = _holdout_overrides(spec, name, holdout_csv)
        budget = spec.get("budget_minutes")
        train_stages.append(
            Stage(
                name=f"train generator {name}",
                args=[
                    "train",
                    "data=manifest",
                    f"data.manifests=[{real_csv}]",
                    f"data.image_size={int(cfg.faces.size)}",
                    f"seed={int(cfg.seed)}",
                    *list(spec.train),
                    # the report finds a generator's test set by its name: keep them equal
                    f"generator.name={name}",
                    *identities,
                    *holdout,
                    *budget_overrides(budget, f"generators.{name}"),
                    *common,
                    f"hydra.run.dir={train_dir}",
                ],
                run_dir=train_dir,
                done_file=train_dir / "results.json",
                budget_minutes=budget,
            )
        )
        fake_dir = run_dir / "fakes" / name
        options = spec.get("generate") or {}
        args = [
            "generate",
            f"ckpt={train_dir / 'checkpoints' / 'best.ckpt'}",
            f"out={fake_dir}",
            f"name={name}",
            f"seed={int(cfg.seed)}",
            "data=manifest",
            f"data.manifests=[{real_csv}]",
            f"data.image_size={int(cfg.faces.size)}",
            f"hydra.run.dir={fake_dir / 'run'}",
        ]
        if options.get("n") is not None:
            args.append(f"n={int(options.n)}")
        if options.get("split") is not None:
            args.append(_split_override(options.split))
        generate_stages.append(
            Stage(f"generate fakes {name}", args, fake_dir, done_file=fake_dir / f"{name}.csv")
        )
    return train_stages, generate_stages


def build_test_sets(real_csv: Path, fake_sets: dict[str, Path], out_dir: Path) -> dict[str, Path]:
    """One test set per fake set: the real test faces plus that set's test fakes."""
    real_test = read_manifest(real_csv).select(split="test")
    test_sets = {}
    for name, fake_csv in fake_sets.items():
        fakes = read_manifest(fake_csv).select(split="test")
        if len(fakes) == 0:
            raise DataError(
                f"fake set {name} ({fake_csv}) has no test rows; give its generation a test "
                f"share (generators.{name}.generate.split)"
            )
        union: Manifest = union_manifests([real_test, fakes], name=name)
        test_sets[name] = write_manifest(union, out_dir / f"{name}.csv", relative_root=False)
    return test_sets


def detector_seeds(cfg: DictConfig) -> list[int] | None:
    """The training seeds of every detector: `seeds` (a list, or a count n for 0..n-1), or
    None for the one run of `seed` (stage folders without a seed level)."""
    value = cfg.get("seeds")
    if value is None:
        return None
    try:
        seeds = list(range(int(value))) if isinstance(value, int) else [int(s) for s in value]
    except (TypeError, ValueError):
        seeds = []
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(
            f"seeds={value!r}: give distinct integer seeds (e.g. seeds=[0,1,2]), a count "
            "(seeds=3 for 0,1,2), or null for one run with `seed`"
        )
    return seeds


def detector_stages(
    cfg: DictConfig,
    run_dir: Path,
    real_csv: Path,
    fake_sets: dict[str, Path],
    test_sets: dict[str, Path],
) -> list[Stage]:
    """Training stages of the detectors (and their leave-one-generator-out variants)."""
    train_fakes = list(cfg.train_fakes or [])
    unknown = [name for name in train_fakes if name not in fake_sets]
    if unknown:
        raise ConfigError(
            f"train_fakes {unknown} are not fake sets of this arena; choose from {list(fake_sets)}"
        )
    variants: list[tuple[str, list[str]]] = [("", train_fakes)]
    if cfg.get("leave_one_out"):
        for held_out in fake_sets:
            rest = [name for name in fake_sets if name != held_out]
            variants.append((f"-without-{held_out}", rest))
    tests = "[" + ",".join(str(p) for p in test_sets.values()) + "]"
    seeds = detector_seeds(cfg)
    # one run of `seed` in detectors/<name>/, or one per seed in detectors/<name>/seed<k>/
    runs = (
        [(int(cfg.seed), "", "")]
        if seeds is None
        else [(k, f"seed{k}", f" seed {k}") for k in seeds]
    )
    stages = []
    for name, spec in (cfg.detectors or {}).items():
        if spec is None:  # dropped: detectors.<name>=null
            continue
        overrides, budget = detector_spec(name, spec)
        for (suffix, fakes), (seed, folder, label) in product(variants, runs):
            if not fakes:
                continue
            manifests = "[" + ",".join(str(p) for p in [real_csv, *(fake_sets[f] for f in fakes)])
            stage_dir = run_dir / "detectors" / f"{name}{suffix}" / folder
            stages.append(
                Stage(
                    name=f"train detector {name}{suffix}{label}",
                    args=[
                        "train",
                        "task=detect",
                        "data=manifest",
                        f"data.manifests={manifests}]",
                        f"data.image_size={int(cfg.faces.size)}",
                        "data.balanced_sampling=true",
                        # the own test split (real + blend test rows) is the blend test set
                        "test=false",
                        f"test_data={tests}",
                        f"seed={seed}",
                        *overrides,
                        *budget_overrides(budget, f"detectors.{name}"),
                        *list(cfg.get("common") or []),
                        f"hydra.run.dir={stage_dir}",
                    ],
                    run_dir=stage_dir,
                    done_file=stage_dir / "results.json",
                    budget_minutes=budget,
                )
            )
    return stages


def run(cfg: DictConfig) -> None:
    """Run (or continue) the arena in the run folder and print where the report is."""
    quiet_third_party()
    run_dir = Path(cfg.paths.output_dir)
    started_at, start = now_iso(), time.perf_counter()
    reports: list[StageReport] = []

    print(f"fakearena arena: run folder {run_dir}", flush=True)
    step = time.perf_counter()
    faces = prepare_faces(cfg, run_dir / "data")
    reports.append(
        StageReport("prepare faces", "ran", time.perf_counter() - step, _peak_self_mib())
    )
    step = time.perf_counter()
    score_blend_truth(faces[BLEND], run_dir / "fakes" / BLEND)
    reports.append(
        StageReport("score blend truth", "ran", time.perf_counter() - step, _peak_self_mib())
    )

    train_stages, generate_stages = generator_stages(cfg, run_dir, faces["real"], faces[HOLDOUT])
    reports += run_stages(train_stages + generate_stages, run_dir / REPLACED)

    fake_sets = {BLEND: faces[BLEND]}
    fake_sets.update({s.done_file.stem: s.done_file for s in generate_stages})
    test_sets = build_test_sets(faces["real"], fake_sets, run_dir / "testsets")
    step = time.perf_counter()
    score_test_sets(cfg, test_sets, run_dir / "testsets", list(faces.values()))
    reports.append(
        StageReport("confound check", "ran", time.perf_counter() - step, _peak_self_mib())
    )
    reports += run_stages(
        detector_stages(cfg, run_dir, faces["real"], fake_sets, test_sets), run_dir / REPLACED
    )

    from fakearena.report.leaderboard import write_leaderboard

    step = time.perf_counter()
    if any(r.status == "ran" for r in reports[2:]):  # a new report: keep the previous one
        kept = set_aside_together([run_dir / "report", run_dir / "arena.json"], run_dir / REPLACED)
        if kept is not None:
            print(f"fakearena arena: the previous report is kept in {kept}", flush=True)
    # fakes/: the fake sets' own records (truth metrics of the face swaps and blends)
    written = write_leaderboard(
        [run_dir / "generators", run_dir / "fakes", run_dir / "detectors", run_dir / "testsets"],
        run_dir / "report",
        sort_by=cfg.sort_by,
        generator_sort_by=cfg.get("generator_sort_by"),
    )
    reports.append(StageReport("leaderboard", "ran", time.perf_counter() - step, _peak_self_mib()))
    summary = {
        "started_at": started_at,
        "ended_at": now_iso(),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mib": round(max(r.peak_rss_mib for r in reports), 1),
        "stages": [r.to_dict() for r in reports],
        "report": {k: str(v) for k, v in written.items()},
        "config": OmegaConf.to_container(cfg, resolve=True),
    }
    atomic_write_json(run_dir / "arena.json", summary)
    html = written["html"]
    print(
        f"fakearena arena: finished in {summary['wall_seconds']:.0f} s "
        f"(peak {summary['peak_rss_mib']:.0f} MiB); report: {html}",
        flush=True,
    )

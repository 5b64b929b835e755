"""`fakearena arena`: generators x detectors in one command, ending in a leaderboard.

Folder of an arena run:

    data/            real faces (real.csv), their blended fakes (blend.csv) and the
                     generator shots of the test people (shots_test.csv; shots_train.csv when
                     a generator also makes training fakes) and the source shots of the
                     blends a face swap mirrors (swap_sources.csv): `fakearena.runs.populations`
    generators/<g>/  `fakearena train` run of each generator (results.json, checkpoints);
                     <g>-train-people/: the instance that learns the train people
    fakes/<g>/       its fake set (`fakearena generate`): PNGs + <g>.csv (+ results.json: a
                     face swap's truth and ID metrics); fakes/blend/results.json: the blended fakes'
                     truth metrics, the reference a learned swap should reach
    testsets/<g>.csv generator g's test fakes + the real test faces of the same people,
                     matched by identity (`fakearena.runs.identity_match`); <g>.json
                     beside it: its population (`fakearena.runs.testsets`);
    testsets/<g>/    its confound check (results.json: the identity-only AUC, identities per
                     class); testsets/identity_model-*.pt: the identity models (the confound
                     check's head model; the face swaps' ID metrics' inner-face model)
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

from fakearena.data.manifest import read_manifest
from fakearena.data.synthetic import SWAP_TARGET
from fakearena.errors import ConfigError
from fakearena.results import now_iso
from fakearena.runs.confound_check import identity_matcher, score_test_sets
from fakearena.runs.populations import (
    BLEND,
    FACE_SWAPS,
    SAMPLERS,
    SWAP_SOURCES,
    GeneratorInstance,
    generator_instances,
    prepare_faces,
    real_per_person,
    shots_path,
    split_people,
    swap_group,
)
from fakearena.runs.stages import Stage, StageReport, run_stages
from fakearena.runs.testsets import build_test_sets
from fakearena.utils.io import atomic_write_json
from fakearena.utils.quiet import quiet_third_party
from fakearena.utils.set_aside import set_aside_together

REPLACED = "replaced"  # what reruns replaced: stage folders, the previous report


def _peak_self_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def score_blend_truth(blend_csv: Path, out_dir: Path) -> Path:
    """The blended fakes' truth metrics (`out_dir/results.json`), once."""
    record = out_dir / "results.json"
    if not record.is_file():
        from fakearena.generation.truth import fake_set_truth

        # its test set is named `blend`: the report joins its detectors' AUCs (evasion)
        fake_set_truth(read_manifest(blend_csv), out_dir, test_set=BLEND)
    return record


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


def step_budget_overrides(steps: Any, where: str) -> list[str]:
    """`trainer.max_steps` for a stage's budget in optimiser steps (None: no step budget).

    Lightning's global step: a GAN's discriminator and generator steps both count, so a
    GAN's batches are half its steps.

    A step budget trains the same number of steps on any machine, however loaded: what a
    measurement run uses so its generators match the ones a wall-clock budget buys on idle
    cores. It replaces the epoch count and any wall-clock budget.
    """
    if steps is None:
        return []
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ConfigError(
            f"{where}.budget_steps={steps!r}: give a whole number of steps >= 1, or null to "
            "train for budget_minutes (or the configured epochs)"
        )
    return [f"trainer.max_steps={steps}", "trainer.max_epochs=-1"]


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


def training_fake_names(cfg: DictConfig) -> list[str]:
    """Entries whose fakes the detectors train on: `train_fakes`, or all with leave_one_out."""
    names = [str(n) for n in cfg.get("train_fakes") or [] if n != BLEND]
    if cfg.get("leave_one_out"):
        names += [str(n) for n, spec in (cfg.generators or {}).items() if spec is not None]
    return sorted(set(names))


def _population_overrides(instance: GeneratorInstance, shots_csv: Path) -> list[str]:
    """What the instance learns: its people's generator shots, judged on held-out ones."""
    if instance.task in SAMPLERS:
        # train rows: what it learns; val/test rows: held-out shots of the same people
        return [f"data.holdout_manifests=[{shots_csv}]", "data.unseen_people=false"]
    return [
        f"task.identities=[{','.join(instance.people)}]",
        f"task.n_identities={len(instance.people)}",
        "data.holdout=manifest",
    ]


def identity_model_overrides(cfg: DictConfig, run_dir: Path, prefix: str = "") -> list[str]:
    """A face swap's ID metrics embed synthetic faces with the inner-face identity model,
    trained with the confound check's options (`confound.identity_model`) and kept in its
    cache (`testsets/`), so the training and generate stages share it. `prefix`: `task.` for
    a training stage, "" for `generate`."""
    options = dict((cfg.get("confound") or {}).get("identity_model") or {})
    args = [f"{prefix}identity_model_cache={run_dir / 'testsets'}"]
    if options:
        fields = ", ".join(f"{key}: {value}" for key, value in options.items())
        args.append(f"{prefix}identity_model={{{fields}}}")
    return args


def _generate_overrides(
    cfg: DictConfig, instance: GeneratorInstance, spec: DictConfig, real_csv: Path
) -> list[str]:
    """What an instance's fakes are made from, their split (by population) and count.

    A GAN or diffusion model makes as many samples as its people have reals (times
    `identity_match.pool` for its test set, which is matched by identity); a face swap of the
    test people mirrors their blended fakes row for row, one of the train people swaps their
    reals.
    """
    n = (spec.get("generate") or {}).get("n")
    if instance.task in FACE_SWAPS:
        if not instance.makes_test_set:  # every real face of its (train) people, to the next
            return [f"data.manifests=[{real_csv}]", "split=train"]
        # the source shot of every blended fake of its people, to that blend's donor
        sources = real_csv.with_name(f"{SWAP_SOURCES}.csv")
        return [f"data.manifests=[{sources}]", "split=test", f"target_column={SWAP_TARGET}"]
    source = [f"data.manifests=[{real_csv}]"]
    people = split_people(cfg)
    per_person = real_per_person(cfg)
    if instance.makes_test_set:
        count = int(n) if n is not None else per_person * len(instance.people) * sample_pool(cfg)
        return [*source, f"n={count}", "split=test"]
    n_train, n_val = (per_person * len(people[s]) for s in ("train", "val"))
    total = int(n) if n is not None else n_train + n_val
    return [*source, f"n={total}", f"split={{train: {n_train}, val: {n_val}}}"]


def identity_matching(cfg: DictConfig) -> bool:
    """Whether the arena's test sets are identity-matched (`identity_match.enabled`)."""
    return bool((cfg.get("identity_match") or {}).get("enabled", False))


def sample_pool(cfg: DictConfig) -> int:
    """How many times its test reals a GAN or diffusion model samples for its test set."""
    if not identity_matching(cfg):
        return 1
    pool = (cfg.get("identity_match") or {}).get("pool", 1)
    if not isinstance(pool, int) or isinstance(pool, bool) or pool < 1:
        raise ConfigError(
            f"identity_match.pool={pool!r}: give a whole number >= 1 (samples per test real "
            "from which the matching draws; 3 by default)"
        )
    return pool


def generator_stages(
    cfg: DictConfig, run_dir: Path, real_csv: Path, training_fakes: list[str] | None = None
) -> tuple[list[Stage], list[Stage], list[GeneratorInstance]]:
    """Training and generation stages of every generator instance, and the instances.

    Each instance learns its people from their generator shots
    (`data/shots_<population>.csv` beside `real_csv`) and swaps or samples faces of them.
    `training_fakes`: entries whose fakes detectors train on (default: from `train_fakes`
    and `leave_one_out`); each gets a train-people instance.
    """
    common = list(cfg.get("common") or [])
    if training_fakes is None:
        training_fakes = training_fake_names(cfg)
    instances = generator_instances(cfg, training_fakes)
    train_stages, generate_stages = [], []
    for instance in instances:
        spec = cfg.generators[instance.entry]
        name = instance.name
        shots_csv = shots_path(real_csv.parent, instance.population)
        train_dir = run_dir / "generators" / name
        steps = spec.get("budget_steps")
        budget = None if steps is not None else spec.get("budget_minutes")
        where = f"generators.{instance.entry}"
        swaps = instance.task in FACE_SWAPS
        train_stages.append(
            Stage(
                name=f"train generator {name}",
                args=[
                    "train",
                    "data=manifest",
                    f"data.manifests=[{shots_csv}]",
                    f"data.image_size={int(cfg.faces.size)}",
                    f"seed={int(cfg.seed)}",
                    *list(spec.train),
                    # the report finds a generator's test set by its name: keep them equal
                    f"generator.name={name}",
                    *_population_overrides(instance, shots_csv),
                    *(identity_model_overrides(cfg, run_dir, "task.") if swaps else []),
                    *budget_overrides(budget, where),
                    *step_budget_overrides(steps, where),
                    *common,
                    f"hydra.run.dir={train_dir}",
                ],
                run_dir=train_dir,
                done_file=train_dir / "results.json",
                budget_minutes=budget,
            )
        )
        fake_dir = run_dir / "fakes" / name
        args = [
            "generate",
            f"ckpt={train_dir / 'checkpoints' / 'best.ckpt'}",
            f"out={fake_dir}",
            f"name={name}",
            f"seed={int(cfg.seed)}",
            "data=manifest",
            f"data.image_size={int(cfg.faces.size)}",
            *_generate_overrides(cfg, instance, spec, real_csv),
            *(identity_model_overrides(cfg, run_dir) if swaps else []),
            f"hydra.run.dir={fake_dir / 'run'}",
        ]
        generate_stages.append(
            Stage(f"generate fakes {name}", args, fake_dir, done_file=fake_dir / f"{name}.csv")
        )
    return train_stages, generate_stages, instances


def fake_set_roles(
    instances: list[GeneratorInstance], blend_csv: Path, fakes_dir: Path
) -> tuple[dict[str, Path], dict[str, Path]]:
    """(fake sets detectors may train on, fake sets tested), each by entry name (+ blend)."""
    training, tested = {BLEND: blend_csv}, {BLEND: blend_csv}
    for instance in instances:
        path = fakes_dir / instance.name / f"{instance.name}.csv"
        (tested if instance.makes_test_set else training)[instance.entry] = path
    return training, tested


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
    train_stages, generate_stages, instances = generator_stages(
        cfg, run_dir, run_dir / "data" / "real.csv"
    )
    populations = tuple(sorted({i.population for i in instances}))
    faces = prepare_faces(cfg, run_dir / "data", populations, swap_group(instances))
    reports.append(
        StageReport("prepare faces", "ran", time.perf_counter() - step, _peak_self_mib())
    )
    step = time.perf_counter()
    score_blend_truth(faces[BLEND], run_dir / "fakes" / BLEND)
    reports.append(
        StageReport("score blend truth", "ran", time.perf_counter() - step, _peak_self_mib())
    )

    reports += run_stages(train_stages + generate_stages, run_dir / REPLACED)

    training, tested = fake_set_roles(instances, faces[BLEND], run_dir / "fakes")
    test_sets = build_test_sets(
        faces["real"],
        tested,
        run_dir / "testsets",
        # every training fake set is some detector's (train_fakes, or leave_one_out's)
        trained_on=[faces["real"], *training.values()],
        learned_people={i.entry: i.people for i in instances if i.makes_test_set},
        matcher=identity_matcher(cfg, run_dir / "testsets") if identity_matching(cfg) else None,
    )
    step = time.perf_counter()
    score_test_sets(cfg, test_sets, run_dir / "testsets", list(faces.values()))
    reports.append(
        StageReport("confound check", "ran", time.perf_counter() - step, _peak_self_mib())
    )
    reports += run_stages(
        detector_stages(cfg, run_dir, faces["real"], training, test_sets), run_dir / REPLACED
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

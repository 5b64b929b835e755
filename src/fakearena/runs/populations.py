"""Who is in the arena: the people of each split, the faces written once, and which people
each generator learns.

The populations (the design of `conf/arena.yaml`):

- detection data (`data/real.csv`, `data/blend.csv`): `faces.identities` people per split;
  detectors train on the train people (reals + blended fakes), pick their checkpoint on the
  val people and are tested on the test people only;
- generator shots (`data/shots_<split>.csv`): `faces.generator_shots` further real shots of
  each person of a split, never in real.csv; the split column is the generator's own
  (train: what it learns, val: its checkpoint, test: its held-out references);
- a generator entry learns the *test* people (its fakes are test fakes of the people whose
  other shots are the test reals; a face swap the first `max_people` of them); when detectors
  also train on its fakes (`train_fakes`, `leave_one_out`), a second instance,
  `<name>-train-people`, learns the train people and makes the training fakes.

People are planned from the config alone (`split_people`): the stages are planned before the
faces exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from fakearena.data.manifest import read_manifest, write_manifest
from fakearena.errors import ConfigError

BLEND = "blend"
TRAIN_PEOPLE = "-train-people"  # suffix of a generator instance that learns the train people
SAMPLERS = ("gan", "diffusion")  # draw faces from noise: they learn people, name nobody
FACE_SWAPS = ("faceswap", "faceswap_masked")  # swap named people among each other
TASKS = (*SAMPLERS, *FACE_SWAPS)


def face_options(cfg: DictConfig) -> dict[str, Any]:
    """Keyword arguments of the synthetic faces (`synthetic_manifest`) from `faces.*`.

    `faces.identities` ({train, val, test} people) fixes the split sizes; without it,
    `faces.n_identities` people are split about 70/15/15.
    """
    from fakearena.data.synthetic import check_split_counts

    faces = cfg.faces
    counts = faces.get("identities")
    options: dict[str, Any] = dict(
        per_identity=int(faces.per_identity), size=int(faces.size), seed=int(cfg.seed)
    )
    if counts is not None:
        counts = check_split_counts(counts)
        options.update(n_identities=sum(counts.values()), identities=counts)
    elif faces.get("n_identities") is not None:
        options.update(n_identities=int(faces.n_identities), identities=None)
    else:
        raise ConfigError(
            "faces has neither `identities` (people per split, e.g. {train: 24, val: 8, "
            "test: 40}) nor `n_identities`; set one"
        )
    return options


def split_people(cfg: DictConfig) -> dict[str, list[str]]:
    """The people (identity names) of each split of the arena's faces, sorted."""
    from fakearena.data.synthetic import identity_splits

    options = face_options(cfg)
    n = options["n_identities"]
    width = max(3, len(str(n - 1)))
    people: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    splits = identity_splits(n, options["seed"], options["identities"])
    for identity, split in sorted(splits.items()):
        people[split].append(f"synth{identity:0{width}d}")
    return people


def real_per_person(cfg: DictConfig) -> int:
    """Real images of each person in real.csv."""
    from fakearena.data.synthetic.dataset import _fake_indices

    per_identity = int(cfg.faces.per_identity)
    return per_identity - int(_fake_indices(per_identity, float(cfg.faces.fake_fraction)).sum())


@dataclass(frozen=True)
class GeneratorInstance:
    """One trained generator: its name (= fake set name), entry, task and the people it learns.

    Attributes:
        name: run, fake set and (for test people) test set name.
        entry: the `generators.<entry>` config it comes from.
        task: its `task=` (gan, diffusion, faceswap, faceswap_masked).
        population: the split whose people it learns (test, or train for training fakes).
        people: the people it learns (a face swap: one decoder each).
    """

    name: str
    entry: str
    task: str
    population: str
    people: tuple[str, ...]

    @property
    def makes_test_set(self) -> bool:
        return self.population == "test"


def entry_task(name: str, spec: DictConfig) -> str:
    """The entry's `task=` override (one of `TASKS`)."""
    tasks = [str(a).split("=", 1)[1] for a in spec.get("train") or [] if str(a).startswith("task=")]
    if len(tasks) != 1 or tasks[0] not in TASKS:
        raise ConfigError(
            f"generators.{name}.train needs one `task=` override among {list(TASKS)} "
            f"(got {tasks or 'none'}); the arena plans whose faces it learns from the task"
        )
    return tasks[0]


def _check_entry(name: str, spec: DictConfig) -> None:
    for old, new in (("holdout", "nothing: every generator"), ("identities", "max_people")):
        if spec.get(old) is not None:
            raise ConfigError(
                f"generators.{name}.{old} is gone: generators learn the test people from "
                f"their own shots (data/shots_test.csv); use {new} (see conf/arena.yaml)"
            )
    split = (spec.get("generate") or {}).get("split")
    if split is not None:
        raise ConfigError(
            f"generators.{name}.generate.split={split}: the arena assigns splits by population "
            "(fakes of the test people are test fakes, of the train people training fakes); "
            "drop it"
        )


def generator_instances(cfg: DictConfig, training_fakes: list[str]) -> list[GeneratorInstance]:
    """Every generator to train: one per entry on the test people, plus a train-people
    instance of each entry in `training_fakes` (the fake sets detectors train on)."""
    people = split_people(cfg)
    instances = []
    for name, spec in (cfg.generators or {}).items():
        if spec is None:  # dropped: generators.<name>=null
            continue
        if name == BLEND:
            raise ConfigError(f"generator name {BLEND!r} is reserved for the blended fakes")
        _check_entry(name, spec)
        task = entry_task(name, spec)
        limit = spec.get("max_people")
        if limit is not None and task not in FACE_SWAPS:
            raise ConfigError(
                f"generators.{name}.max_people is for face swaps (one decoder per person); "
                "a GAN learns every person of its population"
            )
        populations = ["test"] + (["train"] if name in training_fakes else [])
        for population in populations:
            chosen = people[population][: int(limit)] if limit is not None else people[population]
            if task in FACE_SWAPS and len(chosen) < 2:
                raise ConfigError(
                    f"generators.{name}: a face swap needs at least 2 {population} people, "
                    f"got {len(chosen)}; raise faces.identities.{population} or max_people"
                )
            if task in FACE_SWAPS:
                _check_people_per_batch(name, spec, population, len(chosen))
            suffix = "" if population == "test" else TRAIN_PEOPLE
            instances.append(
                GeneratorInstance(f"{name}{suffix}", str(name), task, population, tuple(chosen))
            )
    return instances


PEOPLE_PER_BATCH = "data.people_per_batch="


def _check_people_per_batch(name: str, spec: DictConfig, population: str, people: int) -> None:
    """A face swap's `data.people_per_batch` (in its train overrides) fits its people, checked
    before any stage runs rather than when its training starts."""
    overrides = [str(a) for a in spec.get("train") or []]
    values = [a[len(PEOPLE_PER_BATCH) :] for a in overrides if a.startswith(PEOPLE_PER_BATCH)]
    if not values or values[-1] in ("null", "None"):
        return
    try:
        per_batch = int(values[-1])
    except ValueError:
        raise ConfigError(
            f"generators.{name}.train sets data.people_per_batch={values[-1]}; give a whole "
            "number of people (or null: all of them in every batch)"
        ) from None
    if not 1 <= per_batch <= people:
        raise ConfigError(
            f"generators.{name}.train sets data.people_per_batch={per_batch} but it learns "
            f"{people} {population} people; lower data.people_per_batch to at most {people} "
            "(or raise max_people)"
        )


def shots_path(data_dir: Path, population: str) -> Path:
    """The generator shots of one split's people."""
    return data_dir / f"shots_{population}.csv"


SWAP_SOURCES = "swap_sources"  # the untouched shots of the blended fakes a face swap mirrors


def swap_group(instances: list[GeneratorInstance]) -> tuple[str, ...]:
    """The test people the face swaps swap among (one group: every face-swap entry's)."""
    groups = {i.people for i in instances if i.task in FACE_SWAPS and i.makes_test_set}
    if len(groups) > 1:
        raise ConfigError(
            "face-swap entries learn different test people "
            f"({[list(g) for g in sorted(groups)]}); give them the same max_people: the "
            "blended fakes of those people take their donors among them, so swaps mirror blends"
        )
    return next(iter(groups), ())


def _identity_number(name: str) -> int:
    return int(name.removeprefix("synth"))


def _faces_are_current(csv_path: Path, expected: dict[str, Any]) -> bool:
    if not csv_path.is_file():
        return False
    card = read_manifest(csv_path).card
    return card.provenance.get("parameters") == expected


def prepare_faces(
    cfg: DictConfig,
    data_dir: Path,
    populations: tuple[str, ...] = (),
    swap_people: tuple[str, ...] = (),
) -> dict:
    """Write the synthetic faces once: real.csv, blend.csv, shots_<split>.csv per population
    and, for a face swap among `swap_people` (test people), swap_sources.csv.

    The blended fakes of `swap_people` take their donors among them, so the face swap can
    make the same swaps (`fakearena.data.synthetic.swap_sources_manifest`). Faces written with
    other parameters are written again.

    Returns:
        {"real": path, "blend": path, "shots_<split>": path for each of `populations`,
        "swap_sources": path when there are `swap_people`}.
    """
    from fakearena.data.synthetic import (
        generator_shots_manifest,
        swap_sources_manifest,
        synthetic_manifest,
        write_rendered,
        write_synthetic_dataset,
    )

    options = face_options(cfg)
    fraction = float(cfg.faces.fake_fraction)
    groups = [[_identity_number(p) for p in swap_people]] if swap_people else None
    faces = synthetic_manifest(
        fake_fraction=fraction, name="faces", donor_groups=groups, **options
    )
    paths = {"real": data_dir / "real.csv", BLEND: data_dir / f"{BLEND}.csv"}
    current = _faces_are_current(data_dir / "faces.csv", faces.card.provenance["parameters"])
    if not (current and all(path.is_file() for path in paths.values())):
        all_csv = write_synthetic_dataset(
            data_dir, name="faces", fake_fraction=fraction, donor_groups=groups, **options
        )
        everything = read_manifest(all_csv)
        for label, name in ((0, "real"), (1, BLEND)):
            part = everything.select(label=label)
            part.card.name = name
            write_manifest(part, paths[name])
        # what was made from the former faces goes with them
        for pattern in (f"{SWAP_SOURCES}.*", "shots_*.csv", "shots_*.yaml"):
            for stale in data_dir.glob(pattern):
                stale.unlink()
    if swap_people:
        paths[SWAP_SOURCES] = data_dir / f"{SWAP_SOURCES}.csv"
        if not paths[SWAP_SOURCES].is_file():
            sources = swap_sources_manifest(faces, swap_people, name=SWAP_SOURCES)
            write_rendered(sources, data_dir, size=options["size"], seed=options["seed"])
    shots = cfg.faces.get("generator_shots")
    for population in sorted(set(populations)):
        path = shots_path(data_dir, population)
        paths[f"shots_{population}"] = path
        if path.is_file():
            continue
        if shots is None:
            raise ConfigError(
                "faces.generator_shots is not set, but generators need shots of the "
                f"{population} people; set e.g. faces.generator_shots={{train: 32, val: 4, "
                "test: 4}}"
            )
        manifest = generator_shots_manifest(
            population, shots=dict(shots), name=path.stem, **options
        )
        write_rendered(manifest, data_dir, size=options["size"], seed=options["seed"])
    return paths

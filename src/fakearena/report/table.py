"""The pieces every leaderboard table shares: the `Table` model (rendered as markdown, HTML
or CSV by `fakearena.report.leaderboard`), links, test-set keys, run facts and environments.

Detector metric keys name their test set: `test/<set>/<metric>`; a plain `test/<metric>` is
the training data's own test split, named after the record's test manifest(s).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fakearena.report.fold import Folded
from fakearena.report.records import Configuration, RunRecord

ENV_PACKAGES = ("torch", "lightning", "timm", "torchmetrics", "numpy", "fakearena")


WARNING_MARK = "⚠"  # after an AUC computed on a set too small to say much


@dataclass
class Link:
    """A table cell that links somewhere (a run folder)."""

    text: str
    href: str


@dataclass
class Table:
    """A titled table: header names and rows of cells (text or a list of links)."""

    title: str
    headers: list[str]
    rows: list[list[str | list[Link]]] = field(default_factory=list)
    note: str = ""


def own_test_set(run: RunRecord) -> str:
    """The name of the run's own test split (what plain `test/<metric>` keys measure)."""
    # the run's own split comes first; later entries are extra test sets named in their keys
    names = [str(ref.get("name")) for ref in run.record.get("test_data") or [] if ref.get("name")]
    return names[0] if names else run.train_name


def split_test_key(key: str, own: str) -> tuple[str, str] | None:
    """`test/<set>/<metric>` -> (set, metric); `test/<metric>` -> (own, metric); else None."""
    parts = key.split("/")
    if parts[0] != "test" or len(parts) < 2:
        return None
    if len(parts) == 2:
        return own, parts[1]
    return "/".join(parts[1:-1]), parts[-1]


def test_sets(conf: Configuration, folded: dict[str, Folded]) -> dict[str, dict[str, Folded]]:
    """Test set -> metric name -> folded value, the configuration's own test split first."""
    own = own_test_set(conf.first)
    sets: dict[str, dict[str, Folded]] = {}
    for key in sorted(folded, key=lambda k: (k.count("/"), k)):
        split = split_test_key(key, own)
        if split is not None:
            sets.setdefault(split[0], {})[split[1]] = folded[key]
    return {name: values for name, values in sets.items() if _shown(name, sets)}


def _shown(name: str, sets: dict[str, Any]) -> bool:
    """Per-source rows (`<set>/source=<s>`) only where the set mixes several fake sources."""
    if "source=" not in name:
        return True
    parent = name.rsplit("source=", 1)[0].rstrip("/")
    siblings = [
        n for n in sets if "source=" in n and n.rsplit("source=", 1)[0].rstrip("/") == parent
    ]
    return len(siblings) >= 2


def environment_ids(confs: list[Configuration]) -> dict[str, str]:
    """Short names (E1, E2, ...) for each distinct set of package versions."""
    ids: dict[str, str] = {}
    for conf in confs:
        for run in conf.runs:
            env = package_text(run)
            if env not in ids:
                ids[env] = f"E{len(ids) + 1}"
    return ids


def package_text(run: RunRecord) -> str:
    packages = (run.record.get("environment") or {}).get("packages") or {}
    shown = [f"{p} {packages[p]}" for p in ENV_PACKAGES if p in packages]
    return ", ".join(shown) or "unknown"


def run_links(conf: Configuration, out_dir: Path) -> list[Link]:
    """Links to each run folder of a configuration, named by seed, relative to the report."""
    links = []
    for run in sorted(conf.runs, key=lambda r: str(r.seed)):
        href = Path(os.path.relpath(run.run_dir, out_dir)).as_posix()
        # a record without a seed (a fake set's own record) links as "record"
        links.append(Link("record" if run.seed is None else str(run.seed), href))
    return links


def row_facts(conf: Configuration, envs: dict[str, str], out_dir: Path) -> list[Any]:
    """Seeds (each linking to its run folder), commit(s) and environment id(s)."""
    commits = sorted({r.commit for r in conf.runs})
    env = sorted({envs[package_text(r)] for r in conf.runs})
    return [run_links(conf, out_dir), ", ".join(commits), ", ".join(env)]


FACT_HEADERS = ["seeds (runs)", "commit", "env"]


def record_warnings(conf: Configuration) -> list[str]:
    """The record-level `warnings` of a configuration's runs, each sentence once."""
    found = [str(w) for run in conf.runs for w in run.record.get("warnings") or []]
    return list(dict.fromkeys(found))


def environment_table(envs: dict[str, str]) -> Table:
    """The package versions behind each `env` id used in the tables."""
    table = Table("Environments", ["env", "packages"])
    table.rows = [[ident, text] for text, ident in envs.items()]
    return table

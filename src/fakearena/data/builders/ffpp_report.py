"""How a FaceForensics++ copy covers the official split lists: present, missing, orphan fakes.

A partial download (7 of ~5,000 videos) builds a valid manifest; this report says how partial
it is, per split and per method, and which fakes came without the real video they were made
from (their target), so a test set's real and fake rows are not silently unpaired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fakearena.data.manifest import Manifest


@dataclass
class FfppCoverage:
    """Official FF++ videos (per kind: `real` or a method) against those a copy holds.

    Attributes:
        compression: c0, c23 or c40.
        listed: kind -> split -> videos the official lists name.
        present: kind -> split -> those the copy holds.
        missing: kind -> listed names the copy lacks (sorted).
        without_real: fake ids `<Method>/<target>_<source>` whose target real video is absent.
        absent_methods: methods with no folder at all in this copy.
    """

    compression: str
    listed: dict[str, dict[str, int]] = field(default_factory=dict)
    present: dict[str, dict[str, int]] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)
    without_real: list[str] = field(default_factory=list)
    absent_methods: list[str] = field(default_factory=list)

    def total(self, table: dict[str, dict[str, int]]) -> int:
        return sum(sum(per_split.values()) for per_split in table.values())

    def summary(self) -> str:
        """One line: how much of the official lists is present, and the orphan fakes."""
        kinds = ", ".join(
            f"{kind} {sum(self.present[kind].values())}/{sum(self.listed[kind].values())}"
            for kind in self.listed
        )
        line = (
            f"ffpp {self.compression}: {self.total(self.present)} of {self.total(self.listed)} "
            f"videos of the official split lists are present ({kinds})"
        )
        if self.absent_methods:
            line += f"; methods absent from this copy: {', '.join(self.absent_methods)}"
        if self.without_real:
            shown = ", ".join(self.without_real[:3])
            more = f" (+{len(self.without_real) - 3} more)" if len(self.without_real) > 3 else ""
            line += (
                f"; {len(self.without_real)} fake(s) without their real (target) video: "
                f"{shown}{more}"
            )
        return line

    def report(self) -> dict[str, Any]:
        """The JSON report written beside the manifest (`videos_report.json`)."""
        return {
            "dataset": "ffpp",
            "compression": self.compression,
            "official_lists": "data_manifests/ffpp/{train,val,test}.json",
            "total": {
                "listed": self.total(self.listed),
                "present": self.total(self.present),
                "missing": self.total(self.listed) - self.total(self.present),
            },
            "kinds": {
                kind: {
                    "listed": self.listed[kind],
                    "present": self.present[kind],
                    "missing": self.missing[kind],
                }
                for kind in self.listed
            },
            "fakes_without_real": self.without_real,
            "absent_methods": self.absent_methods,
        }


def ffpp_coverage(
    manifest: Manifest, splits: dict[str, str], methods: list[str], absent_methods: list[str]
) -> FfppCoverage:
    """Compare a built FF++ manifest with the official lists.

    Args:
        manifest: what `build_ffpp` returned (video ids `ffpp/<youtube|Method>/<c>/<name>`).
        splits: `load_splits()`: real id and fake pair name -> split.
        methods: the methods this build took.
        absent_methods: the methods the copy has no folder of.
    """
    held: dict[str, set[str]] = {}
    compression = ""
    for video_id in manifest.frame["video_id"]:
        _, kind, compression, name = str(video_id).split("/")
        held.setdefault("real" if kind == "youtube" else kind, set()).add(name)
    coverage = FfppCoverage(compression, absent_methods=list(absent_methods))
    for kind in ("real", *methods):
        names = {n: s for n, s in splits.items() if ("_" in n) == (kind != "real")}
        have = held.get(kind, set())
        coverage.listed[kind] = _per_split(names, names)
        coverage.present[kind] = _per_split({n: s for n, s in names.items() if n in have}, names)
        coverage.missing[kind] = sorted(n for n in names if n not in have)
    reals = held.get("real", set())
    coverage.without_real = [
        f"{kind}/{name}"
        for kind in methods
        for name in sorted(held.get(kind, set()))
        if name.split("_")[0] not in reals
    ]
    return coverage


def _per_split(names: dict[str, str], every: dict[str, str]) -> dict[str, int]:
    order = [s for s in ("train", "val", "test") if s in set(every.values())]
    return {split: sum(1 for s in names.values() if s == split) for split in order}

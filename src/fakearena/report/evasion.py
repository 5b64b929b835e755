"""The adversarial view: how well each generator's test fakes evade the detectors.

Join rule: a generator's test fakes are the detector test set **named like the generator**:
the generator record's `generator` name equals the test-set name in the detectors' metric
keys `test/<name>/auc`. The arena keeps the names aligned: it names each generator run
(`generator.name=<entry>`), its fake set (`fakes/<entry>/<entry>.csv`) and its test set
(`testsets/<entry>.csv`) after the generator's entry in `generators:`. A fake set's own
record (task `fakeset`: the truth metrics of swaps and blends) names its test set in
`test_set` when it has one.

For each generator: the frame AUC of every detector configuration on that test set, and the
best of them, its **evasion** score (lower is a better generator: even the best detector
separates its fakes from real faces less well; 0.5 is chance).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fakearena.report.fold import MISSING, Folded
from fakearena.report.records import Configuration
from fakearena.report.table import test_sets
from fakearena.report.units import FLAG_MARK

EVASION = "evasion"  # the sort key that ranks generators by their best detector's AUC


@dataclass
class Evasion:
    """Detector AUCs on one generator's test fakes, by detector label, and the best one."""

    aucs: dict[str, Folded] = field(default_factory=dict)

    @property
    def best(self) -> tuple[str, Folded] | None:
        """(detector label, AUC) of the detector that separates these fakes best."""
        if not self.aucs:
            return None
        return max(self.aucs.items(), key=lambda item: (item[1].mean, item[0]))

    def best_text(self) -> str:
        """`0.833 [0.583, 1.000] (meso4)`, with a ⚠ when that AUC is flagged (small N, ...)."""
        best = self.best
        if best is None:
            return MISSING
        mark = f" {FLAG_MARK}" if best[1].flags or best[1].warning else ""
        return f"{best[1].text()}{mark} ({best[0]})"


def generator_name(conf: Configuration) -> str:
    """The name a generator's test set has (see the join rule above); a fake set's own
    record names it in `test_set` (the arena's fake sets)."""
    record = conf.first.record
    return str(record.get("test_set") or record.get("generator") or conf.first.model)


def evasion_by_generator(
    generators: list[Configuration],
    detectors: list[Configuration],
    folded: dict[str, dict[str, Folded]],
) -> dict[str, Evasion]:
    """Configuration key of each generator -> the detectors' AUCs on its test fakes."""
    per_detector = {d.label: test_sets(d, folded[d.key]) for d in detectors}
    result = {}
    for conf in generators:
        name = generator_name(conf)
        aucs = {
            label: sets[name]["auc"]
            for label, sets in per_detector.items()
            if "auc" in sets.get(name, {})
        }
        result[conf.key] = Evasion(aucs)
    return result


def sort_by_evasion(
    generators: list[Configuration], evasion: dict[str, Evasion]
) -> list[Configuration]:
    """Lowest best-detector AUC first; generators no detector was tested on go last."""

    def order(conf: Configuration) -> tuple[bool, float, str]:
        best = evasion[conf.key].best
        return (best is None, 0.0 if best is None else best[1].mean, conf.label)

    return sorted(generators, key=order)

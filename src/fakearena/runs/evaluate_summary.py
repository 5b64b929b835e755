"""The console summary of a scored set (`fakearena evaluate`): headline numbers, then its
warnings where they are seen (small set, collapsed scores, upscaled crops), not only on stderr.

Warnings come from the metrics (`result["flags"]`/`result["warnings"]`, set by
`fakearena.metrics.units`: small N, collapsed scores, no CI) and from the data
(the DataModule's); results.json `warnings` holds the same sentences.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fakearena.metrics.units import PLURAL, describe
from fakearena.report.units import FLAG_WORDS


def print_summary(
    name: str, result: dict[str, Any], run_dir: Path, data_warnings: Sequence[str] = ()
) -> None:
    """Print the headline numbers with their intervals, the flags on the AUC line and a block
    of warnings (stdout), and each warning once more on stderr (`fakearena: warning: ...`).

    Args:
        name: the scored set.
        result: its metrics (`detection_metrics`), with `flags` and `warnings` when it has any.
        run_dir: where results.json is.
        data_warnings: warnings about the data itself (e.g. upscaled crops).
    """
    line = f"{name}: AUC {result['auc']:.4f}{_ci_text(result.get('auc_ci95'))}  "
    line += f"AP {result['ap']:.4f}  EER {result['eer']:.4f}  ACC {result['acc']:.4f}  "
    line += f"(n={result['n']}"
    line += f", CI resamples {PLURAL[result['ci_unit']]})" if result.get("auc_ci95") else ")"
    line += describe({**result, "flags": []})  # N units
    words = [FLAG_WORDS.get(flag, flag) for flag in result.get("flags") or []]
    if words:
        line += f"  ⚠ {', '.join(words)}"
    if "video_auc" in result:
        line += f"\n  video AUC {result['video_auc']:.4f}"
        line += f"{_ci_text(result.get('video_auc_ci95'))} (videos={result['n_videos']})"
    own = [f"{name}: {warning}" for warning in result.get("warnings") or []]
    warnings = list(dict.fromkeys([*data_warnings, *own]))
    print(line)
    if warnings:
        print(f"  ⚠ {len(warnings)} warning(s), also in {run_dir / 'results.json'} `warnings`:")
        for warning in warnings:
            print(f"  ⚠ {warning}")
    print(f"  written to {run_dir}")
    for warning in warnings:
        print(f"fakearena: warning: {warning}", file=sys.stderr)


def _ci_text(ci: list[float] | None) -> str:
    return f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else ""

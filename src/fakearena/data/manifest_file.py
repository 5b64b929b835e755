"""Where a manifest's rows are: its `.csv` (a `.yaml` card names its CSV beside it).

Path logic only (no pandas), so commands can check `data.manifests` before the heavy imports.
"""

from __future__ import annotations

import os
from pathlib import Path

from fakearena.errors import ManifestError


def manifest_csv(path: str | os.PathLike[str]) -> Path:
    """The existing CSV of a manifest given as `<name>.csv` or its `<name>.yaml` card.

    Raises:
        ManifestError: the CSV does not exist (the message says what to give instead).
    """
    path = Path(path)
    csv_path = path.with_suffix(".csv") if path.suffix in (".yaml", ".yml") else path
    if not csv_path.is_file():
        raise ManifestError(
            csv_path,
            [
                "file not found; give the path of an existing <name>.csv (or its .yaml card), "
                "e.g. one written by `fakearena data synth out=DIR`"
            ],
        )
    return csv_path

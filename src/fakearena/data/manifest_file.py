"""Where a manifest's rows are: its `.csv` (a `.yaml` card names its CSV beside it).

Path logic only (no pandas), so commands can check `data.manifests` before the heavy imports.
"""

from __future__ import annotations

import os
from pathlib import Path

from fakearena.config import data_dir_hint
from fakearena.errors import DataError, ManifestError


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


def data_manifest_csv(
    path: str | os.PathLike[str], data_name: str, data_dir: str | None = None
) -> Path:
    """`manifest_csv` of a `data.manifests` entry: a missing file under `paths.data_dir` says
    why (FAKEARENA_DATA unset, empty or pointing elsewhere) and how to fix it.

    Args:
        path: the entry of `data.manifests`.
        data_name: the data config's name (`data.name`).
        data_dir: the resolved `paths.data_dir` of the job, when known.

    Raises:
        DataError: the manifest lies under the data folder and is missing.
        ManifestError: any other missing manifest.
    """
    path = Path(path)
    csv_path = path.with_suffix(".csv") if path.suffix in (".yaml", ".yml") else path
    if not csv_path.is_file():
        hint = data_dir_hint(csv_path, data_name, data_dir)
        if hint:
            raise DataError(
                f"data {data_name}: manifest {csv_path} (data.manifests) not found; {hint}"
            )
    return manifest_csv(path)

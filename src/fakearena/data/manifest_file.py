"""Where a manifest's rows are: its `.csv` (a `.yaml` card names its CSV beside it), and why
one under `paths.data_dir` is missing (FAKEARENA_DATA unset, empty or pointing elsewhere).

Path logic only (no pandas), so commands can check `data.manifests` before the heavy imports.
"""

from __future__ import annotations

import os
from pathlib import Path

from fakearena.config import DATA_ENV, UNSET_DATA_DIR, data_dir_from_env
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


def data_dir_hint(
    missing: str | os.PathLike[str], data_name: str, data_dir: str | None = None
) -> str | None:
    """Why a manifest under `paths.data_dir` is missing, as a sentence naming FAKEARENA_DATA.

    Args:
        missing: the manifest path that does not exist.
        data_name: the data config (`conf/data/<data_name>.yaml`).
        data_dir: `paths.data_dir` when given on the command line (None: from FAKEARENA_DATA).

    Returns:
        The sentence (variable, its value, the config key, the fix), or None when the path does
        not lie under the data folder.
    """
    recipe = f"conf/data/{data_name}.yaml names the commands that build it"
    missing_text = Path(missing).as_posix()
    if missing_text.startswith(UNSET_DATA_DIR + "/") or missing_text == UNSET_DATA_DIR:
        raw = os.environ.get(DATA_ENV)
        state = "is not set" if raw is None else f"is set but empty ({DATA_ENV}={raw!r})"
        return (
            f"data={data_name} reads its manifest under paths.data_dir, which is the "
            f"environment variable {DATA_ENV}, and {DATA_ENV} {state}; export "
            f"{DATA_ENV}=<the folder of your built datasets> (or pass paths.data_dir=DIR); "
            f"to build the data: {recipe}"
        )
    from_env = data_dir is None or data_dir == data_dir_from_env()
    root = data_dir_from_env() if from_env else str(data_dir)
    folder = Path(root).expanduser()
    try:
        relative = Path(missing).resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return None
    where = f"{DATA_ENV}={root} (paths.data_dir)" if from_env else f"paths.data_dir={root}"
    fix = f"point {DATA_ENV} at the folder that holds it" if from_env else "fix paths.data_dir"
    if not folder.is_dir():
        return f"{where} does not exist; {fix}, or build the data there ({recipe})"
    videos = folder / Path(relative).parts[0] / "videos.csv"
    if videos.is_file() and "faces" in Path(relative).parts:  # built, faces not extracted yet
        return (
            f"{where} holds {videos}, the built video list, but no {relative}: extract the "
            f"faces with `fakearena faces extract input={videos} out={videos.parent / 'faces'}`"
        )
    held = sorted(p.name for p in folder.iterdir() if p.is_dir())[:10]
    holds = f" (it holds: {', '.join(held)})" if held else " (it is empty)"
    return f"{where} holds no {relative}{holds}; build it there ({recipe}) or {fix}"

"""Moving replaced outputs aside instead of overwriting them: nothing a rerun replaces is lost."""

from __future__ import annotations

import time
from pathlib import Path


def timestamp() -> str:
    """UTC time as `20261207T101903Z`: sortable and safe in file names."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def set_aside(path: Path, into: Path | None = None, name: str | None = None) -> Path:
    """Move `path` (a file or folder) out of the way and return where it went.

    Without `into` it becomes the sibling `<name>.replaced-<timestamp>` (before the suffix
    for a file: `protocol.replaced-<timestamp>.md`); with `into`, `into/<timestamp>/<name>`
    (`name`: a relative path, default the path's name). A name that is taken gets `-2`,
    `-3`, ... appended (to the time folder with `into`).
    """
    stamp = timestamp()
    if into is None:
        stem, suffix = (path.stem, path.suffix) if path.is_file() else (path.name, "")
        base = path.with_name(f"{stem}.replaced-{stamp}")
        target, k = base.with_name(base.name + suffix), 2
        while target.exists():
            target, k = base.with_name(f"{base.name}-{k}{suffix}"), k + 1
    else:  # a second replacement within the same second gets its own time folder
        target, k = into / stamp / (name or path.name), 2
        while target.exists():
            target, k = into / f"{stamp}-{k}" / (name or path.name), k + 1
    target.parent.mkdir(parents=True, exist_ok=True)
    path.rename(target)
    return target


def set_aside_together(paths: list[Path], into: Path) -> Path | None:
    """Move the existing ones of `paths` into one new folder `into/<timestamp>/`; return it
    (None when none exists)."""
    existing = [path for path in paths if path.exists()]
    if not existing:
        return None
    folder, k = into / timestamp(), 2
    while folder.exists():
        folder, k = into / f"{timestamp()}-{k}", k + 1
    folder.mkdir(parents=True)
    for path in existing:
        path.rename(folder / path.name)
    return folder

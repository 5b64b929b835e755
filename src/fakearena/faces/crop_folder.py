"""A crop folder holds crops of one kind: extracting with other options never replaces them
silently (a rerun with the same options resumes instead)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from fakearena.errors import DataError
from fakearena.faces.options import ExtractOptions
from fakearena.utils.set_aside import set_aside


def folder_options(shard_dir: Path) -> Counter:
    """How many finished videos in the folder were made with each option set (JSON text)."""
    counts: Counter = Counter()
    for shard in shard_dir.glob("*.json"):
        try:
            options = json.loads(shard.read_text(encoding="utf-8")).get("options")
        except (OSError, json.JSONDecodeError, AttributeError):
            continue  # an unreadable shard is redone, as before
        if isinstance(options, dict):
            counts[json.dumps(options, sort_keys=True)] += 1
    return counts


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return ", ".join(f"{k}={old.get(k)} (now {new.get(k)})" for k in keys)


def check_crop_folder(out: Path, shard_dir: Path, options: ExtractOptions, overwrite: bool) -> None:
    """Refuse to extract into `out` when its crops were made with other options.

    With `overwrite` the folder is moved to `<out>.replaced-<time>/` instead and extraction
    starts afresh (nothing is lost).
    """
    counts = folder_options(shard_dir)
    current = json.dumps(options.signature(), sort_keys=True)
    others = {text: n for text, n in counts.items() if text != current}
    if not others:
        return
    if overwrite:
        kept = set_aside(out)
        print(f"fakearena faces: overwrite=true: the previous crops are kept in {kept}")
        return
    text = max(others, key=others.__getitem__)
    raise DataError(
        f"out={out} holds the crops of {sum(others.values())} video(s) made with other options: "
        f"{_differences(json.loads(text), options.signature())}; extracting here would replace "
        f"them all. Give a new out=DIR, or pass overwrite=true to extract afresh (the old "
        f"folder is then moved to {out.name}.replaced-<time>/ beside it)"
    )

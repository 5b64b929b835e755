"""Where a checkpoint is: a `.ckpt` file as given, or a training run folder's best one.

Pure path logic (no torch), so commands can check `ckpt=` before the heavy imports.
"""

from __future__ import annotations

import os
from pathlib import Path

from fakearena.errors import CheckpointError

BEST_CHECKPOINT = Path("checkpoints") / "best.ckpt"


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path:
    """A checkpoint file as given, or the best checkpoint of a training run folder.

    `ckpt=outputs/train/<time>` stands for `<that folder>/checkpoints/best.ckpt` (the one
    chosen on the validation split), so a run folder can be passed as it is.

    Raises:
        CheckpointError: the path does not exist, or the folder holds no best checkpoint
            (the message lists the checkpoints and run folders found inside it).
    """
    path = Path(path).expanduser()
    if path.is_file():
        return path
    if not path.exists():
        raise CheckpointError(
            f"checkpoint {path} does not exist; give a .ckpt file or a training run folder "
            "(ckpt=outputs/train/<time>: its checkpoints/best.ckpt is used)"
        )
    best = path / BEST_CHECKPOINT
    if best.is_file():
        return best
    others = sorted(str(p) for p in (path / "checkpoints").glob("*.ckpt"))
    runs = sorted(str(p.parent.parent) for p in path.glob(f"*/{BEST_CHECKPOINT}"))
    if others:
        hint = f"it holds {', '.join(others[:4])}: give one of them as ckpt=FILE"
    elif runs:
        shown = ", ".join(runs[:4]) + (f" (and {len(runs) - 4} more)" if len(runs) > 4 else "")
        hint = f"it holds run folders, e.g. {shown}: give one of them"
    else:
        hint = "give a finished `fakearena train` run folder or its .ckpt file"
    raise CheckpointError(f"{path} is a folder without {BEST_CHECKPOINT}; {hint}")


# What a torch checkpoint starts with: a zip archive (torch.save's format since 1.6) or a
# legacy pickle (protocol 2+ starts with 0x80).
_CHECKPOINT_MAGIC = (b"PK\x03\x04", b"\x80")
_OTHER_FORMATS = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"%PDF", "a PDF document"),
)


def check_checkpoint_format(path: str | os.PathLike[str]) -> None:
    """Refuse a file that is not a torch checkpoint, saying what it is instead.

    A run folder's `results.json` or `metrics.csv` given as `ckpt=` would otherwise reach
    `torch.load` and fail with a message about pickles (or an IndexError).

    Raises:
        CheckpointError: the file is empty, text (JSON, CSV, YAML, ...) or a known non-checkpoint
            format; the message names what it is and where the run's best checkpoint is.
    """
    path = Path(path)
    with path.open("rb") as stream:
        head = stream.read(512)
    if head.startswith(_CHECKPOINT_MAGIC):
        return
    kind = next((name for magic, name in _OTHER_FORMATS if head.startswith(magic)), None)
    if not head:
        kind = "empty (0 bytes; a write that was interrupted?)"
    elif kind is None:
        kind = _text_kind(head, path.suffix.lower())
    raise CheckpointError(f"{path} is {kind}, not a checkpoint; {_checkpoint_hint(path)}")


def _text_kind(head: bytes, suffix: str) -> str:
    """What a file that is not a checkpoint looks like, from its first bytes and its suffix."""
    try:
        text = head.decode("utf-8").lstrip()
    except UnicodeDecodeError:
        return "not a torch checkpoint file (neither a zip archive nor a pickle)"
    first_line = text.splitlines()[0] if text else ""
    if suffix == ".json" or text.startswith(("{", "[")):
        return "a JSON file (e.g. a run's results.json)"
    if suffix in (".csv", ".tsv") or first_line.count(",") >= 1:
        return f"a CSV file (a text table with header {first_line[:60]!r})"
    if suffix in (".yaml", ".yml"):
        return "a YAML file (a config or a manifest card)"
    return "a text file"


def _checkpoint_hint(path: Path) -> str:
    """Where the checkpoint of the run that `path` belongs to is, or what to give."""
    for folder in list(path.parents)[:4]:
        if (folder / BEST_CHECKPOINT).is_file():
            return (
                f"its run's best checkpoint is {folder / BEST_CHECKPOINT}: give ckpt={folder} "
                "(the run folder) or that file"
            )
    return "give a .ckpt file written by `fakearena train` (or its run folder)"

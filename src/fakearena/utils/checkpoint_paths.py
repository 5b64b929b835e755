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

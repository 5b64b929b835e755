"""Atomic writes and content hashes: no reader ever sees a half-written file."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it is renamed onto `target`.

    The rename is atomic on POSIX, so `target` is either the old file or the complete new one.
    On an exception the temporary file is removed and `target` is left untouched. The file
    gets the permissions of any newly created file (0666 less the umask: 0644 under umask
    022), so a shared dataset folder or a served report stays readable by others.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = _create_temp(target)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def _create_temp(target: Path) -> Path:
    """A new empty file beside `target`, created with mode 0666 so that the umask applies.

    `tempfile.mkstemp` would create it 0600 (private), and the rename would keep that.
    """
    for _ in range(100):
        candidate = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return candidate
    raise FileExistsError(f"cannot create a temporary file beside {target}")


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `target` atomically (temp file, fsync, rename)."""
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(target)


def atomic_write_text(target: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 `text` to `target` atomically."""
    return atomic_write_bytes(target, text.encode("utf-8"))


def png_bytes(pixels: Any) -> bytes:
    """uint8 (H, W), (H, W, 1) or (H, W, 3) pixels encoded as PNG."""
    import numpy as np
    from PIL import Image

    array = np.ascontiguousarray(pixels)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def atomic_write_png(target: str | os.PathLike[str], pixels: Any) -> Path:
    """Write uint8 pixels as a PNG file atomically."""
    return atomic_write_bytes(target, png_bytes(pixels))


def atomic_write_json(target: str | os.PathLike[str], obj: Any) -> Path:
    """Write `obj` as indented JSON atomically (NaN is refused: it is not JSON)."""
    text = json.dumps(obj, indent=2, sort_keys=False, allow_nan=False, default=_json_default)
    return atomic_write_text(target, text + "\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and callable(obj.item):  # numpy / torch scalars
        return obj.item()
    if hasattr(obj, "tolist") and callable(obj.tolist):
        return obj.tolist()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's content, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()

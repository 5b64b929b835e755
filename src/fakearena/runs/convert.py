"""`fakearena convert`: a face-swap checkpoint applied to every frame of a video (a deepfake
video), with a manifest ready for `fakearena faces extract` and `fakearena evaluate`."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from fakearena.errors import ConfigError
from fakearena.generation.video_swap import ConvertOptions, convert_video
from fakearena.tasks.checkpoints import resolve_checkpoint, restore_task
from fakearena.utils.io import atomic_write_json, sha256_file
from fakearena.utils.parallel import resolve_device
from fakearena.utils.quiet import quiet_third_party


def run(cfg: DictConfig) -> dict:
    """Convert `cfg.video` into `cfg.out`; returns the summary (also `<out>/convert.json`)."""
    quiet_third_party()
    for key, what in (
        ("ckpt", "a task=faceswap run folder or .ckpt"),
        ("video", "the video to convert"),
        ("donor", "the person to swap in (one of the checkpoint's identities)"),
        ("out", "the folder for the converted video"),
    ):
        if not cfg.get(key):
            raise ConfigError(f"`fakearena convert` needs {key}=... ({what})")
    path = resolve_checkpoint(cfg.ckpt)
    task = restore_task(path, expected_task="faceswap")
    device = resolve_device(str(cfg.get("device") or "auto"))
    task.to(device).eval()
    options = ConvertOptions(
        size=int(cfg.size),
        margin=float(cfg.margin),
        align=str(cfg.align),
        detect_size=int(cfg.detect_size),
        min_prob=float(cfg.min_prob),
        batch_frames=int(cfg.batch_frames),
        crf=int(cfg.crf),
        device=str(device),
    )
    blend = OmegaConf.to_container(cfg.blend, resolve=True) if cfg.get("blend") else None
    out = Path(cfg.out)
    summary = convert_video(
        task,
        Path(cfg.video),
        out,
        donor=str(cfg.donor),
        target=str(cfg.get("target") or ""),
        name=cfg.get("name"),
        options=options,
        blend=blend,
        provenance={
            "command": "fakearena convert " + " ".join(_arguments(cfg)),
            "checkpoint": str(path.resolve()),
            "checkpoint_sha256": sha256_file(path),
        },
    )
    atomic_write_json(out / "convert.json", summary)
    print(
        f"fakearena convert: {summary['swapped']} of {summary['frames']} frames swapped to "
        f"{cfg.donor} ({summary['passed_through']} passed through: no face or the tracked "
        f"person not found) in {summary['seconds']:.0f} s; video: {summary['output']}",
        flush=True,
    )
    return summary


def _arguments(cfg: DictConfig) -> list[str]:
    keys = ("ckpt", "video", "donor", "target", "out", "size", "margin", "align")
    return [f"{k}={cfg[k]}" for k in keys if cfg.get(k) not in (None, "")]

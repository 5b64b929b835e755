"""`fakearena faces extract input=... out=... [key=value ...]`: face crops plus a manifest."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from fakearena.data.extract import ExtractOptions, extract_faces
from fakearena.data.extract_inputs import resolve_inputs
from fakearena.data.manifest import ManifestCard
from fakearena.errors import ConfigError

USAGE = """usage: fakearena faces extract input=PATH out=DIR [key=value ...]

input   a video, an image, a folder of them, or a video-level manifest (.csv)
out     output folder: crops, <name>.csv manifest, <name>_report.json, .shards/ (resume)

options (default):
  name=<input name>       manifest name
  frames_per_video=32     frames spread evenly over each video (0: all frames)
  every=0                 take every k-th frame instead (k > 0)
  size=256                crop side in pixels
  align=similarity        similarity (5-point template) | box (detection box + margin)
  margin=0.15             context added on each side, as a share of the face size
  detect_size=640         long side of the image MTCNN sees (0: full resolution)
  min_face_size=20        smallest face, in pixels of that detection image
  min_prob=0.9            drop detections below this probability
  multi_face=false        keep every face (true) or one per frame
  select=largest          largest | confident: which face to keep
  format=png              png | jpg
  workers=1               parallel processes (each decodes and detects whole videos)
  device=cpu              cpu | cuda | cuda:N
  label= split= source=   for video/image/folder inputs (default real, test, real|fake)
  progress=true           show a progress bar
"""


def _defaults() -> dict:
    options = {f.name: f.default for f in fields(ExtractOptions)}
    return {
        "input": None,
        "out": None,
        "name": None,
        "workers": 1,
        "label": None,
        "split": None,
        "source": None,
        "progress": True,
        **options,
    }


def extract_command(argv: Sequence[str]) -> int:
    """Run `faces extract`; 0 when every input was read, 1 when some could not be."""
    cfg = _defaults()
    from fakearena.config import parse_key_values

    args = parse_key_values(argv, cfg, "faces extract")
    if not args.input or not args.out:
        raise ConfigError("`fakearena faces extract` needs input=PATH and out=DIR\n" + USAGE)
    if int(args.workers) < 1:
        raise ConfigError(f"workers={args.workers}: give 1 (in this process) or more")
    options = ExtractOptions(**{f.name: args[f.name] for f in fields(ExtractOptions)})
    options.check()
    items, default_name, reference = resolve_inputs(
        args.input, label=args.label, split=args.split, source=args.source
    )
    name = str(args.name or default_name)
    card = ManifestCard(
        name=name,
        description=f"face crops ({options.align}, {options.size}px) extracted from {args.input}",
        image_size=int(options.size),
        provenance=_provenance(argv, options, reference),
    )
    summary = extract_faces(
        items,
        Path(args.out),
        options,
        name=name,
        card=card,
        workers=int(args.workers),
        progress=bool(args.progress),
    )
    totals = summary.totals
    print(
        f"{totals['faces']} face crops from {totals['videos']} video(s)/image(s) "
        f"({totals['resumed']} already done); {totals['frames_without_face']} of "
        f"{totals['frames_sampled']} sampled frames had no face"
    )
    print(f"manifest: {summary.manifest_path}\nreport:   {summary.report_path}")
    if summary.without_face:
        shown = ", ".join(summary.without_face[:5])
        print(f"no face at all in {len(summary.without_face)} input(s): {shown}", file=sys.stderr)
    if summary.unreadable:
        shown = "; ".join(f"{k}: {v}" for k, v in list(summary.unreadable.items())[:3])
        print(
            f"fakearena: error: {len(summary.unreadable)} input(s) could not be read (listed in "
            f"{summary.report_path}; rerun to retry them): {shown}",
            file=sys.stderr,
        )
        return 1
    return 0


def _provenance(argv: Sequence[str], options: ExtractOptions, reference: dict) -> dict:
    from fakearena import __version__

    try:
        from importlib.metadata import version

        facenet_version = version("facenet-pytorch")
    except Exception:
        facenet_version = "unknown"
    return {
        "command": "fakearena faces extract " + " ".join(argv),
        "fakearena": __version__,
        "detector": f"facenet-pytorch {facenet_version} MTCNN",
        "options": options.signature(),
        "source": reference,
    }


def main(argv: Sequence[str]) -> int:
    """Entry point of `fakearena faces`."""
    argv = list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if argv[0] != "extract":
        raise ConfigError(f"`fakearena faces` has no subcommand {argv[0]!r}; use: extract")
    if any(a in ("-h", "--help") for a in argv[1:]):
        print(USAGE)
        return 0
    return extract_command(argv[1:])

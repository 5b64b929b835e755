"""`fakearena data <subcommand>`: make, check and verify manifests.

Subcommands: `synth` (render the built-in synthetic faces), `validate` (schema check and a
summary), `verify` (file contents against the sha256 column), `build` (public dataset trees,
implemented in `fakearena.data.builders.cli`).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from fakearena.errors import ConfigError, ManifestError
from fakearena.tool_args import Arg, ToolArgs

if TYPE_CHECKING:  # pandas loads with the manifest module: only when a subcommand runs
    from fakearena.data.manifest import Manifest

SYNTH = ToolArgs(
    command="data synth",
    summary="Render the built-in synthetic faces (reals + blended fakes) to PNGs + a manifest.",
    args=(
        Arg("out", None, "folder for the PNGs and <name>.csv", required=True),
        Arg("n_identities", 8, "people (split 70/15/15 by person)"),
        Arg(
            "identities",
            None,
            "people per split in place of n_identities, e.g. '{train: 24, val: 8, test: 40}'",
            kind=None,
        ),
        Arg(
            "donor_groups",
            None,
            "groups of identity numbers whose blended fakes take donors among themselves, "
            "e.g. '[[0,3,5]]'",
            kind=None,
        ),
        Arg("per_identity", 200, "images per person (reals + fakes)"),
        Arg("size", 64, "image side in pixels"),
        Arg("fake_fraction", 0.5, "share of each person's images that are blended fakes"),
        Arg("seed", 0, "seed of everything drawn"),
        Arg("name", "synthetic", "manifest name"),
    ),
)
MANIFEST_PATH = Arg(
    "path", None, "the manifest's .csv or its .yaml card", positional=True, required=True
)
VALIDATE = ToolArgs(
    command="data validate",
    summary="Check a manifest against the schema; print rows per split x label x source.",
    args=(
        MANIFEST_PATH,
        Arg("check_files", False, "also check that every row's file exists"),
    ),
)
VERIFY = ToolArgs(
    command="data verify",
    summary="Check every row's file against the manifest's sha256 column.",
    args=(
        MANIFEST_PATH,
        Arg("allow_unhashed", False, "do not fail on rows whose sha256 is empty (still counted)"),
        Arg(
            "fill",
            False,
            "hash the files of rows without a sha256 and write them into the CSV (atomically; "
            "the manifest's own sha256 changes)",
        ),
    ),
)
SUBCOMMANDS: dict[str, str] = {
    "synth": SYNTH.summary,
    "validate": VALIDATE.summary,
    "verify": VERIFY.summary,
    "build": "Build a video-level manifest from a public dataset tree (data build <dataset> ...).",
}


def usage() -> str:
    """The subcommand list shown by `fakearena data --help`."""
    width = max(len(name) for name in SUBCOMMANDS)
    lines = ["usage: fakearena data <subcommand> [key=value ...]", "", "subcommands:"]
    lines += [f"  {name:<{width}}  {text}" for name, text in SUBCOMMANDS.items()]
    lines += ["", "`fakearena data <subcommand> --help` lists its arguments."]
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
        raise ConfigError(
            f"`fakearena data` has no subcommand {name!r}; subcommands are: "
            f"{', '.join(SUBCOMMANDS)} (see `fakearena data --help`)"
        )
    return handler(rest)


def synth(argv: Sequence[str]) -> int:
    """`data synth key=value ...`: write the synthetic dataset and print its summary."""
    if SYNTH.wants_help(argv):
        print(SYNTH.usage())
        return 0
    options = SYNTH.parse(argv)
    from fakearena.data.manifest import read_manifest
    from fakearena.data.synthetic import check_split_counts, write_synthetic_dataset

    if options["identities"] is not None:
        counts = check_split_counts(options["identities"])
        given = any(arg.startswith("n_identities=") for arg in argv)
        if not given:
            options["n_identities"] = sum(counts.values())

    csv_path = write_synthetic_dataset(**{key: options[key] for key in SYNTH.names})
    manifest = read_manifest(csv_path)
    print(f"wrote {len(manifest)} images and the manifest {csv_path}")
    _print_summary(manifest, checked_files=False)
    return 0


def validate(argv: Sequence[str]) -> int:
    """`data validate PATH [check_files=true]`: the summary table, or every schema error."""
    if VALIDATE.wants_help(argv):
        print(VALIDATE.usage())
        return 0
    args = VALIDATE.parse(argv)
    from fakearena.data.manifest import read_manifest

    try:
        manifest = read_manifest(args.path, check_files=args.check_files)
    except ManifestError as error:
        print(f"fakearena: error: {error}", file=sys.stderr)
        return 1
    _print_summary(manifest, checked_files=args.check_files)
    return 0


def verify(argv: Sequence[str]) -> int:
    """`data verify MANIFEST [fill=true]`: recompute each file's sha256 and report mismatches."""
    if VERIFY.wants_help(argv):
        print(VERIFY.usage())
        return 0
    args = VERIFY.parse(argv)
    from tqdm import tqdm

    from fakearena.data.manifest import read_manifest
    from fakearena.utils.io import sha256_file

    try:
        manifest = read_manifest(args.path)
    except ManifestError as error:
        print(f"fakearena: error: {error}", file=sys.stderr)
        return 1
    assert manifest.root is not None  # read from disk
    problems: dict[str, list[str]] = {"missing": [], "mismatch": [], "unhashed": []}
    frame = manifest.frame
    filled: dict[int, str] = {}
    rows = tqdm(
        range(len(frame)), desc=f"verify {manifest.name}", unit="file", disable=None, leave=False
    )
    for i in rows:
        rel, expected = frame["path"].iat[i], frame["sha256"].iat[i].strip().lower()
        where = f"row {i + 1} ({rel})"
        path = manifest.root / rel
        if not expected and not args.fill:
            problems["unhashed"].append(f"{where}: no sha256 to check against")
            continue
        if not path.is_file():
            problems["missing"].append(f"{where}: file not found at {path}")
            continue
        actual = sha256_file(path)
        if not expected:
            filled[i] = actual
        elif actual != expected:
            problems["mismatch"].append(
                f"{where}: content changed (manifest {expected[:12]}..., file {actual[:12]}...)"
            )
    if filled:
        _write_hashes(manifest, filled)
    verified = len(frame) - sum(len(v) for v in problems.values()) - len(filled)
    failed = bool(problems["missing"] or problems["mismatch"])
    failed |= bool(problems["unhashed"]) and not args.allow_unhashed
    stream = sys.stderr if failed else sys.stdout
    print(
        f"{manifest.csv_path}: {verified} of {len(frame)} files match their sha256; "
        f"{len(problems['mismatch'])} mismatched, {len(problems['missing'])} missing, "
        f"{len(problems['unhashed'])} without a hash"
        + (f", {len(filled)} hashed and written (fill=true)" if args.fill else ""),
        file=stream,
    )
    for kind, lines in problems.items():
        for line in lines[:20]:
            print(f"  {kind}: {line}", file=stream)
        if len(lines) > 20:
            print(f"  {kind}: ... and {len(lines) - 20} more", file=stream)
    if problems["unhashed"] and not args.allow_unhashed:
        print(
            f"  rows without a sha256 cannot be verified: `fakearena data verify {args.path} "
            "fill=true` hashes their files now and writes the hashes into the manifest (later "
            "runs then check against them), or pass allow_unhashed=true",
            file=stream,
        )
    if filled:
        print(f"  the manifest's sha256 is now {read_manifest(args.path).sha256}", file=stream)
    return 1 if failed else 0


def _write_hashes(manifest: Manifest, hashes: dict[int, str]) -> None:
    """Write `hashes` (row -> sha256) into the manifest's CSV, atomically; the card is kept."""
    from fakearena.data.manifest import to_csv_text
    from fakearena.utils.io import atomic_write_text

    frame = manifest.frame.copy()
    rows = list(hashes)
    frame.loc[rows, "sha256"] = [hashes[i] for i in rows]
    assert manifest.csv_path is not None
    atomic_write_text(manifest.csv_path, to_csv_text(frame))


def build(argv: Sequence[str]) -> int:
    """`data build <dataset> ...`: handed to the dataset builders' own CLI."""
    module = importlib.import_module("fakearena.data.builders.cli")
    return int(module.main(list(argv)) or 0)


def _print_summary(manifest: Manifest, *, checked_files: bool) -> None:
    """Name, identity and rows per split x label x source, plus notes on unusable splits."""
    from fakearena.data.manifest import LABELS, SPLITS

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
    from fakearena.data.manifest import LABELS, SPLITS

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

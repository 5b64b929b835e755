"""`fakearena confound TESTSET.csv [key=value ...]`: the confound check of one test set.

Prints the identity-only AUC with its CI over identities, the flag (outside 0.5 +- tolerance)
and the identities per class, and with `json=true` the whole check as one JSON object.
Exit code 0 whether flagged or not (a flag is a finding, not a failure); `fail_on_flag=true`
makes a flagged set exit 1.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from pathlib import Path

from fakearena.errors import ConfigError
from fakearena.tool_args import Arg, ToolArgs

ARGS = ToolArgs(
    command="confound",
    summary=(
        "The confound check of a test set: how well a classifier that sees only who is in "
        "each image (the identity, no forgery cue) tells its reals from its fakes. Prints the "
        "cross-fitted identity-only AUC, its 95% CI over identities, a flag when it leaves "
        "0.5 +- tolerance, and rows and identities per class."
    ),
    args=(
        Arg(
            "path",
            None,
            "the test set's manifest (.csv or its .yaml card)",
            positional=True,
            required=True,
        ),
        Arg(
            "identity",
            "auto",
            "where identities come from: auto | column | synthetic | embedding "
            "(auto: embedding= if given, synthetic faces' model, else the identity column)",
        ),
        Arg(
            "embedding",
            None,
            "MODULE:FUNCTION, a callable images (N, H, W, 3) uint8 -> (N, D) "
            "embeddings (e.g. a face recognition model)",
        ),
        Arg(
            "gallery",
            None,
            "manifest whose real rows (identity column) define the people for "
            "embedding= (default: the test set's own real rows)",
        ),
        Arg(
            "people",
            None,
            "synthetic faces: identities 0..people-1 the data was drawn from "
            "(default: the count in the card's provenance, else those the rows name)",
            kind=int,
        ),
        Arg(
            "faces_seed",
            None,
            "synthetic faces: their seed (default: the rows' synth_seed)",
            kind=int,
        ),
        Arg("split", None, "rows of this split only (default: all rows)"),
        Arg("folds", 5, "cross-fitting folds over units (videos)"),
        Arg("seed", 0, "seed of the folds and the bootstrap"),
        Arg("tolerance", 0.1, "flag an AUC outside 0.5 +- tolerance"),
        Arg("n_bootstrap", 1000, "identity bootstrap replicates of the CI"),
        Arg(
            "model_cache",
            None,
            "folder for the trained synthetic identity model (default "
            "$FAKEARENA_CACHE/identity, else ~/.cache/fakearena/identity)",
        ),
        Arg("json", False, "print the whole check as one JSON object"),
        Arg("fail_on_flag", False, "exit 1 when the set is flagged"),
    ),
)


def load_embedding(target: str):
    """The callable named `MODULE:FUNCTION`, or a ConfigError saying what is wrong."""
    module_name, _, function_name = str(target).partition(":")
    if not module_name or not function_name:
        raise ConfigError(
            f"embedding={target!r}; give MODULE:FUNCTION, e.g. "
            "embedding=mypackage.faces:embed (a callable images -> (N, D) embeddings)"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"embedding={target!r}: cannot import {module_name} ({exc})") from exc
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ConfigError(f"embedding={target!r}: {module_name} has no callable {function_name}")
    return function


def main(argv: Sequence[str]) -> int:
    """Run the check and print it; returns the exit code."""
    if ARGS.wants_help(argv):
        print(ARGS.usage())
        return 0
    args = ARGS.parse(argv)
    from fakearena.data.manifest import read_manifest
    from fakearena.metrics.identity_model import default_model_cache
    from fakearena.metrics.testset_check import (
        assign,
        check_test_set,
        declared_identities,
        summary_lines,
    )

    manifest = read_manifest(args.path)
    if args.split is not None:
        manifest = manifest.select(split=args.split)
    embed = load_embedding(args.embedding) if args.embedding else None
    gallery = read_manifest(args.gallery) if args.gallery else None
    assignment = assign(
        manifest,
        args.identity,
        embed=embed,
        embedding_name=str(args.embedding or "embedding"),
        gallery=gallery,
        people=args.people,
        seed=args.faces_seed,
        model_cache=Path(args.model_cache) if args.model_cache else default_model_cache(),
    )
    result = check_test_set(
        manifest,
        assignment,
        folds=args.folds,
        seed=args.seed,
        tolerance=args.tolerance,
        n_bootstrap=args.n_bootstrap,
    )
    declared = declared_identities(manifest)
    if args.json:
        record = {"test_set": manifest.name, **result.to_dict(), "column_identities": declared}
        print(json.dumps(record))
    else:
        print("\n".join(summary_lines(manifest.name, result, declared)))
    return 1 if result.flagged and args.fail_on_flag else 0

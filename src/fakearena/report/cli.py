"""`fakearena leaderboard DIR... out=OUT [sort=METRIC]`: run folders -> md/csv/html report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fakearena.tool_args import Arg, ToolArgs

ARGS = ToolArgs(
    command="leaderboard",
    summary="Collect results.json files under run folders into leaderboard.{md,csv,html} + plots.",
    args=(
        Arg(
            "dirs",
            None,
            "run folders (searched for results.json) or results.json files",
            positional=True,
            many=True,
            required=True,
        ),
        Arg("out", None, "report folder: leaderboard.md/.csv/.html, PNG plots", required=True),
        Arg("sort", "test/auc", "metric that ranks configurations (FID/EER/MSE rank low-first)"),
        Arg(
            "generator_sort",
            None,
            "what ranks the generators instead: a metric, or evasion (the best detector's AUC "
            "on each generator's test fakes; lowest first)",
        ),
        Arg("wandb", False, "also log the tables and plots to a wandb run (offline without a key)"),
        Arg("wandb_project", "fakearena", "wandb project of that run"),
    ),
)


def main(argv: Sequence[str]) -> int:
    """Write the leaderboard of the given run folders; prints where it went."""
    if ARGS.wants_help(argv):
        print(ARGS.usage())
        return 0
    options = ARGS.parse(argv)
    from fakearena.report.leaderboard import write_leaderboard

    written = write_leaderboard(
        list(options.dirs),
        options.out,
        sort_by=str(options.sort),
        generator_sort_by=options.generator_sort,
    )
    for name in ("md", "csv", "html"):
        print(f"{name:>4}: {written[name]}")
    if "auc_heatmap" in written:
        print(f"heatmap: {written['auc_heatmap']}")
    if options.wandb:
        run_dir = log_leaderboard_to_wandb(written, str(options.wandb_project))
        print(f"wandb: {run_dir}")
    return 0


def log_leaderboard_to_wandb(written: dict, project: str) -> str:
    """Log leaderboard.csv as a wandb Table and the PNGs as images; returns the run folder."""
    import pandas as pd

    from fakearena.utils.log_images import log_image, log_table
    from fakearena.utils.loggers import close_loggers, wandb_logger

    out = written["csv"].parent
    logger = wandb_logger(save_dir=str(out), project=project, name="leaderboard")
    log_table(logger, "leaderboard", pd.read_csv(written["csv"]))
    for name, path in written.items():
        if path.suffix == ".png":
            log_image(logger, name, path, step=0)
    run_dir = str(Path(logger.experiment.dir).parent)
    close_loggers(logger)
    return run_dir

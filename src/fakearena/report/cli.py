"""`fakearena leaderboard DIR... out=OUT [sort=test/auc]`: run folders -> md/csv/html report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fakearena.errors import ConfigError

USAGE = (
    "usage: fakearena leaderboard DIR [DIR ...] out=OUT [sort=METRIC] [generator_sort=KEY]\n"
    "  DIR     run folders (searched for results.json) or results.json files\n"
    "  out     report folder: leaderboard.md, leaderboard.csv, leaderboard.html, PNG plots\n"
    "  sort    metric that ranks configurations (default test/auc; FID/EER/MSE rank low-first)\n"
    "  generator_sort  what ranks the generators instead: a metric, or evasion (the best\n"
    "          detector's AUC on each generator's test fakes; lowest first)\n"
    "  wandb   true: also log the tables and plots to a wandb run (offline without an API key)"
)
DEFAULTS = {
    "out": None,
    "sort": "test/auc",
    "generator_sort": None,
    "wandb": False,
    "wandb_project": "fakearena",
}


def main(argv: Sequence[str]) -> int:
    """Write the leaderboard of the given run folders; prints where it went."""
    from fakearena.config import parse_key_values
    from fakearena.report.leaderboard import write_leaderboard

    args = list(argv)
    if not args or any(a in ("-h", "--help") for a in args):
        print(USAGE)
        return 0 if args else 2
    paths = [a for a in args if "=" not in a]
    options = parse_key_values([a for a in args if "=" in a], DEFAULTS, "leaderboard")
    if not options.out:
        raise ConfigError("`fakearena leaderboard` needs out=FOLDER for the report")
    if not paths:
        raise ConfigError("`fakearena leaderboard` needs at least one run folder before out=")
    generator_sort = None if options.generator_sort is None else str(options.generator_sort)
    written = write_leaderboard(
        paths, options.out, sort_by=str(options.sort), generator_sort_by=generator_sort
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

    from fakearena.report.log_images import log_image, log_table
    from fakearena.report.loggers import close_loggers, wandb_logger

    out = written["csv"].parent
    logger = wandb_logger(save_dir=str(out), project=project, name="leaderboard")
    log_table(logger, "leaderboard", pd.read_csv(written["csv"]))
    for name, path in written.items():
        if path.suffix == ".png":
            log_image(logger, name, path, step=0)
    run_dir = str(Path(logger.experiment.dir).parent)
    close_loggers(logger)
    return run_dir

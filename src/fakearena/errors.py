"""User-facing errors: exceptions whose message is a sentence for a person, not a traceback.

The CLI prints a `FakearenaError` as one paragraph and exits non-zero (full traceback only with
`HYDRA_FULL_ERROR=1`). Anything else is a bug and keeps its traceback.
"""


class FakearenaError(Exception):
    """An error caused by the user's input (file, config, data) that names the thing and the fix."""


class ConfigError(FakearenaError):
    """A config key or value that cannot work."""


class ManifestError(FakearenaError):
    """A manifest that does not follow the schema; the message lists every problem found."""

    def __init__(self, path: object, problems: list[str]):
        self.path = str(path)
        self.problems = list(problems)
        shown = self.problems[:20]
        more = len(self.problems) - len(shown)
        lines = "\n".join(f"  - {p}" for p in shown)
        if more > 0:
            lines += f"\n  - ... and {more} more problem(s)"
        super().__init__(f"Invalid manifest {self.path}:\n{lines}")


class DataError(FakearenaError):
    """An image, video or dataset that cannot be read or used as asked."""


class CheckpointError(FakearenaError):
    """A checkpoint that is missing, unsafe, corrupt or from another task."""


class TrainingDivergedError(FakearenaError, FloatingPointError):
    """A loss became NaN or infinite; the run stops before the bad step is applied."""

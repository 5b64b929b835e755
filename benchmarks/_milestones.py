"""Training-clock milestones for the quality-per-CPU-minute benchmarks."""

from __future__ import annotations

import time

import lightning as L


class TrainingMilestones(L.Callback):
    """Calls `evaluate(trainer, task, milestone)` each time training passes the next milestone
    and stops training after the last one.

    Milestones are minutes of the training clock (`unit="minutes"`), or training batches
    (`unit="steps"`: compare recipes at equal steps when CPU time drifts with the machine's
    load). The clock is `cpu` (process CPU time, summed over threads: fair on a shared machine)
    or `wall`; it is paused while `evaluate` runs, so evaluation is never counted, and
    `train_time` is measured in both units. `steps` counts the training batches so far.
    """

    def __init__(self, minutes: list[float], clock: str, unit: str = "minutes"):
        if unit not in ("minutes", "steps"):
            raise ValueError(f"milestone unit {unit!r}; use 'minutes' or 'steps'")
        self.minutes = list(minutes)  # the milestones still ahead, in `unit`
        self.unit = unit
        self.clock = time.perf_counter if clock == "wall" else time.process_time
        self.train_time, self.steps = 0.0, 0
        self._since = self.clock()

    def evaluate(self, trainer: L.Trainer, task, minute: float) -> None:
        raise NotImplementedError

    def _passed(self, milestone: float) -> bool:
        if self.unit == "steps":
            return self.steps >= milestone
        return self.train_time >= milestone * 60

    def _tick(self, trainer: L.Trainer, task) -> None:
        self.train_time += self.clock() - self._since
        while self.minutes and self._passed(self.minutes[0]):
            self.evaluate(trainer, task, self.minutes.pop(0))
        if not self.minutes:
            trainer.should_stop = True
        self._since = self.clock()

    def on_train_start(self, trainer, task) -> None:
        self._since = self.clock()
        self._tick(trainer, task)

    def on_train_batch_end(self, trainer, task, outputs, batch, batch_idx) -> None:
        self.steps += 1
        self._tick(trainer, task)

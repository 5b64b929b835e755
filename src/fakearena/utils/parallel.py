"""Devices, CPU workers and process sharding for the commands outside a Lightning Trainer.

`resolve_device` turns a `device=` value into a torch device (`auto`: CUDA when present, the
same answer as `trainer=auto`); `default_num_workers` sizes DataLoader workers from the CPUs.
`devices=N` (and `num_nodes=M`) of `fakearena generate` and `fakearena evaluate` start N x M
processes through `lightning.Fabric` with the DDP strategy: launched by Lightning itself on one
machine, or under `torchrun` / SLURM when their environment is present (Fabric detects it).
Item `i` belongs to the process with `rank == i % world_size`; every generated image is seeded
by its index, so results do not depend on the number of processes; rank 0 writes after a
barrier.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from fakearena.errors import ConfigError


@dataclass
class Shard:
    """This process's share of a sharded run (generation or evaluation)."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    fabric: Any = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def owns(self, index: int) -> bool:
        """Whether this process makes item `index`."""
        return int(index) % self.world_size == self.rank

    def select(self, indices: Sequence[int]) -> list[int]:
        """The indices this process makes (by index value, so the split is stable)."""
        return [int(i) for i in indices if self.owns(i)]

    def barrier(self) -> None:
        if self.fabric is not None and self.world_size > 1:
            self.fabric.barrier()

    def gather_objects(self, obj: Any) -> list[Any]:
        """Every rank's `obj`, in rank order (just `[obj]` in one process)."""
        if self.world_size == 1:
            return [obj]
        import torch.distributed as dist

        parts: list[Any] = [None] * self.world_size
        dist.all_gather_object(parts, obj)
        return parts


def available_cpus() -> int:
    """CPU cores this process may run on (its affinity mask, e.g. a SLURM or container limit)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_num_workers(processes: int = 1, limit: int | None = 8) -> int:
    """DataLoader workers per process when a config says `num_workers: auto`.

    Each of the `processes` training processes keeps one core; the rest are its workers, at
    most `limit`. With fewer than 2 spare cores per process loading stays in the process
    (0): a worker would only compete with the model for the same core.
    """
    spare = available_cpus() // max(int(processes), 1) - 1
    if spare < 2:
        return 0
    return spare if limit is None else min(spare, int(limit))


def num_workers_value(value: int | str | None, processes: int = 1) -> int:
    """A `num_workers` config value as a count: `auto` (or None) -> `default_num_workers`."""
    if value is None or str(value) == "auto":
        return default_num_workers(processes)
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = -1
    if count < 0:
        raise ConfigError(f"num_workers={value!r}: give auto or a count >= 0")
    return count


def resolve_device(name: str = "auto") -> torch.device:
    """`auto` -> the first CUDA device when there is one, else the CPU.

    Raises:
        ConfigError: a name torch does not know, or CUDA asked for where there is none.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"device={name!r} is not a torch device (auto, cpu, cuda:0)") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={name!r} but CUDA is not available; use device=cpu")
    return device


def launch_shard(cfg: Any) -> Shard:
    """The Shard of this process for the config keys `device` (cpu, cuda, auto), `devices`
    and `num_nodes` (`conf/generate.yaml`, `conf/evaluate.yaml`).

    With `devices=1 num_nodes=1` nothing is launched (one process on `device`).
    """
    devices, num_nodes = int(cfg.get("devices") or 1), int(cfg.get("num_nodes") or 1)
    if devices < 1 or num_nodes < 1:
        raise ConfigError(f"devices={devices} and num_nodes={num_nodes} must both be >= 1")
    device = resolve_device(str(cfg.get("device") or "auto"))
    if devices * num_nodes == 1:
        return Shard(device=device)
    import lightning as L

    accelerator = "cpu" if device.type == "cpu" else "cuda"
    fabric = L.Fabric(accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy="ddp")
    fabric.launch()
    return Shard(
        rank=fabric.global_rank,
        world_size=fabric.world_size,
        device=fabric.device,
        fabric=fabric,
    )

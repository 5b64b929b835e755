"""The task interface: what `fakearena train` asks of every LightningModule it trains.

A task is chosen by `task=<name>` (`conf/task/<name>.yaml`, whose `_target_` is the class), its
network by the config group the class names in `model_group` (`detector=...` or
`generator=...`), so each can be swapped independently. `fakearena.runs.train` only talks to a
task through this interface; adding a kind of model means adding a task class, its config and
(for generators) a fake-set writer in `fakearena.generation`, nothing in `runs/`.

What a task gets from its data: batches from `fakearena.data` loaders, dicts with
`image` (B,C,H,W float in [0,1]: the loaders send uint8, made float on the device by
`on_after_batch_transfer`), `label` (B,) 0 real / 1 fake, `index` (B,) the row's
position in its split's manifest, `skipped` (row indices dropped under
`data.on_bad_sample=skip`), plus task-specific keys (`identity` for the face swap). A batch
whose rows were all skipped has no `image`. Training batches also hold the per-row targets the
task asks for with `training_targets()` (`fakearena.runs.train` requests them from the data
before fitting): `mask` (B,1,H,W) float in [0,1], each row's blend mask (zeros for reals), with
`has_mask` (B,) bool, False for fakes whose mask is unknown.

What a task reports:
- `test_metrics`: result-record entries (`fakearena.results.metric`) set by the test stage;
- `result_metrics()`: further entries once training ended (e.g. the best validation epoch);
- `test_predictions` and `test_result`: the predictions table of the test stage and every
  metric computed from it, for tasks that score rows (written as predictions.csv,
  metrics.json and roc.png), else None and {};
- `skipped_rows`: `(split, row index)` of every row skipped while training or evaluating.

Speed (`fakearena train memory_format=... compile=...`, set with `set_speed`): the networks
and the images run channels_last (`auto`: on CUDA, where tensor-core convolutions want it),
and `compile=true` wraps the modules of `compiled_modules()` with `torch.compile` in place
(parameter names, hence checkpoints, do not change). Mixed precision is the trainer's
(`trainer.precision=bf16-mixed`, the default of trainer=auto on CUDA).
"""

from __future__ import annotations

from typing import Any, ClassVar

import lightning as L
import pandas as pd
import torch
from torch import nn

from fakearena.data.datasets import float_images
from fakearena.errors import ConfigError

MEMORY_FORMATS = ("auto", "channels_last", "contiguous")


def called_parts(net: nn.Module) -> list[nn.Module]:
    """A network's direct parts, lists of modules opened: what a task calls one by one (a
    GAN's generator and discriminator, a face swap's encoder and decoders)."""
    parts: list[nn.Module] = []
    for child in net.children():
        if isinstance(child, (nn.ModuleList, nn.ModuleDict)):
            parts.extend(child.children())
        elif any(True for _ in child.parameters()):
            parts.append(child)
    return parts


class Task(L.LightningModule):
    """Base class of the fakearena tasks (detect, gan, faceswap).

    Class attributes a task sets:
        model_group: the config group that builds its network ("detector" or "generator").
        accepts_test_data: whether `test_data=[...]` sets can be scored with its checkpoint.
        ddp_find_unused_parameters: whether some parameters get no gradient in a step (GAN:
            the D step never touches G), so DDP must look for unused parameters.
    """

    model_group: ClassVar[str] = "detector"
    accepts_test_data: ClassVar[bool] = False
    ddp_find_unused_parameters: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.test_metrics: dict[str, dict[str, Any]] = {}
        self.test_predictions: pd.DataFrame | None = None
        self.test_result: dict[str, Any] = {}
        self.skipped_rows: set[tuple[str, int]] = set()
        self.memory_format_setting = "auto"
        self.compile_setting = False
        self._channels_last = False
        self._compiled = False

    def set_speed(self, *, memory_format: str = "auto", compile: bool = False) -> None:
        """How the network runs: memory layout (auto | channels_last | contiguous) and whether
        `torch.compile` wraps it; applied when the trainer sets the model up."""
        if memory_format not in MEMORY_FORMATS:
            raise ConfigError(
                f"memory_format={memory_format!r}: choose one of {', '.join(MEMORY_FORMATS)}"
            )
        self.memory_format_setting, self.compile_setting = memory_format, bool(compile)

    def compiled_modules(self) -> list[nn.Module]:
        """The modules `compile=true` compiles: the ones a step calls (default: the network)."""
        return [self.net]

    def configure_model(self) -> None:
        """Apply `set_speed` once, on the trainer's device type (Lightning calls this per stage)."""
        device = self.trainer.strategy.root_device if self._trainer is not None else self.device
        setting = self.memory_format_setting
        self._channels_last = setting == "channels_last" or (
            setting == "auto" and device.type == "cuda"
        )
        if self._channels_last:
            self.to(memory_format=torch.channels_last)
        if self.compile_setting and not self._compiled:
            for module in self.compiled_modules():
                module.compile()
            self._compiled = True

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """uint8 images become float [0, 1] here, on the device (channels_last if the net is)."""
        if isinstance(batch, dict) and isinstance(batch.get("image"), torch.Tensor):
            images = float_images(batch["image"])
            if self._channels_last and images.ndim == 4:
                images = images.contiguous(memory_format=torch.channels_last)
            batch["image"] = images
        return batch

    @classmethod
    def check_data(cls, datamodule: Any, *, test: bool) -> None:
        """Fail before training when the data cannot serve this task (default: no check).

        Args:
            datamodule: the run's `FaceDataModule`.
            test: whether the test split will be used after fitting.

        Raises:
            DataError: what is missing from which split, and how to fix it.
        """

    def heldout_metrics(self, datamodule: Any) -> dict[str, dict[str, Any]]:
        """Result entries computed after testing, on rank 0, with the best weights loaded.

        For measures beyond the test step's own (default: none).
        """
        return {}

    def training_targets(self) -> tuple[str, ...]:
        """Per-row targets beyond `image` and `label` its training batches need (default:
        none), among `fakearena.data.datasets.TARGETS`."""
        return ()

    def selection_warnings(self, datamodule: Any) -> list[str]:
        """Warnings about how the checkpoint was chosen (default: none)."""
        return []

    def result_metrics(self) -> dict[str, dict[str, Any]]:
        """Result-record entries beyond the test stage's (default: none)."""
        return {}

    def note_skipped(self, split: str, batch: dict[str, Any]) -> bool:
        """Record a batch's skipped rows; returns whether the batch still holds images."""
        self.skipped_rows.update((split, int(i)) for i in batch["skipped"].tolist())
        return "image" in batch

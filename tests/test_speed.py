"""Fast models, checked on CPU: channels_last, bf16 autocast and torch.compile keep the numbers."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from hydra.utils import instantiate

from fakearena.config import compose
from fakearena.errors import ConfigError
from fakearena.runs.train import build_task
from fakearena.tasks.base import Task, called_parts

SMALL = [
    "data.image_size=32",
    "data.batch_size=8",
    "data.synthetic.n_identities=4",
    "data.synthetic.per_identity=8",
    "data.num_workers=0",
]
GAN = ["task=gan", "generator=dcgan", "task.fid_n=8", "task.grid_size=0"]


def _fit(overrides: list[str], steps: int = 2) -> Task:
    """`steps` training steps of the composed run (no validation, nothing written)."""
    cfg = compose("train", [*SMALL, *overrides])
    L.seed_everything(0, verbose=False)
    task = build_task(cfg)
    trainer = instantiate(
        cfg.trainer,
        max_steps=steps,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        default_root_dir=None,
    )
    trainer.fit(task, datamodule=instantiate(cfg.data))
    return task


def _conv_weights(task: Task) -> list[torch.Tensor]:
    return [p for p in task.parameters() if p.ndim == 4]


@pytest.mark.parametrize(
    "overrides",
    [["task=detect", "detector=small_cnn"], GAN],
    ids=["detector", "gan"],
)
def test_channels_last_and_bf16_mixed_train_on_cpu(overrides):
    task = _fit([*overrides, "memory_format=channels_last", "trainer.precision=bf16-mixed"])
    weights = _conv_weights(task)
    assert weights and all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
    assert all(torch.isfinite(p).all() for p in task.parameters())


def test_memory_format_auto_is_contiguous_on_cpu_and_keeps_the_outputs():
    task = _fit(["task=detect", "detector=small_cnn"], steps=1)
    assert not task._channels_last
    images = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        plain = task(images)
        task.to(memory_format=torch.channels_last)
        fast = task(images.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(fast, plain, rtol=1e-4, atol=1e-5)


def test_an_unknown_memory_format_names_the_choices():
    with pytest.raises(ConfigError, match="auto, channels_last, contiguous"):
        build_task(compose("train", ["memory_format=nhwc"]))


def test_compile_targets_are_the_parts_a_step_calls():
    gan = build_task(compose("train", ["task=gan", "generator=dcgan"]))
    parts = gan.compiled_modules()
    assert gan.net.generator in parts and gan.net.discriminator in parts
    swap = build_task(compose("train", ["task=faceswap"]))
    assert set(map(id, called_parts(swap.net))) == {
        id(swap.net.encoder),
        *map(id, swap.net.decoders),
    }


@pytest.mark.slow
def test_compile_trains_and_keeps_checkpoint_names():
    plain = build_task(compose("train", [*SMALL, "detector=small_cnn"]))
    task = _fit(["task=detect", "detector=small_cnn", "compile=true"])
    assert task.net._compiled_call_impl is not None  # nn.Module.compile() in place
    assert list(task.state_dict()) == list(plain.state_dict())

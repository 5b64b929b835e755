"""task=diffusion: the forward process against its formula, exact samplers, seeded sampling,
training end to end and `fakearena generate` on its checkpoint."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from fakearena.data.manifest import read_manifest
from fakearena.errors import ConfigError
from fakearena.models.generators.diffusion_process import DDPMProcess, FlowProcess
from fakearena.models.generators.diffusion_unet import DiffusionUNet
from fakearena.results import read_results
from fakearena.tasks.diffusion import DiffusionTask
from fakearena.utils.io import sha256_file

from conftest import run_cli

T = 1000


def expected_alphas_cumprod(schedule: str) -> np.ndarray:
    """abar_t written out from the papers (Ho et al. 2020; Nichol and Dhariwal 2021)."""
    if schedule == "linear":
        betas = np.linspace(1e-4, 0.02, T, dtype=np.float64)
    else:  # cosine, s = 0.008, betas capped at 0.999

        def abar(t: float) -> float:
            return math.cos((t / T + 0.008) / 1.008 * math.pi / 2) ** 2

        betas = np.array([min(1 - abar(i + 1) / abar(i), 0.999) for i in range(T)])
    return np.cumprod(1.0 - betas)


@pytest.mark.parametrize("schedule", ["linear", "squaredcos_cap_v2"])
@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction"])
def test_ddpm_forward_process_and_target_follow_the_formula(schedule: str, prediction: str):
    process = DDPMProcess(T, schedule, prediction)
    abar = expected_alphas_cumprod(schedule)
    np.testing.assert_allclose(process.alphas_cumprod.double().numpy(), abar, rtol=2e-5)
    gen = torch.Generator().manual_seed(0)
    x0 = torch.rand(5, 3, 8, 8, generator=gen) * 2 - 1
    noise = torch.randn(5, 3, 8, 8, generator=gen)
    t = torch.tensor([0, 10, 500, 900, 999])
    a = torch.from_numpy(abar[t.numpy()]).float().view(-1, 1, 1, 1)
    expected = a.sqrt() * x0 + (1 - a).sqrt() * noise
    torch.testing.assert_close(process.noisy(x0, noise, t), expected, atol=1e-5, rtol=1e-5)
    target = noise if prediction == "epsilon" else a.sqrt() * noise - (1 - a).sqrt() * x0
    torch.testing.assert_close(process.target(x0, noise, t), target, atol=1e-5, rtol=1e-5)


def test_flow_matching_path_and_velocity_follow_the_formula():
    process = FlowProcess(T)
    x0, noise = torch.rand(4, 3, 4, 4) * 2 - 1, torch.randn(4, 3, 4, 4)
    t = torch.tensor([0.0, 0.25, 0.5, 1.0])
    w = t.view(-1, 1, 1, 1)
    torch.testing.assert_close(process.noisy(x0, noise, t), (1 - w) * x0 + w * noise)
    torch.testing.assert_close(process.target(x0, noise, t), noise - x0)
    torch.testing.assert_close(process.network_time(t), t * (T - 1))


def oracle(process, x_star: torch.Tensor):
    """The exact model output when every training image is `x_star`."""

    def denoise(x_t: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        if isinstance(process, FlowProcess):
            t = (time.float() / (T - 1)).view(-1, 1, 1, 1)
            return (x_t - x_star) / t  # noise - x0 with noise = (x_t - (1 - t) x*) / t
        a = process.alphas_cumprod[time.long()].view(-1, 1, 1, 1)
        eps = (x_t - a.sqrt() * x_star) / (1 - a).sqrt()
        if process.scheduler.config.prediction_type == "epsilon":
            return eps
        return a.sqrt() * eps - (1 - a).sqrt() * x_star

    return denoise


@pytest.mark.parametrize(
    ("process", "sampler", "atol"),
    [
        (DDPMProcess(T, "squaredcos_cap_v2", "epsilon"), "ddim", 1e-5),
        (DDPMProcess(T, "linear", "v_prediction"), "ddim", 1e-5),
        # DPM-Solver derives its own float32 sigmas from abar: at t = 999, x0 = (...) /
        # sqrt(abar) magnifies their rounding (the linear schedule keeps abar at 4e-5)
        (DDPMProcess(T, "linear", "epsilon"), "dpm_solver", 1e-3),
        (FlowProcess(T), "euler", 1e-5),
        (FlowProcess(T), "heun", 1e-5),
    ],
)
@pytest.mark.parametrize("steps", [1, 4, 10])
def test_samplers_land_on_the_data_under_the_exact_model(process, sampler, atol, steps: int):
    # float64: at t = 999 the cosine schedule has abar ~ 1e-9, and x0 = (x_t - ...) / sqrt(abar)
    # would carry float32 rounding
    x_star = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1)).double() * 1.8 - 0.9
    noise = torch.randn(3, 3, 8, 8, generator=torch.Generator().manual_seed(2)).double()
    images = process.sample(oracle(process, x_star), noise, steps, sampler)
    torch.testing.assert_close(images, x_star.expand(3, -1, -1, -1), atol=atol, rtol=0)


def tiny_task(**kwargs) -> DiffusionTask:
    torch.manual_seed(0)
    net = DiffusionUNet(image_size=16, work_size=16, block_out_channels=(8, 16), norm_groups=4)
    return DiffusionTask(net=net, sample_steps=3, eval_batch_size=4, **kwargs)


@pytest.mark.parametrize("objective,sampler", [("ddpm", "ddim"), ("flow", "euler")])
def test_sampling_is_determined_by_the_seed_and_not_by_the_batch(objective: str, sampler: str):
    task = tiny_task(objective=objective, sampler=sampler)
    with torch.no_grad():  # an untrained UNet's last layer is zero: give it weights
        for p in task.net.parameters():
            p.add_(0.05 * torch.randn_like(p))
        task.net.unet_ema.load_state_dict(task.net.unet.state_dict())
    first = task.generate(6, seed=3)
    assert first.shape == (6, 3, 16, 16) and first.min() >= 0 and first.max() <= 1
    torch.testing.assert_close(task.generate(6, seed=3), first)
    torch.testing.assert_close(task.generate(6, seed=3, batch_size=1), first, atol=1e-5, rtol=0)
    assert (task.generate(6, seed=4) - first).abs().mean() > 1e-3


def test_a_sampler_of_the_other_objective_is_refused():
    with pytest.raises(ConfigError, match=r"task\.sampler=.euler. does not sample"):
        tiny_task(objective="ddpm", sampler="euler")
    with pytest.raises(ConfigError, match=r"task\.objective=.score."):
        tiny_task(objective="score", sampler="ddim")


def test_work_size_must_fit_the_levels():
    with pytest.raises(ConfigError, match="cannot be halved"):
        DiffusionUNet(image_size=16, work_size=8, block_out_channels=(8, 8, 8, 8), norm_groups=4)


@pytest.fixture(scope="module")
def diffusion_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("diffusion") / "run"
    result = run_cli(
        "train",
        "task=diffusion",
        "data=synthetic",
        "data.synthetic.n_identities=4",
        "data.synthetic.per_identity=60",
        "data.image_size=32",
        "generator.work_size=16",
        "generator.block_out_channels=[8,16]",
        "generator.norm_groups=4",
        "trainer.max_epochs=2",
        "data.batch_size=16",
        "task.fid_n=8",
        "task.kid_subsets=10",
        "task.sample_steps=2",
        "task.grid_size=4",
        f"hydra.run.dir={run_dir}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def test_train_writes_fid_prdc_with_floor_and_sample_grids(diffusion_run: Path):
    record = read_results(diffusion_run)
    assert record["task"] == "diffusion" and record["generator"] == "diffusion_unet"
    metrics = record["metrics"]
    for key in ("val/fid", "test/fid", "test/kid", "test/precision", "test/recall"):
        assert metrics[key]["n"] == 8, key
    protocol = metrics["test/fid"]["protocol"]
    # 6 held-out reals cannot give 8 + 8: the record says why there is no floor
    assert protocol["n_real"] == 6 and protocol["floor"].startswith("none: ")
    assert protocol["sampler"] == "ddpm ddim, 2 steps, ema weights, work size 16"
    grids = sorted((diffusion_run / "samples").glob("epoch_*.png"))
    assert [g.name for g in grids] == ["epoch_0000.png", "epoch_0001.png"]


def test_generate_writes_a_reproducible_fake_set(diffusion_run: Path, tmp_path: Path):
    def make(out: Path):
        result = run_cli(
            "generate", f"ckpt={diffusion_run}", "n=5", f"out={out}", "seed=7", "sample_steps=3"
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return read_manifest(next(out.glob("*.csv")))

    first, second = make(tmp_path / "a"), make(tmp_path / "b")
    frame = first.frame
    assert len(frame) == 5 and set(frame["label"]) == {1}
    assert set(frame["source"]) == {"diffusion/diffusion_unet"}
    assert first.card.provenance["sample_steps"] == 3
    assert "sample_steps=3" in first.card.provenance["command"]
    for a, b in zip(frame["path"], second.frame["path"]):
        assert sha256_file(tmp_path / "a" / a) == sha256_file(tmp_path / "b" / b)

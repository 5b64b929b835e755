"""What a diffusion model learns and how it samples: DDPM noise schedules or flow matching.

Both objectives work on images in [-1, 1] and give the task the same four things: timesteps to
train at, the noisy image and the regression target of a clean batch, the UNet's timestep
input, and a sampler that turns noise into images with a few network calls.

- `ddpm` (Ho et al. 2020): x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps with abar_t the
  cumulative product of (1 - beta) of diffusers' `DDPMScheduler` (`beta_schedule`: linear, or
  squaredcos_cap_v2, the cosine schedule of Nichol and Dhariwal 2021); the network predicts
  eps (`prediction_type=epsilon`) or v = sqrt(abar) eps - sqrt(1 - abar) x_0
  (`v_prediction`); samplers `ddim` (Song et al. 2021, eta = 0: deterministic) or
  `dpm_solver` (DPM-Solver++ multistep, Lu et al. 2022), both with trailing timestep spacing.
- `flow` (rectified flow / flow matching, Liu et al. 2023, Lipman et al. 2023):
  x_t = (1 - t) x_0 + t eps for t ~ U(0, 1); the network predicts the velocity eps - x_0;
  sampling integrates it from t = 1 to 0 with `euler` or `heun` steps. The UNet sees
  t * (num_train_timesteps - 1) as its timestep.

Samplers are deterministic: the same noise gives the same images.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch

from fakearena.errors import ConfigError

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

OBJECTIVES = ("ddpm", "flow")
SAMPLERS = {"ddpm": ("ddim", "dpm_solver"), "flow": ("euler", "heun")}
PREDICTIONS = ("epsilon", "v_prediction")
BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")


class DDPMProcess:
    """The DDPM forward process of diffusers' `DDPMScheduler` and its DDIM/DPM-Solver samplers."""

    name = "ddpm"

    def __init__(
        self,
        num_train_timesteps: int = 1000,
        beta_schedule: str = "squaredcos_cap_v2",
        prediction_type: str = "epsilon",
    ):
        from diffusers import DDPMScheduler

        if beta_schedule not in BETA_SCHEDULES:
            raise ConfigError(
                f"task.beta_schedule={beta_schedule!r}; use one of {list(BETA_SCHEDULES)}"
            )
        if prediction_type not in PREDICTIONS:
            raise ConfigError(
                f"task.prediction_type={prediction_type!r}; use one of {list(PREDICTIONS)}"
            )
        self.num_train_timesteps = int(num_train_timesteps)
        self.scheduler = DDPMScheduler(
            num_train_timesteps=self.num_train_timesteps,
            beta_schedule=beta_schedule,
            prediction_type=prediction_type,
            clip_sample=True,
            timestep_spacing="trailing",
        )

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        """abar_t for t = 0 .. num_train_timesteps - 1."""
        return self.scheduler.alphas_cumprod

    def draw_timesteps(self, n: int, device: torch.device) -> torch.Tensor:
        """Uniform integer timesteps (torch's global generator: `seed=` makes them repeat)."""
        return torch.randint(0, self.num_train_timesteps, (n,), device=device)

    def noisy(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.scheduler.add_noise(x0, noise, t)

    def target(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if self.scheduler.config.prediction_type == "epsilon":
            return noise
        return self.scheduler.get_velocity(x0, noise, t)

    def network_time(self, t: torch.Tensor) -> torch.Tensor:
        return t

    def sample(self, denoise: Denoiser, noise: torch.Tensor, steps: int, sampler: str):
        """Images in [-1, 1] from `noise` with `steps` network calls of `sampler`."""
        from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

        check_sampler(self.name, sampler, steps)
        kind = DDIMScheduler if sampler == "ddim" else DPMSolverMultistepScheduler
        scheduler = kind.from_config(self.scheduler.config)
        scheduler.set_timesteps(int(steps), device=noise.device)
        x = noise * scheduler.init_noise_sigma
        for t in scheduler.timesteps:
            output = denoise(x, t.expand(x.shape[0]).to(noise.device))
            x = scheduler.step(output, t, x).prev_sample
        return x.clamp(-1.0, 1.0)


class FlowProcess:
    """Flow matching on the straight path x_t = (1 - t) x_0 + t eps, sampled by Euler or Heun."""

    name = "flow"

    def __init__(self, num_train_timesteps: int = 1000, **_: object):
        self.num_train_timesteps = int(num_train_timesteps)

    def draw_timesteps(self, n: int, device: torch.device) -> torch.Tensor:
        """t ~ U(0, 1) (torch's global generator)."""
        return torch.rand(n, device=device)

    def noisy(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        t = t.view(-1, 1, 1, 1)
        return (1.0 - t) * x0 + t * noise

    def target(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return noise - x0

    def network_time(self, t: torch.Tensor) -> torch.Tensor:
        return t * (self.num_train_timesteps - 1)

    def sample(self, denoise: Denoiser, noise: torch.Tensor, steps: int, sampler: str):
        """Integrate dx/dt = v from t = 1 (noise) to t = 0 in `steps` equal steps."""
        check_sampler(self.name, sampler, steps)
        times = torch.linspace(1.0, 0.0, int(steps) + 1, device=noise.device)
        x, n = noise, noise.shape[0]

        def velocity(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return denoise(x_t, self.network_time(t.expand(n)))

        for t, t_next in itertools.pairwise(times):
            v = velocity(x, t)
            if sampler == "heun" and t_next > 0:
                x_euler = x + (t_next - t) * v
                v = 0.5 * (v + velocity(x_euler, t_next))
            x = x + (t_next - t) * v
        return x.clamp(-1.0, 1.0)


def check_sampler(objective: str, sampler: str, steps: int) -> None:
    if sampler not in SAMPLERS[objective]:
        raise ConfigError(
            f"task.sampler={sampler!r} does not sample task.objective={objective}; use one of "
            f"{list(SAMPLERS[objective])}"
        )
    if int(steps) < 1:
        raise ConfigError(f"task.sample_steps={steps} must be >= 1")


def diffusion_process(
    objective: str,
    num_train_timesteps: int = 1000,
    beta_schedule: str = "squaredcos_cap_v2",
    prediction_type: str = "epsilon",
) -> DDPMProcess | FlowProcess:
    """The process of `task.objective` (`ddpm` or `flow`)."""
    if objective == "ddpm":
        return DDPMProcess(num_train_timesteps, beta_schedule, prediction_type)
    if objective == "flow":
        return FlowProcess(num_train_timesteps)
    raise ConfigError(f"task.objective={objective!r}; use one of {list(OBJECTIVES)}")

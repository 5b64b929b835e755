"""The 64-px GAN curve command of benchmarks/results/gan_quality/README.md parses and composes."""

from __future__ import annotations

import shlex
from pathlib import Path

from benchmarks.gan_quality import parse_args

from fakearena.config import compose

README = Path(__file__).resolve().parents[1] / "benchmarks/results/gan_quality/README.md"


def documented_command(section: str) -> list[str]:
    """The first indented `python -m benchmarks.gan_quality` command after `section`."""
    lines = README.read_text().split(section, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if "python -m benchmarks.gan_quality" in line)
    command = []
    for line in lines[start:]:
        command.append(line.strip().rstrip("\\"))
        if not line.rstrip().endswith("\\"):
            break
    return shlex.split(" ".join(command))


def test_the_64px_curve_command_composes_the_dcgan64_recipe():
    argv = documented_command("## 64 px native")
    assert argv[:3] == ["python", "-m", "benchmarks.gan_quality"]
    args = parse_args(argv[3:])
    assert (args.generator, args.minutes) == ("dcgan64", [1, 2, 5, 10, 20])
    assert (args.n, args.n_curve) == (500, 250)
    assert (args.clock, args.threads) == ("cpu", 1)
    base = ["task=gan", f"generator={args.generator}", "data=synthetic"]
    cfg = compose("train", [*base, *args.overrides])
    network = cfg.generator
    assert cfg.generator.work_size is None and cfg.data.image_size == 64
    assert (network.g_width, network.d_width, network.ema_decay) == (32, 32, 0.999)
    assert cfg.task.optimizer.lr == 5.0e-4
    assert (cfg.task.d_optimizer.lr, list(cfg.task.d_optimizer.betas)) == (2.0e-4, [0.5, 0.999])

"""The wheel ships the Hydra configs as package data, and the installed package finds them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import REPO_ROOT

PROBE = """
import fakearena, fakearena.config as c
from fakearena.config import compose
cfg = compose("train", ["detector=small_cnn"])
print(fakearena.__file__)
print(c.config_dir())
print(cfg.detector.name)
"""


def test_wheel_installed_package_finds_its_configs(tmp_path: Path):
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO_ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("fakearena-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "fakearena/conf/train.yaml" in names
    assert any(n.startswith("fakearena/conf/detector/") for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert probe.returncode == 0, probe.stderr
    module_file, conf_dir, detector = probe.stdout.split()
    assert module_file.startswith(str(site))
    assert conf_dir == str(site / "fakearena" / "conf")
    assert detector == "small_cnn"

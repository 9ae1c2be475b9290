"""Bicubic resizing as MATLAB's ``imresize`` does it (the super-resolution convention).

Cubic kernel with a = -0.5; when shrinking, the kernel is stretched by the factor
(antialiasing); borders are mirrored symmetrically (edge pixel repeated). Separable, applied
as two small dense matrices, so any (B, C, H, W) float tensor works.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def cubic(x: Tensor) -> Tensor:
    """Keys' cubic convolution kernel with a = -0.5, as in MATLAB."""
    ax = x.abs()
    near = (1.5 * ax**3 - 2.5 * ax**2 + 1) * (ax <= 1)
    far = (-0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))
    return near + far


def resize_matrix(in_length: int, out_length: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """(out_length, in_length) matrix of MATLAB ``imresize`` bicubic weights along one axis."""
    scale = out_length / in_length
    stretch = min(scale, 1.0)  # antialias only when shrinking
    width = 4.0 / stretch
    x = torch.arange(1, out_length + 1, dtype=torch.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)  # 1-based input coordinate of each output pixel
    left = torch.floor(u - width / 2)
    taps = left[:, None] + torch.arange(math.ceil(width) + 2, dtype=torch.float64)
    weights = stretch * cubic(stretch * (u[:, None] - taps))
    weights = weights / weights.sum(1, keepdim=True)
    # Symmetric mirroring of out-of-range taps, 0-based.
    mirror = torch.cat([torch.arange(in_length), torch.arange(in_length - 1, -1, -1)])
    index = mirror[(taps.long() - 1) % (2 * in_length)]
    matrix = torch.zeros(out_length, in_length, dtype=torch.float64)
    matrix.scatter_add_(1, index, weights)
    return matrix.to(dtype)


def imresize(image: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize (B, C, H, W) to (B, C, *size) with MATLAB-compatible bicubic weights."""
    rows = resize_matrix(image.shape[-2], size[0]).to(image)
    cols = resize_matrix(image.shape[-1], size[1]).to(image)
    return torch.einsum("oh,bchw,pw->bcop", rows, image, cols)


def bicubic_downscale(image: Tensor, scale: int) -> Tensor:
    """(B, C, s*h, s*w) -> (B, C, h, w), antialiased like ``imresize(x, 1/s)``."""
    height, width = image.shape[-2:]
    if height % scale or width % scale:
        raise ValueError(f"size {width}x{height} is not a multiple of the scale {scale}")
    return imresize(image, (height // scale, width // scale))


def bicubic_upscale(image: Tensor, scale: int) -> Tensor:
    """(B, C, h, w) -> (B, C, s*h, s*w), like ``imresize(x, s)``."""
    return imresize(image, (image.shape[-2] * scale, image.shape[-1] * scale))


def mod_crop(image: Tensor, scale: int) -> Tensor:
    """Crop (..., H, W) at the bottom/right to multiples of ``scale``."""
    height, width = image.shape[-2:]
    return image[..., : height - height % scale, : width - width % scale]


def subpixel_weights(scale: int) -> Tensor:
    """(s, 5) bicubic weights giving output sub-pixel a of an input pixel from its 5 neighbours.

    Output pixel ``s * i + a`` of ``bicubic_upscale`` is ``sum_k w[a, k] x[i + k - 2]`` away
    from the borders: a fixed filter bank that patch networks can apply to any window.
    """
    a = torch.arange(scale, dtype=torch.float64)
    u = (a + 0.5) / scale - 0.5  # offset of each sub-pixel from its input pixel's centre
    offsets = torch.arange(-2, 3, dtype=torch.float64)
    return cubic(u[:, None] - offsets[None, :])


def bicubic_upscale_valid(image: Tensor, scale: int) -> Tensor:
    """(B, C, H, W) -> (B, C, s*(H-4), s*(W-4)): bicubic upscaling of the inner pixels only.

    Equals :func:`bicubic_upscale` away from the borders, but needs no border rule, so a
    window of an image gives exactly the matching window of the whole image's result.
    """
    batch, channels, height, width = image.shape
    weights = subpixel_weights(scale).to(image)  # (s, 5)
    flat = image.reshape(batch * channels, 1, height, width)
    rows = torch.nn.functional.conv2d(flat, weights[:, None, :, None])  # (BC, s, H-4, W)
    rows = rows.reshape(-1, 1, height - 4, width)
    both = torch.nn.functional.conv2d(rows, weights[:, None, None, :])  # (BCs, s, H-4, W-4)
    both = both.view(batch, channels, scale, scale, height - 4, width - 4)
    return both.permute(0, 1, 4, 2, 5, 3).reshape(
        batch, channels, scale * (height - 4), scale * (width - 4)
    )

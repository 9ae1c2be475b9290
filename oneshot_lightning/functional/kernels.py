"""Blur kernels and convolution with them."""

from __future__ import annotations

import math

import torch
from kornia.filters import filter2d
from torch import Tensor

from oneshot_lightning.errors import InputError


def gaussian_kernel(
    size: int, sigma: float, sigma_y: float | None = None, angle: float = 0.0
) -> Tensor:
    """A (size, size) Gaussian kernel summing to 1.

    Args:
        size: odd side length in pixels.
        sigma: standard deviation along the (rotated) x axis, in pixels.
        sigma_y: standard deviation along the (rotated) y axis; ``None`` means isotropic.
        angle: rotation of the x axis, in degrees, clockwise as seen on screen (rows grow
            downwards).
    """
    if size < 1 or size % 2 == 0:
        raise InputError(f"blur kernel size must be a positive odd integer, got {size}")
    sigma_y = sigma if sigma_y is None else sigma_y
    if sigma <= 0 or sigma_y <= 0:
        raise InputError(f"blur sigma must be positive, got {sigma} and {sigma_y}")
    coords = torch.arange(size, dtype=torch.float64) - size // 2
    y, x = torch.meshgrid(coords, coords, indexing="ij")
    theta = math.radians(angle)
    u = x * math.cos(theta) + y * math.sin(theta)
    v = -x * math.sin(theta) + y * math.cos(theta)
    kernel = torch.exp(-0.5 * ((u / sigma) ** 2 + (v / sigma_y) ** 2))
    return (kernel / kernel.sum()).float()


def disk_kernel(radius: float, size: int | None = None, supersample: int = 8) -> Tensor:
    """A (size, size) uniform disk of ``radius`` pixels summing to 1: a defocus PSF.

    Each pixel weighs the fraction of its area inside the disk (sampled on a
    ``supersample`` x ``supersample`` grid), so the PSF changes smoothly with the radius.
    ``size`` defaults to the smallest odd side that holds the disk.

    >>> disk_kernel(1.0).shape
    torch.Size([3, 3])
    """
    if radius <= 0:
        raise InputError(f"defocus radius must be positive, got {radius}")
    size = 2 * math.ceil(radius - 0.5) + 1 if size is None else size
    if size < 1 or size % 2 == 0:
        raise InputError(f"blur kernel size must be a positive odd integer, got {size}")
    steps = (torch.arange(size * supersample, dtype=torch.float64) + 0.5) / supersample
    coords = steps - size / 2
    y, x = torch.meshgrid(coords, coords, indexing="ij")
    inside = (x**2 + y**2 <= radius**2).double()
    kernel = inside.view(size, supersample, size, supersample).mean((1, 3))
    return (kernel / kernel.sum()).float()


def motion_kernel(length: float, angle: float = 0.0, samples_per_pixel: int = 16) -> Tensor:
    """A straight camera motion of ``length`` pixels, centred, summing to 1.

    The segment from ``-length / 2`` to ``+length / 2`` along the direction ``angle`` (degrees,
    clockwise on screen from the x axis, as :func:`gaussian_kernel`) is sampled densely and
    each sample shared among its 4 nearest pixels, so the kernel changes smoothly with both
    parameters. The side is the smallest odd one that holds the segment and its spread.

    >>> motion_kernel(5.0).shape
    torch.Size([7, 7])
    """
    if length <= 0:
        raise InputError(f"motion length must be positive, got {length}")
    size = 2 * math.ceil(length / 2 + 1) - 1
    centre = size // 2
    count = max(2, math.ceil(length * samples_per_pixel))
    steps = torch.linspace(-length / 2, length / 2, count, dtype=torch.float64)
    theta = math.radians(angle)
    x, y = centre + steps * math.cos(theta), centre + steps * math.sin(theta)
    kernel = torch.zeros(size, size, dtype=torch.float64)
    left, top = x.floor().long(), y.floor().long()
    right_share, down_share = x - left, y - top
    for row, col, weight in (
        (top, left, (1 - down_share) * (1 - right_share)),
        (top, left + 1, (1 - down_share) * right_share),
        (top + 1, left, down_share * (1 - right_share)),
        (top + 1, left + 1, down_share * right_share),
    ):
        inside = (row >= 0) & (row < size) & (col >= 0) & (col < size)
        kernel.index_put_((row[inside], col[inside]), weight[inside], accumulate=True)
    return (kernel / kernel.sum()).float()


def convolve(image: Tensor, kernel: Tensor, border: str = "reflect") -> Tensor:
    """Convolve (B, C, H, W) with a (kh, kw) kernel, padding the borders by ``border``.

    ``border`` is kornia's ``border_type``: ``reflect``, ``replicate``, ``circular`` or
    ``constant`` (zeros).
    """
    kh, kw = kernel.shape
    if border == "reflect" and (image.shape[-2] <= kh // 2 or image.shape[-1] <= kw // 2):
        raise InputError(
            f"image {tuple(image.shape[-2:])} is too small for a {kh}x{kw} blur kernel"
        )
    # filter2d correlates; flipping the kernel makes it a true convolution.
    flipped = kernel.flip(-2, -1).to(image)[None]
    return filter2d(image, flipped, border_type=border)


def embed_kernel(kernel: Tensor, size: int, setting: str) -> Tensor:
    """A (k, k) kernel centred in a (size, size) square of zeros (a fixed-size buffer).

    :class:`InputError` naming ``setting`` (the option that sets ``size``) if k > size.

    >>> embed_kernel(torch.ones(1, 1), 3, "kernel_size").tolist()
    [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    """
    if max(kernel.shape) > size:
        raise InputError(
            f"the blur kernel is {kernel.shape[-1]}x{kernel.shape[-2]}, larger than "
            f"{setting} {size}: raise it"
        )
    top, left = (size - kernel.shape[0]) // 2, (size - kernel.shape[1]) // 2
    square = kernel.new_zeros(size, size)
    square[top : top + kernel.shape[0], left : left + kernel.shape[1]] = kernel
    return square


def trim_kernel(square: Tensor) -> Tensor:
    """The smallest centred square of a (K, K) kernel that holds all its non-zero weights.

    >>> trim_kernel(embed_kernel(torch.ones(3, 1), 7, "kernel_size")).shape
    torch.Size([3, 3])
    """
    centre = square.shape[-1] // 2
    rows, cols = torch.nonzero(square, as_tuple=True)
    if rows.numel() == 0:
        return square[centre : centre + 1, centre : centre + 1]
    reach = int(max((rows - centre).abs().max(), (cols - centre).abs().max()))
    return square[centre - reach : centre + reach + 1, centre - reach : centre + reach + 1]

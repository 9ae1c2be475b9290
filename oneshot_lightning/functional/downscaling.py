"""Downscaling with an arbitrary kernel: blur on the high-resolution grid, then keep every s-th.

A camera (or a resize routine) makes each low-resolution pixel ``i`` as a weighted sum of the
high-resolution pixels around the centre of the s x s block it covers, ``s i + (s - 1) / 2``
(0-based, as MATLAB's ``imresize`` does). A downscaling kernel here is that weighting: a
(K, K) array on the high-resolution grid whose centre ``(K - 1) / 2`` lies on the block's
centre. K has the parity of s (a 16 x 16 kernel for x2); a kernel of the other parity gets a
zero row and column at its bottom and right, which moves its centre half a pixel. Images are
(B, C, H, W) floats.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional.resize import cubic


def fit_parity(kernel: Tensor, scale: int) -> Tensor:
    """(K, K) -> (K', K') with K' of the parity of ``scale``: a zero row/column added if not."""
    if (kernel.shape[-1] - scale) % 2 == 0 and (kernel.shape[-2] - scale) % 2 == 0:
        return kernel
    rows, cols = (kernel.shape[-2] - scale) % 2, (kernel.shape[-1] - scale) % 2
    return F.pad(kernel, (0, cols, 0, rows))


def kernel_downscale(image: Tensor, kernel: Tensor, scale: int) -> Tensor:
    """(B, C, s h, s w) -> (B, C, h, w): ``image`` weighted by ``kernel`` around each block.

    Borders are mirrored with the edge pixel repeated, as MATLAB does. ``kernel`` (K, K) sums
    to 1 (see the module's note on its centre).
    """
    height, width = image.shape[-2:]
    if height % scale or width % scale:
        raise InputError(f"size {width}x{height} is not a multiple of the scale {scale}")
    kernel = fit_parity(kernel, scale).to(image)
    pad_rows, pad_cols = (kernel.shape[-2] - scale) // 2, (kernel.shape[-1] - scale) // 2
    if pad_rows >= height or pad_cols >= width:
        raise InputError(
            f"image {width}x{height} is too small for a {kernel.shape[-1]}x"
            f"{kernel.shape[-2]} downscaling kernel"
        )
    channels = image.shape[1]
    padded = symmetric_pad(symmetric_pad(image, pad_rows, -2), pad_cols, -1)
    # conv2d correlates; flipping the kernel makes it a true convolution.
    weights = kernel.flip(-2, -1).expand(channels, 1, *kernel.shape)
    return F.conv2d(padded, weights, stride=scale, groups=channels)


def symmetric_pad(image: Tensor, width: int, dim: int) -> Tensor:
    """``image`` with ``width`` mirrored pixels (edge included) on both sides along ``dim``."""
    length = image.shape[dim]
    mirror = torch.cat([torch.arange(length), torch.arange(length - 1, -1, -1)])
    index = mirror[torch.arange(-width, length + width) % (2 * length)]
    return image.index_select(dim, index.to(image.device))


def kernel_size(scale: int) -> int:
    """The side of the kernels made for ``scale``: 8 s, odd for odd s (16 for x2, 25 for x3)."""
    return 8 * scale + scale % 2


def downscaling_gaussian(
    scale: int, sigma: float, sigma_y: float | None = None, angle: float = 0.0
) -> Tensor:
    """A (8 s, 8 s) Gaussian downscaling kernel summing to 1, centred as the module says.

    Args:
        scale: the downscaling factor s.
        sigma: standard deviation along the (rotated) x axis, in high-resolution pixels.
        sigma_y: the same along the rotated y axis; ``None`` means isotropic.
        angle: rotation of the x axis in degrees, clockwise on screen (as ``gaussian_kernel``).
    """
    sigma_y = sigma if sigma_y is None else sigma_y
    if sigma <= 0 or sigma_y <= 0:
        raise InputError(f"kernel sigma must be positive, got {sigma} and {sigma_y}")
    size = kernel_size(scale)
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    y, x = torch.meshgrid(coords, coords, indexing="ij")
    theta = math.radians(angle)
    u = x * math.cos(theta) + y * math.sin(theta)
    v = -x * math.sin(theta) + y * math.cos(theta)
    kernel = torch.exp(-0.5 * ((u / sigma) ** 2 + (v / sigma_y) ** 2))
    return (kernel / kernel.sum()).float()


def bicubic_kernel(scale: int) -> Tensor:
    """(8 s, 8 s) kernel of MATLAB's antialiased bicubic ``imresize(x, 1/s)`` away from borders.

    >>> bool(bicubic_kernel(2).sum().sub(1).abs() < 1e-6)
    True
    """
    size = kernel_size(scale)
    taps = cubic((torch.arange(size, dtype=torch.float64) - (size - 1) / 2) / scale)
    taps = taps / taps.sum()
    return torch.outer(taps, taps).float()


def relative_error(estimate: Tensor, truth: Tensor) -> float:
    """``||estimate - truth|| / ||truth||`` of two kernels, the smaller embedded centred."""
    size = max(estimate.shape[-1], truth.shape[-1], estimate.shape[-2], truth.shape[-2])

    def centred(kernel: Tensor) -> Tensor:
        rows, cols = size - kernel.shape[-2], size - kernel.shape[-1]
        pads = (cols // 2, cols - cols // 2, rows // 2, rows - rows // 2)
        return F.pad(kernel.double(), pads)

    a, b = centred(estimate), centred(truth)
    return float((a - b).norm() / b.norm())


def repeated_kernel(kernel: Tensor, scale: int, times: int) -> Tensor:
    """The (8 S, 8 S) kernel of ``times`` downscalings by (K, K) ``kernel`` at ``scale``: S = s^t.

    What gradual super-resolution undoes when each step's input was made by ``kernel``:
    read off as one output pixel's weights (its gradient over a blank image), cropped to
    8 S around its block's centre and renormalised.
    """
    total = scale**times
    size = kernel_size(total)
    side = 4 * size  # far from the borders, so no mirrored weight folds in
    image = torch.zeros(1, 1, side, side, dtype=torch.float64, requires_grad=True)
    smaller = image
    for _ in range(times):
        smaller = kernel_downscale(smaller, kernel.double(), scale)
    centre = side // total // 2
    (weights,) = torch.autograd.grad(smaller[0, 0, centre, centre], image)
    start = total * centre + (total - size) // 2  # the output's block centre minus (size-1)/2
    window = weights[0, 0, start : start + size, start : start + size]
    return (window / window.sum()).float()

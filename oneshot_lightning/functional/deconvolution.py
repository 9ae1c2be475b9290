"""Deconvolution in the Fourier domain: transfer functions, padding, Wiener, HQS data steps.

Images are (B, C, H, W) floats; kernels (kh, kw) with odd sides, centred, summing to 1, and
applied as true convolutions (as ``functional.convolve`` does). Spectra are on the
``torch.fft.rfft2`` grid, (H, W // 2 + 1). The FFT treats an image as periodic, so an image
is padded by about the kernel's size before, and the padding cut off after.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def fast_size(length: int) -> int:
    """The smallest length >= ``length`` with no prime factor above 5 (fast FFT sizes).

    >>> fast_size(97), fast_size(128)
    (100, 128)
    """
    while True:
        rest = length
        for factor in (2, 3, 5):
            while rest % factor == 0:
                rest //= factor
        if rest == 1:
            return length
        length += 1


def kernel_spectrum(kernel: Tensor, shape: tuple[int, int]) -> Tensor:
    """The transfer function of convolving with ``kernel`` on a periodic ``shape`` grid.

    Returns a complex (H, W // 2 + 1) tensor; the kernel's centre goes to the origin.
    """
    height, width = kernel.shape
    embedded = kernel.new_zeros(shape)
    embedded[:height, :width] = kernel
    return torch.fft.rfft2(embedded.roll((-(height // 2), -(width // 2)), (0, 1)))


def gradient_spectrum(shape: tuple[int, int], device: torch.device | None = None) -> Tensor:
    """``|D_x|^2 + |D_y|^2`` of forward differences on a periodic ``shape`` grid: (H, W//2+1).

    The penalty of Tikhonov deconvolution on gradients (the "Laplacian" regulariser).
    """
    height, width = shape
    rows = torch.fft.fftfreq(height, device=device)[:, None]
    cols = torch.fft.rfftfreq(width, device=device)[None, :]
    return 4 * torch.sin(math.pi * rows) ** 2 + 4 * torch.sin(math.pi * cols) ** 2


def pad_periodic(image: Tensor, pad: int) -> tuple[Tensor, tuple[int, int, int, int]]:
    """Mirror ``pad`` pixels around (B, C, H, W), more at the bottom/right to fast sizes.

    Returns the padded image and where the image lies in it: (top, left, H, W).
    """
    height, width = image.shape[-2:]
    # Reflection needs more pixels than it mirrors: replicate what is beyond.
    mirror = min(pad, height - 1, width - 1)
    padded = F.pad(image, (mirror,) * 4, mode="reflect") if mirror > 0 else image
    if pad > mirror:
        padded = F.pad(padded, (pad - mirror,) * 4, mode="replicate")
    extra_rows = fast_size(height + 2 * pad) - height - 2 * pad
    extra_cols = fast_size(width + 2 * pad) - width - 2 * pad
    padded = F.pad(padded, (0, extra_cols, 0, extra_rows), mode="replicate")
    return padded, (pad, pad, height, width)


def wiener_deconvolve(
    image: Tensor, kernel: Tensor, balance: float, pad: int | None = None
) -> Tensor:
    """Tikhonov (Wiener-like) deconvolution with a gradient penalty of weight ``balance``.

    ``image`` (B, C, H, W) is mirrored by ``pad`` pixels (default: the kernel's size) so
    that the periodic FFT sees no jump at the borders; returns (B, C, H, W), unclipped.
    """
    pad = max(kernel.shape) if pad is None else pad
    padded, (top, left, height, width) = pad_periodic(image, pad)
    shape = (padded.shape[-2], padded.shape[-1])
    spectrum = kernel_spectrum(kernel.to(image), shape)
    penalty = balance * gradient_spectrum(shape, image.device)
    restored = torch.fft.irfft2(
        spectrum.conj() * torch.fft.rfft2(padded) / (spectrum.abs() ** 2 + penalty), s=shape
    )
    return restored[..., top : top + height, left : left + width]


def quadratic_step(
    blurred: Tensor, spectrum: Tensor, estimate: Tensor, weight: Tensor | float
) -> Tensor:
    """argmin_x ``|k * x - y|^2 + weight |x - z|^2``, all on one periodic grid.

    Args:
        blurred: rfft2 of the degraded image y, (B, C, H, W // 2 + 1).
        spectrum: the kernel's transfer function (``kernel_spectrum``).
        estimate: the current estimate z, (B, C, H, W), in the image domain.
        weight: how strongly x stays near z (the half-quadratic splitting penalty).

    Returns:
        x, (B, C, H, W).
    """
    shape = (estimate.shape[-2], estimate.shape[-1])
    numerator = spectrum.conj() * blurred + weight * torch.fft.rfft2(estimate)
    return torch.fft.irfft2(numerator / (spectrum.abs() ** 2 + weight), s=shape)

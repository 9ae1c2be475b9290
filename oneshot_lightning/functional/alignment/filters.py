"""Smoothing, local means, FFT convolution and phase correlation for the alignment fit."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def gaussian_smooth(image: Tensor, sigma: float) -> Tensor:
    """(C, H, W) convolved with a Gaussian of ``sigma`` pixels, borders reflected."""
    radius = min(math.ceil(3 * sigma), image.shape[-1] - 1, image.shape[-2] - 1)
    if sigma <= 0 or radius < 1:
        return image
    taps = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
    kernel = (kernel / kernel.sum()).to(image.dtype)
    padded = F.pad(image[None], (radius, radius, radius, radius), mode="reflect")[0]
    # Rows, then columns through a transposed copy: unfold-and-multiply along the contiguous
    # axis is twice as fast as conv2d with a one-channel kernel.
    rows = (padded.unfold(-1, kernel.numel(), 1) @ kernel).transpose(-1, -2).contiguous()
    return (rows.unfold(-1, kernel.numel(), 1) @ kernel).transpose(-1, -2).contiguous()


def local_mean(image: Tensor, mask: Tensor, sigma: float) -> Tensor:
    """Gaussian-weighted mean of (C, H, W) ``image`` over ``mask`` (C, H, W), for large sigma.

    Computed on a block-averaged copy and upsampled bilinearly: it only needs to follow
    shapes much larger than a pixel.
    """
    factor = max(1, min(int(sigma / 2), min(image.shape[-2:]) // 8))
    pooled = torch.stack([image * mask, mask])
    if factor > 1:
        pooled = F.avg_pool2d(pooled, factor, ceil_mode=True)
    pooled = torch.stack([gaussian_smooth(plane, sigma / factor) for plane in pooled])
    if factor > 1:
        pooled = F.interpolate(pooled, scale_factor=factor, mode="bilinear", align_corners=False)
        pooled = pooled[..., : image.shape[-2], : image.shape[-1]]
    return pooled[0] / pooled[1].clamp_min(1e-6)


def convolve_fft(image: Tensor, kernel: Tensor) -> Tensor:
    """(C, H, W) convolved with a (kh, kw) kernel through the FFT, borders reflected."""
    kh, kw = kernel.shape
    ph, pw = kh // 2, kw // 2
    padded = F.pad(image[None], (pw, pw, ph, ph), mode="reflect")[0]
    shape = padded.shape[-2:]
    spectrum = torch.fft.rfft2(padded) * torch.fft.rfft2(kernel.to(image.dtype), s=shape)
    full = torch.fft.irfft2(spectrum, s=shape)
    # The product is a circular convolution: its output (i, j) is centred on padded pixel
    # (i - kh // 2, j - kw // 2), so the image sits 2 * (kh // 2) rows in.
    return full[..., 2 * ph : 2 * ph + image.shape[-2], 2 * pw : 2 * pw + image.shape[-1]]


def parabola_vertex(before: float, peak: float, after: float) -> float:
    """Offset of the top of the parabola through three samples from the middle one."""
    curvature = before - 2 * peak + after
    return 0.0 if curvature >= 0 else 0.5 * (before - after) / curvature


def phase_correlation(degraded: Tensor, reference: Tensor, reach: float) -> tuple[float, float]:
    """(x, y) shift of ``degraded`` (H, W) from ``reference`` (H, W), within ``reach`` pixels.

    Both are mean-removed and Hann-windowed; the peak of the whitened cross-power spectrum
    is refined to a fraction of a pixel by a parabola along each axis.
    """
    height, width = degraded.shape
    window = torch.outer(
        torch.hann_window(height, periodic=False, dtype=degraded.dtype),
        torch.hann_window(width, periodic=False, dtype=degraded.dtype),
    )
    cross = (
        torch.fft.rfft2((degraded - degraded.mean()) * window)
        * torch.fft.rfft2((reference - reference.mean()) * window).conj()
    )
    magnitude = cross.abs()
    whitened = cross / (magnitude + 1e-9 * float(magnitude.max()))
    surface = torch.fft.fftshift(torch.fft.irfft2(whitened, s=(height, width)))
    cy, cx = height // 2, width // 2
    rows = (torch.arange(height) - cy).abs()[:, None]
    cols = (torch.arange(width) - cx).abs()[None, :]
    surface = torch.where(rows.maximum(cols) <= reach, surface, surface.min())
    row, col = divmod(int(surface.argmax()), width)
    peak = float(surface[row, col])
    dx = parabola_vertex(float(surface[row, col - 1]), peak, float(surface[row, (col + 1) % width]))
    dy = parabola_vertex(
        float(surface[row - 1, col]), peak, float(surface[(row + 1) % height, col])
    )
    return col - cx + dx, row - cy + dy

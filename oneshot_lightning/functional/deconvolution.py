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

from oneshot_lightning.functional.patches import Box

#: Padded FFT sides are multiples of this: such sizes have many small factors (fast FFTs), and
#: a rule of plain arithmetic keeps traced graphs (``oneshot export``) valid at every size.
FFT_MULTIPLE = 32


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


def smooth_periodic(image: Tensor, sigma: float) -> Tensor:
    """Gaussian blur of standard deviation ``sigma`` pixels, periodic, through the FFT."""
    height, width = image.shape[-2:]
    rows = torch.fft.fftfreq(height, device=image.device)[:, None]
    cols = torch.fft.rfftfreq(width, device=image.device)[None, :]
    gain = torch.exp(-2 * (math.pi * sigma) ** 2 * (rows**2 + cols**2)).to(image)
    return torch.fft.irfft2(torch.fft.rfft2(image) * gain, s=(height, width))


def pad_periodic(image: Tensor, pad: int) -> tuple[Tensor, tuple[int, int, int, int]]:
    """Pad (B, C, H, W) so that the periodic FFT sees no jump at the image's borders.

    ``pad`` pixels are mirrored around the image (then more, evenly, up to multiples of
    :data:`FFT_MULTIPLE`), and the padding fades, along a raised cosine, into a heavily
    smoothed periodic version of itself, so that its far edges meet smoothly when wrapped
    around.

    Returns:
        The padded image and where the image lies in it: (top, left, H, W).
    """
    height, width = image.shape[-2:]
    # Reflection needs more pixels than it mirrors: replicate what is beyond.
    mirror = min(pad, height - 1, width - 1)
    padded = F.pad(image, (mirror,) * 4, mode="reflect") if mirror > 0 else image
    if pad > mirror:
        padded = F.pad(padded, (pad - mirror,) * 4, mode="replicate")
    # Up to FFT_MULTIPLE - 1 more on each axis, split between both sides so that every
    # flip of the image is padded alike (the self-ensemble's views agree).
    extra_rows = -(height + 2 * pad) % FFT_MULTIPLE
    extra_cols = -(width + 2 * pad) % FFT_MULTIPLE
    above, before = extra_rows // 2, extra_cols // 2
    padded = F.pad(
        padded, (before, extra_cols - before, above, extra_rows - above), mode="replicate"
    )
    box = (above + pad, before + pad, height, width)
    if pad == 0:
        return padded, box
    fade = torch.linspace(0, 1, pad + 2, device=image.device)[1:-1]
    fade = (0.5 - 0.5 * torch.cos(math.pi * fade)).to(image)

    def ramp(line: Tensor, start: int, inner: int) -> Tensor:
        # Sized like a line of the padded image (not by an int), so traced graphs stay dynamic.
        weights = torch.zeros_like(line)
        weights[start : start + pad] = fade
        weights[start + pad : start + pad + inner] = 1
        weights[start + pad + inner : start + 2 * pad + inner] = fade.flip(0)
        return weights

    rows = ramp(padded[0, 0, :, 0], above, height)
    cols = ramp(padded[0, 0, 0], before, width)
    smooth = smooth_periodic(padded, pad / 2)
    weight = rows[:, None] * cols[None, :]
    return weight * padded + (1 - weight) * smooth, box


def refill_padding(padded: Tensor, estimate: Tensor, spectrum: Tensor, box: Box) -> Tensor:
    """The padded degraded image with its padding replaced by the blurred ``estimate``.

    Iterated with a deconvolution, this makes the padding consistent with the image
    (boundary-aware deconvolution), where mirrored padding is only a guess.
    """
    shape = (padded.shape[-2], padded.shape[-1])
    blurred = torch.fft.irfft2(torch.fft.rfft2(estimate) * spectrum, s=shape)
    return torch.lerp(blurred, padded, inside_mask(padded, box))


def inside_mask(padded: Tensor, box: Box) -> Tensor:
    """(H, W): 1 where the image lies in ``padded`` (``box``), 0 in the padding."""
    top, left, height, width = box
    inside = torch.zeros_like(padded[0, 0])
    inside[top : top + height, left : left + width] = 1
    return inside


def refilled_tikhonov(
    padded: Tensor, spectrum: Tensor, penalty: Tensor, box: Box, refills: int
) -> tuple[Tensor, Tensor]:
    """Tikhonov deconvolution of a padded image, its padding refilled ``refills`` times.

    Args:
        padded: the degraded image padded by :func:`pad_periodic`, (B, C, H, W).
        spectrum: the kernel's transfer function on that grid (``kernel_spectrum``).
        penalty: ``|G|^2`` of the smoothness penalty, e.g. a weighted ``gradient_spectrum``.
        box: where the image lies in ``padded``.
        refills: padding refills (:func:`refill_padding`), each followed by a new solve.

    Returns:
        (the padded image as last refilled, the estimate), both (B, C, H, W).
    """
    shape = (padded.shape[-2], padded.shape[-1])
    gain = spectrum.conj() / (spectrum.abs() ** 2 + penalty)  # the Tikhonov filter
    inside = inside_mask(padded, box)
    solution = gain * torch.fft.rfft2(padded)
    for _ in range(refills):
        # The estimate is blurred again from its spectrum: two FFTs per refill, not four.
        blurred = torch.fft.irfft2(solution * spectrum, s=shape)
        padded = torch.lerp(blurred, padded, inside)
        solution = gain * torch.fft.rfft2(padded)
    return padded, torch.fft.irfft2(solution, s=shape)


def wiener_deconvolve(
    image: Tensor, kernel: Tensor, balance: float, pad: int | None = None, refills: int = 5
) -> Tensor:
    """Tikhonov (Wiener-like) deconvolution with a gradient penalty of weight ``balance``.

    ``image`` (B, C, H, W) is padded by ``pad`` pixels (default: the kernel's side) with
    :func:`pad_periodic`, then deconvolved by :func:`refilled_tikhonov`; returns
    (B, C, H, W), unclipped.
    """
    pad = max(kernel.shape) if pad is None else pad
    padded, box = pad_periodic(image, pad)
    shape = (padded.shape[-2], padded.shape[-1])
    spectrum = kernel_spectrum(kernel.to(image), shape)
    penalty = balance * gradient_spectrum(shape, image.device)
    _, restored = refilled_tikhonov(padded, spectrum, penalty, box, refills)
    top, left, height, width = box
    return restored[..., top : top + height, left : left + width]


def quadratic_step(
    blurred: Tensor,
    spectrum: Tensor,
    estimate: Tensor,
    weight: Tensor | float,
    penalty: Tensor | float = 0.0,
) -> Tensor:
    """argmin_x ``|k * x - y|^2 + weight |x - z|^2 + |g * x|^2``, on one periodic grid.

    Args:
        blurred: rfft2 of the degraded image y, (B, C, H, W // 2 + 1).
        spectrum: the kernel's transfer function (``kernel_spectrum``).
        estimate: the current estimate z, (B, C, H, W), in the image domain.
        weight: how strongly x stays near z (the half-quadratic splitting penalty).
        penalty: ``|G|^2`` of a smoothness penalty g on x (e.g. a weighted
            ``gradient_spectrum``), or 0.

    Returns:
        x, (B, C, H, W).
    """
    shape = (estimate.shape[-2], estimate.shape[-1])
    numerator = spectrum.conj() * blurred + weight * torch.fft.rfft2(estimate)
    return torch.fft.irfft2(numerator / (spectrum.abs() ** 2 + weight + penalty), s=shape)

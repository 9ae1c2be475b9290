"""Deconvolution unrolled around a learned prior: half-quadratic splitting (HQS), one pair.

With the blur kernel k known (given, or estimated from the training pair), restoring
``y = k * x + noise`` alternates two steps, each in closed form or learned:

- data step: ``x_i = argmin |k * x - y|^2 + a_i |x - z_{i-1}|^2``, exact in the Fourier
  domain, reading the whole kernel at once however large it is;
- prior step: ``z_i = x_i + R([x_i, b_i])``, a small CNN R shared by the iterations and told
  the step's noise level b_i as an extra channel (zero output at the start).

``z_0`` is a Tikhonov deconvolution with a learned gradient penalty. The a_i and b_i follow
a schedule from strong to weak regularisation (as DPIR's), learned from there. Starting from
a zero prior output, the net starts as plain deconvolution and training only improves on it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional.deconvolution import (
    gradient_spectrum,
    kernel_spectrum,
    pad_periodic,
    quadratic_step,
)


def prior_cnn(channels: int, width: int, depth: int) -> nn.Sequential:
    """``depth`` 3x3 convolutions, ReLU between them, (C + 1) -> C channels; zero output."""
    layers: list[nn.Module] = [nn.Conv2d(channels + 1, width, 3, padding=1), nn.ReLU(True)]
    for _ in range(depth - 2):
        layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(True)]
    last = nn.Conv2d(width, channels, 3, padding=1)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)  # type: ignore[arg-type]  # a Conv2d with bias
    return nn.Sequential(*layers, last)


class UnrolledDeconvolution(nn.Module):
    """Half-quadratic splitting unrolled for ``iterations`` steps around a CNN prior.

    The kernel is a buffer (saved in checkpoints): ``set_degradation`` puts the pair's blur
    there before training. Whole images go through in tiles whose ``margin`` (each side) is
    about twice the kernel's reach plus the prior's, so tiles agree where they overlap to
    well below an 8-bit step, though not exactly (the FFT couples every pixel of a tile).

    Args:
        channels: image channels C.
        iterations: data/prior step pairs.
        width: prior CNN features.
        depth: prior CNN convolutions.
        kernel_size: side of the largest blur kernel it holds (odd).
        patch_size: side of the training crops, in pixels.
        margin: pixels at each side of a crop or tile that are restored but not kept.
        pad_factor: the image is mirrored by this times the kernel's side before the FFT.
    """

    kernel: Tensor

    def __init__(
        self,
        channels: int = 3,
        iterations: int = 3,
        width: int = 24,
        depth: int = 5,
        kernel_size: int = 41,
        patch_size: int = 96,
        margin: int = 16,
        pad_factor: float = 0.5,
    ) -> None:
        super().__init__()
        if iterations < 1 or width < 1 or depth < 2:
            raise InputError(
                "net.iterations and net.width must be positive and net.depth at least 2, got "
                f"{iterations}, {width}, {depth}"
            )
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise InputError(f"net.kernel_size must be a positive odd integer, got {kernel_size}")
        if margin < 0 or patch_size - 2 * margin < 1:
            raise InputError(
                f"net.patch_size {patch_size} must exceed twice net.margin {margin} (>= 0)"
            )
        self.channels, self.iterations = channels, iterations
        self.patch_size, self.margin, self.pad_factor = patch_size, margin, pad_factor
        self.context, self.stride, self.scale = 2 * margin + 1, 1, 1
        self.prior = prior_cnn(channels, width, depth)
        identity = torch.zeros(kernel_size, kernel_size)
        identity[kernel_size // 2, kernel_size // 2] = 1
        self.register_buffer("kernel", identity)
        self.log_penalty = nn.Parameter(torch.tensor(0.0))
        self.log_weights = nn.Parameter(torch.zeros(iterations))
        self.log_levels = nn.Parameter(torch.zeros(iterations))
        self.set_schedule(0.01)

    def set_schedule(self, noise_sigma: float) -> None:
        """Start the penalties from the noise level ``noise_sigma``.

        The prior's levels b_i go from 49/255 down to it, the data weights a_i = 0.23
        sigma^2 / b_i^2 (DPIR's rule).
        """
        sigma = max(noise_sigma, 1e-3)
        levels = torch.logspace(math.log10(49 / 255), math.log10(sigma), self.iterations)
        with torch.no_grad():
            self.log_levels.copy_(levels.log())
            self.log_weights.copy_((0.23 * sigma**2 / levels**2).log())
            self.log_penalty.fill_(math.log(20 * sigma**2))

    def set_degradation(self, kernel: Tensor, noise_sigma: float) -> None:
        """Use ``kernel`` (k, k), k <= ``kernel_size``, and start from ``noise_sigma``."""
        size = self.kernel.shape[-1]
        if max(kernel.shape) > size:
            raise InputError(
                f"the blur kernel is {kernel.shape[-1]}x{kernel.shape[-2]}, larger than "
                f"net.kernel_size {size}: raise it"
            )
        top, left = (size - kernel.shape[0]) // 2, (size - kernel.shape[1]) // 2
        with torch.no_grad():
            self.kernel.zero_()
            self.kernel[top : top + kernel.shape[0], left : left + kernel.shape[1]] = kernel
        self.set_schedule(noise_sigma)

    def support(self) -> Tensor:
        """The kernel trimmed to its smallest centred square holding every non-zero value."""
        centre = self.kernel.shape[-1] // 2
        rows, cols = torch.nonzero(self.kernel, as_tuple=True)
        reach = int(max((rows - centre).abs().max(), (cols - centre).abs().max()))
        return self.kernel[centre - reach : centre + reach + 1, centre - reach : centre + reach + 1]

    def restore(self, image: Tensor) -> Tensor:
        """(B, C, H, W) degraded -> (B, C, H, W) restored (borders less reliable)."""
        kernel = self.support()
        padded, (top, left, height, width) = pad_periodic(
            image, math.ceil(self.pad_factor * kernel.shape[-1])
        )
        shape = (padded.shape[-2], padded.shape[-1])
        spectrum = kernel_spectrum(kernel.to(image), shape)
        blurred = torch.fft.rfft2(padded)
        penalty = self.log_penalty.exp() * gradient_spectrum(shape, image.device)
        estimate = torch.fft.irfft2(
            spectrum.conj() * blurred / (spectrum.abs() ** 2 + penalty), s=shape
        )
        # The prior sees the image and a band of the padding, not all of it (cost).
        band = min(top, 8)
        rows = slice(top - band, top + height + band)
        cols = slice(left - band, left + width + band)
        for step in range(self.iterations):
            estimate = quadratic_step(blurred, spectrum, estimate, self.log_weights[step].exp())
            inner = estimate[..., rows, cols]
            level = self.log_levels[step].exp().expand(inner.shape[0], 1, *inner.shape[-2:])
            correction = self.prior(torch.cat([inner, level], 1))
            estimate = estimate + F.pad(
                correction,
                (cols.start, shape[1] - cols.stop, rows.start, shape[0] - rows.stop),
            )
        return estimate[..., top : top + height, left : left + width]

    def forward(self, patches: Tensor) -> Tensor:
        """(N, C, p, p) degraded crops -> (N, C, p - 2 margin, p - 2 margin) restored."""
        m = self.margin
        return self.restore(patches)[..., m : patches.shape[-2] - m, m : patches.shape[-1] - m]

    def forward_valid(self, image: Tensor) -> Tensor:
        """(B, C, h + 2 margin, w + 2 margin) -> (B, C, h, w)."""
        return self.forward(image)

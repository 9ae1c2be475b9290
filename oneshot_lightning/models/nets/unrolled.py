"""Deconvolution unrolled around a learned prior: half-quadratic splitting (HQS), one pair.

With the blur kernel k known (given, or estimated from the training pair), restoring
``y = k * x + noise`` alternates two steps, each in closed form or learned:

- data step: ``x_i = argmin |k * x - y|^2 + a_i |x - z_{i-1}|^2 + g |grad x|^2``, exact in
  the Fourier domain, reading the whole kernel at once however large it is;
- prior step: ``z_i = x_i + R([x_i, b_i])``, a small CNN R shared by the iterations and told
  the step's noise level b_i as an extra channel (zero output at the start).

``z_0`` is a boundary-aware Tikhonov deconvolution (gradient penalty g, padding refilled from
the re-blurred estimate). The a_i and b_i follow a schedule from strong to weak
regularisation (as DPIR's), learned from there. With the prior's output zero at the start,
the net starts as plain deconvolution and training only improves on it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import dihedral
from oneshot_lightning.functional.deconvolution import (
    gradient_spectrum,
    kernel_spectrum,
    pad_periodic,
    quadratic_step,
    refill_padding,
    refilled_tikhonov,
)
from oneshot_lightning.functional.kernels import embed_kernel, trim_kernel


class HalfResolutionPrior(nn.Module):
    """A one-level UNet: full resolution, then ``depth`` 3x3 convolutions at half of it.

    (B, C + 1, H, W) -> (B, C, H, W); the extra input channel is the noise level map. The
    last convolution starts at zero, so the prior starts as no correction.
    """

    def __init__(self, channels: int, width: int, depth: int) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(channels + 1, width, 3, padding=1), nn.ReLU(True))
        self.down = nn.Sequential(nn.Conv2d(width, 2 * width, 2, stride=2), nn.ReLU(True))
        body: list[nn.Module] = []
        for _ in range(depth):
            body += [nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.ReLU(True)]
        self.body = nn.Sequential(*body)
        self.up = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.tail = nn.Sequential(
            nn.ReLU(True), nn.Conv2d(width, width, 3, padding=1), nn.ReLU(True)
        )
        self.last = nn.Conv2d(width, channels, 3, padding=1)
        nn.init.zeros_(self.last.weight)
        nn.init.zeros_(self.last.bias)  # type: ignore[arg-type]  # a Conv2d with bias

    def forward(self, features: Tensor) -> Tensor:
        """(B, C + 1, H, W) -> (B, C, H, W)."""
        height, width = features.shape[-2:]
        features = F.pad(features, (0, width % 2, 0, height % 2), mode="replicate")
        skip = self.head(features)
        out = self.last(self.tail(self.up(self.body(self.down(skip))) + skip))
        return out[..., :height, :width]


class UnrolledDeconvolution(nn.Module):
    """Half-quadratic splitting unrolled for ``iterations`` steps around a CNN prior.

    The kernel is a buffer (saved in checkpoints): ``set_degradation`` puts the pair's blur
    there before training. Training crops lose ``margin`` pixels at each side; whole images
    go through ``restore`` whole, or in overlapping tiles read with four kernel sides of margin
    (``context``), which agree where they meet closely but not exactly (the FFT couples
    every pixel of a tile): a large ``tile_size`` keeps most images in one piece.

    Args:
        channels: image channels C.
        iterations: data/prior step pairs.
        width: prior features at full resolution (twice that at half resolution).
        depth: prior convolutions at half resolution.
        kernel_size: side of the largest blur kernel it holds (odd).
        patch_size: side of the training crops, in pixels.
        margin: pixels at each side of a training crop that are restored but not scored.
        pad_factor: the image is padded by this times the kernel's side before the FFT.
        refills: boundary refills of the first deconvolution (``wiener_deconvolve``).
    """

    kernel: Tensor

    def __init__(
        self,
        channels: int = 3,
        iterations: int = 3,
        width: int = 24,
        depth: int = 2,
        kernel_size: int = 41,
        patch_size: int = 96,
        margin: int = 16,
        pad_factor: float = 1.0,
        refills: int = 5,
    ) -> None:
        super().__init__()
        if iterations < 1 or width < 1 or depth < 1:
            raise InputError(
                "net.iterations, net.width and net.depth must be positive, got "
                f"{iterations}, {width}, {depth}"
            )
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise InputError(f"net.kernel_size must be a positive odd integer, got {kernel_size}")
        if margin < 0 or patch_size - 2 * margin < 1:
            raise InputError(
                f"net.patch_size {patch_size} must exceed twice net.margin {margin} (>= 0)"
            )
        self.channels, self.iterations, self.refills = channels, iterations, refills
        self.patch_size, self.margin, self.pad_factor = patch_size, margin, pad_factor
        self.stride, self.scale = 1, 1
        self.prior = HalfResolutionPrior(channels, width, depth)
        identity = torch.zeros(kernel_size, kernel_size)
        identity[kernel_size // 2, kernel_size // 2] = 1
        self.register_buffer("kernel", identity)
        self.log_penalty = nn.Parameter(torch.tensor(0.0))
        self.log_weights = nn.Parameter(torch.zeros(iterations))
        self.log_levels = nn.Parameter(torch.zeros(iterations))
        self.view = 0  # the dihedral transform images are seen through (self-ensembles)
        self.set_schedule(0.01)

    def set_schedule(self, noise_sigma: float) -> None:
        """Start the penalties from the noise level ``noise_sigma``.

        The prior's levels b_i go from 49/255 down to it, the data weights a_i = 0.23
        sigma^2 / b_i^2 (DPIR's rule), the gradient penalty g = 20 sigma^2.
        """
        sigma = max(noise_sigma, 1e-3)
        levels = torch.logspace(math.log10(49 / 255), math.log10(sigma), self.iterations)
        with torch.no_grad():
            self.log_levels.copy_(levels.log())
            self.log_weights.copy_((0.23 * sigma**2 / levels**2).log())
            self.log_penalty.fill_(math.log(20 * sigma**2))

    def set_degradation(self, kernel: Tensor, noise_sigma: float) -> None:
        """Use ``kernel`` (k, k), k <= ``kernel_size``, and start from ``noise_sigma``."""
        square = embed_kernel(kernel.to(self.kernel), self.kernel.shape[-1], "net.kernel_size")
        with torch.no_grad():
            self.kernel.copy_(square)
        self.set_schedule(noise_sigma)

    @property
    def context(self) -> int:
        """Side of the window a tile is read with: four kernel sides of margin at least.

        Deconvolution errors at a tile's cut edges decay over a few kernel sides; with four,
        40-pixel tiles of a 128-pixel image agree with the whole image to 0.3 8-bit steps on
        average, 11 at worst (a 7x7 shake kernel, untrained prior).
        """
        return 2 * max(self.margin, 4 * self.support().shape[-1]) + 1

    def set_view(self, index: int) -> None:
        """See images through dihedral transform ``index``: the kernel turns with them."""
        self.view = index

    def support(self) -> Tensor:
        """The kernel, as seen in the current view, trimmed to its non-zero centred square."""
        return dihedral(trim_kernel(self.kernel), self.view)

    def restore(self, image: Tensor) -> Tensor:
        """(B, C, H, W) degraded -> (B, C, H, W) restored (borders less reliable)."""
        kernel = self.support().to(image)
        padded, box = pad_periodic(image, math.ceil(self.pad_factor * kernel.shape[-1]))
        top, left, height, width = box
        shape = (padded.shape[-2], padded.shape[-1])
        spectrum = kernel_spectrum(kernel, shape)
        penalty = self.log_penalty.exp() * gradient_spectrum(shape, image.device)
        padded, estimate = refilled_tikhonov(padded, spectrum, penalty, box, self.refills)
        # The prior sees the image and a band of the padding, not all of it (cost).
        band = min(top, 8)
        rows = slice(top - band, top + height + band)
        cols = slice(left - band, left + width + band)
        for step in range(self.iterations):
            weight = self.log_weights[step].exp()
            estimate = quadratic_step(
                torch.fft.rfft2(padded), spectrum, estimate, weight, penalty
            )
            inner = estimate[..., rows, cols]
            level = self.log_levels[step].exp().expand(inner.shape[0], 1, *inner.shape[-2:])
            correction = self.prior(torch.cat([inner, level], 1))
            estimate = estimate + F.pad(
                correction,
                (cols.start, shape[1] - cols.stop, rows.start, shape[0] - rows.stop),
            )
            if step < self.iterations - 1:
                padded = refill_padding(padded, estimate, spectrum, box)
        return estimate[..., top : top + height, left : left + width]

    def forward(self, patches: Tensor) -> Tensor:
        """(N, C, p, p) degraded crops -> (N, C, p - 2 margin, p - 2 margin) restored."""
        m = self.margin
        return self.restore(patches)[..., m : patches.shape[-2] - m, m : patches.shape[-1] - m]

    def forward_valid(self, image: Tensor) -> Tensor:
        """(B, C, h + context - 1, w + context - 1) -> (B, C, h, w)."""
        m = self.context // 2
        return self.restore(image)[..., m : image.shape[-2] - m, m : image.shape[-1] - m]

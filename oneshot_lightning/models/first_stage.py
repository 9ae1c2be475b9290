"""A deconvolution first stage for any net: deconvolve whole images, then the net corrects.

A patch net reads a window of a few pixels; a camera-shake kernel spreads a point over 27.
Deconvolving the whole image first with the pair's kernel (given, or estimated from the pair)
leaves the net a local job: with its identity start (residual nets), the system starts as
the deconvolution and training only improves on it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from oneshot_lightning.errors import require
from oneshot_lightning.functional import dihedral
from oneshot_lightning.functional.deconvolution import wiener_deconvolve
from oneshot_lightning.functional.kernels import embed_kernel, trim_kernel
from oneshot_lightning.hand_over import TrainingPair
from oneshot_lightning.metrics import psnr

#: Balances tried on the training pair, in units of the noise variance.
BALANCE_GRID = tuple(2.0**power for power in range(0, 10))


class Deconvolution(nn.Module):
    """Boundary-aware Tikhonov deconvolution with the pair's kernel.

    (B, C, H, W) degraded -> (B, C, H, W) deconvolved, unclipped. The kernel and the balance
    are buffers (saved in checkpoints); ``set_degradation`` sets them before training and
    ``tune`` chooses the balance on the training pair.

    Args:
        kernel_size: side of the largest blur kernel it holds (odd).
        pad_factor: images are padded by this times the kernel's side before the FFT.
        refills: boundary refills (``functional.deconvolution.wiener_deconvolve``).
        sharpness: the balance tuned on the pair is divided by this: above 1, a sharper and
            noisier first stage that leaves more of the image's detail (and of its noise) to
            the net after it.
    """

    kernel: Tensor
    balance: Tensor

    def __init__(
        self,
        kernel_size: int = 41,
        pad_factor: float = 1.0,
        refills: int = 5,
        sharpness: float = 1.0,
    ) -> None:
        super().__init__()
        odd = kernel_size >= 1 and kernel_size % 2 == 1
        require(odd, "model.first_stage.kernel_size", "a positive odd integer", kernel_size)
        require(sharpness > 0, "model.first_stage.sharpness", "positive", sharpness)
        self.pad_factor, self.refills, self.sharpness = pad_factor, refills, sharpness
        identity = torch.zeros(kernel_size, kernel_size)
        identity[kernel_size // 2, kernel_size // 2] = 1
        self.register_buffer("kernel", identity)
        self.register_buffer("balance", torch.tensor(1e-3))
        self.view = 0

    def set_degradation(self, kernel: Tensor, noise_sigma: float) -> None:
        """Hold ``kernel`` (k, k), k <= ``kernel_size``; a balance of 40 noise variances."""
        size = self.kernel.shape[-1]
        square = embed_kernel(kernel.to(self.kernel), size, "model.first_stage.kernel_size")
        with torch.no_grad():
            self.kernel.copy_(square)
            self.balance.fill_(40 * max(noise_sigma, 1e-3) ** 2)

    @torch.no_grad()
    def tune(self, degraded: Tensor, clean: Tensor, noise_sigma: float, border: int = 8) -> float:
        """Keep the balance that restores (B, C, H, W) ``degraded`` best (over ``sharpness``).

        Returns the PSNR, in dB, of the best balance of the grid.
        """
        variance = max(noise_sigma, 1e-3) ** 2
        scores = {}
        for factor in BALANCE_GRID:
            self.balance.fill_(factor * variance)
            restored = self(degraded).clamp(0, 1)
            scores[factor] = psnr(restored, clean, border).item()
        best = max(scores, key=scores.__getitem__)
        self.balance.fill_(best * variance / self.sharpness)
        return scores[best]

    def fit_to(self, pair: TrainingPair) -> float:
        """Take the pair's blur and tune the balance on it; the pair's PSNR after, in dB."""
        blur = pair.require_blur("model.first_stage")
        self.set_degradation(blur.kernel, blur.noise_sigma)
        return self.tune(pair.degraded[None], pair.clean[None], blur.noise_sigma)

    def set_view(self, index: int) -> None:
        """See images through dihedral transform ``index``: the kernel turns with them."""
        self.view = index

    def support(self) -> Tensor:
        """The kernel, as seen in the current view, trimmed to its non-zero centred square."""
        return dihedral(trim_kernel(self.kernel), self.view)

    def forward(self, image: Tensor) -> Tensor:
        """(B, C, H, W) degraded -> (B, C, H, W) deconvolved."""
        balance = float(self.balance)
        return wiener_deconvolve(image, self.support(), balance, self.padding, self.refills)

    @property
    def padding(self) -> int:
        """Pixels of padding around an image before the FFT: ``pad_factor`` x the kernel's side."""
        return math.ceil(self.pad_factor * trim_kernel(self.kernel).shape[-1])

"""Degradation operators that turn a clean image into the degraded one.

The same modules make training pairs (``--data.target`` alone) and benchmark inputs.
Functions first, ``nn.Module`` wrappers after; images are (B, C, H, W) floats in [0, 1].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from oneshot_lightning.data.io import read_image
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import (
    add_gaussian_noise,
    bicubic_downscale,
    convolve,
    gaussian_kernel,
    quantize,
)


def load_kernel(path: str | Path) -> Tensor:
    """Read a blur kernel from ``.npy`` or an image file, normalised to sum to 1; (kh, kw)."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        if not path.is_file():
            raise InputError(f"kernel file not found: {path}")
        try:
            array = np.load(path, allow_pickle=False)
        except ValueError as error:
            raise InputError(f"cannot read kernel {path}: {error}") from None
        kernel = torch.from_numpy(np.asarray(array, dtype=np.float32))
    else:
        kernel = read_image(path).mean(0)
    if kernel.ndim != 2 or kernel.numel() == 0:
        raise InputError(f"kernel {path} must be a 2-D array, got shape {tuple(kernel.shape)}")
    if (kernel < 0).any() or kernel.sum() <= 0:
        raise InputError(f"kernel {path} must be non-negative with a positive sum")
    return kernel / kernel.sum()


class Blur(nn.Module):
    """Convolution with a fixed kernel (reflect borders); subclasses say where it comes from."""

    kernel: Tensor

    def __init__(self, kernel: Tensor, border: str = "reflect") -> None:
        super().__init__()
        self.border = border
        self.register_buffer("kernel", kernel, persistent=False)

    def forward(self, image: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        return convolve(image, self.kernel, self.border)


class GaussianBlur(Blur):
    """Gaussian blur, isotropic or anisotropic (``sigma_y``, ``angle`` in degrees)."""

    def __init__(
        self,
        sigma: float = 1.6,
        size: int = 15,
        sigma_y: float | None = None,
        angle: float = 0.0,
        border: str = "reflect",
    ) -> None:
        super().__init__(gaussian_kernel(size, sigma, sigma_y, angle), border)


class KernelBlur(Blur):
    """Blur with a kernel read from a ``.npy`` array or a grey image file."""

    def __init__(self, path: str, border: str = "reflect") -> None:
        super().__init__(load_kernel(path), border)


class Degradation(nn.Module):
    """Blur, bicubic downscaling (for super-resolution), noise, 8-bit quantisation.

    Args:
        blur: a blur operator (e.g. :class:`GaussianBlur`, :class:`KernelBlur`), or none.
        noise_sigma: noise standard deviation on the [0, 1] scale (0.01 = 2.55 grey levels).
        quantize: round to 8 bits, as a saved degraded image would be.
    """

    def __init__(
        self, blur: nn.Module | None = None, noise_sigma: float = 0.0, quantize: bool = True
    ) -> None:
        super().__init__()
        if noise_sigma < 0:
            raise InputError(f"noise_sigma must be >= 0, got {noise_sigma}")
        self.blur = blur
        self.noise_sigma = noise_sigma
        self.quantize = quantize

    def forward(
        self, image: Tensor, generator: torch.Generator | None = None, scale: int = 1
    ) -> Tensor:
        """(B, C, s*h, s*w) clean -> (B, C, h, w) degraded; ``generator`` seeds the noise.

        ``scale`` s > 1 shrinks with MATLAB-compatible bicubic (antialiased) after the blur.
        """
        out = image if self.blur is None else self.blur(image)
        if scale > 1:
            out = bicubic_downscale(out, scale)
        if self.noise_sigma > 0:
            out = add_gaussian_noise(out, self.noise_sigma, generator)
        return quantize(out) if self.quantize else out.clamp(0, 1)

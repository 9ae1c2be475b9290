"""Degradation operators that turn a clean image into the degraded one.

The same modules make training pairs (``--data.target`` alone) and benchmark inputs.
Functions first, ``nn.Module`` wrappers after; images are (B, C, H, W) floats in [0, 1].
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from kornia.filters import filter2d
from torch import Tensor, nn

from oneshot_lightning.data.io import read_image
from oneshot_lightning.data.resize import bicubic_downscale
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


def blur(image: Tensor, kernel: Tensor, border: str = "reflect") -> Tensor:
    """Convolve (B, C, H, W) with a (kh, kw) kernel, padding the borders by ``border``."""
    kh, kw = kernel.shape
    if border == "reflect" and (image.shape[-2] <= kh // 2 or image.shape[-1] <= kw // 2):
        raise InputError(
            f"image {tuple(image.shape[-2:])} is too small for a {kh}x{kw} blur kernel"
        )
    # filter2d correlates; flipping the kernel makes it a true convolution.
    flipped = kernel.flip(-2, -1).to(image)[None]
    return filter2d(image, flipped, border_type=border)


def add_gaussian_noise(
    image: Tensor, sigma: float, generator: torch.Generator | None = None
) -> Tensor:
    """Add white Gaussian noise of standard deviation ``sigma`` (same units as the image)."""
    noise = torch.randn(image.shape, generator=generator, dtype=image.dtype, device=image.device)
    return image + sigma * noise


def noise_generator(seed: int, index: int = 0) -> torch.Generator:
    """The generator for image ``index`` of a set degraded with ``seed``: one draw each."""
    return torch.Generator().manual_seed(seed + 7919 * index)


def quantize(image: Tensor, bits: int = 8) -> Tensor:
    """Clip to [0, 1] and round to ``2**bits - 1`` levels, as saving an image file does."""
    levels = 2**bits - 1
    return (image.clamp(0, 1) * levels).round() / levels


class Blur(nn.Module):
    """Convolution with a fixed kernel (reflect borders); subclasses say where it comes from."""

    kernel: Tensor

    def __init__(self, kernel: Tensor, border: str = "reflect") -> None:
        super().__init__()
        self.border = border
        self.register_buffer("kernel", kernel, persistent=False)

    def forward(self, image: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        return blur(image, self.kernel, self.border)


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

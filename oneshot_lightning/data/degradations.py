"""Degradation operators that turn a clean image into the degraded one.

The same modules make training pairs (``--data.target`` alone) and benchmark inputs.
Functions first, ``nn.Module`` wrappers after; images are (B, C, H, W) floats in [0, 1].
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from oneshot_lightning.data.io import read_image, to_uint8
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import (
    add_gaussian_noise,
    add_poisson_noise,
    bicubic_downscale,
    convolve,
    disk_kernel,
    estimate_downscaling_kernel,
    gaussian_kernel,
    kernel_downscale,
    motion_kernel,
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


class DefocusBlur(Blur):
    """Out-of-focus blur: a uniform disk of ``radius`` pixels (see ``disk_kernel``)."""

    def __init__(self, radius: float = 3.0, border: str = "reflect") -> None:
        super().__init__(disk_kernel(radius), border)


class MotionBlur(Blur):
    """Straight camera motion of ``length`` pixels along ``angle`` degrees (``motion_kernel``)."""

    def __init__(self, length: float = 9.0, angle: float = 0.0, border: str = "reflect") -> None:
        super().__init__(motion_kernel(length, angle), border)


class KernelBlur(Blur):
    """Blur with a kernel read from a ``.npy`` array or a grey image file."""

    def __init__(self, path: str, border: str = "reflect") -> None:
        super().__init__(load_kernel(path), border)


class KernelDownscale(nn.Module):
    """Downscaling by a kernel (``functional.kernel_downscale``): a known one or the photo's own.

    Args:
        path: a ``.npy`` or grey-image kernel on the high-resolution grid, centred on the
            block each low-resolution pixel covers (``functional.downscaling``). ``None``:
            the kernel is estimated from the zero-shot photo when ``fit`` sets up
            (``functional.estimate_downscaling_kernel``, blind super-resolution).
    """

    def __init__(self, path: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.kernel: Tensor | None = None if path is None else load_kernel(path)
        #: Where the kernel comes from, as the run's report says it.
        self.source = f"read from {path}"

    def estimate(self, photo: Tensor, scale: int) -> None:
        """Estimate the kernel from the (C, H, W) low-resolution ``photo`` (unless given)."""
        if self.path is None:
            found = estimate_downscaling_kernel(photo, scale)
            self.kernel = found.kernel
            self.source = f"estimated from the photo alone: {found.description}"

    def forward(self, image: Tensor, scale: int) -> Tensor:
        """(B, C, s h, s w) -> (B, C, h, w)."""
        if self.kernel is None:
            raise InputError(
                "data.degradation's downscale estimates its kernel from a zero-shot photo: give "
                "data.input alone, or the kernel's file as downscale.init_args.path"
            )
        return kernel_downscale(image, self.kernel, scale)


def jpeg_roundtrip(image: Tensor, quality: int) -> Tensor:
    """(B, C, H, W) in [0, 1] -> the same, saved as 8-bit JPEG of ``quality`` and read back."""
    decoded = []
    for single in image:
        buffer = io.BytesIO()
        Image.fromarray(to_uint8(single)).save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        array = np.asarray(Image.open(buffer), dtype=np.float32) / 255
        decoded.append(torch.from_numpy(array).reshape(single.shape[1], single.shape[2], -1))
    return torch.stack(decoded).permute(0, 3, 1, 2).to(image)


class Degradation(nn.Module):
    """Blur, downscaling (for super-resolution), noise, 8-bit quantisation or JPEG.

    In camera order: the optics blur, the sensor adds photon (shot) noise, then read noise,
    and the file is 8-bit, or JPEG when ``jpeg_quality`` is set.

    Args:
        blur: a blur operator (e.g. :class:`GaussianBlur`, :class:`KernelBlur`), or none.
        noise_sigma: Gaussian (read) noise standard deviation on the [0, 1] scale (0.01 =
            2.55 grey levels).
        poisson_peak: photons at value 1 for shot noise (``add_poisson_noise``), whose
            standard deviation at value v is sqrt(v / peak); none by default.
        jpeg_quality: save as JPEG of this quality (1-95) instead of plain 8 bits.
        quantize: round to 8 bits, as a saved degraded image would be.
        downscale: how super-resolution inputs are made smaller: a :class:`KernelDownscale`,
            or ``None`` for MATLAB-compatible bicubic (antialiased).
    """

    def __init__(
        self,
        blur: nn.Module | None = None,
        noise_sigma: float = 0.0,
        poisson_peak: float | None = None,
        jpeg_quality: int | None = None,
        quantize: bool = True,
        downscale: KernelDownscale | None = None,
    ) -> None:
        super().__init__()
        if noise_sigma < 0:
            raise InputError(f"noise_sigma must be >= 0, got {noise_sigma}")
        if poisson_peak is not None and poisson_peak <= 0:
            raise InputError(f"poisson_peak must be positive, got {poisson_peak}")
        if jpeg_quality is not None and not 1 <= jpeg_quality <= 95:
            raise InputError(f"jpeg_quality must be between 1 and 95, got {jpeg_quality}")
        self.blur, self.downscale = blur, downscale
        self.noise_sigma = noise_sigma
        self.poisson_peak = poisson_peak
        self.jpeg_quality = jpeg_quality
        self.quantize = quantize

    def forward(
        self, image: Tensor, generator: torch.Generator | None = None, scale: int = 1
    ) -> Tensor:
        """(B, C, s*h, s*w) clean -> (B, C, h, w) degraded; ``generator`` seeds the noise.

        ``scale`` s > 1 shrinks by ``downscale`` after the blur.
        """
        out = image if self.blur is None else self.blur(image)
        if scale > 1 and self.downscale is not None:
            out = self.downscale(out, scale)
        elif scale > 1:
            out = bicubic_downscale(out, scale)
        if self.poisson_peak is not None:
            out = add_poisson_noise(out, self.poisson_peak, generator)
        if self.noise_sigma > 0:
            out = add_gaussian_noise(out, self.noise_sigma, generator)
        if self.jpeg_quality is not None:
            return jpeg_roundtrip(out, self.jpeg_quality)
        return quantize(out) if self.quantize else out.clamp(0, 1)

    def fit_to(self, photo: Tensor, scale: int) -> None:
        """Estimate what is estimated from the (C, H, W) zero-shot ``photo`` itself, if any."""
        if self.downscale is not None and scale > 1:
            self.downscale.estimate(photo, scale)

    @property
    def downscale_kernel(self) -> Tensor | None:
        """The downscaling kernel when it is not MATLAB's bicubic (after :meth:`fit_to`)."""
        return None if self.downscale is None else self.downscale.kernel

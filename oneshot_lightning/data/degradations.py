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
    Downscaling,
    add_gaussian_noise,
    add_poisson_noise,
    bicubic_downscale,
    convolve,
    disk_kernel,
    estimate_downscaling,
    gaussian_kernel,
    kernel_downscale,
    motion_kernel,
    quantize,
    resize_routine,
)
from oneshot_lightning.functional.resize_kernels import ROUTINES


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

    Give at most one of ``path`` and ``routine``; with neither, how the zero-shot photo was
    shrunk is estimated from it when ``fit`` sets up (``functional.estimate_downscaling``).

    Args:
        path: a ``.npy`` or grey-image kernel of one step of ``data.scale``, on the
            high-resolution grid, centred on the block each low-resolution pixel covers
            (``functional.downscaling``).
        routine: the resize routine that shrank the photo, a key of
            ``functional.resize_kernels.ROUTINES`` (e.g. ``bicubic`` for MATLAB's imresize
            and Pillow, ``cubic_sampled`` for OpenCV's ``INTER_CUBIC``).
        camera: when estimating, let a camera-like Gaussian be a candidate too (a few seconds
            more; for photos not shrunk by software).
    """

    def __init__(
        self, path: str | None = None, routine: str | None = None, camera: bool = False
    ) -> None:
        super().__init__()
        if path is not None and routine is not None:
            raise InputError(
                "downscale.init_args.path and downscale.init_args.routine both name the "
                "kernel: give one"
            )
        if routine is not None and routine not in ROUTINES:
            raise InputError(
                f"downscale.init_args.routine must be one of {', '.join(ROUTINES)}, got "
                f"{routine!r}"
            )
        self.path, self.routine, self.camera = path, routine, camera
        self.kernel_file = None if path is None else load_kernel(path)
        #: How the photo was shrunk, once known (:meth:`estimate`, or the first call).
        self.found: Downscaling | None = None

    @property
    def source(self) -> str:
        """Where ``found`` comes from, as the run's report says it."""
        if self.routine is not None:
            return "given as data.degradation's downscale routine"
        if self.path is not None:
            return f"read from {self.path}"
        return "estimated from the photo alone"

    def known(self, scale: int) -> Downscaling | None:
        """The given kernel or routine at ``scale``; ``None`` when it is to be estimated."""
        if self.routine is not None:
            return resize_routine(self.routine, scale)
        if self.kernel_file is not None:
            return Downscaling(self.kernel_file, scale, "the given kernel")
        return None

    def estimate(self, photo: Tensor, scale: int) -> None:
        """Find how the (C, H, W) low-resolution ``photo`` was shrunk (unless given)."""
        self.found = self.known(scale) or estimate_downscaling(photo, scale, self.camera)

    def forward(self, image: Tensor, scale: int) -> Tensor:
        """(B, C, s h, s w) -> (B, C, h, w)."""
        if self.found is None:
            self.found = self.known(scale)
        if self.found is None:
            raise InputError(
                "data.degradation's downscale estimates its kernel from a zero-shot photo: give "
                "data.input alone, or the kernel as downscale.init_args.path or .routine"
            )
        return kernel_downscale(image, self.found.kernel, scale)


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

    def alternatives(self) -> list[Degradation]:
        """This degradation with each other resize routine the photo may have been shrunk by.

        Empty unless the zero-shot photo's downscaling could not be told apart
        (``Downscaling.alternatives``): its validation blocks are then made by each too.
        """
        found = None if self.downscale is None else self.downscale.found
        if found is None:
            return []
        noise = (self.noise_sigma, self.poisson_peak, self.jpeg_quality, self.quantize)
        return [
            Degradation(self.blur, *noise, downscale=KernelDownscale(routine=key))
            for key in found.alternatives
        ]

    def fit_to(self, photo: Tensor, scale: int) -> None:
        """Estimate what is estimated from the (C, H, W) zero-shot ``photo`` itself, if any."""
        if self.downscale is not None and scale > 1:
            self.downscale.estimate(photo, scale)

"""Blur kernel and noise level of a degraded/clean pair, by regularised least squares.

The pair is modelled as ``degraded = kernel * clean + noise`` (a convolution, with whatever
border rule the camera or the software used). Only the valid region, at least the kernel's
radius from the borders, is fitted, so the border rule does not matter. The fit runs on image
gradients, which whitens natural images and makes the normal equations well conditioned;
they are solved by conjugate gradients with FFT-based operators. The support is read off the
data: a first fit at the largest radius shows where the kernel stands above its own noise
floor (measured on its outer ring), and a second fit at that radius gives the estimate,
non-negative and summing to 1. The noise level is the standard deviation of what the fitted
blur leaves unexplained.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from oneshot_lightning.errors import InputError


class KernelEstimate(NamedTuple):
    """A blur kernel and the noise beside it.

    Attributes:
        kernel: (k, k), k odd, non-negative, summing to 1.
        noise_sigma: standard deviation of what the blur does not explain, in [0, 1] units.
    """

    kernel: Tensor
    noise_sigma: float


def gradients(image: Tensor) -> Tensor:
    """(C, H, W) -> (2C, H, W): forward differences along x, then y (last column/row 0)."""
    along_x = torch.zeros_like(image)
    along_y = torch.zeros_like(image)
    along_x[..., :, :-1] = image[..., :, 1:] - image[..., :, :-1]
    along_y[..., :-1, :] = image[..., 1:, :] - image[..., :-1, :]
    return torch.cat([along_x, along_y])


class ValidConvolution:
    """``kernel -> (clean * kernel)`` on the valid region, and its adjoint, through the FFT.

    Args:
        clean: (C, H, W) float64.
        radius: kernel radius r (kernels are (2r + 1, 2r + 1)).
        border: pixels beyond r excluded at each side (e.g. 1 for forward differences).
    """

    def __init__(self, clean: Tensor, radius: int, border: int = 0) -> None:
        self.height, self.width = clean.shape[-2:]
        self.radius = radius
        self.spectrum = torch.fft.rfft2(clean)
        keep = radius + border
        self.mask = torch.zeros(self.height, self.width, dtype=clean.dtype)
        self.mask[keep : self.height - keep, keep : self.width - keep] = 1

    def __call__(self, kernel: Tensor) -> Tensor:
        """(2r + 1, 2r + 1) -> (C, H, W), zero outside the valid region."""
        embedded = torch.zeros(self.height, self.width, dtype=kernel.dtype)
        embedded[: kernel.shape[0], : kernel.shape[1]] = kernel
        embedded = embedded.roll((-self.radius, -self.radius), (0, 1))
        blurred = torch.fft.irfft2(self.spectrum * torch.fft.rfft2(embedded), s=self.mask.shape)
        return blurred * self.mask

    def adjoint(self, residual: Tensor) -> Tensor:
        """(C, H, W) -> (2r + 1, 2r + 1): the correlation of ``residual`` with the image."""
        spectrum = torch.fft.rfft2(residual * self.mask) * self.spectrum.conj()
        correlation = torch.fft.irfft2(spectrum, s=self.mask.shape).sum(0)
        side = 2 * self.radius + 1
        return correlation.roll((self.radius, self.radius), (0, 1))[:side, :side]


def conjugate_gradients(
    operator: Callable[[Tensor], Tensor], rhs: Tensor, iterations: int, tolerance: float
) -> Tensor:
    """Solve ``operator(k) = rhs`` for a symmetric positive definite ``operator``."""
    solution = torch.zeros_like(rhs)
    residual = rhs.clone()
    direction = residual.clone()
    norm = (residual * residual).sum()
    target = tolerance * (rhs * rhs).sum()
    for _ in range(iterations):
        image = operator(direction)
        step = norm / (direction * image).sum()
        solution += step * direction
        residual -= step * image
        new_norm = (residual * residual).sum()
        if new_norm < target:
            break
        direction = residual + (new_norm / norm) * direction
        norm = new_norm
    return solution


def least_squares_kernel(
    degraded: Tensor, clean: Tensor, radius: int, regularization: float
) -> Tensor:
    """The (2r + 1, 2r + 1) kernel minimising the valid-region error of gradient images.

    ``regularization`` is relative to the images' energy (Tikhonov on the kernel).
    """
    blur = ValidConvolution(gradients(clean), radius, border=1)
    target = gradients(degraded)
    weight = regularization * float((blur.mask * gradients(clean) ** 2).sum()) / clean.shape[0]
    return conjugate_gradients(
        lambda k: blur.adjoint(blur(k)) + weight * k,
        blur.adjoint(target),
        iterations=200,
        tolerance=1e-10,
    )


def support_radius(kernel: Tensor, threshold: float = 4.0, ring: int = 3) -> tuple[int, float]:
    """Radius of the centred square that holds every value above the noise floor.

    The floor is ``threshold`` standard deviations of the outer ``ring`` of ``kernel``, where
    a large enough kernel is pure estimation noise. Returns (radius, that deviation).
    """
    centre = kernel.shape[0] // 2
    outer = torch.ones_like(kernel, dtype=torch.bool)
    outer[ring:-ring, ring:-ring] = False
    deviation = float(kernel[outer].std())
    above = torch.nonzero(kernel > threshold * deviation)
    if len(above) == 0:
        return 0, deviation
    return int((above - centre).abs().max()), deviation


def estimate_kernel(
    degraded: Tensor,
    clean: Tensor,
    max_size: int = 41,
    regularization: float = 1e-4,
    max_pixels: int = 1_000_000,
) -> KernelEstimate:
    """Estimate the blur kernel and the noise level of one aligned pair.

    Args:
        degraded: (C, H, W) blurred, noisy image in [0, 1].
        clean: (C, H, W) sharp image of the same scene, aligned with it.
        max_size: largest kernel side considered, odd, in pixels.
        regularization: Tikhonov weight, relative to the gradient energy.
        max_pixels: the fit uses the centre crop of about this many pixels (it costs about
            a second per megapixel on 2 CPU cores).

    Returns:
        The kernel, trimmed to its support (1 x 1 when there is no measurable blur), and the
        noise standard deviation.
    """
    if degraded.shape != clean.shape:
        raise InputError(
            f"kernel estimation needs a pair of one size, got {tuple(degraded.shape)} and "
            f"{tuple(clean.shape)}"
        )
    if max_size < 1 or max_size % 2 == 0:
        raise InputError(f"the largest kernel size must be a positive odd integer, got {max_size}")
    height, width = clean.shape[-2:]
    side = int(max_pixels**0.5)
    top, left = max(0, (height - side) // 2), max(0, (width - side) // 2)
    degraded, clean = (
        image[:, top : top + side, left : left + side].double() for image in (degraded, clean)
    )
    largest = min(max_size // 2, (min(clean.shape[-2:]) - 3) // 4)
    if largest < 1:
        raise InputError(f"image {width}x{height} is too small to estimate a blur kernel")
    first = least_squares_kernel(degraded, clean, largest, regularization)
    radius, deviation = support_radius(first)
    radius = min(largest, radius + 1)
    kernel = least_squares_kernel(degraded, clean, radius, regularization)
    # Values within two deviations of zero are estimation noise, not blur.
    kernel = torch.where(kernel > 2 * deviation, kernel, torch.zeros_like(kernel))
    kernel = kernel / kernel.sum()
    blur = ValidConvolution(clean, radius)
    residual = (blur(kernel) - degraded) * blur.mask
    noise = float((residual.square().sum() / (blur.mask.sum() * clean.shape[0])).sqrt())
    return KernelEstimate(kernel.float(), noise)

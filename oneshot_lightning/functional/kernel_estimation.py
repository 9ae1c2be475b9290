"""Blur kernel and noise level of a degraded/clean pair, by regularised least squares.

The pair is modelled as ``degraded = kernel * clean + noise`` (a convolution, with whatever
border rule the camera or the software used). Only the valid region, at least the kernel's
radius from the borders, is fitted, so the border rule does not matter. The fit runs on image
gradients, which whitens natural images and makes the normal equations well conditioned;
they are solved by conjugate gradients with FFT-based operators. The support is read off the
data: a first fit at the largest radius shows where the kernel stands above its own noise
floor (measured on its outer ring) in one smear connected to its peak, and a second fit at
that radius gives the estimate, cleaned the same way, non-negative and summing to 1. The
normal equations are preconditioned by a Cholesky factor of their Toeplitz approximation.
The noise level is the standard deviation of what the fitted blur leaves unexplained
(``functional.noise_level``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional.kernels import trim_kernel
from oneshot_lightning.functional.noise_level import shot_noise, unclipped_deviation


class KernelEstimate(NamedTuple):
    """A blur kernel and the noise beside it.

    Attributes:
        kernel: (k, k), k odd, non-negative, summing to 1.
        noise_sigma: standard deviation of what the blur does not explain, in [0, 1] units.
        poisson_peak: when the noise grows with the signal (shot noise), the photons at
            value 1 (``add_poisson_noise``); ``None`` for noise of one level everywhere.
        read_sigma: with ``poisson_peak``, the standard deviation of the signal-independent
            (read) noise beside the shot noise.
    """

    kernel: Tensor
    noise_sigma: float
    poisson_peak: float | None = None
    read_sigma: float | None = None


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


def gram_approximation(images: Tensor, mask: Tensor, radius: int) -> Tensor:
    """The normal matrix of the kernel fit, as if every shift saw the same masked images.

    ``A^T A`` of :class:`ValidConvolution` holds, for kernel taps p and q, the images'
    correlation at offset p - q over the valid region; with the region's edge effects
    ignored that is a Toeplitz matrix of the masked images' autocorrelation: (n, n) with
    n = (2r + 1)^2, cheap to factor, and close enough to precondition the exact problem.
    """
    height, width = images.shape[-2:]
    shape = (height + 4 * radius + 2, width + 4 * radius + 2)
    spectrum = torch.fft.rfft2(images * mask, s=shape)
    correlation = torch.fft.irfft2(spectrum.abs() ** 2, s=shape).sum(0)
    taps = torch.arange(2 * radius + 1)
    rows = taps.repeat_interleave(2 * radius + 1)
    cols = taps.repeat(2 * radius + 1)
    return correlation[
        (rows[:, None] - rows[None, :]) % shape[0], (cols[:, None] - cols[None, :]) % shape[1]
    ]


def preconditioned_gradients(
    operator: Callable[[Tensor], Tensor],
    rhs: Tensor,
    factor: Tensor,
    iterations: int = 30,
    tolerance: float = 1e-12,
) -> Tensor:
    """Solve ``operator(k) = rhs`` (symmetric positive definite) by conjugate gradients.

    Preconditioned by the Cholesky ``factor`` of an approximation of the operator.
    """
    shape = rhs.shape

    def precondition(vector: Tensor) -> Tensor:
        return torch.cholesky_solve(vector.reshape(-1, 1), factor).reshape(shape)

    solution = precondition(rhs)
    residual = rhs - operator(solution)
    direction = precondition(residual)
    product = (residual * direction).sum()
    target = tolerance * (rhs * rhs).sum()
    for _ in range(iterations):
        if (residual * residual).sum() < target:
            break
        image = operator(direction)
        step = product / (direction * image).sum()
        solution += step * direction
        residual -= step * image
        preconditioned = precondition(residual)
        new_product = (residual * preconditioned).sum()
        direction = preconditioned + (new_product / product) * direction
        product = new_product
    return solution


def least_squares_kernel(
    degraded: Tensor, clean: Tensor, radius: int, regularization: float
) -> Tensor:
    """The (2r + 1, 2r + 1) kernel minimising the valid-region error of gradient images.

    ``regularization`` is relative to the mean diagonal of the normal matrix (Tikhonov on
    the kernel).
    """
    sharp = gradients(clean)
    blur = ValidConvolution(sharp, radius, border=1)
    gram = gram_approximation(sharp, blur.mask, radius)
    weight = regularization * float(gram.diagonal().mean())
    eye = torch.eye(gram.shape[0], dtype=gram.dtype)
    factor = torch.linalg.cholesky(gram + weight * eye)
    return preconditioned_gradients(
        lambda k: blur.adjoint(blur(k)) + weight * k,
        blur.adjoint(gradients(degraded)),
        factor,
    )


def noise_floor(kernel: Tensor, ring: int = 3) -> float:
    """Standard deviation of the outer ``ring`` of a kernel fitted larger than the blur."""
    outer = torch.ones_like(kernel, dtype=torch.bool)
    outer[ring:-ring, ring:-ring] = False
    return float(kernel[outer].std())


def connected_to_peak(mask: Tensor, peak: tuple[int, int]) -> Tensor:
    """The pixels of the (k, k) bool ``mask`` 8-connected to ``peak`` (a flood fill)."""
    component = torch.zeros_like(mask)
    if not mask[peak]:
        return component
    stack = [peak]
    component[peak] = True
    side = mask.shape[0]
    while stack:
        row, col = stack.pop()
        for down in (-1, 0, 1):
            for right in (-1, 0, 1):
                r, c = row + down, col + right
                if 0 <= r < side and 0 <= c < side and mask[r, c] and not component[r, c]:
                    component[r, c] = True
                    stack.append((r, c))
    return component


def blur_support(kernel: Tensor, threshold: float) -> Tensor:
    """The values above ``threshold`` that connect to the kernel's peak.

    A blur is one connected smear (a disk, a Gaussian, a camera-shake path); estimation
    noise is not.
    """
    peak = divmod(int(kernel.argmax()), kernel.shape[-1])
    return connected_to_peak(kernel > threshold, (int(peak[0]), int(peak[1])))


def unexplained_pair() -> InputError:
    """The error for a pair that no blur explains (two scenes, or one far off the other)."""
    return InputError(
        "no blur kernel explains the degraded image from the clean one: give a pair of one "
        "scene, aligned (data.input and data.target)"
    )


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
    deviation = noise_floor(first)
    taps = torch.nonzero(blur_support(first, 4 * deviation))
    if len(taps) == 0:
        raise unexplained_pair()
    radius = min(largest, int((taps - largest).abs().max()) + 1)
    kernel = least_squares_kernel(degraded, clean, radius, regularization)
    # Values within two deviations of zero, or apart from the smear, are estimation noise.
    kernel = torch.where(blur_support(kernel, 2 * deviation), kernel, torch.zeros_like(kernel))
    if float(kernel.sum()) <= 0:
        raise unexplained_pair()
    kernel = kernel / kernel.sum()
    blur = ValidConvolution(clean, radius)
    blurred = blur(kernel)
    residual, mask = blurred - degraded, blur.mask.bool()
    noise = unclipped_deviation(residual, blurred, mask)
    shot = shot_noise(residual, blurred, mask, noise)
    peak, read = (None, None) if shot is None else shot
    return KernelEstimate(trim_kernel(kernel).float(), noise, peak, read)

"""A camera-like (Gaussian) downscaling kernel of a low-resolution photo, from its patches.

Small patches of a natural image recur across scales, but only when the coarser scale is
made with the kernel that made the image (Michaeli and Irani 2013; KernelGAN's premise). So
the photo downscaled once more by its own kernel s shows the photo's patches again: a kernel
too narrow leaves aliasing the photo lacks, one too wide blurs away the edges the photo has.
The score of a kernel is how close each of the photo's patches comes to its nearest patch in
that downscale (patches' means removed); the search covers anisotropic Gaussians (a coarse
grid, then a local refinement of the best) and MATLAB's bicubic kernel.

Two corrections, both chosen on the validation photos of ``benchmarks/degraded_sets.py``
(none of them a test image): the original of a photo is itself not sharp, so the photo looks
blurrier than its kernel alone makes it, and the best Gaussian comes out too wide: its
covariance is shrunk by ``HR_BLUR`` (a variance, in high-resolution pixels squared). And
photos that resize routines made (MATLAB, PIL, area averaging) scored their best Gaussian at
most 15 % below the bicubic kernel, photos blurred by random Gaussians 15-71 % below it, and a
Gaussian chosen for a bicubic photo back-projects it 1-5 dB below plain bicubic: so the
bicubic kernel stands unless a Gaussian beats it by ``BICUBIC_MARGIN``. The photo's centre, at
most 256 x 256, is searched: about 5-10 s on 2 CPU cores. Photos are (C, H, W) in [0, 1].
The score cannot tell sharp resize kernels (no antialiasing) from MATLAB's: the photo's
spectrum does (``functional.downscaling_estimation``).
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional.downscaling import (
    bicubic_kernel,
    downscaling_gaussian,
    kernel_downscale,
    kernel_size,
)
from oneshot_lightning.functional.texture import luma

#: Standard deviations of the coarse grid at x2, in high-resolution pixels (scaled by s / 2).
SIGMAS = (0.5, 0.8, 1.1, 1.5, 2.0, 2.6)
#: Angles of the coarse grid's anisotropic Gaussians, in degrees.
ANGLES = (0.0, 45.0, 90.0, 135.0)
#: The best Gaussian replaces the bicubic kernel only when its score is this many times lower.
BICUBIC_MARGIN = 1.16
#: Variance (high-resolution pixels squared) taken off the best Gaussian along both axes.
HR_BLUR = 0.75


class GaussianEstimate(NamedTuple):
    """A photo's best Gaussian downscaling kernel by patch recurrence, or MATLAB's bicubic.

    Attributes:
        kernel: (8 s, 8 s), summing to 1 (``functional.downscaling``'s convention).
        description: the kernel in words, e.g. ``Gaussian 1.42 x 0.97 px at 30 deg``.
        distance: mean squared distance of the photo's patches to their nearest match.
    """

    kernel: Tensor
    description: str
    distance: float

    @property
    def is_gaussian(self) -> bool:
        """Whether a Gaussian beat MATLAB's bicubic kernel."""
        return self.description.startswith("Gaussian")


def centred_patches(image: Tensor, size: int) -> Tensor:
    """(1, 1, H, W) -> (N, size * size) every patch, each minus its mean."""
    patches = F.unfold(image, size)[0].T
    return patches - patches.mean(1, keepdim=True)


def nearest_distances(queries: Tensor, candidates: Tensor, chunk: int = 256) -> Tensor:
    """(Q, D), (N, D) -> (Q,) squared distance of each query to its nearest candidate."""
    norms = candidates.pow(2).sum(1)
    nearest = [
        (part.pow(2).sum(1, keepdim=True) - 2 * part @ candidates.T + norms).amin(1)
        for part in queries.split(chunk)
    ]
    return torch.cat(nearest).clamp_min(0)


class RecurrenceScore:
    """Mean distance from a photo's patches to their nearest patch in its downscale by a kernel.

    Args:
        photo: (C, H, W) the low-resolution photo (its luma is used).
        scale: the factor s between the photo and its unknown high-resolution original.
        queries: patches of the photo that are matched (a fixed random draw).
        patch_size: side of the patches.
        seed: seeds the draw.
        side: the photo's centre, at most this many pixels wide and high, is scored.
    """

    def __init__(
        self,
        photo: Tensor,
        scale: int,
        queries: int = 1500,
        patch_size: int = 5,
        seed: int = 0,
        side: int = 256,
    ) -> None:
        image = luma(photo.float()) if photo.shape[0] == 3 else photo.float().mean(0)[None, None]
        # The centre at most ``side`` wide: the search's time stays that of a small photo.
        height, width = (min(length, side) // scale * scale for length in image.shape[-2:])
        top, left = (image.shape[-2] - height) // 2, (image.shape[-1] - width) // 2
        self.image = image[..., top : top + height, left : left + width]
        self.scale, self.patch_size = scale, patch_size
        patches = centred_patches(self.image, patch_size)
        draw = torch.randperm(patches.shape[0], generator=torch.Generator().manual_seed(seed))
        self.queries = patches[draw[:queries]]

    def __call__(self, kernel: Tensor) -> float:
        """The score of a (K, K) kernel: lower means its downscale recurs the photo's patches."""
        smaller = kernel_downscale(self.image, kernel.float(), self.scale)
        candidates = centred_patches(smaller, self.patch_size)
        return float(nearest_distances(self.queries, candidates).mean())


def recurrence_gaussian(
    photo: Tensor, scale: int, refinements: int = 10, seed: int = 0
) -> GaussianEstimate:
    """The Gaussian that best explains how the (C, H, W) ``photo`` was shrunk by ``scale``.

    MATLAB's bicubic kernel instead, unless a Gaussian beats it by ``BICUBIC_MARGIN``.
    ``refinements`` rounds of coordinate search around the best Gaussian of the grid, each
    trying a step up and down along both widths and the angle, halving the steps when none
    helps.
    """
    smallest = 2 * kernel_size(scale)
    if min(photo.shape[-2:]) < smallest:
        raise InputError(
            f"the photo is {photo.shape[-1]}x{photo.shape[-2]}: estimating its x{scale} "
            f"downscaling kernel needs at least {smallest}x{smallest} pixels"
        )
    score = RecurrenceScore(photo, scale, seed=seed)
    bicubic = bicubic_kernel(scale)
    best = GaussianEstimate(bicubic, "MATLAB bicubic", score(bicubic))
    widths = [sigma * scale / 2 for sigma in SIGMAS]
    shapes = [(a, a, 0.0) for a in widths] + [
        (a, b, angle) for a, b in itertools.combinations(widths, 2) for angle in ANGLES
    ]
    gaussians = [(score(downscaling_gaussian(scale, *shape)), shape) for shape in shapes]
    distance, shape = min(gaussians)
    steps = [0.15 * shape[0], 0.15 * shape[1], 22.5]
    for _ in range(refinements):
        moved = False
        for axis, sign in itertools.product(range(3), (1.0, -1.0)):
            trial = list(shape)
            trial[axis] += sign * steps[axis]
            if min(trial[:2]) < 0.1 * scale:
                continue
            trial_distance = score(downscaling_gaussian(scale, *trial))
            if trial_distance < distance:
                distance, shape, moved = trial_distance, (trial[0], trial[1], trial[2]), True
        if not moved:
            steps = [step / 2 for step in steps]
    if distance * BICUBIC_MARGIN >= best.distance:
        return best
    floor = (0.1 * scale) ** 2
    sigma, sigma_y = (max(width**2 - HR_BLUR, floor) ** 0.5 for width in shape[:2])
    words = f"Gaussian {sigma:.2f} x {sigma_y:.2f} px at {shape[2] % 180:.0f} deg"
    kernel = downscaling_gaussian(scale, sigma, sigma_y, shape[2])
    return GaussianEstimate(kernel, words, distance)

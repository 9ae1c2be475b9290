"""Estimating a pair's alignment: phase correlation, then the fit coarse to fine."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional.alignment.filters import (
    convolve_fft,
    gaussian_smooth,
    phase_correlation,
)
from oneshot_lightning.functional.alignment.fit import Fit, gauss_newton, scene_correlation
from oneshot_lightning.functional.alignment.levels import make_level
from oneshot_lightning.functional.alignment.transform import (
    MAX_ROTATION,
    MAX_SCALE_CHANGE,
    Alignment,
    similarity_matrix,
    similarity_parameters,
)
from oneshot_lightning.functional.resize import bicubic_downscale
from oneshot_lightning.functional.texture import luma

# Pixels at or beyond these values may be clipped; they and their neighbours are not fitted,
# nor smoothed pixels of which more than CLIPPED_SHARE comes from them.
DARKEST = 1 / 255


BRIGHTEST = 254 / 255


# Smoothing of both sides, in pixels of the coarse pyramid levels and of the finest level:
# without a kernel it must swamp an unknown blur; with one, the reference holds the blur.
LEVEL_SIGMA = 1.5


FINE_SIGMA = 2.0


FINE_SIGMA_WITH_KERNEL = 1.0


SMALLEST_LEVEL = 48  # pixels on the short side of the coarsest pyramid level


# Smoothing of the correlation, and the local mean it removes: little of the one and much of
# the other, so that two different scenes decorrelate quickly (see SAME_SCENE_CORRELATION).
SCENE_SIGMA = 1.0


def reference_image(
    clean: Tensor, scale: int, kernel: Tensor | None, box: tuple[int, int, int, int]
) -> Tensor:
    """``D(kernel * clean)`` over ``box`` = (top, left, rows, cols) of the degraded frame.

    The convolution reads the clean image past the box where it can, so that only the
    image's own borders are reflected.
    """
    top, left, rows, cols = box
    reach = 0 if kernel is None else max(kernel.shape) // 2
    big_height, big_width = clean.shape[-2:]
    first_row, first_col = max(0, scale * top - reach), max(0, scale * left - reach)
    last_row = min(big_height, scale * (top + rows) + reach)
    last_col = min(big_width, scale * (left + cols) + reach)
    sharp = clean[:, first_row:last_row, first_col:last_col].float()
    if kernel is not None:
        sharp = convolve_fft(sharp, kernel.detach().cpu().float())
    sharp = sharp[
        :,
        scale * top - first_row : scale * (top + rows) - first_row,
        scale * left - first_col : scale * (left + cols) - first_col,
    ]
    return bicubic_downscale(sharp[None], scale)[0] if scale > 1 else sharp


def estimate_alignment(
    degraded: Tensor,
    clean: Tensor,
    scale: int = 1,
    kernel: Tensor | None = None,
    max_shift: float = 32.0,
    max_pixels: int = 1_000_000,
) -> Alignment:
    """Estimate the similarity transform and exposure between the two images of a pair.

    Coarse to fine: the translation by phase correlation of the smoothed lumas (within a
    pixel, for shifts up to ``max_shift``), then all four geometric parameters, a gain and
    offset per channel and an extra Gaussian blur by Gauss-Newton on a pyramid, comparing the
    degraded image with the reference ``D(kernel * clean)`` (``D`` the bicubic downscale)
    seen through the transform, both smoothed by one Gaussian (2 pixels at the finest level,
    1 with ``kernel``). The extra blur (of either side) takes up what an unknown symmetric
    blur does to the fit (without it, a Gaussian blur of 1.6 px read as a gain of 0.98); an
    off-centre blur still reads as a shift (see :func:`kernel_centroid`) unless ``kernel``
    holds it. Clipped pixels (and their neighbours) and borders are ignored; Cauchy weights
    keep an occlusion of up to about 30% of the image from pulling the fit. A 512 x 512 RGB
    pair takes about 0.8 s on one core.

    Args:
        degraded: (C, h, w) in [0, 1].
        clean: (C, s h, s w) in [0, 1].
        scale: super-resolution factor s.
        kernel: (k, k) blur of the pair at the clean image's resolution, if known.
        max_shift: largest translation looked for, in degraded pixels (at most a quarter of
            the crop).
        max_pixels: the fit uses the centre crop of the degraded image of about this many
            pixels.

    Returns:
        The :class:`Alignment`; :func:`check_alignment` tells whether it is usable.
    """
    channels, height, width = degraded.shape
    if clean.shape != (channels, scale * height, scale * width):
        raise InputError(
            f"alignment needs a clean image {scale} times the degraded one with as many "
            f"channels, got {tuple(clean.shape)} for {tuple(degraded.shape)}"
        )
    if min(height, width) < 32:
        raise InputError(f"image {width}x{height} is too small to align (32x32 at least)")
    shrink = min(1.0, math.sqrt(max_pixels / (height * width)))
    rows, cols = (
        min(height, max(32, int(height * shrink))),
        min(width, max(32, int(width * shrink))),
    )
    top, left = (height - rows) // 2, (width - cols) // 2
    # Beyond a quarter of the crop, the overlap left is too small to tell two scenes apart.
    max_shift = min(max_shift, min(rows, cols) / 4)
    # The reference reaches past the crop by the largest motion looked for, and some.
    turn = MAX_SCALE_CHANGE + math.radians(MAX_ROTATION)
    reach = math.ceil(max_shift + turn * math.hypot(rows, cols) / 2) + 16
    ref_top, ref_left = max(0, top - reach), max(0, left - reach)
    ref_rows, ref_cols = (
        min(height, top + rows + reach) - ref_top,
        min(width, left + cols + reach) - ref_left,
    )
    reference = reference_image(
        clean.detach().cpu(), scale, kernel, (ref_top, ref_left, ref_rows, ref_cols)
    )
    target = degraded.detach().cpu()[:, top : top + rows, left : left + cols].float()
    clipped = (target <= DARKEST) | (target >= BRIGHTEST)
    # Noise is clipped beside clipped pixels too, which biases their mean.
    clipped = F.max_pool2d(clipped.float()[None], 5, 1, 2)[0] > 0
    crop = (target, clipped, (top, left))
    wide = (reference, (ref_top, ref_left))

    same = reference[
        :, top - ref_top : top - ref_top + rows, left - ref_left : left - ref_left + cols
    ]
    shift = phase_correlation(
        gaussian_smooth(luma(target)[0], FINE_SIGMA)[0].double(),
        gaussian_smooth(luma(same)[0], FINE_SIGMA)[0].double(),
        max_shift,
    )
    start = Alignment(shift, 0.0, 1.0, (1.0,) * channels, (0.0,) * channels, 0.0, (height, width))
    fit = Fit(
        similarity_matrix(start),
        0.0,
        torch.ones(channels, dtype=torch.float64),
        torch.zeros(channels, dtype=torch.float64),
    )
    frame = (((width - 1) / 2, (height - 1) / 2), math.hypot(rows, cols) / 2, (height, width))
    fine = FINE_SIGMA if kernel is None else FINE_SIGMA_WITH_KERNEL
    factors = [f for f in (8, 4, 2) if min(rows, cols) // f >= SMALLEST_LEVEL]
    for factor, sigma in [*((f, LEVEL_SIGMA) for f in factors), (1, fine)]:
        fit = gauss_newton(make_level(crop, wide, factor, sigma), fit, frame, max_shift)
    shift, rotation, magnification = similarity_parameters(fit.matrix, (height, width))
    return Alignment(
        shift,
        rotation,
        magnification,
        tuple(float(g) for g in fit.gain),
        tuple(float(o) for o in fit.offset),
        scene_correlation(make_level(crop, wide, 1, SCENE_SIGMA), fit),
        (height, width),
    )

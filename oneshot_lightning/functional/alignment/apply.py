"""Undoing an alignment: the clean image warped into the degraded frame, the exposure corrected."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional.alignment.transform import (
    MAX_ROTATION,
    MAX_SCALE_CHANGE,
    Alignment,
    similarity_matrix,
)

#: Least correlation (:attr:`Alignment.correlation`) of a pair that shows one scene. Measured
#: on 96-256 px crops of the two sample photos: 27 same-scene pairs under heavy blur (disk of
#: radius 4 or Gaussian of 3 px) and noise 0.05, moved by up to 7 px, 2 degrees and 2%, with
#: gains 0.5-2: 0.94-1.00 (5% below 0.96), none at a limit of the search; 95 pairs of
#: different scenes (grey and RGB, sharp or blurred and noisy): 95% below 0.31, largest
#: 0.63, and all but one (at 0.22) at a limit of the search (:data:`MAX_ROTATION`,
#: :data:`MAX_SCALE_CHANGE`), which :func:`check_alignment` refuses too. A fifth of the
#: image occluded brings a same-scene pair to 0.70, 30% to 0.58.
SAME_SCENE_CORRELATION = 0.5


#: Least share of the degraded image that the aligned pair must keep.
LEAST_OVERLAP = 0.5


#: The option that turns alignment off, named in every refusal.
ALIGN_OFF = "--data.align false"


def sample_at(image: Tensor, x: Tensor, y: Tensor, mode: str = "bicubic") -> Tensor:
    """(C, H, W) image at positions (x, y) in its pixels, each (h, w): (C, h, w).

    Bicubic (or ``mode``) interpolation; outside the image, the border pixels repeat.
    """
    height, width = image.shape[-2:]
    grid = torch.stack([(2 * x + 1) / width - 1, (2 * y + 1) / height - 1], -1)
    return F.grid_sample(
        image[None],
        grid[None].to(image.device, image.dtype),
        mode=mode,
        padding_mode="border",
        align_corners=False,
    )[0]


def require_frame(image: Tensor, alignment: Alignment, scale: int, name: str) -> None:
    """:class:`InputError` unless (C, H, W) ``image`` is ``scale`` times the alignment's frame."""
    height, width = alignment.size
    if image.shape[-2:] != (scale * height, scale * width):
        raise InputError(
            f"the {name} image is {image.shape[-1]}x{image.shape[-2]}, but the alignment was "
            f"measured for {scale * width}x{scale * height}"
        )


def warp_clean(clean: Tensor, alignment: Alignment, scale: int = 1) -> Tensor:
    """The clean image resampled into the degraded frame: (C, s h, s w) -> (C, s h, s w).

    Bicubic (``grid_sample``, a = -0.75), the border repeated outside the image (see
    :func:`overlap_box` for where the result is fully defined), clamped to [0, 1]. The
    resampling softens sharp detail: moving the sample photos by half a pixel each way keeps
    75-84% of their gradient energy (36-39 dB PSNR from an exact Fourier shift; a quarter
    pixel keeps 85-91%), while detail already blurred by a Gaussian of 1.6 px comes through
    at 52-56 dB. (Lanczos-3 would keep 82-89% at about ten times the cost.)

    Args:
        clean: (C, s h, s w) in [0, 1].
        alignment: from :func:`estimate_alignment` on the pair.
        scale: super-resolution factor s (clean pixels per degraded pixel).
    """
    require_frame(clean, alignment, scale, "clean")
    return resample_clean(clean, alignment, scale, (0, 0, *alignment.size))


def resample_clean(
    clean: Tensor, alignment: Alignment, scale: int, box: tuple[int, int, int, int]
) -> Tensor:
    """:func:`warp_clean` within ``box`` = (top, left, rows, cols) of the degraded frame."""
    top, left, rows, cols = box
    inverse = torch.linalg.inv(similarity_matrix(alignment))
    # Clean pixel X sits at (X + 0.5) / s - 0.5 in the degraded frame.
    ys = (torch.arange(scale * top, scale * (top + rows), dtype=torch.float64) + 0.5) / scale
    xs = (torch.arange(scale * left, scale * (left + cols), dtype=torch.float64) + 0.5) / scale
    y, x = torch.meshgrid(ys - 0.5, xs - 0.5, indexing="ij")
    source_x = inverse[0, 0] * x + inverse[0, 1] * y + inverse[0, 2]
    source_y = inverse[1, 0] * x + inverse[1, 1] * y + inverse[1, 2]
    warped = sample_at(clean, scale * (source_x + 0.5) - 0.5, scale * (source_y + 0.5) - 0.5)
    return warped.clamp(0, 1)


def correct_exposure(degraded: Tensor, alignment: Alignment) -> Tensor:
    """(degraded - offset) / gain per channel, clamped to [0, 1]: (C, h, w) -> (C, h, w)."""
    gain = torch.tensor(alignment.gain, dtype=degraded.dtype, device=degraded.device)
    offset = torch.tensor(alignment.offset, dtype=degraded.dtype, device=degraded.device)
    return ((degraded - offset[:, None, None]) / gain[:, None, None]).clamp(0, 1)


def overlap_box(alignment: Alignment, scale: int = 1, margin: int = 0) -> tuple[int, int, int, int]:
    """(top, left, rows, cols) of the degraded frame where the warped clean image is defined.

    The largest upright rectangle inside both the frame and the clean image's footprint in
    it (less the outermost clean pixels, whose bicubic taps would read past its border),
    shrunk by ``margin`` degraded pixels on each side; (0, 0, 0, 0) if nothing is left.
    """
    height, width = alignment.size
    low = 1.5 / scale - 0.5  # the outermost clean pixel centres with all taps inside
    corners = torch.tensor(
        [
            [low, low, 1.0],
            [width - 1 - low, low, 1.0],
            [low, height - 1 - low, 1.0],
            [width - 1 - low, height - 1 - low, 1.0],
        ],
        dtype=torch.float64,
    )
    moved = (
        corners @ similarity_matrix(alignment).T
    )  # top-left, top-right, bottom-left, bottom-right
    # Below a 45 degree turn, the inner corner of each side bounds the inner rectangle.
    left = max(float(moved[0, 0]), float(moved[2, 0]), 0.0) + margin
    right = min(float(moved[1, 0]), float(moved[3, 0]), width - 1.0) - margin
    top = max(float(moved[0, 1]), float(moved[1, 1]), 0.0) + margin
    bottom = min(float(moved[2, 1]), float(moved[3, 1]), height - 1.0) - margin
    first_col, last_col = math.ceil(left - 1e-6), math.floor(right + 1e-6)
    first_row, last_row = math.ceil(top - 1e-6), math.floor(bottom + 1e-6)
    if last_col < first_col or last_row < first_row:
        return 0, 0, 0, 0
    return first_row, first_col, last_row - first_row + 1, last_col - first_col + 1


def align_pair(
    degraded: Tensor, clean: Tensor, alignment: Alignment, scale: int = 1, margin: int = 0
) -> tuple[Tensor, Tensor]:
    """Undo ``alignment``: the degraded image re-exposed, the clean one warped, both cropped.

    Each part that :meth:`Alignment.is_identity` finds at the identity is left alone, so an
    already aligned, equally exposed pair comes back as it is, bit for bit.

    Args:
        degraded: (C, h, w) in [0, 1].
        clean: (C, s h, s w) in [0, 1].
        alignment: from :func:`estimate_alignment` on the pair.
        scale: super-resolution factor s.
        margin: degraded pixels dropped inside the overlap on each side (see
            :func:`overlap_box`).

    Returns:
        (C, rows, cols) degraded and (C, s rows, s cols) clean images of the overlap.
    """
    require_frame(degraded, alignment, 1, "degraded")
    require_frame(clean, alignment, scale, "clean")
    if not alignment.is_identity(geometry=False):
        degraded = correct_exposure(degraded, alignment)
    if alignment.is_identity(exposure=False):
        return degraded, clean
    top, left, rows, cols = box = overlap_box(alignment, scale, margin)
    return degraded[:, top : top + rows, left : left + cols], resample_clean(
        clean, alignment, scale, box
    )


def check_alignment(alignment: Alignment, scale: int = 1) -> None:
    """Raise :class:`InputError` (one line) unless ``alignment`` makes a usable pair.

    The pair must show one scene: a correlation of at least :data:`SAME_SCENE_CORRELATION`
    and a fit that stayed inside the limits of the search (:data:`MAX_ROTATION`,
    :data:`MAX_SCALE_CHANGE`); and the aligned pair must keep at least :data:`LEAST_OVERLAP`
    of the degraded image. The message names :data:`ALIGN_OFF`, which trains on the pair as
    it is.
    """
    advice = f"check data.input and data.target, or pass {ALIGN_OFF} to train on the pair as it is"
    if alignment.correlation < SAME_SCENE_CORRELATION:
        raise InputError(
            f"the pair's two images do not show the same scene (correlation "
            f"{alignment.correlation:.2f} after alignment, below {SAME_SCENE_CORRELATION}): "
            + advice
        )
    turn, change = abs(alignment.rotation), abs(alignment.scale - 1)
    if turn >= MAX_ROTATION - 1e-6 or change >= MAX_SCALE_CHANGE - 1e-6:
        raise InputError(
            f"the pair's two images do not show the same scene from nearly one viewpoint (the "
            f"best alignment turns by {alignment.rotation:.1f} deg and scales by "
            f"{alignment.scale:.3f}, the limits of the search): " + advice
        )
    _, _, rows, cols = overlap_box(alignment, scale)
    share = rows * cols / (alignment.size[0] * alignment.size[1])
    if share < LEAST_OVERLAP:
        raise InputError(
            f"the pair's two images overlap on only {share:.0%} of the degraded image after "
            f"alignment (shift {alignment.shift[0]:.1f}, {alignment.shift[1]:.1f} px, rotation "
            f"{alignment.rotation:.2f} deg, scale {alignment.scale:.3f}), less than "
            f"{LEAST_OVERLAP:.0%}: " + advice
        )

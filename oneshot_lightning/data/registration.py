"""A given pair's second shot undone before training: when, and in which frame.

A real pair is two shots of a scene, off by a translation, a small turn and scale, and an
exposure (``functional.alignment``). Left in, the model learns to move and re-expose images,
which it then does to every photo it restores. So a given pair is aligned before anything is
measured on it: the clean image warped into the degraded frame, the degraded image
re-exposed, both cropped to where they overlap.

Which frame: a blur kernel moves an image by its centre of mass, which no pair can tell from a
translation of the camera. So a pair that is otherwise aligned (same turn, scale and exposure
within the measured tolerances; a translation of at most :data:`KERNEL_SHIFT` pixels) is left
as it is, its translation left to the blur (recorded camera-shake kernels are off-centre by up
to 4 pixels, and the restored photos then keep their frame). A pair that shows a second shot
in any other way is aligned fully, and a deblurring pair then so that its blur kernel is
centred, the convention of blind deblurring.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from torch import Tensor

from oneshot_lightning.functional.alignment import (
    MOTION_TOLERANCE,
    Alignment,
    align_pair,
    check_alignment,
    correct_exposure,
    estimate_alignment,
    kernel_centroid,
)
from oneshot_lightning.functional.kernel_estimation import estimate_kernel

#: Largest translation, in degraded pixels, of an otherwise aligned pair that is left to the
#: blur kernel: within the kernel estimate's reach (``estimate_kernel`` fits up to 41 x 41)
#: with room for the blur itself.
KERNEL_SHIFT = 8.0
#: Motion of the turn and scale alone, in degraded pixels, beyond which a pair is measured
#: without its blur: what an unknown blur biases it by is a tenth of a pixel (a 27 x 27
#: camera-shake kernel on a 768 x 512 photo: 0.14 px).
CLEAR_TURN = 1.0


class Registration(NamedTuple):
    """A pair as it trains, and what was found.

    Attributes:
        degraded: (C, h, w) the degraded image, re-exposed and cropped if ``applied``.
        clean: (C, s h, s w) the clean image, warped and cropped if ``applied``.
        alignment: the difference found between the two shots (in the final frame when
            ``applied``: with the kernel's centring).
        applied: whether the pair was changed.
    """

    degraded: Tensor
    clean: Tensor
    alignment: Alignment
    applied: bool


def second_shot(alignment: Alignment, scale: int) -> bool:
    """Whether ``alignment`` shows two shots, beyond what a blur kernel explains.

    A turn, a change of scale or of exposure beyond the tolerances does; a translation does
    for super-resolution pairs (the downscaling fixes the frame) and beyond
    :data:`KERNEL_SHIFT` for the others.
    """
    if not alignment.is_identity(geometry=False):
        return True
    unshifted = alignment._replace(shift=(0.0, 0.0))
    if unshifted.motion() > MOTION_TOLERANCE:
        return True
    shift = math.hypot(*alignment.shift)
    return shift > (MOTION_TOLERANCE if scale > 1 else KERNEL_SHIFT)


def turn_motion(alignment: Alignment) -> float:
    """The largest motion, in degraded pixels, of the turn and scale alone (no translation)."""
    return alignment._replace(shift=(0.0, 0.0)).motion()


def register_pair(degraded: Tensor, clean: Tensor, scale: int = 1) -> Registration:
    """Find the second shot's motion and exposure; undo them if the pair shows two shots.

    Raises :class:`~oneshot_lightning.errors.InputError` (one line, naming
    ``--data.align false``) when the two images do not show one scene or barely overlap.

    A deblurring pair is measured with its blur: an unknown blur, smoothed away as a
    Gaussian, biases the fit (a 27 x 27 camera-shake kernel read as a 7 px shift and a gain of
    0.93), so the blur kernel is estimated first and the alignment fitted through it, unless
    the pair is clearly turned or scaled (beyond :data:`CLEAR_TURN`) or moved (beyond twice
    :data:`KERNEL_SHIFT`); a kernel whose centre of mass is more than :data:`KERNEL_SHIFT` off
    its centre is a moved camera too. An aligned pair is then
    moved so that its re-estimated kernel is centred, and re-exposed as measured through it.
    """
    coarse = estimate_alignment(degraded, clean, scale)
    check_alignment(coarse, scale)
    if scale > 1:
        if not second_shot(coarse, scale):
            return Registration(degraded, clean, coarse, False)
        return Registration(*align_pair(degraded, clean, coarse, scale), coarse, True)
    alignment = coarse
    if turn_motion(coarse) <= CLEAR_TURN and math.hypot(*coarse.shift) <= 2 * KERNEL_SHIFT:
        kernel = estimate_kernel(degraded, clean).kernel
        alignment = estimate_alignment(degraded, clean, 1, kernel)
        check_alignment(alignment)
        # The kernel takes up a translation; more than a blur's is a moved camera.
        blur_shift = math.hypot(*kernel_centroid(kernel))
        if not second_shot(alignment, 1) and blur_shift <= KERNEL_SHIFT:
            return Registration(degraded, clean, alignment, False)
    channels = degraded.shape[0]
    geometry = alignment._replace(gain=(1.0,) * channels, offset=(0.0,) * channels)
    moved, warped = align_pair(degraded, clean, geometry)
    dx, dy = kernel_centroid(estimate_kernel(moved, warped).kernel)
    if math.hypot(dx, dy) > MOTION_TOLERANCE:
        geometry = geometry._replace(shift=(geometry.shift[0] + dx, geometry.shift[1] + dy))
        moved, warped = align_pair(degraded, clean, geometry)
    # The exposure, measured through the blur on the aligned pair.
    exposure = estimate_alignment(moved, warped, 1, estimate_kernel(moved, warped).kernel)
    final = geometry._replace(gain=exposure.gain, offset=exposure.offset)
    if not exposure.is_identity(geometry=False):
        moved = correct_exposure(moved, exposure)
    return Registration(moved, warped, final._replace(correlation=exposure.correlation), True)

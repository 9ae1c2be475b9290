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
    estimate_alignment,
    kernel_centroid,
)
from oneshot_lightning.functional.kernel_estimation import estimate_kernel

#: Largest translation, in degraded pixels, of an otherwise aligned pair that is left to the
#: blur kernel: within the kernel estimate's reach (``estimate_kernel`` fits up to 41 x 41)
#: with room for the blur itself.
KERNEL_SHIFT = 8.0


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


def register_pair(degraded: Tensor, clean: Tensor, scale: int = 1) -> Registration:
    """Find the second shot's motion and exposure; undo them if the pair shows two shots.

    Raises :class:`~oneshot_lightning.errors.InputError` (one line, naming
    ``--data.align false``) when the two images do not show one scene or barely overlap.
    A deblurring pair is aligned twice: the second time with the translation that centres
    the blur kernel estimated on the first result.
    """
    alignment = estimate_alignment(degraded, clean, scale)
    check_alignment(alignment, scale)
    if not second_shot(alignment, scale):
        return Registration(degraded, clean, alignment, False)
    aligned = align_pair(degraded, clean, alignment, scale)
    if scale == 1:
        dx, dy = kernel_centroid(estimate_kernel(*aligned).kernel)
        if math.hypot(dx, dy) > MOTION_TOLERANCE:
            shift = (alignment.shift[0] + dx, alignment.shift[1] + dy)
            alignment = alignment._replace(shift=shift)
            aligned = align_pair(degraded, clean, alignment, scale)
    return Registration(*aligned, alignment, True)

"""Alignment of a real degraded/clean pair: a similarity transform and a per-channel exposure.

A real pair is two shots. The degraded one sees the scene moved (a sub-pixel to several-pixel
translation, a rotation of up to a few degrees, a scale of up to a few percent) and exposed
differently (a gain and an offset per channel, clipped at 0 and 1). The model is

    degraded_c(x) = gain_c * D(B * clean_c)(T(x)) + offset_c

with T a similarity transform, B the blur and D the bicubic downscale by the scale s (none
for s = 1). :func:`estimate_alignment` fits it, :func:`check_alignment` refuses a pair that
does not show one scene or barely overlaps, and :func:`align_pair` undoes the rest: the CLEAN
image is warped into the degraded frame (the degraded image's noise is never resampled) and
the exposure is corrected on the DEGRADED side, so that what is left is the degradation
alone. A pair already aligned within the measured tolerances (:meth:`Alignment.is_identity`)
is left as it is, bit for bit.

Coordinates are degraded pixels, x to the right and y down, pixel centres at integers;
clean pixel X sits at (X + 0.5) / s - 0.5, the convention of ``bicubic_downscale``. Rotation
and scale turn about the centre of the degraded image.
"""

from oneshot_lightning.functional.alignment.apply import (
    ALIGN_OFF,
    LEAST_OVERLAP,
    SAME_SCENE_CORRELATION,
    align_pair,
    check_alignment,
    correct_exposure,
    overlap_box,
    warp_clean,
)
from oneshot_lightning.functional.alignment.estimate import estimate_alignment
from oneshot_lightning.functional.alignment.transform import (
    EXPOSURE_TOLERANCE,
    MAX_ROTATION,
    MAX_SCALE_CHANGE,
    MOTION_TOLERANCE,
    Alignment,
    kernel_centroid,
)

__all__ = [
    "ALIGN_OFF",
    "EXPOSURE_TOLERANCE",
    "LEAST_OVERLAP",
    "MAX_ROTATION",
    "MAX_SCALE_CHANGE",
    "MOTION_TOLERANCE",
    "SAME_SCENE_CORRELATION",
    "Alignment",
    "align_pair",
    "check_alignment",
    "correct_exposure",
    "estimate_alignment",
    "kernel_centroid",
    "overlap_box",
    "warp_clean",
]

"""The similarity transform and exposure of a pair, and the tolerances that count as none."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

#: Limits of the search, well beyond what a second shot of one scene does (about 2 degrees
#: and 2%): a fit that ends on one is matching two different images.
MAX_ROTATION = 5.0  # degrees


MAX_SCALE_CHANGE = 0.05


#: Largest motion anywhere in the frame (:meth:`Alignment.motion`), in degraded pixels, that
#: counts as none. On aligned pairs of 96-256 px crops (Gaussian blur 1.6 + noise 0.01, disk
#: of radius 3 + noise 0.02, disk 4 + noise 0.05, JPEG quality 70, x2 and x4 bicubic, shake
#: kernels given), 8 pairs each: up to 0.045 px (means 0.003-0.026), but up to 0.09 px at
#: x4 on 48-64 px degraded images, where a 0.05 degree turn is within the noise.
MOTION_TOLERANCE = 0.1


#: Largest change of any value in [0, 1] by the exposure (:meth:`Alignment.exposure_change`)
#: that counts as none: 2.5 grey levels. The same aligned pairs measure up to 0.0034.
EXPOSURE_TOLERANCE = 0.01


class Alignment(NamedTuple):
    """How the degraded image of a pair differs from its clean one, beyond the degradation.

    Attributes:
        shift: (x, y) in degraded pixels: where the clean image's content sits in the degraded
            frame (its centre moves by this much).
        rotation: degrees, counter-clockwise as displayed, about the frame's centre.
        scale: isotropic magnification of the content in the degraded image, 1 = none.
        gain: per channel: degraded = gain * clean + offset.
        offset: per channel, on the [0, 1] scale.
        correlation: normalised cross-correlation, in [-1, 1], of the degraded image with the
            aligned, re-exposed reference, both smoothed by 1 px and rid of their local means
            (8 px), where the degraded one is not clipped: how well the model explains the
            pair (see :data:`SAME_SCENE_CORRELATION`).
        size: (height, width) of the degraded image, the frame of all the above.
    """

    shift: tuple[float, float]
    rotation: float
    scale: float
    gain: tuple[float, ...]
    offset: tuple[float, ...]
    correlation: float
    size: tuple[int, int]

    def motion(self) -> float:
        """The largest displacement the similarity makes in the frame (at a corner), pixels."""
        matrix = similarity_matrix(self)
        height, width = self.size
        corners = torch.tensor(
            [
                [0.0, 0.0, 1.0],
                [width - 1, 0.0, 1.0],
                [0.0, height - 1, 1.0],
                [width - 1, height - 1, 1.0],
            ],
            dtype=torch.float64,
        )
        return float((corners @ matrix.T - corners)[:, :2].norm(dim=1).max())

    def exposure_change(self) -> float:
        """The largest change the exposure makes to a value in [0, 1], over the channels."""
        # gain * v + offset - v is linear in v: largest at v = 0 or v = 1.
        return max(max(abs(o), abs(g + o - 1)) for g, o in zip(self.gain, self.offset))

    def is_identity(self, geometry: bool = True, exposure: bool = True) -> bool:
        """Whether there is nothing to undo: the differences are within the module tolerances.

        Args:
            geometry: check that :meth:`motion` is within :data:`MOTION_TOLERANCE`.
            exposure: check that :meth:`exposure_change` is within :data:`EXPOSURE_TOLERANCE`.
        """
        still = not geometry or self.motion() <= MOTION_TOLERANCE
        return still and (not exposure or self.exposure_change() <= EXPOSURE_TOLERANCE)


def kernel_centroid(kernel: Tensor) -> tuple[float, float]:
    """(x, y) of a (kh, kw) kernel's centre of mass from its centre, in its pixels.

    Convolution moves an image's content by this much (right and down for positive values),
    which an alignment without the kernel reads as a shift (divided by the scale s).

    >>> kernel_centroid(torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))
    (1.0, 1.0)
    """
    rows, cols = kernel.shape
    weights = kernel.double()
    total = weights.sum()
    y = torch.arange(rows, dtype=torch.float64) - (rows - 1) / 2
    x = torch.arange(cols, dtype=torch.float64) - (cols - 1) / 2
    return float((weights.sum(0) * x).sum() / total), float((weights.sum(1) * y).sum() / total)


def similarity_matrix(alignment: Alignment) -> Tensor:
    """(3, 3) float64 map from reference to degraded coordinates (absolute, degraded pixels).

    Content at reference position p shows at ``M @ p``: scaled and turned counter-clockwise
    (as displayed, rows growing downwards) about the frame's centre, then shifted.
    """
    angle = math.radians(alignment.rotation)
    cos, sin = alignment.scale * math.cos(angle), alignment.scale * math.sin(angle)
    cx, cy = (alignment.size[1] - 1) / 2, (alignment.size[0] - 1) / 2
    # y grows downwards, so turning counter-clockwise on screen maps (1, 0) to (cos, -sin).
    return torch.tensor(
        [
            [cos, sin, cx + alignment.shift[0] - cos * cx - sin * cy],
            [-sin, cos, cy + alignment.shift[1] + sin * cx - cos * cy],
            [0.0, 0.0, 1.0],
        ],
        dtype=torch.float64,
    )


def similarity_parameters(
    matrix: Tensor, size: tuple[int, int]
) -> tuple[tuple[float, float], float, float]:
    """(shift, rotation in degrees, scale) of a similarity that :func:`similarity_matrix` makes."""
    cos, sin = float(matrix[0, 0]), float(matrix[0, 1])
    cx, cy = (size[1] - 1) / 2, (size[0] - 1) / 2
    centre = matrix @ torch.tensor([cx, cy, 1.0], dtype=torch.float64)
    shift = (float(centre[0]) - cx, float(centre[1]) - cy)
    return shift, math.degrees(math.atan2(sin, cos)), math.hypot(cos, sin)

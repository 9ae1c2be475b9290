"""Gauss-Newton with Cauchy weights: similarity, exposure and extra blur on one pyramid level."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from oneshot_lightning.functional.alignment.filters import local_mean
from oneshot_lightning.functional.alignment.levels import Level, smooth_level, warp_reference
from oneshot_lightning.functional.alignment.transform import (
    MAX_ROTATION,
    MAX_SCALE_CHANGE,
    Alignment,
    similarity_matrix,
    similarity_parameters,
)

MAX_BLUR = 16.0  # largest extra blur variance fitted, in pixels squared (sigma 4)


PRECISION = 0.001  # px: the fit stops when a step moves no pixel further (x10 f if coarse)


BLUR_STEP = 0.02  # change of the extra blur's variance worth smoothing again for


CAUCHY = 2.0  # robust deviations at which a residual's weight has halved


# A weak pull of each exposure towards none, worth PRIOR_PIXELS pixels of a typical spread
# of values, settles a channel clipped nearly everywhere and is lost in the data elsewhere.
PRIOR_PIXELS = 16.0


PRIOR_SPREAD = 0.15


LEAST_GAIN = 0.05  # a lower gain would be (near) a photographic negative


SCENE_BACKGROUND = 8.0


def compose_step(
    matrix: Tensor, step: Tensor, centre: tuple[float, float], radius: float
) -> Tensor:
    """``matrix`` followed by the small similarity ``step`` = (tx, ty, turn, stretch).

    ``turn`` and ``stretch`` are the motions they cause at ``radius`` pixels from ``centre``.
    """
    tx, ty, turn, stretch = (float(v) for v in step)
    angle, factor = turn / radius, 1 + stretch / radius
    cos, sin = factor * math.cos(angle), factor * math.sin(angle)
    cx, cy = centre
    delta = torch.tensor(
        [
            [cos, sin, cx + tx - cos * cx - sin * cy],
            [-sin, cos, cy + ty + sin * cx - cos * cy],
            [0.0, 0.0, 1.0],
        ],
        dtype=torch.float64,
    )
    return delta @ matrix


def bounded(matrix: Tensor, size: tuple[int, int], max_shift: float) -> Tensor:
    """``matrix`` with its shift, rotation and scale clamped to what a second shot can do."""
    (x, y), rotation, scale = similarity_parameters(matrix, size)
    clamped = Alignment(
        (max(-max_shift, min(max_shift, x)), max(-max_shift, min(max_shift, y))),
        max(-MAX_ROTATION, min(MAX_ROTATION, rotation)),
        max(1 - MAX_SCALE_CHANGE, min(1 + MAX_SCALE_CHANGE, scale)),
        (),
        (),
        0.0,
        size,
    )
    return similarity_matrix(clamped)


def fit_exposure(degraded: Tensor, reference: Tensor, weights: Tensor) -> tuple[Tensor, Tensor]:
    """(C,) float64 weighted least-squares gain and offset of ``degraded`` on ``reference``.

    A channel without weight keeps gain 1 and offset 0.
    """
    total = weights.sum((1, 2))
    safe = total.clamp_min(1e-12)
    mean_d = (weights * degraded).sum((1, 2)) / safe
    mean_r = (weights * reference).sum((1, 2)) / safe
    dr, rr = degraded - mean_d[:, None, None], reference - mean_r[:, None, None]
    gain = (weights * dr * rr).sum((1, 2)) / (weights * rr * rr).sum((1, 2)).clamp_min(1e-12)
    gain = torch.where(total > 0, gain.clamp_min(LEAST_GAIN), torch.ones_like(gain))
    offset = torch.where(total > 0, mean_d - gain * mean_r, torch.zeros_like(gain))
    return gain.double(), offset.double()


def robust_spread(residual: Tensor, mask: Tensor, most: int = 20_000) -> Tensor:
    """(C,) robust standard deviation (1.4826 median absolute value) of the masked residual."""
    spreads = []
    for values, keep in zip(residual, mask):
        picked = values[keep].abs()
        picked = picked[:: max(1, picked.numel() // most)]
        spreads.append(1.4826 * picked.median() if picked.numel() else values.new_tensor(1.0))
    return torch.stack(spreads).clamp_min(1e-6)


class Fit(NamedTuple):
    """The state of the fit."""

    matrix: Tensor  # (3, 3) reference -> degraded frame
    blur: float  # variance of the degraded image's extra blur, full pixels squared
    gain: Tensor  # (C,) float64
    offset: Tensor  # (C,) float64


def normal_equations(
    basis: Tensor, residual: Tensor, weights: Tensor, gain: Tensor
) -> tuple[Tensor, Tensor]:
    """Weighted normal equations of all parameters from the per-channel ``basis``.

    ``basis`` (C, N, 7) holds, per channel: the derivatives of the model along the motions
    tx, ty, turn, stretch over the gain (whose sign the motion flips), the blur's over the
    gain, the reference, and 1.
    """
    channels = basis.shape[0]
    size = 5 + 2 * channels
    weighted = basis * weights[..., None]
    blocks = (weighted.transpose(1, 2) @ basis).double()  # (C, 7, 7)
    sides = (weighted.transpose(1, 2) @ residual[..., None]).double()[..., 0]  # (C, 7)
    normal = torch.zeros(size, size, dtype=torch.float64)
    rhs = torch.zeros(size, dtype=torch.float64)
    for c in range(channels):
        columns = torch.tensor([0, 1, 2, 3, 4, 5 + c, 5 + channels + c])
        factors = torch.cat([-gain[c].expand(4), gain[c].view(1), gain.new_ones(2)])
        normal[columns[:, None], columns[None, :]] += factors[:, None] * blocks[c] * factors
        rhs[columns] += factors * sides[c]
    return normal, rhs


def gauss_newton(
    level: Level,
    fit: Fit,
    frame: tuple[tuple[float, float], float, tuple[int, int]],
    max_shift: float,
    iterations: int = 12,
) -> Fit:
    """Refine ``fit`` on one level by Gauss-Newton with Cauchy weights (IRLS).

    The model ``gain * smooth(reference)(T^-1 x) + offset`` is fitted to ``smooth(degraded)``.
    A step of the similarity moves the model by minus its gradient dotted with the step's
    displacement field; an extra blur of variance v changes it by v / 2 times its Laplacian
    (the heat equation). ``frame`` = (centre, radius, size): the turn and stretch are
    measured as motions at ``radius`` pixels from the centre, which keeps the normal
    equations well scaled.
    """
    centre, radius, size = frame
    channels = level.degraded.shape[0]
    dx = ((level.x - centre[0]) / radius).to(level.degraded.dtype)
    dy = ((level.y - centre[1]) / radius).to(level.degraded.dtype)
    matrix, blur, gain, offset = fit
    smoothed = smooth_level(level, blur)
    exposed = False
    for _ in range(iterations):
        if abs(smoothed.blur - blur) > BLUR_STEP:
            smoothed = smooth_level(level, blur, smoothed)
        samples, inside = warp_reference(level, smoothed, matrix)
        warped, gx, gy, laplacian = samples.chunk(4)
        mask = smoothed.valid & inside
        if not exposed:
            # The exposure is linear: start each level from its least-squares value.
            gain, offset = fit_exposure(smoothed.degraded, warped, mask.to(warped.dtype))
            exposed = True
        model = (
            gain.to(warped.dtype)[:, None, None] * warped + offset.to(warped.dtype)[:, None, None]
        )
        residual = smoothed.degraded - model
        # Cauchy weights: what the model cannot explain (an occlusion, a blur of another
        # shape) must not pull the fit. Unlike Huber's, they fall to zero far out, which
        # keeps a fit through 30% of occluded pixels within 0.01 px (Huber's: 1.6 px).
        limit = CAUCHY * robust_spread(residual, mask)[:, None, None]
        weights = mask.to(warped.dtype) / (1 + (residual / limit) ** 2)
        basis = torch.stack(
            [
                gx,
                gy,
                gx * dy - gy * dx,
                gx * dx + gy * dy,
                laplacian,
                warped,
                torch.ones_like(warped),
            ],
            -1,
        )
        normal, rhs = normal_equations(
            basis.flatten(1, 2), residual.flatten(1), weights.flatten(1), gain
        )
        # The weak pull of the exposures towards none (see PRIOR_PIXELS).
        prior = torch.cat(
            [
                torch.zeros(5, dtype=torch.float64),
                torch.full((channels,), PRIOR_PIXELS * PRIOR_SPREAD**2, dtype=torch.float64),
                torch.full((channels,), PRIOR_PIXELS, dtype=torch.float64),
            ]
        )
        rhs -= prior * torch.cat([torch.zeros(5, dtype=torch.float64), gain - 1, offset])
        normal += torch.diag(prior + 1e-9 * float(normal.diagonal().mean()) + 1e-12)
        step = torch.linalg.solve(normal, rhs)
        if not bool(torch.isfinite(step).all()):
            break
        matrix = bounded(compose_step(matrix, step[:4], centre, radius), size, max_shift)
        blur = max(-MAX_BLUR, min(MAX_BLUR, blur + float(step[4])))
        # A negative gain would be a photographic negative, not an exposure.
        gain = (gain + step[5 : 5 + channels]).clamp_min(LEAST_GAIN)
        offset = offset + step[5 + channels :]
        # Coarse levels only need to hand the next one a good start.
        loose = 1 if level.factor == 1 else 10 * level.factor
        if float(step[:4].abs().max()) < loose * PRECISION and abs(float(step[4])) < (
            loose * BLUR_STEP
        ):
            break
    return Fit(matrix, blur, gain, offset)


def scene_correlation(level: Level, fit: Fit) -> float:
    """Normalised cross-correlation of a level's degraded image with the fitted model.

    Both lose their local mean (a Gaussian of :data:`SCENE_BACKGROUND` pixels, over the
    valid pixels only) first: large smooth shapes match in any two photos, texture does not.
    """
    smoothed = smooth_level(level, fit.blur)
    samples, inside = warp_reference(level, smoothed, fit.matrix)
    warped = samples.chunk(4)[0]
    mask = (smoothed.valid & inside).to(warped.dtype)
    model = fit.gain.to(warped.dtype)[:, None, None] * warped
    background = SCENE_BACKGROUND / (level.factor * level.stride)
    model = model - local_mean(model, mask, background)
    degraded = smoothed.degraded - local_mean(smoothed.degraded, mask, background)
    covariance = variance_d = variance_m = 0.0
    for d, m, keep in zip(degraded.double(), model.double(), mask > 0):
        if int(keep.sum()) < 2:
            continue
        d, m = d[keep] - d[keep].mean(), m[keep] - m[keep].mean()
        covariance += float((d * m).sum())
        variance_d += float((d * d).sum())
        variance_m += float((m * m).sum())
    if variance_d <= 0 or variance_m <= 0:
        return 0.0
    return covariance / math.sqrt(variance_d * variance_m)

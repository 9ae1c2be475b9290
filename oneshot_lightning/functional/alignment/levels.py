"""The pyramid levels of the alignment fit: block-averaged and smoothed images, warped."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from oneshot_lightning.functional.alignment.apply import sample_at
from oneshot_lightning.functional.alignment.filters import gaussian_smooth

CLIPPED_SHARE = 0.02


FIT_PIXELS = 250_000  # about the most pixels of a level the fit reads


class Level(NamedTuple):
    """One level of the pyramid: block-averaged images and the pixels the fit reads."""

    degraded: Tensor  # (C, h, w) the crop of the degraded image
    clipped: Tensor  # (C, h, w) share of each pixel that is clipped or beside a clipped one
    reference: Tensor  # (C, H, W) a margin wider than the crop
    factor: int  # full pixels per level pixel
    sigma: float  # smoothing of both sides, in level pixels
    stride: int  # the fit reads every stride-th pixel each way
    x: Tensor  # (n, m) float64: frame x of each pixel read
    y: Tensor  # (n, m) float64: its y
    ref_origin: tuple[int, int]  # (top, left) of the reference in the frame, full pixels


def pool(image: Tensor, factor: int) -> Tensor:
    """(C, H, W) -> (C, H // f, W // f) block means."""
    return image if factor == 1 else F.avg_pool2d(image[None], factor)[0]


def make_level(
    crop: tuple[Tensor, Tensor, tuple[int, int]],
    reference: tuple[Tensor, tuple[int, int]],
    factor: int,
    sigma: float,
) -> Level:
    """One pyramid level: the images block-averaged by ``factor``, smoothed by ``sigma``.

    ``crop`` = (degraded, clipped, (top, left)) and ``reference`` = (image, (top, left)),
    origins in the frame; the fit reads about :data:`FIT_PIXELS` of the level's pixels.
    """
    degraded, clipped, origin = crop
    pooled = pool(degraded, factor)
    height, width = pooled.shape[-2:]
    stride = max(1, round(math.sqrt(height * width / FIT_PIXELS)))
    offset = (factor - 1) / 2
    rows = origin[0] + offset + factor * torch.arange(0, height, stride, dtype=torch.float64)
    cols = origin[1] + offset + factor * torch.arange(0, width, stride, dtype=torch.float64)
    y, x = torch.meshgrid(rows, cols, indexing="ij")
    return Level(
        pooled,
        pool(clipped.to(pooled.dtype), factor),
        pool(reference[0], factor),
        factor,
        sigma,
        stride,
        x,
        y,
        reference[1],
    )


class Smoothed(NamedTuple):
    """A level's two images smoothed, for one extra blur."""

    blur: float  # variance (full pixels squared) of the extra blur of the degraded image
    sigma: float  # smoothing of the degraded image, level pixels
    degraded: Tensor  # (C, n, m) at the pixels the fit reads
    valid: Tensor  # (C, n, m) bool: unclipped, away from the borders
    stack: Tensor  # (4C, H, W): reference, its x and y derivatives, half its Laplacian
    margin: float  # level pixels at the reference's border that smoothing spoiled


def smooth_level(level: Level, blur: float, last: Smoothed | None = None) -> Smoothed:
    """Smooth both images of ``level`` by its sigma, the sharper one by ``blur`` more.

    ``blur`` is the variance, in full pixels squared, of the Gaussian that the degraded
    image has beyond the reference (the reference's side when negative). A smoothed pixel
    is valid while at most :data:`CLIPPED_SHARE` of it comes from clipped pixels.
    Derivatives are per full pixel. The degraded side of ``last`` is reused if it fits.
    """
    wide = math.sqrt(level.sigma**2 + abs(blur) / level.factor**2)
    sigma_d, sigma_r = (level.sigma, wide) if blur >= 0 else (wide, level.sigma)
    if last is not None and last.sigma == sigma_d:
        degraded, valid = last.degraded, last.valid
    else:
        degraded, valid = smooth_degraded(level, sigma_d)
    reference = gaussian_smooth(level.reference, sigma_r)
    gx, gy, laplacian = (torch.zeros_like(reference) for _ in range(3))
    gx[..., 1:-1] = (reference[..., 2:] - reference[..., :-2]) / (2 * level.factor)
    gy[..., 1:-1, :] = (reference[..., 2:, :] - reference[..., :-2, :]) / (2 * level.factor)
    laplacian[..., 1:-1, 1:-1] = (
        reference[..., 2:, 1:-1]
        + reference[..., :-2, 1:-1]
        + reference[..., 1:-1, 2:]
        + reference[..., 1:-1, :-2]
        - 4 * reference[..., 1:-1, 1:-1]
    ) / (2 * level.factor**2)
    stack = torch.cat([reference, gx, gy, laplacian])
    return Smoothed(blur, sigma_d, degraded, valid, stack, math.ceil(3 * sigma_r) + 2.0)


def smooth_degraded(level: Level, sigma: float) -> tuple[Tensor, Tensor]:
    """(C, n, m) the level's degraded image smoothed at the pixels the fit reads, and valid."""
    step = level.stride
    degraded = gaussian_smooth(level.degraded, sigma)[:, ::step, ::step]
    if bool(level.clipped.any()):
        valid = gaussian_smooth(level.clipped, sigma)[:, ::step, ::step] <= CLIPPED_SHARE
    else:
        valid = torch.ones_like(degraded, dtype=torch.bool)
    border = math.ceil(3 * sigma) + 1
    rows = torch.arange(0, level.degraded.shape[-2], step)
    cols = torch.arange(0, level.degraded.shape[-1], step)
    valid &= ((rows >= border) & (rows < level.degraded.shape[-2] - border))[:, None]
    valid &= ((cols >= border) & (cols < level.degraded.shape[-1] - border))[None, :]
    return degraded, valid


def warp_reference(level: Level, smoothed: Smoothed, matrix: Tensor) -> tuple[Tensor, Tensor]:
    """The smoothed reference stack seen through ``matrix`` at the pixels the fit reads.

    Returns (4C, n, m): the reference, its x and y derivatives and half its Laplacian, all
    with respect to the degraded frame, and (n, m) bool: where the reference is valid.
    """
    inverse = torch.linalg.inv(matrix)
    offset = (level.factor - 1) / 2
    u = inverse[0, 0] * level.x + inverse[0, 1] * level.y + inverse[0, 2] - level.ref_origin[1]
    v = inverse[1, 0] * level.x + inverse[1, 1] * level.y + inverse[1, 2] - level.ref_origin[0]
    u, v = (u - offset) / level.factor, (v - offset) / level.factor
    height, width = smoothed.stack.shape[-2:]
    margin = smoothed.margin
    inside = (u >= margin) & (u <= width - 1 - margin) & (v >= margin) & (v <= height - 1 - margin)
    channels = smoothed.stack.shape[0] // 4
    reference = sample_at(smoothed.stack[:channels], u, v)
    # The derivatives only steer the steps; bilinear is good enough and four times cheaper.
    gx, gy, laplacian = sample_at(smoothed.stack[channels:], u, v, "bilinear").chunk(3)
    # Chain rule through x -> inverse @ x: the derivatives turn and scale with the map.
    a, b, c, d = (float(inverse[i, j]) for i, j in ((0, 0), (0, 1), (1, 0), (1, 1)))
    turned_x, turned_y = a * gx + c * gy, b * gx + d * gy
    return torch.cat([reference, turned_x, turned_y, abs(a * d - b * c) * laplacian]), inside

"""The noise of an image beside its noise-free prediction: its level, and whether it is shot noise.

Both take the residual (degraded minus its prediction, e.g. the clean image through the
fitted blur) and the prediction; clipping at 0 and 1 is kept out of every estimate.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from oneshot_lightning.functional.tiling import require_size


def unclipped_deviation(
    residual: Tensor, predicted: Tensor, mask: Tensor, rounds: int = 3, least: int = 1000
) -> float:
    """Standard deviation of the noise ``residual`` where the image was not clipped.

    Noise pushed below 0 or above 1 is cut off in the file, which shrinks it near black and
    white (by 10% at a deviation of 50/255 on a photo); only pixels whose noise-free value
    ``predicted`` lies 2.5 deviations inside [0, 1] count, the deviation refined ``rounds``
    times. Falls back to every pixel in ``mask`` if fewer than ``least`` remain.

    Args:
        residual: (C, H, W) degraded minus its noise-free prediction.
        predicted: (C, H, W) the noise-free prediction.
        mask: (H, W) the pixels where both are valid.
        rounds: refinements of the deviation and of the pixels it is measured on.
        least: the fewest pixels a refined deviation is measured on.
    """
    kept = mask.expand_as(residual)
    deviation = float(residual[kept].square().mean().sqrt())
    for _ in range(rounds):
        inside = kept & (predicted > 2.5 * deviation) & (predicted < 1 - 2.5 * deviation)
        if int(inside.sum()) < least:
            break
        deviation = float(residual[inside].square().mean().sqrt())
    return deviation


def shot_noise(
    residual: Tensor,
    predicted: Tensor,
    mask: Tensor,
    deviation: float,
    bins: int = 32,
    least_share: float = 0.25,
) -> tuple[float, float] | None:
    """(photons at value 1, read noise deviation) if the noise grows with the signal, else None.

    Fits ``variance(v) = v / peak + read ** 2`` by least squares, weighted by pixel count,
    over bands of the noise-free value v (``predicted``) where clipping at 0 and 1 does not
    shrink the noise: first where v is ``2.5 deviation`` inside [0, 1], then, refitted,
    wherever v is 2.5 of the first fit's deviations at v inside. Shot noise counts only if
    it makes at least ``least_share`` of the variance at mid-grey: texture that the blur fit
    leaves behind and 8-bit rounding must not pass for it.

    Args:
        residual: (C, H, W) degraded minus its noise-free prediction.
        predicted: (C, H, W) the noise-free prediction.
        mask: (H, W) the pixels where both are valid.
        deviation: the noise's overall standard deviation (``unclipped_deviation``).
        bins: bands of v over [0, 1].
        least_share: the least share of shot noise in the variance at v = 0.5.
    """
    kept = mask.expand_as(residual) & (predicted >= 0) & (predicted < 1)
    values, squares = predicted[kept], residual[kept].square()
    # Band i holds v in [i / bins, (i + 1) / bins): counts and sums of v and of the squared
    # noise per band, in one pass.
    index = (values * bins).long().clamp(max=bins - 1)
    counts = torch.bincount(index, minlength=bins)
    sums = torch.bincount(index, values, minlength=bins)
    energies = torch.bincount(index, squares, minlength=bins)
    bands = [
        (float(sums[i] / counts[i]), float(energies[i] / counts[i]), int(counts[i]))
        for i in torch.nonzero(counts >= 100).flatten().tolist()
    ]

    def fit(inside: Callable[[float], bool]) -> tuple[float, float] | None:
        chosen = [band for band in bands if inside(band[0])]
        if len(chosen) < 3:
            return None
        v, var, count = (torch.tensor(x, dtype=torch.float64) for x in zip(*chosen))
        weight = count.sqrt()
        design = torch.stack([v, torch.ones_like(v)], dim=1) * weight[:, None]
        solution = torch.linalg.lstsq(design, (var * weight)[:, None]).solution[:, 0]
        return float(solution[0]), float(solution[1])

    first = fit(lambda v: 2.5 * deviation < v < 1 - 2.5 * deviation)
    if first is None:
        return None
    slope, offset = first

    def unclipped(v: float) -> bool:
        reach = 2.5 * max(slope * v + offset, 0.0) ** 0.5
        return reach < v < 1 - reach

    slope, offset = fit(unclipped) or first
    shot = 0.5 * slope
    if shot <= 0 or shot < least_share * (shot + max(offset, 0.0)):
        return None
    return 1 / slope, max(offset, 0.0) ** 0.5


def blind_deviation(image: Tensor, patch: int = 8, windows: int = 65536) -> float:
    """Standard deviation of white Gaussian noise in one (C, H, W) image, with no clean image.

    Patch PCA (Chen, Zhu and Heng, ICCV 2015): the covariance of the image's ``patch`` x
    ``patch`` x C windows (at most about ``windows`` of them, at the smallest stride that
    allows: few windows spread the noise's eigenvalues) has the noise variance as its smallest
    eigenvalues; the image's structure lives in a few large ones. The noise variance is the
    mean of the smallest eigenvalues, taking as many as possible while their mean still equals
    their median (more would admit structure). Noise clipped at black and white reads low, so
    a second pass leaves out windows whose mean lies within 2.5 deviations (at most 0.2) of
    either. Measured within 8 % of sigma 5 to 25 on six photos (most within 3 %), and 4 to
    13 % low at 50, where clipping cuts more of the noise.
    """
    height, width = image.shape[-2:]
    require_size(height, width, patch, f"{patch}x{patch}, the window of the noise estimate")
    stride = max(1, math.ceil(math.sqrt((height - patch + 1) * (width - patch + 1) / windows)))
    cut = torch.nn.functional.unfold(image[None].double(), patch, stride=stride)[0]
    deviation = _smallest_variance(cut) ** 0.5
    means, reach = cut.mean(dim=0), min(2.5 * deviation, 0.2)
    inside = (means > reach) & (means < 1 - reach)
    if int(inside.sum()) >= 4 * cut.shape[0]:
        deviation = _smallest_variance(cut[:, inside]) ** 0.5
    return deviation


def _smallest_variance(windows: Tensor) -> float:
    """The noise variance of (D, N) windows: their covariance's noise-only eigenvalues."""
    centred = windows - windows.mean(dim=1, keepdim=True)
    eigenvalues = torch.linalg.eigvalsh(centred @ centred.T / centred.shape[1])
    for count in range(len(eigenvalues), 1, -1):
        smallest = eigenvalues[:count]
        mean = smallest.mean()
        if int((smallest > mean).sum()) == int((smallest < mean).sum()):
            return float(mean.clamp(min=0))
    return float(eigenvalues[0].clamp(min=0))  # the rule holds for one eigenvalue alone

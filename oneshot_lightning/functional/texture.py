"""How much an image can teach: texture statistics of a (clean) training image.

All statistics read the image's luma (BT.601 weights for RGB; grey as it is) in [0, 1] and
return plain floats, so that a pair can be judged before any training.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

#: BT.601 luma weights of (R, G, B).
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def luma(image: Tensor) -> Tensor:
    """(C, H, W) or (B, C, H, W) grey or RGB in [0, 1] -> (B, 1, H, W) luma in [0, 1]."""
    batch = image if image.ndim == 4 else image[None]
    if batch.shape[1] == 1:
        return batch
    weights = batch.new_tensor(LUMA_WEIGHTS)[None, :, None, None]
    return (batch[:, :3] * weights).sum(1, keepdim=True)


def local_contrast(image: Tensor, window: int = 11) -> Tensor:
    """Standard deviation of the luma in each ``window`` x ``window`` window (valid).

    (C, H, W) or (B, C, H, W) -> (B, 1, H - window + 1, W - window + 1).
    """
    y = luma(image).double()
    mean = F.avg_pool2d(y, window, stride=1)
    square = F.avg_pool2d(y * y, window, stride=1)
    return (square - mean * mean).clamp_min(0).sqrt().to(image.dtype)


def flat_fraction(image: Tensor, window: int = 11, threshold: float = 2 / 255) -> float:
    """The fraction of ``window``-sized patches (on a grid of that step) that are flat.

    Flat: the luma's standard deviation within the patch is below ``threshold`` (a fraction
    of full scale; 2/255 is about the noise of a good 8-bit photo).
    """
    contrast = local_contrast(image, window)[..., ::window, ::window]
    return float((contrast < threshold).float().mean())


def gradient_energy(image: Tensor) -> float:
    """Mean squared difference of neighbouring luma values, across and down, in (1/255)^2."""
    y = luma(image).float()  # single precision: a full photo at fit start, in half the memory
    across = (y[..., :, 1:] - y[..., :, :-1]).pow(2).mean()
    down = (y[..., 1:, :] - y[..., :-1, :]).pow(2).mean()
    return float((across + down) / 2 * 255**2)


def patch_diversity(
    image: Tensor, size: int = 8, stride: int = 4, most: int = 20000, seed: int = 0
) -> float:
    """How many independent directions the luma's patches span: an effective dimension.

    The ``size`` x ``size`` patches on a grid of ``stride`` (at most ``most`` of them, drawn
    with ``seed``), their means removed, have a covariance with eigenvalues l_i; the result is
    exp(entropy of l_i / sum l_i), between 1 (one pattern) and size^2 (white noise).
    """
    y = luma(image).double()
    patches = F.unfold(y, size, stride=stride).transpose(1, 2).reshape(-1, size * size)
    if patches.shape[0] > most:
        generator = torch.Generator().manual_seed(seed)
        patches = patches[torch.randperm(patches.shape[0], generator=generator)[:most]]
    patches = patches - patches.mean(1, keepdim=True)
    eigenvalues = torch.linalg.eigvalsh(patches.T @ patches / patches.shape[0]).clamp_min(0)
    total = float(eigenvalues.sum())
    if total <= 0:
        return 1.0
    share = eigenvalues / total
    entropy = -float((share * share.clamp_min(1e-300).log()).sum())
    return math.exp(entropy)


def window_gradients(image: Tensor, window: int, stride: int = 1) -> Tensor:
    """Mean luma gradient magnitude in each ``window`` x ``window`` window, every ``stride``.

    (C, H, W) -> (rows, cols) with rows = (H - window) // stride + 1 (likewise cols): window
    (i, j) covers rows ``i * stride`` to ``i * stride + window - 1``. Forward differences,
    the last row and column repeated, in full-scale units (0 for flat windows).
    """
    y = luma(image).float()
    across = F.pad(y[..., :, 1:] - y[..., :, :-1], (0, 1, 0, 0), mode="replicate")
    down = F.pad(y[..., 1:, :] - y[..., :-1, :], (0, 0, 0, 1), mode="replicate")
    magnitude = (across.square() + down.square()).sqrt()
    return F.avg_pool2d(magnitude, window, stride=stride)[0, 0]

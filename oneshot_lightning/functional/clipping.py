"""Where noise is far from the clipping at 0 and 1: a mask and the weight that blends by it."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def window_mean(image: Tensor, window: int) -> Tensor:
    """(B, C, H, W) -> (B, C, H, W): the mean of each odd ``window`` x ``window`` window.

    Windows that cross the border average only the pixels inside.
    """
    return F.avg_pool2d(image, window, 1, window // 2, count_include_pad=False)


def unclipped_mask(image: Tensor, sigma: float, window: int = 7, margin: float = 2.0) -> Tensor:
    """(B, C, H, W) noisy image in [0, 1] -> (B, C, H, W) bool: far from the clipping.

    True where the ``window`` x ``window`` mean around a pixel, in its channel, lies
    ``margin`` noise deviations ``sigma`` (image units) inside (0, 1). There the noise a
    camera file holds is close to Gaussian; near 0 or 1 it was clipped, and its mean is
    no longer the image (a loss that assumes Gaussian noise learns the wrong image there).

    Example:
        >>> import torch
        >>> image = torch.tensor([0.0, 0.5, 1.0]).view(1, 1, 3, 1).expand(1, 1, 3, 9)
        >>> unclipped_mask(image, 0.1, window=1)[0, 0, :, 0].tolist()
        [False, True, False]
    """
    mean = window_mean(image, window)
    inside = margin * sigma
    return (mean > inside) & (mean < 1 - inside)


def unclipped_weight(image: Tensor, sigma: float, window: int = 7, margin: float = 2.0) -> Tensor:
    """(B, C, H, W) noisy image -> (B, C, H, W) weight in [0, 1]: the share far from clipping.

    :func:`unclipped_mask` averaged over ``window`` x ``window`` windows, so that a blend by
    it changes over a window, not in a step. Each output pixel reads ``window - 1`` pixels
    on each side.
    """
    return window_mean(unclipped_mask(image, sigma, window, margin).to(image.dtype), window)

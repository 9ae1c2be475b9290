"""Rounding to the levels an image file holds."""

from __future__ import annotations

from torch import Tensor


def quantize(image: Tensor, bits: int = 8) -> Tensor:
    """Clip to [0, 1] and round to the ``2**bits - 1`` steps of a ``bits``-bit file.

    Args:
        image: any shape, values nominally in [0, 1].
        bits: bits per sample of the file (8 or 16).

    Returns:
        Same shape, on the grid ``k / (2**bits - 1)``.

    >>> import torch
    >>> quantize(torch.tensor([-0.1, 0.5, 0.999, 1.2])).mul(255).tolist()
    [0.0, 128.0, 255.0, 255.0]
    """
    levels = 2**bits - 1
    return (image.clamp(0, 1) * levels).round() / levels

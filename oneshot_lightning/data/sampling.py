"""Where training patches come from: the pair's shrunk copies and the corners patches start at.

Images are (C, h, w) degraded and (C, s h, s w) clean tensors, s the super-resolution scale;
blocks are (top, left, rows, columns) in degraded (input) pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import (
    Box,
    allowed_positions,
    imresize,
    mod_crop,
    window_gradients,
)

#: Pixels that bicubic shrinking mixes around a held-out block (about 2 output pixels).
SHRINK_MARGIN = 3


def shrink_blocks(blocks: Sequence[Box], factor: float) -> list[Box]:
    """``blocks`` of an image shrunk by ``factor``, in the shrunk image's pixels."""
    return [
        (int(factor * top), int(factor * left), int(factor * rows), int(factor * cols))
        for top, left, rows, cols in blocks
    ]


def shrunk_pairs(
    degraded: Tensor,
    clean: Tensor,
    factors: Sequence[float],
    degrade: Callable[[Tensor, int], Tensor],
    patch_size: int,
    scale: int = 1,
) -> list[tuple[Tensor, Tensor]]:
    """The pair at each size of ``factors`` (relative to the clean image; 1 is the pair).

    A smaller one shrinks the clean image (MATLAB bicubic, antialiased), crops it to a
    multiple of ``scale`` and degrades it by ``degrade(clean, index)`` (own noise per index).
    """
    pairs = []
    height, width = clean.shape[-2:]
    for index, factor in enumerate(factors, start=1):
        if factor == 1:
            pairs.append((degraded, clean))
            continue
        shape = (round(factor * height), round(factor * width))
        if min(shape) < scale * patch_size:
            raise InputError(
                f"data.clean_scales {factor} shrinks the {width}x{height} training image "
                f"below one {patch_size}x{patch_size} patch"
            )
        # Bicubic overshoots; a clean image stays in [0, 1].
        small = mod_crop(imresize(clean[None], shape)[0].clamp(0, 1), scale)
        pairs.append((degrade(small, index), small))
    return pairs


def patch_positions(
    pairs: Sequence[tuple[Tensor, Tensor]], blocks: Sequence[Box], window: int
) -> list[Tensor | None]:
    """Per pair, the corners of ``window``-pixel windows that miss the held-out ``blocks``.

    The first pair holds the blocks; the others are shrunk copies, whose blocks shrink with
    them and keep a margin for what shrinking mixes. ``None`` (anywhere) without blocks.
    """
    if not blocks:
        return [None] * len(pairs)
    first = pairs[0][0].shape[-2]
    positions: list[Tensor | None] = []
    for index, (degraded, _) in enumerate(pairs):
        height, width = degraded.shape[-2:]
        shrunk = shrink_blocks(blocks, height / first) if index else list(blocks)
        margin = SHRINK_MARGIN if index else 0
        positions.append(allowed_positions(height, width, window, shrunk, margin))
    return positions


#: Copies of the most textured corners in a gradient-weighted draw (flat corners keep one).
MOST_COPIES = 8


def gradient_weighted(
    pairs: Sequence[tuple[Tensor, Tensor]],
    positions: Sequence[Tensor | None],
    window: int,
    scale: int = 1,
) -> list[Tensor]:
    """Per pair, its allowed corners repeated by how textured their clean windows are.

    A uniform draw from the result (``functional.sample_from_pairs``) then picks a window with
    probability growing with the mean gradient magnitude of its clean window: from 1 copy
    (flat) to :data:`MOST_COPIES` (twice the mean over all pairs or more), as ZSSR draws its
    crops by gradient magnitude. ``window`` is the input patch side.
    """
    maps = [window_gradients(clean, scale * window, scale).flatten() for _, clean in pairs]
    mean = torch.cat(maps).mean().clamp_min(1e-8)
    weighted = []
    for gradients, allowed in zip(maps, positions):
        corners = torch.arange(len(gradients)) if allowed is None else allowed
        share = (gradients[corners] / (2 * mean)).clamp(max=1)
        weighted.append(corners.repeat_interleave((1 + (MOST_COPIES - 1) * share).round().long()))
    return weighted

"""Vectorised patch extraction: aligned random patch pairs and centre crops."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from oneshot_lightning.errors import InputError

#: A rectangle of an image: (top, left, rows, columns) in pixels.
Box = tuple[int, int, int, int]


def extract_patches(image: Tensor, top: Tensor, left: Tensor, size: int) -> Tensor:
    """Gather square patches from one image without a Python loop over patches.

    Args:
        image: (C, H, W).
        top: (N,) integer row of each patch's top-left corner.
        left: (N,) integer column of that corner; every patch must lie inside the image.
        size: patch side in pixels.

    Returns:
        (N, C, size, size).
    """
    offsets = torch.arange(size, device=image.device)
    rows = (top[:, None] + offsets)[:, :, None]  # (N, size, 1)
    cols = (left[:, None] + offsets)[:, None, :]  # (N, 1, size)
    return image[:, rows, cols].permute(1, 0, 2, 3)


def sample_patch_pairs(
    degraded: Tensor,
    clean: Tensor,
    count: int,
    size: int,
    generator: torch.Generator,
    scale: int = 1,
    positions: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Draw ``count`` aligned random patch pairs from one degraded/clean image pair.

    The degraded patch at (y, x) of side ``size`` pairs with the clean patch at
    (scale * y, scale * x) of side ``scale * size``.

    Args:
        degraded: (C, h, w).
        clean: (C, scale * h, scale * w).
        count: how many pairs to draw.
        size: side of the degraded patches, in pixels.
        generator: CPU generator that makes the draw reproducible.
        scale: super-resolution factor s (clean pixels per degraded pixel).
        positions: (M,) the allowed top-left corners as flat indices ``top * (w - size + 1)
            + left`` (see :func:`allowed_positions`); every corner when ``None``.

    Returns:
        ((count, C, size, size), (count, C, scale * size, scale * size)).
    """
    height, width = degraded.shape[-2:]
    if positions is None:
        top = torch.randint(0, height - size + 1, (count,), generator=generator)
        left = torch.randint(0, width - size + 1, (count,), generator=generator)
    else:
        chosen = positions[torch.randint(0, len(positions), (count,), generator=generator)]
        top, left = chosen // (width - size + 1), chosen % (width - size + 1)
    top, left = top.to(degraded.device), left.to(degraded.device)
    return (
        extract_patches(degraded, top, left, size),
        extract_patches(clean, scale * top, scale * left, scale * size),
    )


def sample_from_pairs(
    pairs: Sequence[tuple[Tensor, Tensor]],
    count: int,
    size: int,
    generator: torch.Generator,
    scale: int = 1,
    positions: Sequence[Tensor | None] | None = None,
    weights: Sequence[float] | None = None,
) -> tuple[Tensor, Tensor]:
    """Draw ``count`` aligned patch pairs from several pairs, in proportion to their areas.

    Every patch position of every pair is equally likely; one pair gives exactly the draw of
    :func:`sample_patch_pairs` (so single-pair training stays reproducible).

    Args:
        pairs: (degraded (C, h, w), clean (C, scale * h, scale * w)), sizes may differ.
        count: how many patch pairs to draw in all.
        size: side of the degraded patches, in pixels.
        generator: CPU generator that makes the draw reproducible.
        scale: super-resolution factor s.
        positions: per pair, its allowed corners (see :func:`sample_patch_pairs`) or None.
        weights: per pair, a factor on its area's share (``None``: all 1).

    Returns:
        ((count, C, size, size), (count, C, scale * size, scale * size)), grouped by pair.
    """
    allowed = list(positions) if positions is not None else [None] * len(pairs)
    if len(pairs) == 1 or count == 0:  # no draw: empty patches shaped like the first pair's
        return sample_patch_pairs(*pairs[0], count, size, generator, scale, allowed[0])
    areas = torch.tensor(
        [
            (d.shape[-2] - size + 1) * (d.shape[-1] - size + 1) if where is None else len(where)
            for (d, _), where in zip(pairs, allowed)
        ],
        dtype=torch.float,
    )
    if weights is not None:
        areas = areas * torch.tensor(list(weights), dtype=torch.float)
    chosen = torch.multinomial(areas, count, replacement=True, generator=generator)
    counts = torch.bincount(chosen, minlength=len(pairs)).tolist()
    drawn = [
        sample_patch_pairs(degraded, clean, n, size, generator, scale, where)
        for (degraded, clean), n, where in zip(pairs, counts, allowed)
        if n > 0
    ]
    return torch.cat([d for d, _ in drawn]), torch.cat([c for _, c in drawn])


def allowed_positions(
    height: int, width: int, size: int, blocks: Sequence[Box], margin: int = 0
) -> Tensor:
    """Top-left corners of the ``size`` x ``size`` windows of an image that miss every block.

    Args:
        height: image rows.
        width: image columns.
        size: window side in pixels.
        blocks: (top, left, rows, columns) rectangles no window may touch.
        margin: pixels added around each block (e.g. for a resampling filter's reach).

    Returns:
        (M,) int64 flat indices ``top * (width - size + 1) + left``, ascending.

    >>> allowed_positions(4, 4, 2, [(0, 0, 1, 1)]).tolist()  # only (0, 0) touches the pixel
    [1, 2, 3, 4, 5, 6, 7, 8]
    """
    rows, cols = height - size + 1, width - size + 1
    free = torch.ones(rows, cols, dtype=torch.bool)
    for top, left, block_rows, block_cols in blocks:
        # A window at (y, x) touches the block when it starts less than `size` before it.
        free[
            max(0, top - margin - size + 1) : max(0, top + block_rows + margin),
            max(0, left - margin - size + 1) : max(0, left + block_cols + margin),
        ] = False
    return free.flatten().nonzero().flatten()


def holdout_blocks(
    height: int, width: int, count: int, fraction: float, least: int, patch_size: int
) -> list[Box]:
    """Parts of a ``height`` x ``width`` image to hold out, leaving room for patches.

    ``count`` squares at the centres of a grid of cells, together about ``fraction`` of the
    image, so that they sample the whole picture; when they would leave fewer than half of
    the ``patch_size`` windows free (a small image, a large patch), one strip of
    ``fraction`` of the rows at the bottom instead. Every block is at least ``least`` wide.

    >>> holdout_blocks(100, 100, 4, 0.16, 11, 11)
    [(15, 15, 20, 20), (15, 65, 20, 20), (65, 15, 20, 20), (65, 65, 20, 20)]
    >>> holdout_blocks(100, 100, 4, 0.16, 11, 40)  # 40-pixel patches: a strip
    [(84, 0, 16, 100)]
    """
    rows = max(1, round(math.sqrt(count)))
    cols = math.ceil(count / rows)
    side = max(least, round(math.sqrt(fraction * height * width / count)))
    cells = [(row, col) for row in range(rows) for col in range(cols)][:count]
    blocks = [
        (
            (2 * row + 1) * height // (2 * rows) - side // 2,
            (2 * col + 1) * width // (2 * cols) - side // 2,
            side,
            side,
        )
        for row, col in cells
    ]
    windows = (height - patch_size + 1) * (width - patch_size + 1)
    fits = side <= min(height // rows, width // cols)
    if fits and 2 * len(allowed_positions(height, width, patch_size, blocks)) >= windows:
        return blocks
    strip = max(least, round(height * fraction))
    if height - strip < patch_size:
        raise InputError(
            f"training image {width}x{height} is too small to split: a {strip}-row "
            f"validation strip and a {patch_size}-row patch need {strip + patch_size} rows "
            "(give data.val_target or a larger image)"
        )
    return [(height - strip, 0, strip, width)]


def center_crop(patches: Tensor, size: int) -> Tensor:
    """(..., H, W) -> (..., size, size), the centred window (H - size even)."""
    top = (patches.shape[-2] - size) // 2
    left = (patches.shape[-1] - size) // 2
    return patches[..., top : top + size, left : left + size]

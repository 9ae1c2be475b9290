"""Vectorised patch extraction: aligned random patch pairs and centre crops."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


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

    Returns:
        ((count, C, size, size), (count, C, scale * size, scale * size)).
    """
    height, width = degraded.shape[-2:]
    top = torch.randint(0, height - size + 1, (count,), generator=generator)
    left = torch.randint(0, width - size + 1, (count,), generator=generator)
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
) -> tuple[Tensor, Tensor]:
    """Draw ``count`` aligned patch pairs from several pairs, each in proportion to its area.

    Every patch position of every pair is equally likely; one pair gives exactly the draw of
    :func:`sample_patch_pairs` (so single-pair training stays reproducible).

    Args:
        pairs: (degraded (C, h, w), clean (C, scale * h, scale * w)), sizes may differ.
        count: how many patch pairs to draw in all.
        size: side of the degraded patches, in pixels.
        generator: CPU generator that makes the draw reproducible.
        scale: super-resolution factor s.

    Returns:
        ((count, C, size, size), (count, C, scale * size, scale * size)), grouped by pair.
    """
    if len(pairs) == 1:
        return sample_patch_pairs(*pairs[0], count, size, generator, scale)
    positions = torch.tensor(
        [(d.shape[-2] - size + 1) * (d.shape[-1] - size + 1) for d, _ in pairs], dtype=torch.float
    )
    chosen = torch.multinomial(positions, count, replacement=True, generator=generator)
    counts = torch.bincount(chosen, minlength=len(pairs)).tolist()
    drawn = [
        sample_patch_pairs(degraded, clean, n, size, generator, scale)
        for (degraded, clean), n in zip(pairs, counts)
        if n > 0
    ]
    return torch.cat([d for d, _ in drawn]), torch.cat([c for _, c in drawn])


def center_crop(patches: Tensor, size: int) -> Tensor:
    """(..., H, W) -> (..., size, size), the centred window (H - size even)."""
    top = (patches.shape[-2] - size) // 2
    left = (patches.shape[-1] - size) // 2
    return patches[..., top : top + size, left : left + size]

"""The training material of one pair: checks, held-out blocks, shrunk copies, blur, fresh.

Images are (C, h, w) degraded and (C, s h, s w) clean tensors, s the super-resolution scale;
blocks are (top, left, rows, columns) in degraded (input) pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import Tensor

from oneshot_lightning.data.degradations import Blur, Degradation
from oneshot_lightning.data.io import read_image, read_pair
from oneshot_lightning.data.synthesis import FreshCrops
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import (
    Box,
    allowed_positions,
    holdout_blocks,
    imresize,
    mod_crop,
    window_gradients,
)
from oneshot_lightning.functional.kernel_estimation import KernelEstimate
from oneshot_lightning.metrics import SSIM_WINDOW

#: Pixels that bicubic shrinking mixes around a held-out block (about 2 output pixels).
SHRINK_MARGIN = 3


#: The bundled public-domain photograph, the clean image when no other is given.
SAMPLE_IMAGE = Path(__file__).parent / "sample" / "astronaut.png"


def check_pair(degraded: Tensor, clean: Tensor, what: str, scale: int = 1) -> Tensor:
    """The clean image cropped to ``scale`` times the degraded one's size, if that fits.

    Raises :class:`InputError` when the (C, H, W) sizes or channels of the pair don't fit.
    """
    height, width = degraded.shape[-2:]
    fits = all(
        scale * low <= high < scale * (low + 1)
        for low, high in zip((height, width), clean.shape[-2:])
    )
    if not fits:
        expected = f"{scale * width}x{scale * height}" + (
            f" (up to {scale - 1} more rows/columns, cropped)" if scale > 1 else ""
        )
        raise InputError(
            f"pair sizes don't fit: input is {width}x{height}, target is {clean.shape[-1]}x"
            f"{clean.shape[-2]} (WxH), expected a target of {expected} at scale {scale} "
            f"for {what}"
        )
    if degraded.shape[0] != clean.shape[0]:
        raise InputError(
            f"pair channels differ: input has {degraded.shape[0]}, target has {clean.shape[0]} "
            f"for {what}"
        )
    return clean[:, : scale * height, : scale * width]


def cut_blocks(
    degraded: Tensor, clean: Tensor, blocks: Sequence[Box], scale: int = 1
) -> list[tuple[Tensor, Tensor, str]]:
    """The held-out blocks of a pair as validation pairs ``(degraded, clean, name)``."""
    s = scale
    return [
        (
            degraded[:, top : top + rows, left : left + cols],
            clean[:, s * top : s * (top + rows), s * left : s * (left + cols)],
            f"validation {index}",
        )
        for index, (top, left, rows, cols) in enumerate(blocks, start=1)
    ]


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


def validation_blocks(
    height: int, width: int, count: int, fraction: float, patch_size: int, scale: int = 1
) -> list[Box]:
    """The parts of a ``height`` x ``width`` input image to hold out (``holdout_blocks``).

    Each holds an SSIM window after the super-resolution border (= scale) is shaved, and
    more than half a patch (what whole-image inference mirrors at the borders).
    """
    shave = scale if scale > 1 else 0
    least = max(patch_size // 2 + 1, -(-(SSIM_WINDOW + 2 * shave) // scale))
    return holdout_blocks(height, width, count, fraction, least, patch_size)


def degradation_blur(degradation: Degradation) -> KernelEstimate:
    """The blur kernel ((1, 1) for none) and noise that ``degradation`` applies."""
    kernel = getattr(degradation.blur, "kernel", None)
    peak, sigma = degradation.poisson_peak, degradation.noise_sigma
    square = torch.ones(1, 1) if kernel is None else kernel
    return KernelEstimate(square, sigma, peak, None if peak is None else sigma)


def fresh_degradation(
    degradation: Degradation | None, estimate: KernelEstimate | None
) -> Degradation:
    """What makes fresh pairs.

    The ``degradation`` that made the pair, else a blur and noise as estimated from the
    given pair: shot + read noise when its noise grows with the signal, else Gaussian.
    """
    if degradation is not None:
        return degradation
    if estimate is None:
        raise InputError(
            "data.fresh_fraction needs a degradation to make fresh pairs: set "
            "data.degradation (super-resolution pairs are not estimated)"
        )
    if estimate.poisson_peak is not None and estimate.read_sigma is not None:
        return Degradation(
            Blur(estimate.kernel),
            noise_sigma=estimate.read_sigma,
            poisson_peak=estimate.poisson_peak,
        )
    return Degradation(Blur(estimate.kernel), noise_sigma=estimate.noise_sigma)


def fresh_crops(
    pairs: Sequence[tuple[Tensor, Tensor]],
    blocks: Sequence[Box],
    patch_size: int,
    synthesis: Degradation,
    scale: int = 1,
) -> FreshCrops:
    """Clean crops for fresh pairs from every pair large enough, away from the blocks.

    Each crop has a margin for ``synthesis`` to degrade it without border effects.
    """
    kernel = getattr(synthesis.blur, "kernel", torch.ones(1, 1))
    # The blur's reach, and bicubic downscaling's (2 input pixels), stay in the margin.
    margin = max(kernel.shape) // 2 + (2 if scale > 1 else 0)
    window = patch_size + 2 * margin
    large = [index for index, (d, _) in enumerate(pairs) if min(d.shape[-2:]) >= window]
    if not large or large[0] != 0:
        raise InputError(
            f"data.fresh_fraction: the training image is smaller than one {window}x{window} "
            "crop (a patch and the blur's reach)"
        )
    kept = [pairs[index] for index in large]
    positions = patch_positions(kept, blocks, window)
    return FreshCrops([clean for _, clean in kept], positions, margin, scale)


def given_validation_pair(
    val_input: str | None, val_target: str, scale: int, degrade: Callable[[Tensor], Tensor]
) -> tuple[Tensor, Tensor, str]:
    """The validation pair of ``data.val_target`` (degraded by ``degrade`` without an input)."""
    if val_input is None:
        clean = mod_crop(read_image(val_target), scale)
        return degrade(clean), clean, "validation"
    # One value map for both files: a pair shares its range.
    degraded, clean = read_pair(val_input, val_target)
    return degraded, check_pair(degraded, clean, f"{val_input} / {val_target}", scale), "validation"


def training_images(
    input: str | None,
    target: str | None,
    scale: int,
    degrade: Callable[..., Tensor],
) -> tuple[Tensor, Tensor]:
    """The (degraded, clean) training images, each (C, H, W).

    The given pair; else the clean image (``target``, the zero-shot photo ``input``, or the
    bundled sample) and ``degrade(clean, what=...)`` of it, ``what`` naming its source.
    """
    if input is not None and target is not None:
        degraded, clean = read_pair(input, target)
        return degraded, check_pair(degraded, clean, f"{input} / {target}", scale)
    if input is not None:
        clean, what = read_image(input), "data.input"
    elif target is not None:
        clean, what = read_image(target), "data.target"
    else:
        clean, what = read_image(SAMPLE_IMAGE), "the bundled sample (no data.target)"
    clean = mod_crop(clean, scale)
    return degrade(clean, what=what), clean

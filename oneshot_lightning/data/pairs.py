"""The pair's images: read, checked, cut into held-out validation blocks; the pair's blur.

Images are (C, h, w) degraded and (C, s h, s w) clean tensors, s the super-resolution scale;
blocks are (top, left, rows, columns) in degraded (input) pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from torch import Tensor

from oneshot_lightning.data.degradations import Degradation
from oneshot_lightning.data.io import read_image, read_pair
from oneshot_lightning.data.registration import register_pair
from oneshot_lightning.data.synthesis import degradation_blur
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import (
    Box,
    Downscaling,
    holdout_blocks,
    mod_crop,
    noise_generator,
)
from oneshot_lightning.functional.kernel_estimation import KernelEstimate, estimate_kernel
from oneshot_lightning.metrics import SSIM_WINDOW

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


def alternative_validation(
    made_by: Degradation | None, clean: Tensor, blocks: Sequence[Box], scale: int, seed: int
) -> list[tuple[Tensor, Tensor, str]]:
    """The held-out ``blocks`` again, degraded by each degradation the photo's is not told from.

    So that the checkpoint kept is one that helps whichever of them shrank the photo
    (``Degradation.alternatives``); empty when the photo's downscaling was found.
    """
    val = []
    for variant in [] if made_by is None else made_by.alternatives():
        degraded = variant(clean[None], noise_generator(seed, 0), scale)[0]
        routine = variant.downscale.routine if variant.downscale else None
        val += [
            (small, large, f"{name}, shrunk as {routine}")
            for small, large, name in cut_blocks(degraded, clean, blocks, scale)
        ]
    return val


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


def given_validation_pair(
    val_input: str | None,
    val_target: str,
    scale: int,
    degrade: Callable[[Tensor], Tensor],
    align: bool = False,
) -> tuple[Tensor, Tensor, str]:
    """The validation pair of ``data.val_target`` (degraded by ``degrade`` without an input).

    A given pair is aligned as the training pair is when ``align`` (``data/registration.py``).
    """
    if val_input is None:
        clean = mod_crop(read_image(val_target), scale)
        return degrade(clean), clean, "validation"
    # One value map for both files: a pair shares its range.
    degraded, clean = read_pair(val_input, val_target)
    clean = check_pair(degraded, clean, f"{val_input} / {val_target}", scale)
    if align:
        degraded, clean = register_pair(degraded, clean, scale)[:2]
    return degraded, clean, "validation"


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


def pair_blur(
    degraded: Tensor, clean: Tensor, scale: int, made_by: Degradation | None
) -> KernelEstimate | None:
    """The pair's blur and noise.

    The degradation's own when ``made_by`` made the pair, else estimated from the pair
    (``functional.estimate_kernel``); ``None`` for super-resolution (``scale`` > 1), whose
    blur is part of the downscaling.
    """
    if scale != 1:
        return None
    if made_by is not None:
        return degradation_blur(made_by)
    return estimate_kernel(degraded, clean)


def pair_downscaling(made_by: Degradation | None) -> tuple[Downscaling | None, str]:
    """How a made super-resolution pair was shrunk, and where that comes from.

    ``(None, "")`` for MATLAB's bicubic or a given pair (``made_by`` ``None``).
    """
    downscale = None if made_by is None else made_by.downscale
    return (None, "") if downscale is None else (downscale.found, downscale.source)


def validation_material(
    degraded: Tensor,
    clean: Tensor,
    scale: int,
    patch_size: int,
    blocks: tuple[int, float],
    given: tuple[str | None, str | None],
    degrade: Callable[[Tensor], Tensor],
    align: bool = False,
) -> tuple[list[Box], list[tuple[Tensor, Tensor, str]]]:
    """The blocks held out of the training pair and the validation pairs.

    Without a given validation target (``given`` = (val_input, val_target)), ``blocks`` =
    (count, share) of the pair held out (:func:`validation_blocks`), cut from the pair; with
    one, no blocks and the given validation pair (:func:`given_validation_pair`).
    """
    val_input, val_target = given
    if val_input is None and val_target is None:
        (height, width), (count, fraction) = degraded.shape[-2:], blocks
        held_out = validation_blocks(height, width, count, fraction, patch_size, scale)
        return held_out, cut_blocks(degraded, clean, held_out, scale)
    if val_target is None:
        raise InputError("data.val_input needs data.val_target")
    return [], [given_validation_pair(val_input, val_target, scale, degrade, align)]

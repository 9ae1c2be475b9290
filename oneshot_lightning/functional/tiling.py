"""Whole-image inference for patch networks: size checks, border padding, channels, tiles."""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor

from oneshot_lightning.errors import InputError


def require_size(
    height: int, width: int, minimum: int, what: str, name: str = "image"
) -> None:
    """Raise :class:`InputError` unless ``width`` x ``height`` has ``minimum`` pixels each way.

    The message reads "``name`` (WxH) is smaller than ``what``", e.g. ``what`` = "one 11x11
    patch" and ``name`` the file.
    """
    if min(height, width) < minimum:
        raise InputError(f"{name} ({width}x{height}) is smaller than {what}")


def match_channels(image: Tensor, channels: int) -> Tensor:
    """Make (B, C, H, W) fit a net with ``channels`` inputs.

    Grey into an RGB net is replicated; RGB into a grey net is folded into the batch.
    """
    if image.shape[1] == channels:
        return image
    if image.shape[1] == 1:
        return image.expand(-1, channels, -1, -1)
    if channels == 1:
        return image.reshape(-1, 1, *image.shape[-2:])
    raise InputError(
        f"cannot restore a {image.shape[1]}-channel image with a {channels}-channel net"
    )


def restore_channels(output: Tensor, channels: int) -> Tensor:
    """Undo :func:`match_channels` on the net's output: (B', C', H, W) -> (B, channels, H, W)."""
    if output.shape[1] == channels:
        return output
    if channels == 1:
        return output.mean(1, keepdim=True)
    return output.reshape(-1, channels, *output.shape[-2:])


def tiled(
    valid_fn: Callable[[Tensor], Tensor], padded: Tensor, context: int, tile: int, scale: int = 1
) -> Tensor:
    """Apply a valid-mode function to a padded image in tiles of ``tile`` output pixels.

    ``valid_fn`` maps (B, C, h + context - 1, w + context - 1) to (B, C', scale h, scale w) and
    each output depends only on its window, so the tiled result equals the untiled one while
    peak memory follows the tile, not the image.
    """
    height, width = padded.shape[-2] - context + 1, padded.shape[-1] - context + 1
    output: Tensor | None = None
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            rows, cols = min(tile, height - top), min(tile, width - left)
            piece = valid_fn(
                padded[..., top : top + rows + context - 1, left : left + cols + context - 1]
            )
            if output is None:
                output = piece.new_empty(*piece.shape[:2], scale * height, scale * width)
            output[
                ..., scale * top : scale * (top + rows), scale * left : scale * (left + cols)
            ] = piece
    assert output is not None
    return output


def tiled_whole(
    restore_fn: Callable[[Tensor], Tensor], image: Tensor, margin: int, tile: int, scale: int = 1
) -> Tensor:
    """Apply a whole-image function in tiles of ``tile`` output pixels, with overlap.

    Each tile is restored from its part of the unpadded (B, C, H, W) ``image`` widened by
    ``margin`` pixels where the image has them, so that ``restore_fn``'s own border handling
    meets only the image's real borders; returns (B, C', scale H, scale W). Unlike
    :func:`tiled`, tiles agree only as far as ``margin`` reaches; an image within one tile
    is restored whole.
    """
    height, width = image.shape[-2:]
    output: Tensor | None = None
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            rows, cols = min(tile, height - top), min(tile, width - left)
            first_row, first_col = max(0, top - margin), max(0, left - margin)
            last_row = min(height, top + rows + margin)
            last_col = min(width, left + cols + margin)
            piece = restore_fn(image[..., first_row:last_row, first_col:last_col])
            if output is None:
                output = piece.new_empty(*piece.shape[:2], scale * height, scale * width)
            row, col = scale * (top - first_row), scale * (left - first_col)
            output[
                ..., scale * top : scale * (top + rows), scale * left : scale * (left + cols)
            ] = piece[..., row : row + scale * rows, col : col + scale * cols]
    assert output is not None
    return output


def pad_for_patches(image: Tensor, context: int) -> Tensor:
    """Reflect-pad (B, C, H, W) by ``context // 2`` so every pixel gets a centred window.

    ``context`` is the (odd) side of the window each output pixel of a net reads.
    """
    half = context // 2
    # Reflection needs more pixels than it mirrors.
    height, width = image.shape[-2:]
    least = half + 1
    require_size(
        height, width, least, f"{least}x{least}, the least for a net that reads "
        f"{context}x{context} windows"
    )
    return F.pad(image, (half, half, half, half), mode="reflect")

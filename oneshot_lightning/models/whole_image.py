"""Whole images through a patch net: first stage, channels, padding, tiles, self-ensemble.

Plain functions of the parts, shared by ``RestorationModule`` (validation, test, predict) and
the exported graphs (``oneshot_lightning.export``).
"""

from __future__ import annotations

from torch import Tensor, nn

from oneshot_lightning.functional import (
    DIHEDRAL_COUNT,
    dihedral,
    match_channels,
    pad_for_patches,
    restore_channels,
    tiled,
    tiled_whole,
    undo_dihedral,
)
from oneshot_lightning.models.nets.protocol import DegradationAware, RestorationNet, WholeImageNet


def restore_once(
    image: Tensor, net: RestorationNet, first_stage: nn.Module | None, tile_size: int
) -> Tensor:
    """One pass over whole (B, C, H, W) images in tiles of ``tile_size`` outputs; not clipped.

    Returns (B, C, s H, s W), s = ``net.scale``.
    """
    context, stride = net.context, net.stride
    # Tiles start on multiples of the stride, so tiling never shifts the net's phase.
    tile = max(stride, tile_size - tile_size % stride)
    if first_stage is not None:
        image = first_stage(image)
    matched = match_channels(image, net.channels)
    if isinstance(net, WholeImageNet):
        output = tiled_whole(net.restore, matched, context // 2, tile, net.scale)
        return restore_channels(output, image.shape[1])
    padded = pad_for_patches(matched, context)
    output = tiled(net.forward_valid, padded, context, tile, net.scale)
    return restore_channels(output, image.shape[1])


def set_view(parts: tuple[object, ...], index: int) -> None:
    """Tell the ``parts`` that hold a kernel which dihedral transform images come through."""
    for part in parts:
        if isinstance(part, DegradationAware):
            part.set_view(index)


def restore(
    image: Tensor,
    net: RestorationNet,
    first_stage: nn.Module | None = None,
    tile_size: int = 512,
    self_ensemble: bool = False,
) -> Tensor:
    """Restore whole (B, C, H, W) images in [0, 1] -> (B, C, s H, s W), clipped to [0, 1].

    With ``self_ensemble``, the mean of the 8 flips/transposes' restorations.
    """
    if not self_ensemble:
        return restore_once(image, net, first_stage, tile_size).clamp(0, 1)
    parts = (net, first_stage)
    total = restore_once(image, net, first_stage, tile_size)
    for index in range(1, DIHEDRAL_COUNT):
        set_view(parts, index)
        restored = restore_once(dihedral(image, index), net, first_stage, tile_size)
        total += undo_dihedral(restored, index)
    set_view(parts, 0)
    return (total / DIHEDRAL_COUNT).clamp(0, 1)

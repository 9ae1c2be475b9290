"""Whole images through a patch net: first stage, channels, padding, tiles, self-ensemble.

Plain functions of the parts and one :class:`RestoreSettings`, shared by
``RestorationModule`` (validation, test, predict) and the exported graphs
(``oneshot_lightning.export``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from torch import Tensor, nn

from oneshot_lightning.functional import (
    DIHEDRAL_COUNT,
    back_project,
    bicubic_upscale,
    clamp_to_neighbourhood,
    dihedral,
    match_channels,
    pad_for_patches,
    restore_channels,
    tiled,
    tiled_whole,
    undo_dihedral,
)
from oneshot_lightning.models.nets.protocol import DegradationAware, RestorationNet, WholeImageNet


@dataclass(frozen=True)
class RestoreSettings:
    """How whole images are restored; the module's init args of the same names.

    Attributes:
        tile_size: output tile side (bounds peak memory; tiled == untiled).
        self_ensemble: the mean of the 8 flips/transposes' restorations (8x the time).
        back_projection: iterations of ``functional.back_project`` onto the input (0: off).
        passes: the net runs this many times, each on the last output (gradual
            super-resolution: the scale is the net's ** ``passes``).
        overshoot_margin: each pass's output clipped to its input's local range widened by
            this (``functional.clamp_to_neighbourhood``; ``None``: off).
        downscale_kernel: the (K, K) kernel back-projection downscales with
            (``functional.downscaling``); ``None``: MATLAB's bicubic.
        interpolate: the net is the untrained start of super-resolution: bicubic
            interpolation of the whole factor at once replaces its passes (which would
            interpolate in steps, 0.04-0.07 dB PSNR-Y below it at x4 on the tuning photos).
    """

    tile_size: int = 512
    self_ensemble: bool = False
    back_projection: int = 0
    passes: int = 1
    overshoot_margin: float | None = None
    downscale_kernel: Tensor | None = None
    interpolate: bool = False

    def one_step(self) -> RestoreSettings:
        """The net's one step: one pass, no back-projection (what validation scores)."""
        return replace(self, back_projection=0, passes=1, overshoot_margin=None, interpolate=False)


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


def restore_ensemble(
    image: Tensor,
    net: RestorationNet,
    first_stage: nn.Module | None,
    tile_size: int,
    self_ensemble: bool,
) -> Tensor:
    """One pass, or the mean of the 8 flips/transposes' passes; not clipped."""
    output = restore_once(image, net, first_stage, tile_size)
    if not self_ensemble:
        return output
    parts = (net, first_stage)
    for index in range(1, DIHEDRAL_COUNT):
        set_view(parts, index)
        output += undo_dihedral(
            restore_once(dihedral(image, index), net, first_stage, tile_size), index
        )
    set_view(parts, 0)
    return output / DIHEDRAL_COUNT


def restore(
    image: Tensor,
    net: RestorationNet,
    first_stage: nn.Module | None = None,
    settings: RestoreSettings | None = None,
) -> Tensor:
    """Restore whole (B, C, H, W) images in [0, 1] -> (B, C, S H, S W), clipped to [0, 1].

    The net (scale s) runs ``settings.passes`` times, each on the last output (gradual
    super-resolution: S = s ** passes), with the self-ensemble the mean of the 8
    flips/transposes' restorations each time, and with an overshoot margin each pass's
    output clipped to its input's local ranges
    (:func:`~oneshot_lightning.functional.clamp_to_neighbourhood`); then back-projection
    onto the input (:func:`~oneshot_lightning.functional.back_project`, super-resolution of
    images downscaled by ``settings.downscale_kernel``).
    """
    settings = settings or RestoreSettings()
    output = image
    if settings.interpolate:
        output = bicubic_upscale(image, net.scale**settings.passes)
    for index in range(0 if settings.interpolate else settings.passes):
        if index:
            output = output.clamp(0, 1)  # the next pass reads an image, as the first did
        step_input = output
        output = restore_ensemble(
            step_input, net, first_stage, settings.tile_size, settings.self_ensemble
        )
        if settings.overshoot_margin is not None:
            margin = settings.overshoot_margin
            output = clamp_to_neighbourhood(output, step_input, net.scale, 3, margin)
    if settings.back_projection:
        scale = net.scale**settings.passes
        iterations, kernel = settings.back_projection, settings.downscale_kernel
        output = back_project(output, image, scale, iterations, kernel)
    return output.clamp(0, 1)

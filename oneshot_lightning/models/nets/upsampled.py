"""The paper's super-resolution path: bicubic-upsample the input, restore at high resolution."""

from __future__ import annotations

import math

from torch import Tensor, nn

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import bicubic_upscale_valid
from oneshot_lightning.models.nets.protocol import RestorationNet, restoration_net


class BicubicInput(nn.Module):
    """Run a scale-1 patch ``net`` on the bicubic upscaling of low-resolution input.

    Costs ``scale**2`` times more per output pixel than a pixel-shuffle net of the same size,
    since the inner net runs once per high-resolution pixel. Input patches are
    low-resolution; for training, all high-resolution pixels a patch determines are returned.

    Args:
        net: a scale-1 patch network with ``forward_valid`` (e.g. ``RNNSparseCoder``).
        scale: super-resolution factor s.
    """

    def __init__(self, net: nn.Module, scale: int = 2) -> None:
        super().__init__()
        inner = restoration_net(net, "net.net")
        if scale < 1:
            raise InputError(f"net.scale must be a positive integer, got {scale}")
        if inner.scale != 1:
            raise InputError("BicubicInput wraps a scale-1 net; set the scale on BicubicInput")
        if inner.stride != 1 or inner.context != inner.patch_size:
            raise InputError("BicubicInput wraps a Patch2Pixel net (e.g. RNNSparseCoder)")
        self.net: RestorationNet = inner
        self.scale, self.channels = scale, inner.channels
        # Low-resolution radius whose bicubic upscaling holds the inner net's window around
        # every sub-pixel of the centre pixel.
        self.radius = 2 + math.ceil((inner.patch_size // 2) / scale)
        self.patch_size = self.context = 2 * self.radius + 1
        self.stride = 1

    def forward(self, patches: Tensor) -> Tensor:
        """(N, C, p, p) low-resolution patches -> (N, C, q, q) centred high-resolution pixels."""
        return self.net.forward_valid(bicubic_upscale_valid(patches, self.scale))

    def forward_valid(self, image: Tensor) -> Tensor:
        """(B, C, h + p - 1, w + p - 1) -> (B, C, s h, s w): every window's centre sub-pixels."""
        p, s = self.patch_size, self.scale
        height, width = s * (image.shape[-2] - p + 1), s * (image.shape[-1] - p + 1)
        out = self.net.forward_valid(bicubic_upscale_valid(image, s))
        start = s * (self.radius - 2) - self.net.patch_size // 2
        return out[..., start : start + height, start : start + width]

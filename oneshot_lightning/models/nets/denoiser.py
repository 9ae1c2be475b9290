"""A residual UNet at half resolution for denoising: pixel-unshuffled, residual blocks."""

from __future__ import annotations

from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from oneshot_lightning.errors import InputError


class ResidualBlock(nn.Sequential):
    """conv 3x3, ReLU, conv 3x3, added to its input; keeps shape (B, W, h, w)."""

    def __init__(self, width: int) -> None:
        super().__init__(
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1),
        )

    def forward(self, features: Tensor) -> Tensor:
        """(B, W, h, w) -> (B, W, h, w)."""
        return features + super().forward(features)


class DenoisingUNet(nn.Module):
    """Denoiser: a UNet of residual blocks on the pixel-unshuffled image, predicting the noise.

    The image is folded 2x2 into channels (``pixel_unshuffle``), so every convolution runs
    at half resolution or less: 4x cheaper than at full resolution and with a receptive
    field wide enough to tell noise from texture. Levels are joined by 2x2 strided
    convolutions down and transposed convolutions up, with additive skips. The last
    convolution starts at zero, so the untrained net is the identity. Borders are reflected
    (to a multiple of the levels' stride), so the net restores whole images
    (:class:`~oneshot_lightning.models.nets.WholeImageNet`) and trains on whole patches
    (``margin`` 0).

    Measured choices (one noisy/clean pair of kodim05, validation photos astronaut, coffee,
    kodim08, kodim23, sigma 25): 2 blocks per level beat 1 by 0.2 dB; a 4th level and widths
    48/96/192 gained less than their cost; the unshuffle made the same budget 3x faster than
    full resolution.

    Args:
        channels: image channels C.
        widths: feature maps per level, from the half-resolution one down.
        blocks: residual blocks per level, on the way down and up and in the bottleneck.
        patch_size: training patch side p in pixels.
        margin: pixels dropped at each side of the training output.
    """

    def __init__(
        self,
        channels: int = 3,
        widths: tuple[int, ...] = (32, 64, 128),
        blocks: int = 2,
        patch_size: int = 64,
        margin: int = 0,
    ) -> None:
        super().__init__()
        widths = tuple(widths)
        if not widths or min(widths) < 1 or blocks < 1 or channels < 1:
            raise InputError(
                f"net.widths must be positive and net.blocks, net.channels at least 1, got "
                f"{list(widths)}, {blocks}, {channels}"
            )
        self.multiple = 2 ** len(widths)  # the unshuffle and one 2x step per deeper level
        if patch_size % self.multiple or patch_size - 2 * margin < 1 or margin < 0:
            raise InputError(
                f"net.patch_size {patch_size} must be a multiple of {self.multiple} "
                f"(2 ** len(net.widths)) and exceed twice net.margin {margin} (>= 0)"
            )
        self.channels, self.patch_size, self.margin, self.scale = channels, patch_size, margin, 1
        self.stride = self.multiple
        folded = 4 * channels
        self.head = nn.Conv2d(folded, widths[0], 3, padding=1)
        self.encoders = nn.ModuleList(self.stage(w, blocks) for w in widths[:-1])
        self.downsamplers = nn.ModuleList(nn.Conv2d(a, b, 2, stride=2) for a, b in pairwise(widths))
        self.bottleneck = self.stage(widths[-1], blocks)
        self.upsamplers = nn.ModuleList(
            nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in pairwise(widths)
        )
        self.decoders = nn.ModuleList(self.stage(w, blocks) for w in widths[:-1])
        self.tail = nn.Conv2d(widths[0], folded, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)  # type: ignore[arg-type]  # a Conv2d with bias
        # Rounded up to the levels' stride, so that tiles read with this margin keep the
        # phase of the unshuffle and of every 2x step (tiled == whole).
        reach = self.receptive_radius(len(widths), blocks)
        self.radius = reach + -reach % self.multiple
        self.context = 2 * self.radius + 1

    @staticmethod
    def stage(width: int, blocks: int) -> nn.Sequential:
        """``blocks`` residual blocks of ``width`` feature maps."""
        return nn.Sequential(*(ResidualBlock(width) for _ in range(blocks)))

    @staticmethod
    def receptive_radius(levels: int, blocks: int) -> int:
        """Full-resolution pixels each output reads on each side (an upper bound).

        Level l (0: half resolution) has pixel spacing 2 ** (l + 1); each 3x3 convolution
        reaches one pixel there, each 2x2 step down or up one more.
        """
        radius = 1 + 2 * 2  # the unshuffle, the head and the tail
        for level in range(levels):
            convolutions = 2 * blocks if level == levels - 1 else 4 * blocks
            steps = 0 if level == levels - 1 else 2
            radius += (convolutions + steps) * 2 ** (level + 1)
        return radius

    def forward(self, patches: Tensor) -> Tensor:
        """(N, C, p, p) -> (N, C, p - 2 margin, p - 2 margin) restored centres."""
        return self.restore_cropped(patches, self.margin)

    def forward_valid(self, image: Tensor) -> Tensor:
        """(B, C, h + 2 r, w + 2 r) -> (B, C, h, w), r = ``context // 2``."""
        return self.restore_cropped(image, self.radius)

    def restore_cropped(self, image: Tensor, crop: int) -> Tensor:
        """(B, C, H, W) -> (B, C, H - 2 crop, W - 2 crop): :meth:`restore`, border cut."""
        restored = self.restore(image)
        return restored[..., crop : restored.shape[-2] - crop, crop : restored.shape[-1] - crop]

    def restore(self, image: Tensor) -> Tensor:
        """(B, C, H, W) noisy -> (B, C, H, W) denoised (borders reflected), not clipped."""
        height, width = image.shape[-2:]
        pad_rows, pad_cols = -height % self.multiple, -width % self.multiple
        # Reflection needs more pixels than it mirrors; tiny images replicate instead.
        mode = "reflect" if min(height, width) > max(pad_rows, pad_cols) else "replicate"
        padded = F.pad(image, (0, pad_cols, 0, pad_rows), mode=mode)
        # Convolutions run faster on channels-last images: restores 1.3x on 2 cores.
        padded = padded.contiguous(memory_format=torch.channels_last)
        features = self.head(F.pixel_unshuffle(padded, 2))
        skips: list[Tensor] = []
        for encoder, down in zip(self.encoders, self.downsamplers):
            features = encoder(features)
            skips.append(features)
            features = down(features)
        features = self.bottleneck(features)
        for up, decoder in zip(reversed(self.upsamplers), reversed(self.decoders)):
            features = decoder(up(features) + skips.pop())
        noise = F.pixel_shuffle(self.tail(features), 2)
        return image - noise[..., :height, :width]

"""Patch2Patch: the RNN sparse coder restores whole patches, averaged where they overlap."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import require_size
from oneshot_lightning.models.nets.rnn import RNNSparseCoder


def grid_coverage(length: int, size: int, stride: int) -> Tensor:
    """(length,) count of the windows of ``size`` on a grid of ``stride`` that hold each pixel."""
    windows = (length - size) // stride + 1
    ones = torch.ones(1, size, windows)
    return F.fold(ones, (1, length), (1, size), stride=(1, stride)).view(length)


class RNNPatch2Patch(RNNSparseCoder):
    """RNN sparse coder whose decoder gives the whole restored p x p patch (scale 1).

    Whole images are restored from the patches on a grid of ``stride`` pixels: each output
    pixel is the mean of every grid patch that covers it (a fold of the restored patches over
    a fold of ones). Stride 1 averages p * p estimates per pixel; stride s needs about s * s
    times fewer patches.

    Args:
        channels: image channels C.
        patch_size: odd patch side p in pixels; also the number of time steps.
        latent: code width; at least C * p (over-complete).
        residual: predict the correction to the degraded patch, else to its mean.
        stride: grid step between restored patches in whole-image inference, 1 to p.
        chunk_rows: grid rows restored at once; bounds the memory of the patch batch.
    """

    def __init__(
        self,
        channels: int = 3,
        patch_size: int = 11,
        latent: int = 128,
        residual: bool = True,
        stride: int = 1,
        chunk_rows: int = 8,
    ) -> None:
        super().__init__(channels, patch_size, latent, residual)
        if not 1 <= stride <= patch_size:
            raise InputError(
                f"net.stride must be between 1 and patch_size={patch_size}, got {stride}"
            )
        if chunk_rows < 1:
            raise InputError(f"net.chunk_rows must be positive, got {chunk_rows}")
        self.stride, self.chunk_rows = stride, chunk_rows
        # An output pixel averages the patches over it, which read pixels up to p - 1 away.
        self.context = 2 * patch_size - 1
        self.decoder = nn.Linear(latent, channels * patch_size**2)
        nn.init.zeros_(self.decoder.weight)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, patches: Tensor) -> Tensor:
        """(N, C, p, p) degraded patches -> (N, C, p, p) restored patches."""
        code, mean = self.encode(patches)
        out = self.decoder(code).view(patches.shape)
        return out + (patches if self.residual else mean[:, :, None, None])

    def forward_valid(self, image: Tensor) -> Tensor:
        """(B, C, h + 2p - 2, w + 2p - 2) -> (B, C, h, w): overlapping patches, averaged.

        The grid starts at the image's first pixel, so tiles that start on multiples of
        ``stride`` give the same result as the whole image.
        """
        p, stride = self.patch_size, self.stride
        batch, channels, height, width = image.shape
        context = self.context
        require_size(height, width, context, f"the {context}x{context} context of the net")
        grid_rows = (height - p) // stride + 1
        total = image.new_zeros(batch, channels, height, width)
        for first in range(0, grid_rows, self.chunk_rows):
            top, rows = first * stride, min(self.chunk_rows, grid_rows - first)
            band = image[:, :, top : top + (rows - 1) * stride + p]
            columns = F.unfold(band, p, stride=stride)  # (B, C p p, n)
            count = columns.shape[-1]
            patches = columns.transpose(1, 2).reshape(batch * count, channels, p, p)
            restored = self(patches).reshape(batch, count, -1).transpose(1, 2)
            total[:, :, top : top + band.shape[-2]] += F.fold(
                restored, band.shape[-2:], p, stride=stride
            )
        # Patches per pixel is separable: (patches per row) x (patches per column).
        coverage = grid_coverage(height, p, stride)[:, None] * grid_coverage(width, p, stride)
        # Only the cropped-away rim can be uncovered; keep it finite.
        out = total / coverage.clamp_min(1)
        return out[..., p - 1 : height - p + 1, p - 1 : width - p + 1]

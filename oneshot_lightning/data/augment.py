"""Paired geometric augmentation: the 8 flips/90-degree rotations, identical for both images."""

from __future__ import annotations

import torch
from kornia.augmentation import AugmentationSequential, RandomHorizontalFlip, RandomVerticalFlip
from torch import Tensor, nn

from oneshot_lightning.functional import transpose_where


class PairedDihedral(nn.Module):
    """Random flips and transposes drawn per sample, applied identically to an aligned pair.

    Flips come from kornia with ``data_keys=["input", "input"]`` so that both tensors share
    the parameters even when their sizes differ (LR/HR); the transpose is an exact
    ``transpose`` rather than kornia's interpolating rotation, which is slower and not
    bit-exact. Together they reach all 8 symmetries of the square.
    """

    def __init__(self) -> None:
        super().__init__()
        self.flips = AugmentationSequential(
            RandomHorizontalFlip(), RandomVerticalFlip(), data_keys=["input", "input"]
        )

    def forward(self, degraded: Tensor, clean: Tensor) -> tuple[Tensor, Tensor]:
        """(B, C, h, w), (B, C, H, W) square patches -> the same shapes, transformed alike."""
        degraded, clean = self.flips(degraded, clean)
        chosen = (torch.rand(degraded.shape[0]) < 0.5).to(degraded.device)
        return transpose_where(chosen, degraded), transpose_where(chosen, clean)


def random_channel_orders(count: int, channels: int, device: torch.device) -> Tensor:
    """(count, channels) random permutations of the channel indices, one per sample."""
    return torch.rand(count, channels, device=device).argsort(dim=1)


def reorder_channels(images: Tensor, orders: Tensor) -> Tensor:
    """(B, C, H, W) images with each sample's channels in its order of (B, C) ``orders``."""
    return images[torch.arange(images.shape[0], device=images.device)[:, None], orders]

"""Paired augmentation on the device: flips/transposes and channel orders, alike for a pair.

:class:`TrainingTransform` is what a training batch goes through after it reaches the device
(the data module's ``on_after_batch_transfer``), fresh pairs included.
"""

from __future__ import annotations

import torch
from kornia.augmentation import AugmentationSequential, RandomHorizontalFlip, RandomVerticalFlip
from torch import Tensor, nn

from oneshot_lightning.batch import Batch
from oneshot_lightning.data.synthesis import synthesize
from oneshot_lightning.functional import transpose_where
from oneshot_lightning.functional.texture import luma


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


class TrainingTransform:
    """A training batch's last steps, on the device: flips, channel orders, fresh pairs.

    Args:
        flips: paired flips/transposes of the patch pairs, or ``None`` (e.g. for a blur that
            would look different flipped).
        permute_channels: a random channel order per pair, the same for both sides.
        synthesis: degrades the batch's ``fresh`` clean crops into new pairs (appended to
            the batch), or ``None`` when the batch has none.
        margin: input pixels trimmed from each side of a fresh pair after degrading.
        scale: super-resolution factor s.
        grey_share: chance that a fresh RGB crop is made grey (its luma in all three
            channels) before it is degraded, so that one noise draw is shared by the three
            channels, as in a grey photo stored as RGB.
    """

    def __init__(
        self,
        flips: PairedDihedral | None = None,
        permute_channels: bool = False,
        synthesis: nn.Module | None = None,
        margin: int = 0,
        scale: int = 1,
        grey_share: float = 0.0,
    ) -> None:
        self.flips, self.permute_channels = flips, permute_channels
        self.synthesis, self.margin, self.scale = synthesis, margin, scale
        self.grey_share = grey_share

    def __call__(self, batch: Batch) -> Batch:
        """The batch of ``input``/``target`` pairs (and ``fresh`` crops), transformed."""
        if self.flips is not None:
            batch["input"], batch["target"] = self.flips(batch["input"], batch["target"])
        fresh = batch.pop("fresh", None)
        if self.permute_channels:
            inputs = batch["input"]
            orders = random_channel_orders(inputs.shape[0], inputs.shape[1], inputs.device)
            batch["input"] = reorder_channels(inputs, orders)
            batch["target"] = reorder_channels(batch["target"], orders)
            if fresh is not None:
                orders = random_channel_orders(fresh.shape[0], fresh.shape[1], fresh.device)
                fresh = reorder_channels(fresh, orders)
        if fresh is not None and self.synthesis is not None:
            self.synthesis.to(fresh.device)
            degraded, clean = self.fresh_pairs(fresh, self.synthesis)
            batch["input"] = torch.cat([batch["input"], degraded])
            batch["target"] = torch.cat([batch["target"], clean])
        return batch

    def fresh_pairs(self, crops: Tensor, synthesis: nn.Module) -> tuple[Tensor, Tensor]:
        """(B, C, s W, s W) clean crops -> fresh (degraded, clean) pairs, a share made grey.

        A grey crop is degraded as one channel and then copied into C, so that its noise is
        the same in every channel: a colour net learns to treat equal channels as one.
        """
        grey = torch.rand(crops.shape[0], device=crops.device) < self.grey_share
        if crops.shape[1] != 3 or not grey.any():
            return synthesize(crops, synthesis, self.margin, self.scale)
        # Only non-empty parts: a degradation such as a JPEG round trip needs an image.
        parts = [luma(crops[grey])] + ([crops[~grey]] if not grey.all() else [])
        made = [synthesize(part, synthesis, self.margin, self.scale) for part in parts]
        degraded = torch.cat([d.expand(-1, 3, -1, -1) for d, _ in made])
        clean = torch.cat([c.expand(-1, 3, -1, -1) for _, c in made])
        return degraded, clean

"""The base LightningModule: l1 training on patches, whole-image val/test/predict."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import OptimizerCallable
from lightning.pytorch.utilities import rank_zero_only, rank_zero_warn
from rich.console import Console
from rich.table import Table
from torch import Tensor, nn

from oneshot_lightning.data.patches import center_crop
from oneshot_lightning.metrics import psnr, quality_metrics, shave, ssim
from oneshot_lightning.models.inference import (
    match_channels,
    pad_for_patches,
    restore_channels,
    tiled,
)


class RestorationModule(LightningModule):
    """Train a patch network ``net`` with l1 on random patch pairs; restore whole images.

    ``net`` maps (N, C, p, p) patches to (N, C, q, q) outputs (q = ``net.output_size``)
    compared with the centre of the clean patch, and has ``forward_valid`` for whole images.

    Args:
        net: the restoration network (e.g. ``RNNSparseCoder``).
        optimizer: builds the optimizer from the parameters.
        cosine_decay: decay the learning rate along a half cosine to zero over the planned
            steps (``trainer.max_steps``, else ``max_epochs`` x steps per epoch); measured
            to beat a constant rate for the same budget.
        tile_size: output tile side for whole-image inference (bounds peak memory).
        metric_border: pixels shaved from each side before val/test metrics.
    """

    #: Init args that shape the weights; ``predict``/``test`` take them from the checkpoint.
    architecture: tuple[str, ...] = ("net",)

    def __init__(
        self,
        net: nn.Module,
        optimizer: OptimizerCallable = torch.optim.Adam,
        cosine_decay: bool = True,
        tile_size: int = 512,
        metric_border: int = 0,
    ) -> None:
        super().__init__()
        # Under the CLI this records the config (class paths), so predict needs only the checkpoint.
        self.save_hyperparameters()
        self.net = net
        self.optimizer = optimizer
        self.cosine_decay = cosine_decay
        self.tile_size = tile_size
        self.metric_border = metric_border
        self.val_metrics = quality_metrics("val/")
        self.test_metrics = quality_metrics("test/")
        self.test_rows: list[tuple[str, float, float]] = []

    @property
    def patch_size(self) -> int:
        """Side of the input patches the net reads, in pixels."""
        return self.net.patch_size

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer(self.parameters())
        if not self.cosine_decay:
            return optimizer
        total = self.trainer.estimated_stepping_batches
        if not math.isfinite(total):
            rank_zero_warn("cosine_decay needs trainer.max_steps or max_epochs; keeping the rate")
            return optimizer

        def factor(step: int) -> float:
            return 0.5 * (1 + math.cos(math.pi * min(step, total) / total))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def patch_loss(self, degraded: Tensor, clean: Tensor) -> Tensor:
        """l1 between the net's output for (N, C, p, p) patches and the clean patch centres."""
        restored = self.net(degraded)
        return F.l1_loss(restored, center_crop(clean, restored.shape[-1]))

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        loss = self.patch_loss(*batch)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def restore(self, image: Tensor) -> Tensor:
        """Restore whole (B, C, H, W) images in [0, 1]; same shape out, clipped to [0, 1]."""
        padded = pad_for_patches(match_channels(image, self.net.channels), self.patch_size)
        output = tiled(self.net.forward_valid, padded, self.patch_size, self.tile_size)
        return restore_channels(output, image.shape[1]).clamp(0, 1)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        restored = self.restore(batch["input"])
        border = self.metric_border
        self.val_metrics.update(shave(restored, border), shave(batch["target"], border))

    def on_validation_epoch_end(self) -> None:
        self.log_dict(self.val_metrics.compute(), prog_bar=True)
        self.val_metrics.reset()

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        restored = self.restore(batch["input"])
        target, border = batch["target"], self.metric_border
        self.test_metrics.update(shave(restored, border), shave(target, border))
        for name, value, similarity in zip(
            batch["name"], psnr(restored, target, border), ssim(restored, target, border)
        ):
            self.test_rows.append((name, value.item(), similarity.item()))

    def on_test_epoch_end(self) -> None:
        self.log_dict(self.test_metrics.compute())
        self.test_metrics.reset()
        self.print_test_table()
        self.test_rows = []

    @rank_zero_only
    def print_test_table(self) -> None:
        """Per-image PSNR/SSIM, as measured on this process."""
        table = Table(title=f"per-image quality (RGB, data range 1, border {self.metric_border})")
        for column in ("image", "PSNR (dB)", "SSIM"):
            table.add_column(column, justify="left" if column == "image" else "right")
        for name, value, similarity in self.test_rows:
            table.add_row(name, f"{value:.2f}", f"{similarity:.4f}")
        Console().print(table)

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        return self.restore(batch["image"])

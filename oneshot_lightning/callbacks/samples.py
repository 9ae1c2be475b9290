"""Sample restorations during training: see the images, not only the numbers.

At each validation, the first validation images' restorations are written side by side
(degraded | restored | clean) as ``<run>/samples/step_<N>.png``, and sent to the logger when
it takes images (TensorBoard's ``add_image``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch import Tensor

from oneshot_lightning.data.io import write_image
from oneshot_lightning.functional import bicubic_upscale
from oneshot_lightning.functional.tiling import match_channels

#: White columns between the panels of a sample, in pixels.
GAP = 4


def side_by_side(degraded: Tensor, restored: Tensor, clean: Tensor) -> Tensor:
    """(C, h, w), (C, H, W), (C, H, W) -> (C, H, 3 W + 2 GAP): the input enlarged to H x W.

    A super-resolution input is enlarged by bicubic interpolation, as a user would see it.
    """
    channels = max(degraded.shape[0], restored.shape[0], clean.shape[0])
    height = clean.shape[-2]
    if degraded.shape[-2:] != clean.shape[-2:]:
        degraded = bicubic_upscale(degraded[None], height // degraded.shape[-2])[0]
    gap = clean.new_ones(channels, height, GAP)
    panels = [match_channels(image[None], channels)[0] for image in (degraded, restored, clean)]
    return torch.cat([panels[0], gap, panels[1], gap, panels[2]], -1).clamp(0, 1)


class ValidationSamples(Callback):
    """Write ``count`` validation restorations as degraded | restored | clean at each validation.

    The restorations are the validation loop's own (``validation_step`` returns them), so
    the pictures cost no extra restoring.

    Args:
        count: validation images per sample picture (0: none).
    """

    def __init__(self, count: int = 2) -> None:
        self.count = count
        self.rows: list[Tensor] = []

    def on_validation_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Keep the first ``count`` images as side-by-side rows (rank zero, not sanity checks)."""
        if (
            len(self.rows) >= self.count
            or trainer.sanity_checking
            or not trainer.is_global_zero
            or not isinstance(outputs, Tensor)
        ):
            return
        for degraded, restored, clean in zip(batch["input"], outputs, batch["target"]):
            if len(self.rows) < self.count:
                self.rows.append(side_by_side(degraded, restored, clean).cpu())

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Write the picture of the rows kept, and send it to loggers that take images."""
        rows, self.rows = self.rows, []
        if not rows:
            return
        width = max(row.shape[-1] for row in rows)
        picture = torch.cat(
            [torch.nn.functional.pad(row, (0, width - row.shape[-1]), value=1) for row in rows],
            -2,
        )
        folder = Path(trainer.default_root_dir) / "samples"
        write_image(folder / f"step_{trainer.global_step:06d}.png", picture)
        for logger in trainer.loggers:
            add_image = getattr(getattr(logger, "experiment", None), "add_image", None)
            if callable(add_image):
                add_image("val/samples", picture, trainer.global_step)

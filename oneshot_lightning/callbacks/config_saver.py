"""Saving the resolved ``config.yaml`` of training runs."""

from __future__ import annotations

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.cli import SaveConfigCallback


class FitConfigSaver(SaveConfigCallback):
    """Save the resolved ``config.yaml`` beside the logs of training runs only.

    ``test`` and ``predict`` would otherwise write it into the current folder.
    """

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Save the config when fitting."""
        if stage == "fit":
            super().setup(trainer, pl_module, stage)

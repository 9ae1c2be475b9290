"""Image I/O, degradations, patch sampling, paired augmentation and the data module."""

from oneshot_lightning.data.datamodule import OneShotDataModule

__all__ = ["OneShotDataModule"]

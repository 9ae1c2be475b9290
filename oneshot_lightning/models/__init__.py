"""Restoration LightningModules and their networks."""

from oneshot_lightning.models.restoration import RestorationModule

__all__ = ["RestorationModule"]

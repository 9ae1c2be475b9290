"""Restoration LightningModules and their networks."""

from oneshot_lightning.models.adversarial import AdversarialModule
from oneshot_lightning.models.restoration import RestorationModule

__all__ = ["AdversarialModule", "RestorationModule"]

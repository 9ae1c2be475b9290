"""Restoration LightningModules, their networks and the deconvolution first stage."""

from oneshot_lightning.models.adapted_denoising import AdaptedDenoisingModule
from oneshot_lightning.models.adversarial import AdversarialModule
from oneshot_lightning.models.first_stage import Deconvolution
from oneshot_lightning.models.loading import load_model
from oneshot_lightning.models.pair_downsampling import PairDownsamplingModule
from oneshot_lightning.models.recorruption import RecorruptionModule
from oneshot_lightning.models.restoration import RestorationModule

__all__ = [
    "AdaptedDenoisingModule",
    "AdversarialModule",
    "Deconvolution",
    "PairDownsamplingModule",
    "RecorruptionModule",
    "RestorationModule",
    "load_model",
]

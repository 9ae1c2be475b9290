"""A trained model out of its checkpoint, built by its own class."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from oneshot_lightning.checkpoints import load_hyperparameters, model_class_of
from oneshot_lightning.models.restoration import RestorationModule


def load_model(path: str | Path, device: str | torch.device = "cpu") -> RestorationModule:
    """The model of a checkpoint of ``oneshot fit`` on ``device``, in eval mode.

    Built by the class the checkpoint names (a :class:`RestorationModule` or subclass), loaded
    with ``weights_only=True``: a checkpoint is data, never code to run.
    """
    model_class = model_class_of(load_hyperparameters(path)["_class_path"], RestorationModule)
    with warnings.catch_warnings():
        # The net is saved as weights and as its config: nothing for the user to do.
        warnings.filterwarnings("ignore", message=".*is an instance of `nn.Module`")
        model = model_class.load_from_checkpoint(path, map_location=device, weights_only=True)
    return model.eval()

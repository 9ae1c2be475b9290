"""Reading models out of checkpoints without running pickled code."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import torch
from torch import nn

from oneshot_lightning.errors import InputError

if TYPE_CHECKING:
    from oneshot_lightning.models import RestorationModule

T = TypeVar("T")


def load_hyperparameters(path: str | Path) -> dict[str, Any]:
    """The ``hyper_parameters`` of a checkpoint, loaded with ``weights_only=True``."""
    hparams: dict[str, Any] = load_checkpoint(path).get("hyper_parameters", {})
    return hparams


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint of ``oneshot fit``, loaded with ``weights_only=True`` on the CPU.

    :class:`InputError` for a missing, unreadable or foreign file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as error:  # torch.load fails in many ways on foreign or damaged files
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise InputError(
            f"not a loadable checkpoint: {path} ({type(error).__name__}: {detail})"
        ) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise InputError(f"not a Lightning checkpoint: {path}")
    if "_class_path" not in checkpoint.get("hyper_parameters", {}):
        raise InputError(f"not a oneshot_lightning checkpoint (no model class recorded): {path}")
    return checkpoint


def architecture_config(
    hparams: dict[str, Any], base: type[RestorationModule]
) -> dict[str, Any]:
    """The model's ``class_path`` and the init args that shape its weights, from hparams.

    The model class names those args in ``architecture`` (e.g. ``("net",)``); other args
    (evaluation settings, the optimizer) stay as the command line or config sets them.
    """
    class_path = hparams["_class_path"]
    model_class = model_class_of(class_path, base)
    init_args = {key: hparams[key] for key in model_class.architecture if key in hparams}
    return {"class_path": class_path, "init_args": init_args}


def model_class_of(class_path: str, base: type[T]) -> type[T]:
    """The class a ``class_path`` names; :class:`InputError` unless it subclasses ``base``."""
    module_name, _, class_name = class_path.rpartition(".")
    try:
        model_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError):
        raise InputError(f"unknown model class: {class_path}") from None
    if not (isinstance(model_class, type) and issubclass(model_class, base)):
        raise InputError(f"model {class_path} is not a {base.__name__}")
    return model_class


def load_parts(module: nn.Module, names: Sequence[str], path: str | Path, setting: str) -> None:
    """Load the weights of ``module``'s parts ``names`` (e.g. ``net``) from a checkpoint.

    Parts that ``module`` lacks (``None``) are skipped; a part whose weights do not fit is an
    :class:`InputError` naming ``setting``, the option that gave ``path``.
    """
    state = load_checkpoint(path)["state_dict"]
    for name in names:
        part = getattr(module, name)
        if part is None:
            continue
        weights = {k.removeprefix(f"{name}."): v for k, v in state.items()
                   if k.startswith(f"{name}.")}  # fmt: skip
        try:
            part.load_state_dict(weights)
        except RuntimeError as error:
            detail = str(error).strip().splitlines()[0]
            raise InputError(
                f"{setting} {path}: its {name} is not this model's ({detail}); start from a "
                "checkpoint of the same config"
            ) from None

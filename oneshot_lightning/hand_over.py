"""The one hand-over between the data side and the rest: what a data module offers, and to whom.

The data module builds a :class:`TrainingPair` when ``fit`` sets up; the model takes it once,
in :meth:`RestorationModule.setup <oneshot_lightning.models.RestorationModule.setup>`.
Callbacks read the pair from the model (``pl_module.training_pair``). The prediction writer
takes the files it writes for from the data module as a :class:`PredictionSource`. Both go
through :func:`data_module`, the only place that reads ``trainer.datamodule``.

Images are (C, h, w) degraded and (C, s h, s w) clean tensors in [0, 1], s the
super-resolution scale.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from torch import Tensor

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional.alignment import Alignment
from oneshot_lightning.functional.downscaling_estimation import Downscaling
from oneshot_lightning.functional.kernel_estimation import KernelEstimate

if TYPE_CHECKING:
    from lightning.pytorch import Trainer

    from oneshot_lightning.data.datasets import ImageFiles


@dataclass(frozen=True)
class TrainingPair:
    """The pair as patches are drawn from it, its validation images and its measured blur.

    Attributes:
        degraded: (C, h, w) the degraded training image.
        clean: (C, s h, s w) the clean training image.
        scale: the super-resolution factor s (1 for deblurring and denoising).
        validation: ``(degraded, clean, name)`` whole-image validation pairs: blocks held out
            of the pair, or a given validation pair.
        blur: the pair's blur kernel and noise (scale 1 only): the degradation's own when it
            made the pair, else estimated from the pair; ``None`` for super-resolution.
        blur_source: where ``blur`` comes from, as the run's report says it.
        alignment: what told the two images of a given pair apart beyond the degradation
            (``data/registration.py``); ``None`` for a pair made by ``data.degradation`` or
            when ``data.align`` is off.
        aligned: whether the images above were aligned (else they are as given).
        downscaling: how the degraded side of a super-resolution pair was shrunk when not
            by MATLAB's bicubic (``functional.Downscaling``: given, or estimated from a
            zero-shot photo); ``None`` for MATLAB's bicubic or a given pair.
        downscaling_source: where ``downscaling`` comes from, as the run's report says it.
    """

    degraded: Tensor
    clean: Tensor
    scale: int = 1
    validation: list[tuple[Tensor, Tensor, str]] = field(default_factory=list)
    blur: KernelEstimate | None = None
    blur_source: str = "estimated from the pair"
    alignment: Alignment | None = None
    aligned: bool = False
    downscaling: Downscaling | None = None
    downscaling_source: str = ""

    def require_blur(self, user: str) -> KernelEstimate:
        """The pair's blur; :class:`InputError` naming ``user`` (a setting) when it has none."""
        if self.blur is None:
            raise InputError(
                f"{user} deconvolves with the pair's blur: train on a deblurring pair "
                "(data.scale 1)"
            )
        return self.blur


@runtime_checkable
class PairSource(Protocol):
    """What the model needs of a data module: its scale, the pair, and a way into its patches."""

    scale: int

    def training_pair(self) -> TrainingPair:
        """The pair after ``setup("fit")``."""
        ...

    def map_training_inputs(self, transform: Callable[[Tensor], Tensor]) -> None:
        """Put every degraded training image through ``transform``, (1, C, h, w) -> same."""
        ...


@runtime_checkable
class PredictionSource(Protocol):
    """What the prediction writer needs of a data module: the files it restores."""

    def prediction_files(self) -> ImageFiles:
        """The files, their layouts and planes, after ``setup("predict")``."""
        ...

    def skip_predictions(self, files: Collection[int]) -> None:
        """Restore none of the files numbered ``files``."""
        ...


def pair_source(trainer: Trainer) -> PairSource | None:
    """The trainer's data module as a :class:`PairSource`, or ``None`` (see :func:`data_module`)."""
    source = data_module(trainer)
    return source if isinstance(source, PairSource) else None


def prediction_source(trainer: Trainer) -> PredictionSource | None:
    """The trainer's data module as a :class:`PredictionSource`, or ``None``."""
    source = data_module(trainer)
    return source if isinstance(source, PredictionSource) else None


def data_module(trainer: Trainer) -> object:
    """The data module ``fit``/``test``/``predict`` was given: the one read of it.

    A model run without a data module of this package (a bare ``Trainer.predict`` over a
    dataloader) gets ``None`` from the functions above and checks nothing against the data.
    """
    # Lightning sets the attribute when a run starts; Trainer does not declare it.
    return getattr(trainer, "datamodule", None)

"""Callbacks of ``oneshot``'s runs: reports, safety nets, sample pictures, the image writer.

Each reads what it needs from the model (``pl_module.training_pair`` for the pair ``fit``
trains on) or from the trainer; the prediction writer alone takes files from the data module,
through :func:`oneshot_lightning.hand_over.data_source`.
"""

from oneshot_lightning.callbacks.alignment_report import AlignmentReport
from oneshot_lightning.callbacks.blur_report import BlurReport
from oneshot_lightning.callbacks.config_saver import FitConfigSaver
from oneshot_lightning.callbacks.divergence import DivergenceStop
from oneshot_lightning.callbacks.image_writer import ImageWriter
from oneshot_lightning.callbacks.samples import ValidationSamples
from oneshot_lightning.callbacks.starting_point import StartingPoint
from oneshot_lightning.callbacks.teacher_check import TeacherCheck
from oneshot_lightning.callbacks.test_report import TestReport

__all__ = [
    "AlignmentReport",
    "BlurReport",
    "DivergenceStop",
    "FitConfigSaver",
    "ImageWriter",
    "StartingPoint",
    "TeacherCheck",
    "TestReport",
    "ValidationSamples",
]

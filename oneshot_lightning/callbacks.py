"""Callbacks: the prediction writer (one PNG per input, never over an input), config saving."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BasePredictionWriter
from lightning.pytorch.cli import SaveConfigCallback
from torch import Tensor

from oneshot_lightning.batch import Batch
from oneshot_lightning.data import OneShotDataModule
from oneshot_lightning.data.io import write_image
from oneshot_lightning.errors import InputError


class ImageWriter(BasePredictionWriter):
    """Write each prediction as ``<output_dir>/<input stem>.png`` (8-bit, input's channels).

    Refuses, before restoring anything, to write into a folder that holds an input, over an
    existing file (unless ``overwrite``), or two inputs to one name.

    Args:
        output_dir: folder for the restored images; required by ``predict``.
        overwrite: replace existing files of the same names in ``output_dir``.
    """

    def __init__(self, output_dir: str | None = None, overwrite: bool = False) -> None:
        super().__init__(write_interval="batch")
        self.output_dir = None if output_dir is None else Path(output_dir)
        self.overwrite = overwrite
        self.inputs: list[Path] = []

    def output_path(self, input_path: str | Path) -> Path:
        """Where the restoration of ``input_path`` goes."""
        assert self.output_dir is not None
        return self.output_dir / f"{Path(input_path).stem}.png"

    def on_predict_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Check every output path before anything is restored."""
        if self.output_dir is None:
            raise InputError("predict needs an output folder: --writer.output_dir DIR")
        if self.output_dir.exists() and not self.output_dir.is_dir():
            raise InputError(f"--writer.output_dir is a file, not a folder: {self.output_dir}")
        datamodule = getattr(trainer, "datamodule", None)
        if not isinstance(datamodule, OneShotDataModule):
            raise InputError("ImageWriter writes what OneShotDataModule reads: use it as data")
        inputs = self.inputs = datamodule.prediction_paths()
        for path in inputs:
            if self.output_dir.exists() and os.path.samefile(path.parent, self.output_dir):
                raise InputError(
                    f"refusing to write into a folder that holds an input image ({path}): "
                    "choose another --writer.output_dir"
                )
        seen: dict[Path, Path] = {}
        for path in inputs:
            out = self.output_path(path)
            if out in seen:
                raise InputError(f"{seen[out]} and {path} would both be written to {out}")
            if out.exists() and not self.overwrite:
                raise InputError(
                    f"{out} exists: pass --writer.overwrite true to replace it, or choose "
                    "another --writer.output_dir"
                )
            seen[out] = path
        # Under DDP every rank checks every output before any rank writes one.
        trainer.strategy.barrier()

    def write_on_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        prediction: Tensor,
        batch_indices: Sequence[int] | None,
        batch: Batch,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Write the batch's restorations."""
        assert batch_indices is not None  # Lightning tracks them for prediction writers
        for image, index in zip(prediction, batch_indices):
            write_image(self.output_path(self.inputs[index]), image)


class FitConfigSaver(SaveConfigCallback):
    """Save the resolved ``config.yaml`` beside the logs of training runs only.

    ``test`` and ``predict`` would otherwise write it into the current folder.
    """

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Save the config when fitting."""
        if stage == "fit":
            super().setup(trainer, pl_module, stage)

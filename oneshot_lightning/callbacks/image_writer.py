"""The prediction writer: one file per input, of the input's type, never over an input."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BasePredictionWriter
from lightning.pytorch.utilities import rank_zero_only
from torch import Tensor

from oneshot_lightning.batch import Batch
from oneshot_lightning.data.datasets import ImageFiles
from oneshot_lightning.data.io import ImageLayout, OutputFormat, write_restored
from oneshot_lightning.errors import InputError
from oneshot_lightning.hand_over import prediction_source


class ImageWriter(BasePredictionWriter):
    """Write each input's restoration as ``<output_dir>/<input stem>.<png|tif>``.

    By default an output keeps its input's type (``format: same``): a PNG, JPEG, ... is
    written as a PNG of the input's bit depth (8 or 16), a TIFF as a TIFF with the input's
    sample type, axes and pages (a stack stays a stack; floats and other integer types are
    mapped back to their stored range, see :mod:`oneshot_lightning.data.io`). ``format:
    png8`` writes an 8-bit PNG of the restored [0, 1] values instead (one-plane inputs only).
    Files of several planes (stack pages, channels) are written once all their planes are
    restored; every file is written beside its final name and then renamed, so an output
    file is always whole.

    Refuses, before restoring anything, to write into a folder that holds an input, over an
    existing file (unless ``overwrite`` or ``skip_existing``), or two inputs to one name.

    Args:
        output_dir: folder for the restored images; required by ``predict``.
        overwrite: replace existing files of the same names in ``output_dir``.
        skip_existing: leave inputs whose output file exists alone, neither restored nor
            written (to go on with an interrupted run over a folder).
        format: ``same`` (each output of its input's type) or ``png8`` (8-bit PNGs).
    """

    def __init__(
        self,
        output_dir: str | None = None,
        overwrite: bool = False,
        skip_existing: bool = False,
        format: OutputFormat = "same",
    ) -> None:
        super().__init__(write_interval="batch")
        self.output_dir = None if output_dir is None else Path(output_dir)
        self.overwrite, self.skip_existing, self.format = overwrite, skip_existing, format
        self.files: ImageFiles | None = None
        self.pending: dict[int, dict[int, Tensor]] = {}
        self.skipped = self.total = 0

    def output_path(self, layout: ImageLayout) -> Path:
        """Where the restoration of the file ``layout`` describes goes."""
        assert self.output_dir is not None
        return self.output_dir / layout.output_name(self.format)

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Before anything is restored: check every output path; drop the skipped inputs.

        Runs after the data module's ``setup``, which has listed and described the inputs.
        """
        if stage != "predict":
            return
        if self.output_dir is None:
            raise InputError("predict needs an output folder: --writer.output_dir DIR")
        if self.output_dir.exists() and not self.output_dir.is_dir():
            raise InputError(f"--writer.output_dir is a file, not a folder: {self.output_dir}")
        if self.overwrite and self.skip_existing:
            raise InputError(
                "--writer.overwrite and --writer.skip_existing contradict each other: pass one"
            )
        datamodule = prediction_source(trainer)
        if datamodule is None:
            raise InputError("ImageWriter writes what OneShotDataModule reads: use it as data")
        layouts = datamodule.prediction_files().layouts
        for layout in layouts:
            if self.output_dir.exists() and os.path.samefile(layout.path.parent, self.output_dir):
                raise InputError(
                    f"refusing to write into a folder that holds an input image ({layout.path}): "
                    "choose another --writer.output_dir"
                )
            if self.format == "png8" and layout.planes > 1:
                raise InputError(
                    f"{layout.path} is {layout.describe()}, which one 8-bit PNG cannot hold: "
                    "leave --writer.format as same (the default) to write it as a TIFF"
                )
        seen: dict[Path, Path] = {}
        existing = []
        for index, layout in enumerate(layouts):
            out = self.output_path(layout)
            if out in seen:
                raise InputError(f"{seen[out]} and {layout.path} would both be written to {out}")
            seen[out] = layout.path
            if out.exists():
                existing.append(index)
        if existing and not (self.overwrite or self.skip_existing):
            raise InputError(
                f"{self.output_path(layouts[existing[0]])} exists: pass --writer.overwrite true "
                "to replace it, --writer.skip_existing true to restore only the inputs without "
                "an output, or choose another --writer.output_dir"
            )
        self.total, self.skipped = len(layouts), 0
        if existing and self.skip_existing:
            datamodule.skip_predictions(existing)
            self.skipped = len(existing)
            if self.skipped == self.total:
                self.report(
                    f"nothing to restore: all {self.total} outputs exist in {self.output_dir}"
                )
        self.files, self.pending = datamodule.prediction_files(), {}
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
        """Keep the batch's restored planes; write each file whose planes are all there."""
        assert batch_indices is not None  # Lightning tracks them for prediction writers
        assert self.files is not None  # set by setup
        for image, index in zip(prediction, batch_indices):
            file, plane = self.files.planes[index]
            planes = self.pending.setdefault(file, {})
            planes[plane] = image.detach().cpu()
            layout = self.files.layouts[file]
            if len(planes) == layout.planes:
                del self.pending[file]
                # In memory already: the file was decoded to restore its planes.
                values = self.files.decoded(file).values
                ordered = [planes[number] for number in range(layout.planes)]
                write_restored(self.output_path(layout), layout, values, ordered, self.format)

    def on_predict_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """One summary line: how many inputs were restored, and skipped."""
        restored = self.total - self.skipped
        line = f"restored {restored} of {self.total} images into {self.output_dir}"
        if self.skipped:
            line += f"; skipped {self.skipped} whose outputs exist (--writer.skip_existing)"
        self.report(line)

    @rank_zero_only
    def report(self, line: str) -> None:
        """Print one line of the run's outcome (once, under DDP)."""
        print(f"oneshot: {line}")

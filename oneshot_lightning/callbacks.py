"""Callbacks: the prediction writer (one PNG per input, never over an input), config saving."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BasePredictionWriter
from lightning.pytorch.cli import SaveConfigCallback
from torch import Tensor

from oneshot_lightning.data.io import write_image
from oneshot_lightning.errors import InputError


class ImageWriter(BasePredictionWriter):
    """Write each prediction as ``<output_dir>/<input stem>.png`` (8-bit, input's channels).

    Args:
        output_dir: folder for the restored images; required by ``predict``.
    """

    def __init__(self, output_dir: str | None = None) -> None:
        super().__init__(write_interval="batch")
        self.output_dir = None if output_dir is None else Path(output_dir)

    def output_path(self, input_path: str | Path) -> Path:
        """Where the restoration of ``input_path`` goes."""
        assert self.output_dir is not None
        return self.output_dir / f"{Path(input_path).stem}.png"

    def on_predict_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.output_dir is None:
            raise InputError("predict needs an output folder: --writer.output_dir DIR")
        inputs = [Path(path) for path in trainer.datamodule.predict_dataset.paths]
        outputs = [self.output_path(path) for path in inputs]
        clash = {out.resolve() for out in outputs} & {path.resolve() for path in inputs}
        if clash:
            raise InputError(
                f"refusing to overwrite an input image: {sorted(clash)[0]} "
                "(choose another --writer.output_dir)"
            )
        seen: dict[Path, Path] = {}
        for path, out in zip(inputs, outputs):
            if out in seen:
                raise InputError(f"{seen[out]} and {path} would both be written to {out}")
            seen[out] = path

    def write_on_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        prediction: Tensor,
        batch_indices: Sequence[int] | None,
        batch: dict[str, Any],
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        for image, path in zip(prediction, batch["path"]):
            write_image(self.output_path(path), image)


class FitConfigSaver(SaveConfigCallback):
    """Save the resolved ``config.yaml`` beside the logs of training runs only.

    ``test`` and ``predict`` would otherwise write it into the current folder.
    """

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage == "fit":
            super().setup(trainer, pl_module, stage)

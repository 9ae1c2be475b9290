"""Never worse than the start: score the untrained model first, keep it if training loses.

Every net starts as the identity (deblurring, denoising) or as bicubic interpolation
(super-resolution), which needs no training. A run on a poor pair, a tiny budget or a photo
without texture can end below that start, and with no ground truth the user would not notice.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader

from oneshot_lightning.data.datasets import ImagePairs
from oneshot_lightning.errors import InputError
from oneshot_lightning.models import RestorationModule
from oneshot_lightning.say import say


class StartingPoint(Callback):
    """Save the untrained model as ``start.ckpt`` and keep ``best.ckpt`` never worse than it.

    Before the first step the model is scored on the training pair's validation images
    (``val/psnr``, as the validation loop scores them) and
    saved beside the checkpoints. When ``fit`` ends, the best checkpoint's score is compared
    with it: if training never beat the start, ``best.ckpt`` becomes a copy of
    ``start.ckpt``. One line reports the gain; a gain below ``warn_below`` dB is a warning.

    When the pair's downscaling was a guess (a zero-shot photo whose resize routine was not
    told apart, ``Downscaling.back_project`` false), its validation pairs are shrunk by guesses
    too, and small gains on them do not carry over to the photo: training must then gain
    ``guessed_gain`` dB to be kept. 0.15 was chosen on the tuning photos of
    ``benchmarks/zero_shot_ingredients.py`` (none a test image) shrunk by MATLAB's imresize and
    OpenCV's ``INTER_CUBIC`` and ``INTER_AREA``: the one such run that ended below bicubic had
    gained +0.14 dB on validation (-0.14 dB on the photo). It does not catch photos shrunk by
    nearest neighbour, which gained up to +0.99 dB on validation and lost up to 0.26 dB.

    Args:
        monitor: the validation metric, as the best-checkpoint saver monitors it.
        warn_below: smallest gain in dB that ends the run without a warning.
        guessed_gain: smallest gain in dB that keeps training when the downscaling is a guess.
    """

    def __init__(
        self, monitor: str = "val/psnr", warn_below: float = 0.1, guessed_gain: float = 0.15
    ) -> None:
        self.monitor, self.warn_below, self.guessed_gain = monitor, warn_below, guessed_gain
        self.start_score: float | None = None

    def best_saver(self, trainer: Trainer) -> ModelCheckpoint:
        """The checkpoint callback that keeps the best model by :attr:`monitor`."""
        for callback in trainer.checkpoint_callbacks:
            if isinstance(callback, ModelCheckpoint) and callback.monitor == self.monitor:
                return callback
        raise InputError(f"StartingPoint needs a ModelCheckpoint that monitors {self.monitor}")

    def start_path(self, trainer: Trainer) -> Path:
        """``start.ckpt`` beside the best checkpoint."""
        return Path(self.best_saver(trainer).dirpath or trainer.default_root_dir) / "start.ckpt"

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Score and save the untrained model (not again when a run resumes)."""
        if self.start_score is not None or not isinstance(pl_module, RestorationModule):
            return
        pair = pl_module.training_pair
        if pair is None or not pair.validation:
            return
        # Batched as the validation loop batches them: one whole image each.
        loader = DataLoader(ImagePairs(pair.validation), batch_size=1)
        scores = pl_module.validation_scores(loader)
        self.start_score = scores[self.monitor]
        trainer.save_checkpoint(self.start_path(trainer))

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Fall back to the start if training never beat it; report the gain."""
        if self.start_score is None:
            return
        saver = self.best_saver(trainer)
        best = None if saver.best_model_score is None else float(saver.best_model_score)
        required = self.required_gain(pl_module)
        if best is None or best - self.start_score <= required:
            if trainer.is_global_zero and saver.best_model_path:
                shutil.copyfile(self.start_path(trainer), saver.best_model_path)
            gain = 0.0
            kept = "best.ckpt is the untrained start"
            if best is not None and best > self.start_score:
                kept += (
                    f" (training gained {best - self.start_score:+.2f} dB, not the {required:.2f}"
                    " asked when the downscaling is a guess)"
                )
        else:
            gain = best - self.start_score
            kept = f"{self.monitor} {best:.2f} dB"
        line = (
            f"{kept}: {gain:+.2f} dB over the untrained start ({self.start_score:.2f} dB) "
            "on the validation data"
        )
        if gain < self.warn_below:
            line = (
                f"warning: training gained little: {line}; try a longer run "
                "(trainer.max_epochs), a pair with more texture, or check the degradation"
            )
        say(f"oneshot: {line}")

    def required_gain(self, pl_module: LightningModule) -> float:
        """The validation gain in dB that training must beat to be kept."""
        pair = getattr(pl_module, "training_pair", None)
        downscaling = None if pair is None else pair.downscaling
        guessed = downscaling is not None and not downscaling.back_project
        return self.guessed_gain if guessed else 0.0

    def state_dict(self) -> dict[str, Any]:
        """The start's score, so that a resumed run compares with the same start."""
        return {"start_score": self.start_score}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the start's score from a checkpoint."""
        self.start_score = state_dict.get("start_score")

"""Validation, test and predict over whole images: the steps every restoration module shares."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import torch
from lightning.pytorch import LightningModule
from torch import Tensor, nn
from torchmetrics import MetricCollection

from oneshot_lightning.batch import Batch
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import quantize
from oneshot_lightning.metrics import PerImageMean, quality_metrics, shave
from oneshot_lightning.models.nets.protocol import RestorationNet
from oneshot_lightning.models.whole_image import RestoreSettings, restore, restore_once


class WholeImageSteps(LightningModule):
    """Restore whole images for validation, test and predict; score them.

    The subclass (``RestorationModule``) sets the parts and conventions below and says how
    whole images are restored (:attr:`restore_settings`).

    Attributes:
        net: the restoration net.
        first_stage: what whole images go through before the net, if anything.
        metric_border: pixels shaved from each side before val/test metrics.
        metric_bits: test outputs are rounded to this many bits before scoring.
        val_metrics, test_metrics: ``metrics.quality_metrics`` of the splits.
    """

    net: RestorationNet
    first_stage: nn.Module | None
    metric_border: int
    metric_bits: int | None
    val_metrics: MetricCollection
    test_metrics: MetricCollection

    @property
    def restore_settings(self) -> RestoreSettings:
        """How :meth:`restore` restores whole images."""
        raise NotImplementedError

    def stop_diverged(self, what: str, rate: str = "optimizer") -> None:
        """Stop training with one clear line; the last good checkpoint stays as it is."""
        raise InputError(
            f"training diverged: {what} at step {self.global_step} "
            f"(lower the learning rate, model.{rate}.init_args.lr)"
        )

    # Whole images ------------------------------------------------------------------------

    @property
    def restoring_net(self) -> RestorationNet:
        """The net whole images go through: ``net`` (a subclass may wrap it in more)."""
        return self.net

    def restore(self, image: Tensor) -> Tensor:
        """Restore whole (B, C, H, W) images in [0, 1] -> (B, C, S H, S W), clipped to [0, 1].

        S = the net's scale ** ``passes``.
        """
        return restore(image, self.restoring_net, self.first_stage, self.restore_settings)

    def restore_step(self, image: Tensor) -> Tensor:
        """What validation scores: the net's one step (one pass, no back-projection).

        (B, C, H, W) -> (B, C, s H, s W), clipped. Back-projection is a fixed correction
        after the net (it measured a gain on every tuning photo); scoring without it keeps
        the comparison with the untrained start about what training changed. On photos of
        128 x 128 pixels its held-out blocks are small, and with back-projection they
        preferred the start where the trained net was 1.4 dB better on the whole photo.
        """
        settings = self.restore_settings.one_step()
        return restore(image, self.restoring_net, self.first_stage, settings)

    def restore_once(self, image: Tensor) -> Tensor:
        """One pass of the net over whole (B, C, H, W) images, tiled; not clipped."""
        tile_size = self.restore_settings.tile_size
        return restore_once(image, self.restoring_net, self.first_stage, tile_size)

    def validation_pair(self, degraded: Tensor, clean: Tensor) -> tuple[Tensor, Tensor]:
        """What validation scores for a (B, C, H, W) pair: (restored, reference), unshaved."""
        return self.restore_step(degraded), clean

    def validation_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """Restore one whole validation image, update ``val/`` metrics; the restoration.

        Returned for callbacks (``on_validation_batch_end``), e.g. the sample pictures.
        """
        return self.score_validation(self.val_metrics, batch["input"], batch["target"])

    def score_validation(
        self, metrics: MetricCollection, degraded: Tensor, clean: Tensor
    ) -> Tensor:
        """Update ``metrics`` with :meth:`validation_pair`, shaved; the restoration."""
        restored, reference = self.validation_pair(degraded, clean)
        border = self.metric_border
        metrics.update(shave(restored, border), shave(reference, border))
        return restored

    def on_validation_epoch_end(self) -> None:
        """Log the validation metrics; stop if they are not finite."""
        values = self.val_metrics.compute()
        # Runs before the checkpoint callbacks: weights that went bad on the last step of an
        # epoch are never saved.
        if not self.trainer.sanity_checking and not all(v.isfinite() for v in values.values()):
            self.stop_diverged(", ".join(f"{k} is {v.item():.4g}" for k, v in values.items()))
        self.log_dict(values, prog_bar=True)
        self.val_metrics.reset()

    @torch.no_grad()
    def validation_scores(self, batches: Iterable[Batch]) -> dict[str, float]:
        """The ``val/`` metrics of the model as it is now over whole-image ``batches``.

        Outside the validation loop (e.g. before the first step), with fresh metric state;
        under DDP every process must call it (the metrics are synchronised).
        """
        metrics = quality_metrics("val/", self.net.scale).to(self.device)
        was_training = self.training
        self.eval()
        for batch in batches:
            pair = batch["input"].to(self.device), batch["target"].to(self.device)
            self.score_validation(metrics, *pair)
        self.train(was_training)
        return {name: value.item() for name, value in metrics.compute().items()}

    def test_step(self, batch: Batch, batch_idx: int) -> dict[str, Any]:
        """Restore whole test images and score them; ``{"rows": one row per image}``.

        A row holds the image's name, each ``test/`` metric and ``s_per_mp``, the restore
        seconds per output megapixel; ``callbacks.TestReport`` collects them.
        """
        start = time.perf_counter()
        restored = self.restore(batch["input"])
        seconds = time.perf_counter() - start
        if self.metric_bits is not None:
            restored = quantize(restored, self.metric_bits)
        border = self.metric_border
        self.test_metrics.update(shave(restored, border), shave(batch["target"], border))
        per_image = {
            name: PerImageMean.last_update(metric).tolist()
            for name, metric in self.test_metrics.items(keep_base=True, copy_state=False)
        }
        megapixels = batch["target"][0, 0].numel() / 1e6
        per_mp = seconds / len(batch["name"]) / megapixels
        rows = [
            {"image": name} | {key: values[index] for key, values in per_image.items()}
            | {"s_per_mp": per_mp}
            for index, name in enumerate(batch["name"])
        ]  # fmt: skip
        return {"rows": rows}

    def on_test_epoch_end(self) -> None:
        """Log the mean test metrics."""
        self.log_dict(self.test_metrics.compute())
        self.test_metrics.reset()

    def predict_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """Restore whole images: (B, C, H, W) -> (B, C, s H, s W) in [0, 1]."""
        return self.restore(batch["input"])

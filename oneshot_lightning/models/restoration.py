"""The base LightningModule: l1 (or l2) training on patches, whole-image val/test/predict."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any, Literal

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule
from lightning.pytorch.callbacks import Timer
from lightning.pytorch.cli import OptimizerCallable
from lightning.pytorch.utilities import rank_zero_only, rank_zero_warn
from rich.console import Console
from torch import Tensor, nn

from oneshot_lightning.batch import Batch
from oneshot_lightning.checkpoints import load_checkpoint
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import (
    center_crop,
    match_channels,
    quantize,
)
from oneshot_lightning.metrics import PerImageMean, quality_metrics, shave
from oneshot_lightning.models.first_stage import Deconvolution, prepare_first_stage
from oneshot_lightning.models.nets.protocol import (
    DegradationAware,
    RestorationNet,
    restoration_net,
)
from oneshot_lightning.models.test_table import per_image_table
from oneshot_lightning.models.whole_image import restore, restore_once

#: The patch losses by name (``model.loss``).
LOSSES = {"l1": F.l1_loss, "l2": F.mse_loss}


def progress(step: int, total: float, timer: Timer | None) -> float:
    """The share of a run done after ``step`` of its ``total`` planned steps, in [0, 1].

    With a ``max_time`` ``timer``, the larger of that and the training time's share of the
    budget: a run stopped by its time budget still ends its schedule (then the schedule, and
    the result, depend on the machine's speed).
    """
    done = step / total if math.isfinite(total) else 0.0
    if timer is not None:
        elapsed, remaining = timer.time_elapsed(), timer.time_remaining()
        if remaining is not None and elapsed + remaining > 0:
            done = max(done, elapsed / (elapsed + remaining))
    return min(done, 1.0)


class RestorationModule(LightningModule):
    """Train a patch network ``net`` with l1 (or l2) on random patch pairs; restore whole images.

    ``net`` is a :class:`~oneshot_lightning.models.nets.RestorationNet`: it maps (N, C, p, p)
    patches to centred (N, C, q, q) outputs compared with the centre of the clean patch, and
    has ``forward_valid`` for whole images. Batches follow :mod:`oneshot_lightning.batch`.
    Subclasses change how a batch trains (``training_step``, ``generate``,
    ``configure_optimizers``) and share validation, test, predict and checkpoints.

    Args:
        net: the restoration network (e.g. ``RNNSparseCoder``).
        optimizer: builds the optimizer from the parameters.
        cosine_decay: decay the learning rate along a half cosine to zero over the planned
            steps (``trainer.max_steps``, else ``max_epochs`` x steps per epoch); measured
            to beat a constant rate for the same budget.
        tile_size: output tile side for whole-image inference (bounds peak memory).
        metric_border: pixels shaved from each side before val/test metrics.
        self_ensemble: restore each image in its 8 flips/transposes and average (8x the
            time of a plain restore).
        back_projection: iterations of back-projection of each restoration onto its input
            (``functional.back_project``): for super-resolution of images downscaled by
            MATLAB-style bicubic only (the zero-shot configs), where it measured +0.16 dB
            PSNR-Y; 0 turns it off.
        passes: run the net this many times on whole images, each time on the last
            output: gradual super-resolution, e.g. a x2 net twice restores at x4. Training
            and validation work on the net's own step (``data.scale`` = the net's scale);
            ``test`` and ``predict`` on the whole factor.
        overshoot_margin: clip each restored pixel to the range of the 3 x 3 input pixels
            around it, widened by this margin (full scale 1; ``None``: off). A zero-shot
            net can draw thin lines, seen only aliased in its training pairs, far too dark;
            the zero-shot super-resolution configs use 0.02.
        metric_bits: test outputs are rounded to this many bits before scoring, as the file
            ``predict`` writes holds them (``None``: scored unrounded).
        first_stage: deconvolve whole images with the pair's blur before the net (which
            then learns the correction); deblurring pairs only, without fresh pairs.
        loss: the patch loss, ``"l1"`` (mean absolute error) or ``"l2"`` (mean squared
            error: the one PSNR measures, e.g. for Gaussian noise).
        init_from: a checkpoint of ``oneshot fit`` whose net (and first stage) weights
            ``fit`` starts from instead of the untrained start: fine-tuning, e.g. a model
            trained on a pair adapted to one photo in zero-shot mode (the adapt mode).
    """

    #: Init args that make the model what it is (its weights, its output scale, the
    #: degradation its outputs are projected onto); ``predict``/``test`` take them from the
    #: checkpoint.
    architecture: tuple[str, ...] = (
        "net",
        "first_stage",
        "passes",
        "back_projection",
        "overshoot_margin",
    )

    def __init__(
        self,
        net: nn.Module,
        optimizer: OptimizerCallable = torch.optim.Adam,
        cosine_decay: bool = True,
        tile_size: int = 512,
        metric_border: int = 0,
        self_ensemble: bool = False,
        metric_bits: int | None = 8,
        first_stage: Deconvolution | None = None,
        loss: Literal["l1", "l2"] = "l1",
        init_from: str | None = None,
        back_projection: int = 0,
        passes: int = 1,
        overshoot_margin: float | None = None,
    ) -> None:
        super().__init__()
        # Under the CLI this records the config (class paths), so predict needs only the checkpoint.
        self.save_hyperparameters()
        self.net: RestorationNet = restoration_net(net)
        self.optimizer = optimizer
        self.cosine_decay = cosine_decay
        self.tile_size = tile_size
        self.metric_border = metric_border
        self.self_ensemble = self_ensemble
        self.metric_bits = metric_bits
        self.first_stage = first_stage
        self.init_from = init_from
        if back_projection < 0 or (back_projection and self.net.scale == 1):
            raise InputError(
                "model.back_projection must be 0, or a positive iteration count for a "
                f"super-resolution net (scale > 1); got {back_projection} at scale {self.net.scale}"
            )
        self.back_projection = back_projection
        if passes < 1 or (passes > 1 and self.net.scale == 1):
            raise InputError(
                "model.passes must be 1, or more for a super-resolution net (scale > 1); got "
                f"{passes} at scale {self.net.scale}"
            )
        self.passes = passes
        if overshoot_margin is not None and overshoot_margin < 0:
            raise InputError(f"model.overshoot_margin must be >= 0, got {overshoot_margin}")
        self.overshoot_margin = overshoot_margin
        if loss not in LOSSES:
            raise InputError(f"model.loss must be one of {', '.join(LOSSES)}, got {loss!r}")
        self.loss = LOSSES[loss]
        self.val_metrics = quality_metrics("val/", self.net.scale)
        self.test_metrics = quality_metrics("test/", self.scale)
        self.test_rows: list[dict[str, Any]] = []
        #: The per-image rows of the last finished test (this process's images).
        self.test_results: list[dict[str, Any]] = []

    @property
    def patch_size(self) -> int:
        """Side of the input patches the net reads, in pixels."""
        return self.net.patch_size

    @property
    def scale(self) -> int:
        """Output pixels per input pixel of a restored image (the net's scale ** ``passes``)."""
        return self.net.scale**self.passes

    def setup(self, stage: str) -> None:
        """Check that the data's scale is the net's; hand the pair's blur to nets that use it.

        ``fit`` first loads ``init_from``'s weights, if given (a resumed run then loads its
        own checkpoint over them).
        """
        if stage == "fit" and self.init_from is not None:
            self.start_from(self.init_from)
        datamodule = getattr(self.trainer, "datamodule", None)
        # predict needs no pairs, so only the stages that read pairs must agree on the scale.
        # Training and validation pairs are the net's step; test pairs the whole factor.
        scale = self.scale if stage == "test" else self.net.scale
        data_scale = getattr(datamodule, "scale", scale)
        if stage != "predict" and data_scale != scale:
            works = (
                f"the model restores at scale {scale} ({self.passes} passes)"
                if scale != self.net.scale
                else f"the model's net works at scale {scale}"
            )
            raise InputError(
                f"data.scale is {data_scale} but {works}: pass --data.scale {scale}, or use "
                "the config made for that scale"
            )
        if stage == "fit" and isinstance(self.net, DegradationAware):
            # A resumed run then loads its own (the same) degradation from the checkpoint.
            estimate = getattr(datamodule, "blur_estimate", None)
            if estimate is None:
                raise InputError(
                    f"model.net {type(self.net).__name__} deconvolves with the pair's blur: "
                    "train it on a deblurring pair (data.scale 1)"
                )
            self.net.set_degradation(estimate.kernel, estimate.noise_sigma)
        if stage == "fit" and self.first_stage is not None:
            prepare_first_stage(self.first_stage, datamodule)

    def start_from(self, path: str) -> None:
        """Load the net's and the first stage's weights from the checkpoint at ``path``."""
        state = load_checkpoint(path)["state_dict"]
        for name in ("net", "first_stage"):
            part = getattr(self, name)
            if part is None:
                continue
            weights = {k.removeprefix(f"{name}."): v for k, v in state.items()
                       if k.startswith(f"{name}.")}  # fmt: skip
            try:
                part.load_state_dict(weights)
            except RuntimeError as error:
                detail = str(error).strip().splitlines()[0]
                raise InputError(
                    f"model.init_from {path}: its {name} is not this model's ({detail}); start "
                    "from a checkpoint of the same config"
                ) from None

    def configure_optimizers(self) -> Any:
        """The injected optimizer over all parameters, with the cosine schedule if set."""
        return self.with_schedule(self.optimizer(self.parameters()))

    def with_schedule(self, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        """Lightning's optimizer config, with the cosine decay per step if ``cosine_decay``."""
        if not self.cosine_decay:
            return {"optimizer": optimizer}
        total, timer = self.planned_batches(), self.budget_timer()
        if not math.isfinite(total) and timer is None:
            rank_zero_warn(
                "cosine_decay needs trainer.max_steps, max_epochs or max_time; keeping the rate"
            )
            return {"optimizer": optimizer}

        def factor(step: int) -> float:
            return 0.5 * (1 + math.cos(math.pi * progress(step, total, timer)))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def planned_batches(self) -> float:
        """Training batches the run is planned for (inf if unbounded)."""
        return self.trainer.estimated_stepping_batches

    def budget_timer(self) -> Timer | None:
        """The trainer's ``max_time`` timer, if the run has a time budget."""
        for callback in self.trainer.callbacks:  # type: ignore[attr-defined]
            if isinstance(callback, Timer) and callback.time_remaining() is not None:
                return callback
        return None

    def generate(self, degraded: Tensor) -> Tensor:
        """The net's training output: (N, C, p, p) patches -> (N, C, q, q) centred outputs."""
        return self.net(degraded)

    def paired_outputs(self, degraded: Tensor, clean: Tensor) -> tuple[Tensor, Tensor]:
        """(restored, clean) of equal shape from a batch of (N, C, p, p) patch pairs."""
        # A grey pair trains an RGB net on replicated channels, and vice versa.
        restored = self.generate(match_channels(degraded, self.net.channels))
        clean = match_channels(clean, self.net.channels)
        return restored, center_crop(clean, restored.shape[-1])

    def patch_loss(self, degraded: Tensor, clean: Tensor) -> Tensor:
        """``loss`` between the net's output for (N, C, p, p) patches and the clean centres."""
        return self.loss(*self.paired_outputs(degraded, clean))

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor | None:
        """The patch loss on one batch of random patch pairs."""
        loss = self.patch_loss(batch["input"], batch["target"])
        self.stop_unless_finite(loss)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def stop_unless_finite(self, loss: Tensor, name: str = "loss", rate: str = "optimizer") -> None:
        """Stop with :meth:`stop_diverged` if ``loss`` is NaN or infinite on any rank.

        ``rate`` names the init arg whose optimizer's learning rate to lower.
        """
        bad = not torch.isfinite(loss)
        # Decided across ranks, so that no rank is left waiting for one that stopped.
        if self.trainer.strategy.reduce_boolean_decision(bool(bad), all=False):
            value = loss.item() if bad else "not finite on another process"
            self.stop_diverged(f"the {name} is {value}", rate)

    def restore(self, image: Tensor) -> Tensor:
        """Restore whole (B, C, H, W) images in [0, 1] -> (B, C, S H, S W), clipped to [0, 1].

        S = the net's scale ** ``passes``.
        """
        return restore(
            image,
            self.net,
            self.first_stage,
            self.tile_size,
            self.self_ensemble,
            self.back_projection,
            self.passes,
            self.overshoot_margin,
        )

    def restore_step(self, image: Tensor) -> Tensor:
        """What validation scores: the net's one step (one pass, no back-projection).

        (B, C, H, W) -> (B, C, s H, s W), clipped. Back-projection is a fixed correction
        after the net (it measured a gain on every tuning photo); scoring without it keeps
        the comparison with the untrained start about what training changed. On photos of
        128 x 128 pixels its held-out blocks are small, and with back-projection they
        preferred the start where the trained net was 1.4 dB better on the whole photo.
        """
        return restore(image, self.net, self.first_stage, self.tile_size, self.self_ensemble)

    def restore_once(self, image: Tensor) -> Tensor:
        """One pass of the net over whole (B, C, H, W) images, tiled; not clipped."""
        return restore_once(image, self.net, self.first_stage, self.tile_size)

    def validation_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """Restore one whole validation image, update ``val/`` metrics; the restoration.

        Returned for callbacks (``on_validation_batch_end``), e.g. the sample pictures.
        """
        restored = self.restore_step(batch["input"])
        border = self.metric_border
        self.val_metrics.update(shave(restored, border), shave(batch["target"], border))
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
            restored = self.restore_step(batch["input"].to(self.device))
            target = batch["target"].to(self.device)
            metrics.update(shave(restored, self.metric_border), shave(target, self.metric_border))
        self.train(was_training)
        return {name: value.item() for name, value in metrics.compute().items()}

    def stop_diverged(self, what: str, rate: str = "optimizer") -> None:
        """Stop training with one clear line; the last good checkpoint stays as it is."""
        raise InputError(
            f"training diverged: {what} at step {self.global_step} "
            f"(lower the learning rate, model.{rate}.init_args.lr)"
        )

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        """Restore whole test images, score them and keep a per-image row for the table."""
        start = time.perf_counter()
        restored = self.restore(batch["input"])
        seconds = time.perf_counter() - start
        if self.metric_bits is not None:
            restored = quantize(restored, self.metric_bits)
        restored, target = (
            shave(restored, self.metric_border),
            shave(batch["target"], self.metric_border),
        )
        self.test_metrics.update(restored, target)
        per_image = {
            name: PerImageMean.last_update(metric).tolist()
            for name, metric in self.test_metrics.items(keep_base=True, copy_state=False)
        }
        megapixels = batch["target"][0, 0].numel() / 1e6
        for index, image_name in enumerate(batch["name"]):
            row = {"image": image_name} | {k: v[index] for k, v in per_image.items()}
            self.test_rows.append(row | {"s_per_mp": seconds / len(batch["name"]) / megapixels})

    def on_test_epoch_end(self) -> None:
        """Log the mean test metrics and print the per-image table."""
        self.log_dict(self.test_metrics.compute())
        self.test_metrics.reset()
        self.print_test_table()
        self.test_results, self.test_rows = self.test_rows, []

    @rank_zero_only
    def print_test_table(self) -> None:
        """Per-image metrics, as measured on this process."""
        if self.test_rows:
            rows, bits, border = self.test_rows, self.metric_bits, self.metric_border
            Console().print(per_image_table(rows, bits, border, self.scale))

    def predict_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """Restore whole images: (B, C, H, W) -> (B, C, s H, s W) in [0, 1]."""
        return self.restore(batch["input"])

"""The base LightningModule: l1 (or l2) training on patches, whole-image val/test/predict."""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor, nn

from oneshot_lightning.batch import Batch
from oneshot_lightning.checkpoints import load_parts
from oneshot_lightning.errors import InputError, require
from oneshot_lightning.functional import center_crop, match_channels
from oneshot_lightning.hand_over import TrainingPair, pair_source
from oneshot_lightning.metrics import quality_metrics
from oneshot_lightning.models.evaluation import WholeImageSteps
from oneshot_lightning.models.first_stage import Deconvolution
from oneshot_lightning.models.nets.protocol import (
    DegradationAware,
    RestorationNet,
    restoration_net,
)
from oneshot_lightning.models.schedule import budget_timer, cosine_decay
from oneshot_lightning.models.whole_image import RestoreSettings

#: The patch losses by name (``model.loss``).
LOSSES = {"l1": F.l1_loss, "l2": F.mse_loss}


class RestorationModule(WholeImageSteps):
    """Train a patch network ``net`` with l1 (or l2) on random patch pairs; restore whole images.

    ``net`` is a :class:`~oneshot_lightning.models.nets.RestorationNet`: it maps (N, C, p, p)
    patches to centred (N, C, q, q) outputs compared with the centre of the clean patch, and
    has ``forward_valid`` for whole images. Batches follow :mod:`oneshot_lightning.batch`.
    Before training the module takes the data's
    :class:`~oneshot_lightning.hand_over.TrainingPair` once (:meth:`prepare`); validation,
    test and predict restore whole images (:class:`~.evaluation.WholeImageSteps`). Subclasses
    change how a batch trains (``training_step``, ``generate``, ``configure_optimizers``) and
    share the rest.

    Args:
        net: the restoration network (e.g. ``RNNSparseCoder``).
        optimizer: builds the optimizer from the parameters.
        cosine_decay: decay the learning rate along a half cosine to zero over the planned
            steps (``trainer.max_steps``, else ``max_epochs`` x steps per epoch) or the time
            budget (``max_time``); measured to beat a constant rate for the same budget.
        tile_size: output tile side for whole-image inference (bounds peak memory).
        metric_border: pixels shaved from each side before val/test metrics.
        self_ensemble: restore each image in its 8 flips/transposes and average (8x the
            time of a plain restore).
        metric_bits: test outputs are rounded to this many bits before scoring, as the file
            ``predict`` writes holds them (``None``: scored unrounded).
        first_stage: deconvolve whole images with the pair's blur before the net (which
            then learns the correction); deblurring pairs only, without fresh pairs.
        loss: the patch loss, ``"l1"`` (mean absolute error) or ``"l2"`` (mean squared
            error: the one PSNR measures, e.g. for Gaussian noise).
        init_from: a checkpoint of ``oneshot fit`` whose net (and first stage) weights
            ``fit`` starts from instead of the untrained start: fine-tuning, e.g. a model
            trained on a pair adapted to one photo in zero-shot mode (the adapt mode).
        back_projection: iterations of back-projection of each restoration onto its input
            (``functional.back_project``) with the known or estimated downscaling kernel
            (the zero-shot SR configs; +0.16 dB PSNR-Y); 0 turns it off. At most what the
            training pair's kernel is trusted for (``Downscaling.iterations``).
        passes: run the net this many times on whole images, each time on the last
            output: gradual super-resolution, e.g. a x2 net twice restores at x4. Training
            and validation work on the net's own step (``data.scale`` = the net's scale);
            ``test`` and ``predict`` on the whole factor.
        overshoot_margin: clip each restored pixel to the range of the 3 x 3 input pixels
            around it, widened by this margin (full scale 1; ``None``: off). A zero-shot
            net can draw thin lines, seen only aliased in its training pairs, far too dark;
            the zero-shot super-resolution configs use 0.02.
    """

    first_stage: Deconvolution | None

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
        self.optimizer, self.cosine_decay = optimizer, cosine_decay
        self.tile_size, self.self_ensemble = tile_size, self_ensemble
        self.metric_border, self.metric_bits = metric_border, metric_bits
        self.first_stage, self.init_from = first_stage, init_from
        scale = self.net.scale
        require(
            back_projection == 0 or (back_projection > 0 and scale > 1),
            "model.back_projection",
            "0, or a positive iteration count for a super-resolution net (scale > 1)",
            f"{back_projection} at scale {scale}",
        )
        require(
            passes == 1 or (passes > 1 and scale > 1),
            "model.passes",
            "1, or more for a super-resolution net (scale > 1)",
            f"{passes} at scale {scale}",
        )
        margin_ok = overshoot_margin is None or overshoot_margin >= 0
        require(margin_ok, "model.overshoot_margin", ">= 0", overshoot_margin)
        require(loss in LOSSES, "model.loss", f"one of {', '.join(LOSSES)}", repr(loss))
        self.back_projection, self.passes = back_projection, passes
        self.overshoot_margin = overshoot_margin
        self.loss = LOSSES[loss]
        self.val_metrics = quality_metrics("val/", scale)
        self.test_metrics = quality_metrics("test/", self.scale)
        #: The pair ``fit`` trains on, as the data handed it over (:meth:`prepare`).
        self.training_pair: TrainingPair | None = None
        #: The kernel that made the pair's inputs smaller; back-projection's (``None``: bicubic).
        self.downscale_kernel: Tensor | None = None
        #: Whether the weights are the untrained start of super-resolution (``restore``
        #: then interpolates the whole factor at once: see ``RestoreSettings.interpolate``).
        self.interpolates = False

    @property
    def patch_size(self) -> int:
        """Side of the input patches the net reads, in pixels."""
        return self.net.patch_size

    @property
    def scale(self) -> int:
        """Output pixels per input pixel of a restored image (the net's scale ** ``passes``)."""
        return self.net.scale**self.passes

    @property
    def restore_settings(self) -> RestoreSettings:
        """How :meth:`restore` restores whole images (shared with ``oneshot export``)."""
        return RestoreSettings(
            self.tile_size,
            self.self_ensemble,
            self.back_projection,
            self.passes,
            self.overshoot_margin,
            self.downscale_kernel,
            self.interpolates,
        )

    # Set-up: the one hand-over from the data ---------------------------------------------

    def setup(self, stage: str) -> None:
        """Check the data's scale; before ``fit``, take the training pair (:meth:`prepare`).

        ``fit`` first loads ``init_from``'s weights, if given (a resumed run then loads its
        own checkpoint over them).
        """
        if stage == "fit" and self.init_from is not None:
            load_parts(self, ("net", "first_stage"), self.init_from, "model.init_from")
        data = pair_source(self.trainer)
        if data is None:
            if stage == "fit" and self.needs_pair:
                raise InputError("this model learns from its training pair: fit it with "
                                 "OneShotDataModule as data")  # fmt: skip
            return
        # predict needs no pairs, so only the stages that read pairs must agree on the scale.
        if stage != "predict":
            self.check_scale(data.scale, self.scale if stage == "test" else self.net.scale)
        if stage == "fit":
            net_input = self.prepare(data.training_pair())
            if net_input is not None:
                data.map_training_inputs(net_input)

    @property
    def needs_pair(self) -> bool:
        """Whether :meth:`prepare` takes anything from the pair beyond keeping it."""
        return self.first_stage is not None or isinstance(self.net, DegradationAware)

    def check_scale(self, data_scale: int, scale: int) -> None:
        """Training pairs are the net's step, test pairs the whole factor: refuse others."""
        if data_scale == scale:
            return
        works = (
            f"the model restores at scale {scale} ({self.passes} passes)"
            if scale != self.net.scale
            else f"the model's net works at scale {scale}"
        )
        raise InputError(
            f"data.scale is {data_scale} but {works}: pass --data.scale {scale}, or use the "
            "config made for that scale"
        )

    def prepare(self, pair: TrainingPair) -> nn.Module | None:
        """Take the training pair once before ``fit``; what the training inputs must go through.

        The net that deconvolves gets the pair's blur and noise; the first stage takes the
        blur and tunes its balance on the pair, and is returned: the data module puts the
        degraded training images through it, as :meth:`restore` puts every whole image.
        """
        self.training_pair = pair
        if pair.downscaling is not None:
            self.downscale_kernel = pair.downscaling.at(self.scale)
            safe = pair.downscaling.iterations  # a kernel in doubt is trusted less, or not at all
            if safe is not None:
                self.back_projection = min(self.back_projection, safe)
        if isinstance(self.net, DegradationAware):
            blur = pair.require_blur(f"model.net {type(self.net).__name__}")
            self.net.set_degradation(blur.kernel, blur.noise_sigma)
        if self.first_stage is not None:
            self.first_stage.fit_to(pair)
        return self.first_stage

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Keep the downscaling kernel ``predict`` back-projects with, and whether it may.

        The pair's noise level is kept as ``pair_noise_sigma`` (adapt mode starts from it).
        The untrained start of super-resolution (saved before the first step) is marked:
        restored, it interpolates the whole factor at once.
        """
        if self.downscale_kernel is not None:
            checkpoint["downscale_kernel"] = self.downscale_kernel.cpu()
            checkpoint["back_projection"] = self.back_projection
        untrained = self.global_step == 0 and self.init_from is None
        checkpoint["interpolates"] = untrained and self.scale > 1
        blur = None if self.training_pair is None else self.training_pair.blur
        if blur is not None and blur.noise_sigma > 0:  # the level a denoiser was trained for
            checkpoint["pair_noise_sigma"] = blur.noise_sigma

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Take the downscaling kernel back, if the run had one, and the start's mark."""
        self.downscale_kernel = checkpoint.get("downscale_kernel")
        self.back_projection = checkpoint.get("back_projection", self.back_projection)
        self.interpolates = checkpoint.get("interpolates", False)

    # Training ----------------------------------------------------------------------------

    def configure_optimizers(self) -> Any:
        """The injected optimizer over all parameters, with the cosine schedule if set."""
        return self.with_schedule(self.optimizer(self.parameters()))

    def with_schedule(self, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        """Lightning's optimizer config, with the cosine decay per step if ``cosine_decay``."""
        if not self.cosine_decay:
            return {"optimizer": optimizer}
        return cosine_decay(optimizer, self.planned_batches(), budget_timer(self.trainer))

    def planned_batches(self) -> float:
        """Training batches the run is planned for (inf if unbounded)."""
        return self.trainer.estimated_stepping_batches

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


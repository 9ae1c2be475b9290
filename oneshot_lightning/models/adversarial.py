"""Content + adversarial training of any restoration net against a patch discriminator."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from lightning.pytorch.cli import OptimizerCallable
from lightning.pytorch.strategies import DDPStrategy
from torch import Tensor, nn

from oneshot_lightning.batch import Batch
from oneshot_lightning.errors import InputError
from oneshot_lightning.models.restoration import RestorationModule


def logits_loss(logits: Tensor, real: bool) -> Tensor:
    """Binary cross-entropy of discriminator logits against an all-real or all-fake label."""
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


class AdversarialModule(RestorationModule):
    """The generator ``net`` learns ``loss`` (l1 by default) + ``adversarial_weight`` x GAN loss.

    The net runs through ``forward_valid`` on crops that give ``region`` x ``region`` outputs
    (times the scale), so that even a Patch2Pixel net produces images the discriminator can
    judge. Validation, test, predict and checkpoints are those of :class:`RestorationModule`.
    Each training batch takes one discriminator step, then one generator step (manual
    optimisation): ``trainer.global_step`` and ``trainer.max_steps`` count both, so a run of
    ``max_steps`` N trains N / 2 batches, over which the learning rates decay.

    Args:
        net: the generator (any restoration net, see ``nets``).
        discriminator: maps (N, C, H, W) images to real/fake logits.
        optimizer: builds the generator's optimizer.
        discriminator_optimizer: builds the discriminator's optimizer.
        adversarial_weight: weight of the generator's adversarial loss beside the content loss.
        region: output side of each training crop, in input pixels.
        settings: RestorationModule's other arguments (``cosine_decay``, ``tile_size``,
            ``metric_border``, ``self_ensemble``, ...).
    """

    architecture = (*RestorationModule.architecture, "discriminator")

    def __init__(
        self,
        net: nn.Module,
        discriminator: nn.Module,
        optimizer: OptimizerCallable = torch.optim.Adam,
        discriminator_optimizer: OptimizerCallable = torch.optim.Adam,
        adversarial_weight: float = 0.01,
        region: int = 16,
        **settings: Any,
    ) -> None:
        super().__init__(net=net, optimizer=optimizer, **settings)
        if adversarial_weight < 0:
            raise InputError(f"model.adversarial_weight must be >= 0, got {adversarial_weight}")
        judged = region * self.net.scale
        reduction = getattr(discriminator, "reduction", 1)
        if judged < reduction:
            raise InputError(
                f"model.region {region} gives {judged}x{judged} outputs, fewer than the "
                f"{reduction}x{reduction} pixels behind one discriminator logit"
            )
        channels = getattr(discriminator, "channels", self.net.channels)
        if channels != self.net.channels:
            raise InputError(
                f"the discriminator reads {channels} channels, the net writes {self.net.channels}"
            )
        self.discriminator = discriminator
        self.discriminator_optimizer = discriminator_optimizer
        self.adversarial_weight, self.region = adversarial_weight, region
        self.automatic_optimization = False

    @property
    def patch_size(self) -> int:
        """Side of the training crops: ``region`` outputs plus the net's context."""
        return self.region + self.net.context - 1

    def setup(self, stage: str) -> None:
        """Check the data's scale, and that DDP may leave parameters unused."""
        super().setup(stage)
        strategy = self.trainer.strategy
        # Each backward reaches only one of the two nets, which DDP's default reducer rejects.
        # DDPStrategy keeps its options private (pinned by tests/test_lightning_api.py).
        if (
            stage == "fit"
            and isinstance(strategy, DDPStrategy)
            and not strategy._ddp_kwargs.get("find_unused_parameters", False)
        ):
            raise InputError(
                "GAN training on several devices needs "
                "--trainer.strategy ddp_find_unused_parameters_true"
            )

    def planned_batches(self) -> float:
        """Training batches planned: ``max_steps`` counts two optimizer steps per batch."""
        total = self.trainer.estimated_stepping_batches
        if self.trainer.max_steps > 0:
            total = min(total, math.ceil(self.trainer.max_steps / 2))
        return total

    def generate(self, degraded: Tensor) -> Tensor:
        """(N, C, region + k - 1, ...) crops -> (N, C, s region, s region) restored regions."""
        return self.net.forward_valid(degraded)

    def configure_optimizers(self) -> Any:
        """The generator's and the discriminator's optimizers, each with the cosine schedule."""
        generator = self.optimizer(self.net.parameters())
        discriminator = self.discriminator_optimizer(self.discriminator.parameters())
        return [self.with_schedule(generator), self.with_schedule(discriminator)]

    def training_step(self, batch: Batch, batch_idx: int) -> None:
        """One discriminator step, then one generator step, on a batch of patch pairs."""
        optimizers = self.optimizers()
        assert isinstance(optimizers, list)  # configure_optimizers gives two
        generator_optimizer, discriminator_optimizer = optimizers
        restored, clean = self.paired_outputs(batch["input"], batch["target"])

        real_logits = self.discriminator(clean)
        fake_logits = self.discriminator(restored.detach())
        discriminator_loss = (logits_loss(real_logits, True) + logits_loss(fake_logits, False)) / 2
        self.stop_unless_finite(discriminator_loss, "discriminator loss", "discriminator_optimizer")
        discriminator_optimizer.zero_grad()
        self.manual_backward(discriminator_loss)
        discriminator_optimizer.step()

        # The discriminator's weights stay out of the generator's backward pass.
        with self.toggled_optimizer(generator_optimizer):
            content = self.loss(restored, clean)  # model.loss: l1 unless set
            adversarial = logits_loss(self.discriminator(restored), True)
            loss = content + self.adversarial_weight * adversarial
            self.stop_unless_finite(loss)
            generator_optimizer.zero_grad()
            self.manual_backward(loss)
            generator_optimizer.step()

        schedulers = self.lr_schedulers()
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            if scheduler is not None:
                scheduler.step()
        # Near 0.5 the discriminator cannot tell restored from clean (the equilibrium); stuck
        # at 1.0 with a growing adversarial loss, it gives the generator nothing to learn from.
        accuracy = ((real_logits > 0).float().mean() + (fake_logits < 0).float().mean()) / 2
        self.log("train/loss", loss, prog_bar=True)
        self.log_dict(
            {
                "train/content": content,
                "train/adversarial": adversarial,
                "train/discriminator_loss": discriminator_loss,
                "train/discriminator_accuracy": accuracy,
            }
        )

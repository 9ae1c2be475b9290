"""Zero-shot denoising by recorruption: fresh noise added to and taken from the noisy photo."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from oneshot_lightning.batch import Batch
from oneshot_lightning.errors import require
from oneshot_lightning.functional import match_channels, recorrupt
from oneshot_lightning.functional.noise_level import blind_deviation
from oneshot_lightning.hand_over import TrainingPair
from oneshot_lightning.models.restoration import RestorationModule
from oneshot_lightning.say import say


def equal_channels(image: Tensor) -> bool:
    """Whether the channels of a (C, H, W) image are all equal (true for one channel)."""
    return bool((image == image[:1]).all())


def measured_sigma(image: Tensor) -> float:
    """The noise deviation of a (C, H, W) noisy image, measured on it alone.

    Equal channels are measured as one: across them the noise would read as none.
    """
    return blind_deviation(image[:1] if equal_channels(image) else image)


class RecorruptionModule(RestorationModule):
    """Denoise with a net trained on the noisy photo alone (Recorrupted-to-Recorrupted).

    Each step the training crops (the ``input`` of a zero-shot batch: crops of the noisy
    photo; the ``target``, the same crops, is not used) get fresh Gaussian noise of the
    photo's level twice over (``functional.recorrupt``): the net learns, in squared error,
    to turn ``crop + alpha z`` into ``crop - z / alpha``, whose noises are independent, so it
    learns to denoise at full resolution as if it had clean targets. The photo's noise level
    is ``noise_sigma`` when given, else measured on the photo (``functional.blind_deviation``).
    A photo whose channels are all equal (grey stored as RGB, or a grey photo for an RGB
    net) has one noise in all of them: it is measured on one channel and recorrupted with
    one draw for all.
    For white noise that is close to Gaussian; ``PairDownsamplingModule`` needs no level and
    no Gaussian noise, and restores less well where its assumptions both hold.

    Validation recorrupts each held-out block once, with the same draw every time, and scores
    the restored input against the recorrupted target: the target's noise lowers the score
    (by the same amount for every model), so it ranks models without a clean image.

    Args:
        noise_sigma: the photo's noise deviation in image units ([0, 1]); ``None``: measured.
        alpha: the share of the fresh noise added to the input (its deviation ``alpha``
            sigma); the target gets ``1 / alpha`` of it, taken off.
        **settings: as :class:`RestorationModule` (``loss`` and ``first_stage`` unused).
    """

    def __init__(
        self, noise_sigma: float | None = None, alpha: float = 0.5, **settings: Any
    ) -> None:
        super().__init__(**settings)
        require(noise_sigma is None or noise_sigma > 0, "model.noise_sigma", "> 0 or null",
                noise_sigma)  # fmt: skip
        require(alpha > 0, "model.alpha", "> 0", alpha)
        self.noise_sigma, self.alpha = noise_sigma, alpha
        #: The level the net is trained for: ``noise_sigma``, or measured before ``fit``.
        self.sigma = noise_sigma
        #: Whether the training photo's channels are equal (one noise draw for all).
        self.shared_channels = False

    def prepare(self, pair: TrainingPair) -> nn.Module | None:
        """Measure the noisy photo's noise level unless ``noise_sigma`` gives it."""
        first_stage = super().prepare(pair)
        self.shared_channels = self.net.channels > 1 and equal_channels(pair.degraded)
        given = self.given_sigma()
        if given is None:
            self.sigma = measured_sigma(pair.degraded)
            source = "measured on the photo (give it as --model.noise_sigma if you know it)"
        else:
            self.sigma, source = given
        shared = ", one noise in all its equal channels" if self.shared_channels else ""
        level = f"{self.sigma:.4f} ({255 * self.sigma:.2f}/255)"
        say(f"oneshot: noise sigma {level}, {source}{shared}")
        return first_stage

    def given_sigma(self) -> tuple[float, str] | None:
        """The noise level known before the photo is seen, and where from; ``None``: none."""
        return None if self.noise_sigma is None else (self.noise_sigma, "from model.noise_sigma")

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Keep the level the net was trained for (reported, not needed to restore)."""
        super().on_save_checkpoint(checkpoint)
        checkpoint["noise_sigma"] = self.sigma

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Take the trained level back."""
        super().on_load_checkpoint(checkpoint)
        self.sigma = checkpoint.get("noise_sigma", self.noise_sigma)

    def trained_sigma(self, noisy: Tensor) -> float:
        """The level of the recorruptions, in image units.

        ``noise_sigma``, or measured by :meth:`prepare`; for steps outside ``fit``, measured
        once on the first of the (N, C, h, w) ``noisy`` crops.
        """
        if self.sigma is None:
            self.sigma = measured_sigma(noisy[0])
        return self.sigma

    def patch_loss(self, degraded: Tensor, clean: Tensor) -> Tensor:
        """Squared error from one recorruption of (N, C, p, p) noisy crops (``clean`` unused)."""
        noisy = match_channels(degraded, self.net.channels)
        given, wanted = recorrupt(noisy, self.trained_sigma(noisy), self.alpha,
                                  shared=self.shared_channels)  # fmt: skip
        return F.mse_loss(self.generate(given), wanted)

    def validation_pair(self, degraded: Tensor, clean: Tensor) -> tuple[Tensor, Tensor]:
        """(B, C, H, W) block -> (its recorrupted input restored, its recorrupted target)."""
        generator = torch.Generator(degraded.device).manual_seed(0)  # the same draw each time
        noisy = match_channels(degraded, self.net.channels)
        given, wanted = recorrupt(noisy, self.trained_sigma(noisy), self.alpha, generator,
                                  self.shared_channels)  # fmt: skip
        return self.restore_step(given), wanted

    def validation_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """Score one held-out block's recorruption; the whole block restored."""
        super().validation_step(batch, batch_idx)
        return self.restore_step(batch["input"])

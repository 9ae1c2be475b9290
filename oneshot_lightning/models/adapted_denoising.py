"""A pair-trained denoiser fine-tuned on one noisy photo, trusted only where its loss held."""

from __future__ import annotations

import copy
from typing import Any

from torch import Tensor, nn

from oneshot_lightning.checkpoints import load_checkpoint
from oneshot_lightning.errors import require
from oneshot_lightning.functional import match_channels, recorrupt, unclipped_mask
from oneshot_lightning.hand_over import TrainingPair
from oneshot_lightning.models.nets import ClippingBlend, RestorationNet, restoration_net
from oneshot_lightning.models.recorruption import RecorruptionModule


class AdaptedDenoisingModule(RecorruptionModule):
    """Fine-tune a pair-trained denoiser on the noisy photo itself; blend it with the pair model.

    ``fit`` starts from ``init_from`` (a ``denoise.yaml`` checkpoint, required) and trains on
    crops of the noisy photo alone, by recorruption as :class:`RecorruptionModule` does (at
    ``noise_sigma``, else the level the pair model was trained for, else the photo's), with
    the loss counted only where the photo's noise is far from the clipping at 0 and 1
    (``functional.unclipped_mask``: the ``window`` x ``window`` mean ``clip_margin`` noise
    deviations inside (0, 1)). Near the clipping an 8-bit file's noise is not Gaussian, and a
    recorruption loss there teaches the wrong image. Whole images are restored by the
    fine-tuned net far from the clipping and by the untouched pair model (kept as
    ``pair_net``, saved in every checkpoint) near it (``nets.ClippingBlend``).

    Args:
        window: side of the windows whose mean decides the mask and smooths the blend.
        clip_margin: how many noise deviations inside (0, 1) a window's mean must lie.
        **settings: as :class:`RecorruptionModule`; ``init_from`` is required to ``fit``.
    """

    #: The blend's settings are the model's too: ``predict`` takes them from the checkpoint.
    architecture = (*RecorruptionModule.architecture, "window", "clip_margin")

    def __init__(self, window: int = 7, clip_margin: float = 2.0, **settings: Any) -> None:
        super().__init__(**settings)
        require(window > 0 and window % 2 == 1, "model.window", "an odd number > 0", window)
        require(clip_margin >= 0, "model.clip_margin", ">= 0", clip_margin)
        self.window, self.clip_margin = window, clip_margin
        pair_net = copy.deepcopy(self.net)
        assert isinstance(pair_net, nn.Module)
        #: The model ``fit`` started from, frozen: what restores near the clipping.
        self.pair_net = pair_net.requires_grad_(False)
        self.restoring_net  # noqa: B018  # refuse a net that cannot be blended, now

    def prepare(self, pair: TrainingPair) -> nn.Module | None:
        """Keep the pair model ``init_from`` loaded; measure the photo's noise level."""
        require(self.init_from is not None, "model.init_from",
                "the checkpoint of a pair-trained denoiser (oneshot fit --config "
                "configs/denoise.yaml)", None)  # fmt: skip
        self.pair_net.load_state_dict(self.net.state_dict())  # type: ignore[attr-defined]
        return super().prepare(pair)

    def given_sigma(self) -> tuple[float, str] | None:
        """``model.noise_sigma``, else the level the pair model was trained for, if it kept it."""
        given = super().given_sigma()
        if given is not None or self.init_from is None:
            return given
        level = load_checkpoint(self.init_from).get("pair_noise_sigma")
        source = "the pair model's, from model.init_from (--model.noise_sigma to change it)"
        return None if level is None else (float(level), source)

    def configure_optimizers(self) -> Any:
        """The injected optimizer over the fine-tuned net alone, with the cosine schedule."""
        return self.with_schedule(self.optimizer(self.net.parameters()))

    @property
    def restoring_net(self) -> RestorationNet:
        """The fine-tuned net far from the clipping, the pair model near it."""
        sigma = self.sigma if self.sigma is not None else 0.0
        pair_net = restoration_net(self.pair_net)
        return ClippingBlend(self.net, pair_net, sigma, self.window, self.clip_margin)

    def patch_loss(self, degraded: Tensor, clean: Tensor) -> Tensor:
        """Squared error of one recorruption of (N, C, p, p) noisy crops, far from clipping."""
        noisy = match_channels(degraded, self.net.channels)
        sigma = self.trained_sigma(noisy)
        given, wanted = recorrupt(noisy, sigma, self.alpha, shared=self.shared_channels)
        counted = unclipped_mask(noisy, sigma, self.window, self.clip_margin).to(noisy.dtype)
        # A crop with no pixel far from clipping contributes nothing (and no NaN).
        squared = (self.generate(given) - wanted).square() * counted
        return squared.sum() / counted.sum().clamp(min=1)

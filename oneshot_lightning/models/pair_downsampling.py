"""Zero-shot denoising: learn from one noisy photo alone, by pair downsampling."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from oneshot_lightning.batch import Batch
from oneshot_lightning.functional import match_channels
from oneshot_lightning.functional.pair_downsampling import pair_downsample
from oneshot_lightning.models.restoration import RestorationModule


class PairDownsamplingModule(RestorationModule):
    """Denoise with a net trained on the noisy photo alone (Zero-Shot Noise2Noise's losses).

    Each training crop (the ``input`` of a zero-shot batch: crops of the photo; the
    ``target``, the same crops, is not used) is split into two half-size views whose noises
    are independent (``functional.pair_downsample``). The net restores each view, scored
    against the other (residual loss), and restores the whole crop, whose views must agree
    with its restorations of the views (consistency loss); squared errors throughout. Works
    for noise independent from pixel to pixel, of any level and distribution, without
    measuring it.

    Validation restores one view of each held-out block and scores it against the other, so
    no clean image is needed: the other view's noise adds about sigma^2 / 2 to the squared
    error, and its half-pixel shift a little more, so the score tells a denoiser from the
    noisy input but squeezes the differences between good models together (the config
    validates once, at the end). Test and predict restore whole images as every module does.

    Args: as :class:`RestorationModule` (``loss`` and ``first_stage`` are not used).
    """

    def pair_loss(self, noisy: Tensor) -> Tensor:
        """The residual + consistency loss of (N, C, p, p) noisy crops, p even."""
        noisy = match_channels(noisy, self.net.channels)
        first, second = pair_downsample(noisy)
        first_restored, second_restored = self.net(first), self.net(second)
        residual = F.mse_loss(first_restored, second) + F.mse_loss(second_restored, first)
        whole_first, whole_second = pair_downsample(self.net(noisy))
        consistency = F.mse_loss(first_restored, whole_first) + F.mse_loss(
            second_restored, whole_second
        )
        return (residual + consistency) / 2

    def patch_loss(self, degraded: Tensor, clean: Tensor) -> Tensor:
        """The pair loss of the noisy crops ``degraded`` (``clean``, the same crops, unused)."""
        return self.pair_loss(degraded)

    def validation_pair(self, degraded: Tensor, clean: Tensor) -> tuple[Tensor, Tensor]:
        """(B, C, H, W) block -> (one view restored, the other view), (B, C, H/2, W/2) each."""
        first, second = pair_downsample(degraded)
        return self.restore_step(first), second

    def validation_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """Score one held-out block's view against the other; the whole block restored."""
        super().validation_step(batch, batch_idx)
        return self.restore_step(batch["input"])

"""Two whole-image denoisers in one: the first far from clipping, the second near it."""

from __future__ import annotations

from torch import Tensor, nn

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import unclipped_weight
from oneshot_lightning.models.nets.protocol import RestorationNet, WholeImageNet


class ClippingBlend(nn.Module):
    """``inner`` where the noise is far from clipping, ``outer`` near 0 and 1, blended.

    The weight is :func:`~oneshot_lightning.functional.unclipped_weight` of the noisy image
    (``sigma``, ``window``, ``margin``): 1 where every ``window`` x ``window`` mean around a
    pixel lies ``margin`` deviations inside (0, 1), 0 where none does. Made for a denoiser
    fine-tuned on a photo by a loss that holds only where the noise is Gaussian
    (``inner``) and the model it started from (``outer``). Both must be scale-1
    :class:`~oneshot_lightning.models.nets.WholeImageNet` nets of one shape (e.g. two
    ``DenoisingUNet``); the blend is one too, its ``context`` wide enough for the weight, so
    tiled restores equal whole ones.

    Holds references to the two nets, not copies: the module that owns them saves them.
    """

    def __init__(
        self, inner: RestorationNet, outer: RestorationNet, sigma: float, window: int = 7,
        margin: float = 2.0,
    ) -> None:  # fmt: skip
        super().__init__()
        for net in (inner, outer):
            if not isinstance(net, WholeImageNet) or net.scale != 1:
                raise InputError(
                    f"model.net {type(net).__name__} cannot be blended: a denoiser that "
                    "restores whole images at scale 1 is needed (e.g. DenoisingUNet)"
                )
        self.inner, self.outer = inner, outer
        self.sigma, self.window, self.margin = sigma, window, margin
        self.channels, self.patch_size = inner.channels, inner.patch_size
        self.stride, self.scale = inner.stride, 1
        reach = inner.context // 2 + window - 1
        self.radius = reach + -reach % inner.stride  # tiles keep the nets' phase
        self.context = 2 * self.radius + 1

    def restore(self, image: Tensor) -> Tensor:
        """(B, C, H, W) noisy -> (B, C, H, W) denoised, not clipped."""
        weight = unclipped_weight(image, self.sigma, self.window, self.margin)
        inner = self.inner.restore(image)  # type: ignore[attr-defined]  # a WholeImageNet
        outer = self.outer.restore(image)  # type: ignore[attr-defined]
        return outer + weight * (inner - outer)

    def forward(self, patches: Tensor) -> Tensor:
        """(N, C, p, p) -> (N, C, p, p): whole patches restored."""
        return self.restore(patches)

    def forward_valid(self, image: Tensor) -> Tensor:
        """(B, C, h + 2 r, w + 2 r) -> (B, C, h, w), r = ``context // 2``."""
        r = self.radius
        return self.restore(image)[..., r : image.shape[-2] - r, r : image.shape[-1] - r]

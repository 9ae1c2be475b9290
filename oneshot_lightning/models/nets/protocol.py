"""What every restoration net offers: the :class:`RestorationNet` protocol and its check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from torch import Tensor, nn

from oneshot_lightning.errors import InputError


@runtime_checkable
class RestorationNet(Protocol):
    """A patch network that the LightningModules can train and run over whole images.

    Training calls the net on (N, C, p, p) patches and compares the centred (N, C, q, q)
    output, at ``scale`` times the resolution, with the centre of the clean patch. Whole
    images go through :meth:`forward_valid`, padded by ``context // 2`` and cut into tiles
    that start on multiples of ``stride`` (then tiled == untiled).

    Attributes:
        channels: image channels C the net reads and writes.
        patch_size: side p of the training input patches, in input pixels.
        context: odd side of the input window that each output pixel depends on.
        stride: tiles must start on multiples of it (1: anywhere).
        scale: output pixels per input pixel along each axis.
    """

    channels: int
    patch_size: int
    context: int
    stride: int
    scale: int

    def __call__(self, patches: Tensor) -> Tensor:
        """(N, C, p, p) patches -> (N, C, q, q) centred outputs at ``scale`` x resolution."""
        ...

    def forward_valid(self, image: Tensor) -> Tensor:
        """(B, C, h + k - 1, w + k - 1) -> (B, C, scale h, scale w), k = ``context``."""
        ...

    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]:
        """The trainable weights, as any ``nn.Module`` has them."""
        ...


@runtime_checkable
class DegradationAware(Protocol):
    """A net that restores with the training pair's blur kernel and noise level in hand.

    ``RestorationModule`` hands them over (from the data module's ``blur_estimate``) before
    training; the net keeps what it needs in buffers, so checkpoints carry it.
    """

    def set_degradation(self, kernel: Tensor, noise_sigma: float) -> None:
        """Take the pair's (k, k) blur kernel and its noise standard deviation."""
        ...

    def set_view(self, index: int) -> None:
        """See images through dihedral transform ``index`` (``functional.dihedral``).

        A flipped or transposed image was blurred by the flipped or transposed kernel: the
        self-ensemble tells the net which transform it is looking through.
        """
        ...


@runtime_checkable
class WholeImageNet(Protocol):
    """A net that restores a whole image at once, its borders handled inside (e.g. an FFT).

    ``RestorationModule`` restores images with it, in overlapping tiles
    (``functional.tiled_whole``) read with ``context // 2`` pixels of margin and no padding,
    so an image smaller than the net's ``context`` is still restored.
    """

    def restore(self, image: Tensor) -> Tensor:
        """(B, C, H, W) degraded -> (B, C, scale H, scale W) restored."""
        ...


#: The members :func:`restoration_net` checks, in the order an error names them.
MEMBERS = ("channels", "patch_size", "context", "stride", "scale", "forward_valid")


def restoration_net(net: nn.Module, role: str = "model.net") -> RestorationNet:
    """``net`` typed as a :class:`RestorationNet`; :class:`InputError` naming what it lacks."""
    if isinstance(net, RestorationNet):
        return net
    missing = [name for name in MEMBERS if not hasattr(net, name)]
    raise InputError(
        f"{role} {type(net).__name__} lacks {', '.join(missing)}: a restoration net declares "
        f"{', '.join(MEMBERS)} (see oneshot_lightning.models.nets.RestorationNet)"
    )

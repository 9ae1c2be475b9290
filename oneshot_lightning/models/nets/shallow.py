"""A shallow denoiser: two 3x3 convolutions and a 1x1, small enough to learn from one photo."""

from __future__ import annotations

from torch import Tensor, nn

from oneshot_lightning.errors import require
from oneshot_lightning.functional import pad_for_patches


class ShallowDenoiser(nn.Module):
    """conv 3x3, LeakyReLU, conv 3x3, LeakyReLU, conv 1x1: the noise, taken off the input.

    The net of Zero-Shot Noise2Noise (Mansour and Heckel, CVPR 2023): a 5x5 window per
    output pixel and few weights, so that training on one noisy photo (with
    ``models.PairDownsamplingModule``) does not learn its noise. Unlike that net, borders
    are reflected (not zero-padded), for whole images and training crops alike, and the last
    convolution starts at zero: the untrained net is the identity.

    Args:
        channels: image channels C.
        width: feature maps of the two 3x3 convolutions.
        patch_size: training crop side p in pixels (even: the crops are halved into pairs).
    """

    def __init__(self, channels: int = 3, width: int = 48, patch_size: int = 128) -> None:
        super().__init__()
        require(channels >= 1, "net.channels", "a positive integer", channels)
        require(width >= 1, "net.width", "a positive integer", width)
        require(patch_size >= 8 and patch_size % 2 == 0, "net.patch_size", "even, >= 8",
                patch_size)  # fmt: skip
        self.channels, self.patch_size = channels, patch_size
        self.context, self.stride, self.scale = 5, 1, 1
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 3),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, width, 3),
            nn.LeakyReLU(0.2, inplace=True),
        )
        self.noise = nn.Conv2d(width, channels, 1)
        nn.init.zeros_(self.noise.weight)
        nn.init.zeros_(self.noise.bias)  # type: ignore[arg-type]  # set: bias=True

    def forward(self, patches: Tensor) -> Tensor:
        """(N, C, p, p) -> (N, C, p, p), borders reflected as for whole images."""
        return self.forward_valid(pad_for_patches(patches, self.context))

    def forward_valid(self, image: Tensor) -> Tensor:
        """(B, C, h + 4, w + 4) -> (B, C, h, w): each output from its 5x5 input window."""
        return image[..., 2:-2, 2:-2] - self.noise(self.features(image))

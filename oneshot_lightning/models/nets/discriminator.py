"""A PatchGAN discriminator: one real/fake logit per overlapping region of its input."""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from oneshot_lightning.errors import InputError


class PatchDiscriminator(nn.Module):
    """Strided 4x4 convolutions with LeakyReLU, then a 3x3 convolution to one logit map.

    Spectral normalisation bounds the discriminator's slope, which keeps a GAN trained on
    one image pair from running away (no batch norm: batches are patches of one image).

    Args:
        channels: image channels C.
        width: feature maps after the first layer; doubled at each further layer.
        layers: strided layers; the logit map is 2**layers times smaller than the input.
    """

    def __init__(self, channels: int = 3, width: int = 32, layers: int = 2) -> None:
        super().__init__()
        if width < 1 or layers < 1:
            raise InputError(
                f"discriminator width and layers must be positive, got {width}, {layers}"
            )
        self.channels = channels
        self.reduction = 2**layers  # input pixels per logit along each axis
        modules: list[nn.Module] = []
        c_in = channels
        for layer in range(layers):
            c_out = width * 2**layer
            modules += [spectral_norm(nn.Conv2d(c_in, c_out, 4, 2, 1)), nn.LeakyReLU(0.2)]
            c_in = c_out
        modules.append(spectral_norm(nn.Conv2d(c_in, 1, 3, 1, 1)))
        self.layers = nn.Sequential(*modules)

    def forward(self, images: Tensor) -> Tensor:
        """(N, C, H, W) in [0, 1] -> (N, 1, H / 2**layers, W / 2**layers) logits (real > 0)."""
        return self.layers(images)

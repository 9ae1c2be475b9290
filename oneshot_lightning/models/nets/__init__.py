"""Plain ``nn.Module`` networks; the LightningModules take one as ``net``.

Each restoration net offers :class:`RestorationNet` (``protocol.py``): patches in, centred
outputs out, and ``forward_valid`` for whole images.
"""

from oneshot_lightning.models.nets.blend import ClippingBlend
from oneshot_lightning.models.nets.denoiser import DenoisingUNet
from oneshot_lightning.models.nets.discriminator import PatchDiscriminator
from oneshot_lightning.models.nets.patch2patch import RNNPatch2Patch
from oneshot_lightning.models.nets.protocol import (
    DegradationAware,
    RestorationNet,
    WholeImageNet,
    restoration_net,
)
from oneshot_lightning.models.nets.rnn import RNNSparseCoder
from oneshot_lightning.models.nets.shallow import ShallowDenoiser
from oneshot_lightning.models.nets.unet import UNet
from oneshot_lightning.models.nets.unrolled import UnrolledDeconvolution
from oneshot_lightning.models.nets.upsampled import BicubicInput

__all__ = [
    "BicubicInput",
    "ClippingBlend",
    "DegradationAware",
    "DenoisingUNet",
    "PatchDiscriminator",
    "RNNPatch2Patch",
    "RNNSparseCoder",
    "RestorationNet",
    "ShallowDenoiser",
    "UNet",
    "UnrolledDeconvolution",
    "WholeImageNet",
    "restoration_net",
]

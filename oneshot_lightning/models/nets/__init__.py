"""Plain ``nn.Module`` networks; the LightningModules take one as ``net``.

A restoration net reads (N, C, p, p) patches (``patch_size`` p, ``channels`` C) and returns
centred (N, C, q, q) outputs at ``scale`` times the input resolution. ``forward_valid`` maps
a whole (B, C, h + k - 1, w + k - 1) image to (B, C, scale h, scale w), where ``context`` k is
the window each output pixel reads; tiles of it must start on multiples of ``stride``.
"""

from oneshot_lightning.models.nets.discriminator import PatchDiscriminator
from oneshot_lightning.models.nets.patch2patch import RNNPatch2Patch
from oneshot_lightning.models.nets.rnn import RNNSparseCoder
from oneshot_lightning.models.nets.unet import UNet
from oneshot_lightning.models.nets.upsampled import BicubicInput

__all__ = ["BicubicInput", "PatchDiscriminator", "RNNPatch2Patch", "RNNSparseCoder", "UNet"]

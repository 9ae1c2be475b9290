"""Plain ``nn.Module`` networks; the LightningModules take one as ``net``.

A net reads (N, C, p, p) patches (``patch_size`` p, ``channels`` C), returns centred
(N, C, q, q) outputs at ``scale`` times the input resolution, and has ``forward_valid``, the
same computation on every window of a whole image.
"""

from oneshot_lightning.models.nets.rnn import RNNSparseCoder
from oneshot_lightning.models.nets.upsampled import BicubicInput

__all__ = ["BicubicInput", "RNNSparseCoder"]

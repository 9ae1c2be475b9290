"""Plain ``nn.Module`` networks; the LightningModules take one as ``net``."""

from oneshot_lightning.models.nets.rnn import RNNSparseCoder

__all__ = ["RNNSparseCoder"]

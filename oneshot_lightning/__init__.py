"""One-shot image restoration: learn deblurring or super-resolution from one image pair."""

__version__ = "0.1.0"

from oneshot_lightning.api import Restorer, train

__all__ = ["Restorer", "__version__", "train"]

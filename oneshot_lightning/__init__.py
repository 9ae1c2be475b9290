"""One-shot image restoration: learn deblurring or super-resolution from one image pair."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from oneshot_lightning.api import Restorer, train

__all__ = ["Restorer", "__version__", "train"]

#: Names of the package face, loaded on first use: the Python API pulls in Lightning's CLI
#: (seconds), which ``import oneshot_lightning.functional`` must not pay for.
_LAZY = {"Restorer": "oneshot_lightning.api", "train": "oneshot_lightning.api"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

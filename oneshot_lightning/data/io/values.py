"""Stored sample values <-> the nets' [0, 1] scale: one :class:`ValueMap` per file.

``value = offset + span * normalised``. 8- and 16-bit unsigned integers use their full scale
(0 and 2^bits - 1); floats already within [0, 1] are taken as they are; other floats and
integer types are min-max normalised over the whole file (every page and channel).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from oneshot_lightning.errors import InputError

if TYPE_CHECKING:
    from oneshot_lightning.data.io.layout import ImageLayout

#: Sample types held at their full scale; every other type is min-max normalised.
FULL_SCALE = {"uint8": 255.0, "uint16": 65535.0}


@dataclass(frozen=True)
class ValueMap:
    """Stored values from the nets' [0, 1]: ``value = offset + span * normalised``.

    Attributes:
        offset: the stored value of 0.
        span: stored units per unit of the [0, 1] scale (> 0).
    """

    offset: float
    span: float

    def normalise(self, values: np.ndarray) -> np.ndarray:
        """Stored values (any shape) -> float32 on the [0, 1] scale."""
        return (values.astype(np.float32) - np.float32(self.offset)) / np.float32(self.span)

    def describe(self) -> str:
        """One phrase for messages, e.g. ``values 0 + 65535 x [0, 1]``."""
        return f"values {self.offset:g} + {self.span:g} x [0, 1]"


def data_range(layout: ImageLayout, data: np.ndarray) -> tuple[float, float]:
    """(smallest, largest) sample of ``data``; :class:`InputError` if any is not finite."""
    if data.size == 0:
        raise InputError(f"{layout.path} holds no pixels")
    if layout.dtype in FULL_SCALE:
        return 0.0, FULL_SCALE[layout.dtype]
    low, high = float(data.min()), float(data.max())
    if not (math.isfinite(low) and math.isfinite(high)):
        raise InputError(
            f"{layout.path} holds NaN or infinite values: restoration needs finite numbers "
            "(replace them first)"
        )
    return low, high


def value_map(dtype: str, ranges: Iterable[tuple[float, float]]) -> ValueMap:
    """The :class:`ValueMap` of samples of ``dtype`` whose (low, high) ranges are given.

    Full scale for 8/16-bit unsigned integers; identity for floats within [0, 1]; else
    min-max over the union of the ranges (span 1 for a constant image).
    """
    if dtype in FULL_SCALE:
        return ValueMap(0.0, FULL_SCALE[dtype])
    lows, highs = zip(*ranges)
    low, high = min(lows), max(highs)
    if dtype.startswith("float") and low >= 0.0 and high <= 1.0:
        return ValueMap(0.0, 1.0)
    return ValueMap(low, high - low if high > low else 1.0)


def layout_values(layout: ImageLayout) -> ValueMap:
    """The full-scale value map of an 8/16-bit layout (floats: the identity)."""
    return value_map(layout.dtype, [(0.0, 1.0)])


def to_samples(canonical: np.ndarray, dtype: str, values: ValueMap) -> np.ndarray:
    """[0, 1] values -> stored samples of ``dtype`` (8/16-bit: rounded to the nearest level)."""
    if dtype in FULL_SCALE:
        # float32 throughout, as quantize() rounds: the file holds round(value * levels).
        levels = np.float32(FULL_SCALE[dtype])
        return np.round(np.clip(canonical, 0, 1) * levels).astype(dtype)
    stored = values.offset + values.span * canonical.astype(np.float64)
    if np.dtype(dtype).kind == "f":
        return stored.astype(dtype)
    info = np.iinfo(dtype)
    return np.clip(np.rint(stored), info.min, info.max).astype(dtype)

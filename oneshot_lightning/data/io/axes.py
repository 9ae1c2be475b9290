"""Array axes: a file's stored order <-> canonical (pages, samples, H, W), and orientation.

Axes are tifffile's letters (see :class:`.layout.ImageLayout`): ``Y`` rows, ``X`` columns,
``S`` samples of a pixel; every other letter counts pages.
"""

from __future__ import annotations

import numpy as np


def to_canonical(axes: str, array: np.ndarray) -> np.ndarray:
    """An array in ``axes`` order (see :class:`.layout.ImageLayout`) as (pages, samples, H, W)."""
    array = array.transpose(canonical_order(axes))
    return array.reshape(-1, array.shape[-3] if "S" in axes else 1, *array.shape[-2:])


def canonical_order(axes: str) -> list[int]:
    """The axes' indices in canonical order: pages..., S (if any), Y, X."""
    pages = [i for i, axis in enumerate(axes) if axis not in "YXS"]
    samples = [axes.index("S")] if "S" in axes else []
    return [*pages, *samples, axes.index("Y"), axes.index("X")]


def swap_yx(axes: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` with its Y and X sizes swapped."""
    swapped = list(shape)
    y, x = axes.index("Y"), axes.index("X")
    swapped[y], swapped[x] = shape[x], shape[y]
    return tuple(swapped)


def orient(canonical: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF/TIFF orientation (1-8) to (..., H, W), as Pillow's exif_transpose does."""
    rows, cols = canonical.ndim - 2, canonical.ndim - 1
    operations = {
        2: lambda a: a[..., ::-1],
        3: lambda a: a[..., ::-1, ::-1],
        4: lambda a: a[..., ::-1, :],
        5: lambda a: a.swapaxes(rows, cols),
        6: lambda a: np.rot90(a, -1, axes=(rows, cols)),
        7: lambda a: np.rot90(a, 2, axes=(rows, cols)).swapaxes(rows, cols),
        8: lambda a: np.rot90(a, 1, axes=(rows, cols)),
    }
    if orientation not in operations:
        return canonical
    return np.ascontiguousarray(operations[orientation](canonical))

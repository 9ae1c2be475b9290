"""The 8 symmetries of the square (flips and transposes) on the last two axes.

Index ``k`` in 0..7 is a flip of the axes in :data:`FLIPS` ``[k // 2]`` followed by a
transpose when ``k`` is odd; :func:`undo_dihedral` inverts it. Self-ensembles average a
net's outputs over all 8; training augmentation draws one per sample.
"""

from __future__ import annotations

from torch import Tensor

#: Axes flipped by the transforms ``2 j`` and ``2 j + 1``.
FLIPS: tuple[tuple[int, ...], ...] = ((), (-1,), (-2,), (-2, -1))
#: How many transforms there are.
DIHEDRAL_COUNT = 2 * len(FLIPS)


def dihedral(image: Tensor, index: int) -> Tensor:
    """Transform ``index`` of (..., H, W) -> (..., H, W), or (..., W, H) for odd indices.

    >>> import torch
    >>> x = torch.arange(6).view(2, 3)
    >>> all(torch.equal(undo_dihedral(dihedral(x, k), k), x) for k in range(DIHEDRAL_COUNT))
    True
    """
    flips = FLIPS[index // 2]
    out = image.flip(flips) if flips else image
    return out.transpose(-1, -2) if index % 2 else out


def undo_dihedral(image: Tensor, index: int) -> Tensor:
    """The inverse of :func:`dihedral` with the same ``index``."""
    out = image.transpose(-1, -2) if index % 2 else image
    flips = FLIPS[index // 2]
    return out.flip(flips) if flips else out


def is_dihedral_invariant(kernel: Tensor, tolerance: float = 0.1) -> bool:
    """Whether a (k, k) kernel equals its 8 flips/transposes within ``tolerance`` x its peak.

    A blur with such a kernel commutes with the transforms, so flipping a blurred/sharp pair
    together makes another valid pair; for any other kernel (camera shake) it does not.

    >>> import torch
    >>> is_dihedral_invariant(torch.ones(3, 3)), is_dihedral_invariant(torch.eye(3))
    (True, False)
    """
    if kernel.shape[-1] != kernel.shape[-2]:
        return False
    limit = tolerance * float(kernel.abs().max())
    return all(
        float((dihedral(kernel, index) - kernel).abs().max()) <= limit
        for index in range(1, DIHEDRAL_COUNT)
    )


def transpose_where(chosen: Tensor, image: Tensor) -> Tensor:
    """Transpose the samples of square (B, C, H, H) ``image`` where (B,) bool ``chosen``."""
    return image.transpose(-1, -2).where(chosen[:, None, None, None], image)

"""The training patch stream of a pair: which corners patches start at, and the fresh pairs."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from oneshot_lightning.data.datasets import PatchPairStream
from oneshot_lightning.data.degradations import Degradation
from oneshot_lightning.data.sampling import gradient_weighted, patch_positions
from oneshot_lightning.data.synthesis import fresh_crops
from oneshot_lightning.functional import Box


def patch_stream(
    pairs: Sequence[tuple[Tensor, Tensor]],
    blocks: Sequence[Box],
    patch_size: int,
    batch_size: int,
    steps: int,
    seed: int,
    scale: int = 1,
    gradient: bool = False,
    fresh_count: int = 0,
    synthesis: Degradation | None = None,
    weights: Sequence[float] | None = None,
) -> PatchPairStream:
    """Batches of ``batch_size`` random patch pairs from ``pairs``, away from the ``blocks``.

    Patches never touch the held-out blocks, in the pair (the first) or in its shrunk copies.
    With ``gradient`` they are drawn more often where the clean window has texture
    (``sampling.gradient_weighted``); ``fresh_count`` of each batch's pairs are clean crops for
    ``synthesis`` to degrade on the device; ``weights`` scale each pair's share of the draw.
    """
    positions: Sequence[Tensor | None] = patch_positions(pairs, blocks, patch_size)
    if gradient:
        positions = gradient_weighted(pairs, positions, patch_size, scale)
    fresh = None
    if fresh_count and synthesis is not None:
        fresh = fresh_crops(pairs, blocks, patch_size, synthesis, scale)
    return PatchPairStream(
        pairs, positions, patch_size, batch_size, steps, seed, scale, fresh, fresh_count, weights
    )

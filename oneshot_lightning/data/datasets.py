"""Datasets of the data module: the training patch stream and whole-image pairs and files.

The patch stream yields ready :class:`~oneshot_lightning.batch.Batch` es; the whole-image
datasets yield one :class:`~oneshot_lightning.batch.Sample` each, which the loader batches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset, IterableDataset

from oneshot_lightning.batch import Batch, Sample
from oneshot_lightning.data.degradations import Degradation
from oneshot_lightning.data.io import read_image, read_pair
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import (
    mod_crop,
    noise_generator,
    require_size,
    sample_from_pairs,
)


class PatchPairStream(IterableDataset):
    """Endless-looking stream of aligned random patch batches from one image pair.

    Each iteration yields ``steps`` batches ``{"input": (B, C, p, p), "target": (B, C, s p,
    s p)}``. The generator
    is seeded once per process from ``seed`` and the rank, so ranks draw different patches
    and a rerun with the same seed draws the same ones. ``extra`` pairs (e.g. made from
    shrunk copies of the clean image) share the draw in proportion to their areas.
    """

    def __init__(
        self,
        degraded: Tensor,
        clean: Tensor,
        patch_size: int,
        batch_size: int,
        steps: int,
        seed: int,
        scale: int = 1,
        extra: Sequence[tuple[Tensor, Tensor]] = (),
    ) -> None:
        self.scale = scale
        self.pairs = [(degraded, clean), *extra]
        self.patch_size, self.batch_size, self.steps = patch_size, batch_size, steps
        self.seed = seed
        self.generator: torch.Generator | None = None

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[Batch]:
        if self.generator is None:
            rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
            self.generator = torch.Generator().manual_seed(self.seed + 1_000_003 * rank)
        for _ in range(self.steps):
            degraded, clean = sample_from_pairs(
                self.pairs, self.batch_size, self.patch_size, self.generator, self.scale
            )
            yield {"input": degraded, "target": clean}


class ImagePairs(Dataset):
    """Whole-image pairs ``{"input": (C, h, w), "target": (C, H, W), "name": str}``."""

    def __init__(self, pairs: list[tuple[Tensor, Tensor, str]]) -> None:
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> Sample:
        degraded, clean, name = self.pairs[index]
        return {"input": degraded, "target": clean, "name": name}


class TestPairs(Dataset):
    """Pairs read lazily from files; a missing input is made from its target by degradation."""

    def __init__(
        self,
        targets: list[Path],
        inputs: list[Path] | None,
        degradation: Degradation | None,
        seed: int,
        scale: int = 1,
    ) -> None:
        self.targets, self.inputs = targets, inputs
        self.degradation, self.seed, self.scale = degradation, seed, scale

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> Sample:
        if self.inputs is not None:
            degraded, clean = read_pair(self.inputs[index], self.targets[index])
            what = f"{self.inputs[index]} / {self.targets[index]}"
            clean = check_pair(degraded, clean, what, self.scale)
        else:
            assert self.degradation is not None
            clean = mod_crop(read_image(self.targets[index]), self.scale)
            generator = noise_generator(self.seed, index + 1)
            degraded = self.degradation(clean[None], generator, self.scale)[0]
        return {"input": degraded, "target": clean, "name": self.targets[index].stem}


class ImageFiles(Dataset):
    """Images to restore: ``{"input": (C, H, W), "name": stem}``, each at least ``min_size``."""

    def __init__(self, paths: list[Path], min_size: int = 1) -> None:
        self.paths, self.min_size = paths, min_size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Sample:
        path = self.paths[index]
        image = read_image(path)
        size = self.min_size
        require_size(image.shape[-2], image.shape[-1], size, f"one {size}x{size} patch", str(path))
        return {"input": image, "name": path.stem}


def check_pair(degraded: Tensor, clean: Tensor, what: str, scale: int = 1) -> Tensor:
    """The clean image cropped to ``scale`` times the degraded one's size, if that fits.

    Raises :class:`InputError` when the (C, H, W) sizes or channels of the pair don't fit.
    """
    height, width = degraded.shape[-2:]
    fits = all(
        scale * low <= high < scale * (low + 1)
        for low, high in zip((height, width), clean.shape[-2:])
    )
    if not fits:
        expected = f"{scale * width}x{scale * height}" + (
            f" (up to {scale - 1} more rows/columns, cropped)" if scale > 1 else ""
        )
        raise InputError(
            f"pair sizes don't fit: input is {width}x{height}, target is {clean.shape[-1]}x"
            f"{clean.shape[-2]} (WxH), expected a target of {expected} at scale {scale} "
            f"for {what}"
        )
    if degraded.shape[0] != clean.shape[0]:
        raise InputError(
            f"pair channels differ: input has {degraded.shape[0]}, target has {clean.shape[0]} "
            f"for {what}"
        )
    return clean[:, : scale * height, : scale * width]


def pair_by_stem(inputs: list[Path], targets: list[Path]) -> list[Path]:
    """Order ``inputs`` like ``targets`` by file stem; raise if any target has no input."""
    by_stem = {path.stem: path for path in inputs}
    missing = [path.stem for path in targets if path.stem not in by_stem]
    if missing:
        raise InputError(f"no test input named like these targets: {', '.join(missing)}")
    return [by_stem[path.stem] for path in targets]

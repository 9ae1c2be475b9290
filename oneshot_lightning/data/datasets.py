"""Datasets of the data module: the training patch stream and whole-image pairs and files.

The patch stream yields ready :class:`~oneshot_lightning.batch.Batch` es; the whole-image
datasets yield one :class:`~oneshot_lightning.batch.Sample` each, which the loader batches.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset, DistributedSampler, IterableDataset

from oneshot_lightning.batch import Batch, Sample
from oneshot_lightning.data.degradations import Degradation
from oneshot_lightning.data.io import (
    ImageLayout,
    StoredImage,
    list_images,
    load_image,
    read_image,
    read_pair,
)
from oneshot_lightning.data.pairs import check_pair
from oneshot_lightning.data.synthesis import FreshCrops
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
    s p)}``. The generator is seeded once per process from ``seed`` and the rank, so ranks
    draw different patches and a rerun with the same seed draws the same ones. Several
    pairs (e.g. the pair and shrunk copies of it) share the draw in proportion to their
    allowed patch positions.

    Args:
        pairs: (degraded (C, h, w), clean (C, s h, s w)) images; the first is the pair.
        positions: per pair, the flat top-left corners its patches may start at (see
            ``functional.allowed_positions``), or ``None`` for anywhere.
        patch_size: side p of the degraded patches.
        batch_size: patch pairs B per batch.
        steps: batches per iteration (one epoch).
        seed: seeds the draw.
        scale: super-resolution factor s.
        fresh: where clean crops for fresh pairs come from, if any (``synthesis``).
        fresh_count: how many of the ``batch_size`` pairs are made afresh: the stream yields
            their clean crops as ``"fresh"``, which the data module degrades on the device.
        weights: per pair, a factor on its share of the draw (``None``: by area alone).
    """

    def __init__(
        self,
        pairs: Sequence[tuple[Tensor, Tensor]],
        positions: Sequence[Tensor | None],
        patch_size: int,
        batch_size: int,
        steps: int,
        seed: int,
        scale: int = 1,
        fresh: FreshCrops | None = None,
        fresh_count: int = 0,
        weights: Sequence[float] | None = None,
    ) -> None:
        self.pairs, self.positions = list(pairs), list(positions)
        self.weights = None if weights is None else list(weights)
        self.fresh, self.fresh_count = fresh, fresh_count if fresh is not None else 0
        self.patch_size, self.batch_size, self.steps = patch_size, batch_size, steps
        self.seed, self.scale = seed, scale
        self.generator: torch.Generator | None = None

    def __len__(self) -> int:
        return self.steps

    def map_inputs(self, transform: Callable[[Tensor], Tensor]) -> None:
        """Put the degraded image of every pair through ``transform``, (1, C, h, w) -> same."""
        self.pairs = [(transform(degraded[None])[0], clean) for degraded, clean in self.pairs]

    def __iter__(self) -> Iterator[Batch]:
        if self.generator is None:
            rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
            self.generator = torch.Generator().manual_seed(self.seed + 1_000_003 * rank)
        for _ in range(self.steps):
            degraded, clean = sample_from_pairs(
                self.pairs,
                self.batch_size - self.fresh_count,
                self.patch_size,
                self.generator,
                self.scale,
                self.positions,
                self.weights,
            )
            batch: Batch = {"input": degraded, "target": clean}
            if self.fresh is not None and self.fresh_count:
                batch["fresh"] = self.fresh.sample(
                    self.fresh_count, self.patch_size, self.generator
                )
            yield batch


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

    @classmethod
    def from_paths(
        cls,
        target: str | None,
        input: str | None,
        degradation: Degradation | None,
        seed: int,
        scale: int = 1,
    ) -> TestPairs:
        """Targets and inputs from files or folders, paired by file name (stem).

        Without ``input``, the inputs are the targets degraded by ``degradation``.
        """
        if target is None:
            raise InputError(
                "test needs --data.test_target (and --data.test_input, or a "
                "data.degradation to make the inputs)"
            )
        targets = list_images(target)
        inputs = None
        if input is not None:
            inputs = list_images(input)
            # Two single files are a pair whatever their names; folders pair by name.
            if not (len(inputs) == len(targets) == 1 and Path(input).is_file()):
                inputs = pair_by_stem(inputs, targets)
        elif degradation is None:
            raise InputError("data.test_target alone needs data.degradation to make the inputs")
        return cls(targets, inputs, degradation, seed, scale)

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
    """The planes of the images to restore: ``{"input": (C, H, W), "name": file stem}`` each.

    A file is one plane or several (the pages of a stack, the channels of a file of other
    than 1 or 3 channels: see :class:`~oneshot_lightning.data.io.ImageLayout`); the items are
    every file's planes in order. Files are described from their headers when the dataset
    is made (so a bad file, or one smaller than ``min_size``, stops the run before anything
    is restored) and decoded when their first plane is read.

    Args:
        layouts: the files, as :func:`~oneshot_lightning.data.io.read_layout` describes them.
        min_size: the smallest plane side the model restores (its patch size).
    """

    def __init__(self, layouts: Sequence[ImageLayout], min_size: int = 1) -> None:
        self.layouts, self.min_size = list(layouts), min_size
        for layout in self.layouts:
            require_size(layout.height, layout.width, min_size,
                         f"one {min_size}x{min_size} patch", str(layout.path))  # fmt: skip
        #: (file index, plane index) of each item.
        self.planes = [
            (file, plane)
            for file, layout in enumerate(self.layouts)
            for plane in range(layout.planes)
        ]
        self._decoded: dict[int, StoredImage] = {}

    @property
    def paths(self) -> list[Path]:
        """The files, in the order of their planes."""
        return [layout.path for layout in self.layouts]

    def __len__(self) -> int:
        return len(self.planes)

    def decoded(self, file: int) -> StoredImage:
        """File ``file`` decoded, with its value map.

        The last two files stay decoded: the loader reads one plane ahead of the writer.
        """
        if file not in self._decoded:
            while len(self._decoded) >= 2:
                del self._decoded[next(iter(self._decoded))]  # the oldest first
            self._decoded[file] = load_image(self.layouts[file].path)
        return self._decoded[file]

    def __getitem__(self, index: int) -> Sample:
        file, plane = self.planes[index]
        return {"input": self.decoded(file).plane(plane), "name": self.layouts[file].path.stem}

    def without(self, files: Collection[int]) -> ImageFiles:
        """The same dataset less the files numbered ``files``."""
        keep = [layout for index, layout in enumerate(self.layouts) if index not in files]
        return ImageFiles(keep, self.min_size)


class FilesPerProcess(DistributedSampler):
    """Under DDP, each process restores whole files: all planes of a file go to one process.

    Files are dealt out in turn (file i to process i mod the process count), and nothing is
    padded or repeated, so each output file is written once, by the process that restored
    all its planes.
    """

    def __init__(self, dataset: ImageFiles, num_replicas: int, rank: int) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=False)
        self.indices = [
            index for index, (file, _) in enumerate(dataset.planes) if file % num_replicas == rank
        ]

    @classmethod
    def under_ddp(cls, dataset: ImageFiles) -> FilesPerProcess | None:
        """This process's sampler when several processes restore, else ``None`` (all files)."""
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            return None
        world, rank = torch.distributed.get_world_size(), torch.distributed.get_rank()
        return cls(dataset, world, rank) if world > 1 else None

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def pair_by_stem(inputs: list[Path], targets: list[Path]) -> list[Path]:
    """Order ``inputs`` like ``targets`` by file stem; raise if any target has no input."""
    by_stem = {path.stem: path for path in inputs}
    missing = [path.stem for path in targets if path.stem not in by_stem]
    if missing:
        raise InputError(f"no test input named like these targets: {', '.join(missing)}")
    return [by_stem[path.stem] for path in targets]

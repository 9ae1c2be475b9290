"""How an image file splits into grey or RGB planes: :class:`ImageLayout`, :class:`StoredImage`.

:class:`ImageLayout` is read from a file's header (see :mod:`.read`); it describes the stored
array (axes, shape, sample type) and says how the restored planes are put back together in
the same layout, type and axes (see :mod:`.write`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from oneshot_lightning.data.io.axes import canonical_order
from oneshot_lightning.data.io.values import FULL_SCALE, ValueMap

TIFF_SUFFIXES = (".tif", ".tiff")

#: What ``predict`` writes: ``same`` keeps each input's container, type and layout;
#: ``png8`` writes every (single-plane) input as an 8-bit PNG.
OutputFormat = Literal["same", "png8"]


@dataclass(frozen=True)
class ImageLayout:
    """What an image file holds and how it splits into planes, from its header.

    Attributes:
        path: the file.
        container: ``"tiff"`` (read with tifffile) or Pillow's format in lower case
            (``"png"``, ``"jpeg"``, ...).
        dtype: numpy name of the samples as read (``"uint8"``, ``"uint16"``, ``"float32"``...).
        axes: the stored array's axes in tifffile's letters: ``Y`` rows, ``X`` columns,
            ``S`` samples of a pixel (RGB, extra channels); any other letter (``Z``, ``T``,
            ``C``, ``Q``, ``I``, ...) counts pages, whose planes are restored one by one.
        shape: the stored array's shape, in ``axes`` order (after EXIF/TIFF orientation).
        colour: the first three samples (``S``) are one RGB plane; other samples are grey
            planes of their own.
        compressed: the TIFF was compressed (its restoration is written with deflate).
    """

    path: Path
    container: str
    dtype: str
    axes: str
    shape: tuple[int, ...]
    colour: bool = False
    compressed: bool = False

    @property
    def height(self) -> int:
        """Rows of each plane."""
        return self.shape[self.axes.index("Y")]

    @property
    def width(self) -> int:
        """Columns of each plane."""
        return self.shape[self.axes.index("X")]

    @property
    def samples(self) -> int:
        """Samples per pixel (the ``S`` axis; 1 without one)."""
        return self.shape[self.axes.index("S")] if "S" in self.axes else 1

    @property
    def pages(self) -> int:
        """Number of pages: the product of every axis but Y, X and S."""
        return math.prod(n for axis, n in zip(self.axes, self.shape) if axis not in "YXS")

    @property
    def groups(self) -> list[slice]:
        """The samples of each plane of a page: one RGB slice (if ``colour``), then singles."""
        first = 3 if self.colour else 0
        head = [slice(0, 3)] if self.colour else []
        return head + [slice(index, index + 1) for index in range(first, self.samples)]

    @property
    def planes(self) -> int:
        """Grey or RGB planes the file is restored as: pages x groups."""
        return self.pages * len(self.groups)

    @property
    def pixels(self) -> int:
        """Pixels of all planes together (an RGB pixel counts once)."""
        return self.planes * self.height * self.width

    @property
    def full_scale(self) -> bool:
        """The samples are 8- or 16-bit unsigned integers, mapped by their full scale."""
        return self.dtype in FULL_SCALE

    def describe(self) -> str:
        """One phrase for messages, e.g. ``a grey image of 64x48 uint16 samples``."""
        size = f"{self.width}x{self.height} {self.dtype} samples"
        if self.samples == 1 or (self.colour and self.samples == 3):
            kind = "colour (RGB)" if self.colour else "grey"
        else:
            kind = f"{self.samples}-channel"
        if self.pages == 1:
            axes = f" ({self.axes})" if self.planes > 1 else ""
            return f"a {kind} image{axes} of {size}"
        return f"a {self.pages}-page stack ({self.axes}) of {kind} images of {size}"

    def stored(self, canonical: np.ndarray) -> np.ndarray:
        """Undo :func:`.axes.to_canonical`: (pages, samples, h, w) -> ``axes`` order, any h, w."""
        order = canonical_order(self.axes)
        sizes = [self.shape[i] for i in order[:-2]]
        array = canonical.reshape(*sizes, *canonical.shape[-2:])
        return array.transpose(np.argsort(order))

    def output_name(self, output_format: OutputFormat = "same") -> str:
        """File name of the restoration: ``<stem>.png``, or ``<stem>.tif(f)`` for TIFF."""
        if self.output_container(output_format) == "png":
            return f"{self.path.stem}.png"
        suffix = self.path.suffix if self.path.suffix.lower() in TIFF_SUFFIXES else ".tif"
        return f"{self.path.stem}{suffix}"

    def output_container(self, output_format: OutputFormat = "same") -> str:
        """``"png"`` or ``"tiff"``: TIFF stays TIFF, as does what PNG cannot hold."""
        if output_format == "png8":
            return "png"
        if self.container != "tiff" and self.full_scale and self.planes == 1:
            return "png"
        return "tiff"


@dataclass(frozen=True)
class StoredImage:
    """A decoded file: its layout, its samples as (pages, samples, H, W) and its value map."""

    layout: ImageLayout
    data: np.ndarray
    values: ValueMap

    def plane(self, index: int) -> torch.Tensor:
        """Plane ``index`` (pages in order, then groups) as float32 (C, H, W) in [0, 1]."""
        groups = self.layout.groups
        page, group = divmod(index, len(groups))
        return torch.from_numpy(self.values.normalise(self.data[page, groups[group]]))

    def with_values(self, values: ValueMap) -> StoredImage:
        """The same samples under another value map (see :func:`.read.read_pair`)."""
        return StoredImage(self.layout, self.data, values)

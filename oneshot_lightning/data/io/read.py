"""Read image files as float tensors in [0, 1] of shape (C, H, W), or as all their planes.

Files start with their header: :func:`read_layout` reads only that, :func:`load_image`
decodes every plane; TIFF goes to :mod:`.tiff`, everything else to :mod:`.pillow`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from oneshot_lightning.data.io.files import MAX_PIXELS
from oneshot_lightning.data.io.layout import ImageLayout, StoredImage
from oneshot_lightning.data.io.pillow import open_pillow
from oneshot_lightning.data.io.tiff import TIFF_MAGIC, open_tiff
from oneshot_lightning.data.io.values import data_range, value_map
from oneshot_lightning.errors import InputError


def read_layout(path: str | Path, max_pixels: int | None = None) -> ImageLayout:
    """What ``path`` holds, from its header only (nothing decoded).

    Raises :class:`InputError` with one line naming the file for anything that is not an
    image this package reads, or that is over ``max_pixels`` (default
    :data:`.files.MAX_PIXELS`).
    """
    return _open(Path(path), max_pixels, decode=False)[0]


def load_image(path: str | Path, max_pixels: int | None = None) -> StoredImage:
    """Decode every plane of ``path``, with the file's own :class:`.values.ValueMap`.

    Raises :class:`InputError` as :func:`read_layout` does, and for data that cannot be
    decoded (truncated, corrupt) or that holds NaN or infinite values.
    """
    layout, data = _open(Path(path), max_pixels, decode=True)
    assert data is not None
    return StoredImage(layout, data, value_map(layout.dtype, [data_range(layout, data)]))


def read_image(path: str | Path, max_pixels: int | None = None) -> torch.Tensor:
    """Read a one-plane image as a float32 tensor of shape (C, H, W) in [0, 1], C = 1 or 3.

    Grey stays one channel; palette, RGBA and CMYK become RGB (alpha dropped); EXIF and TIFF
    orientation are applied; 16-bit files keep their 16 bits; floats map as the docstring of
    :mod:`oneshot_lightning.data.io` says. Stacks and files of other than 1 or 3 channels are
    refused with one line (``predict`` restores them plane by plane). Raises
    :class:`InputError` naming the file for anything that is not a readable image.
    """
    return _single(load_image(path, max_pixels))


def read_pair(
    first: str | Path, second: str | Path, max_pixels: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Read two one-plane images (e.g. a degraded/clean pair) as :func:`read_image` does.

    Where both are min-max normalised (floats, integers other than 8/16-bit), they share one
    value map, over the range of both, so that their values keep their relation.
    """
    images = [load_image(path, max_pixels) for path in (first, second)]
    if not any(image.layout.full_scale for image in images):
        ranges = [data_range(image.layout, image.data) for image in images]
        # Taken as they are only if both are floats within [0, 1].
        floats = all(image.layout.dtype.startswith("float") for image in images)
        shared = value_map("float64" if floats else "int64", ranges)
        images = [image.with_values(shared) for image in images]
    return _single(images[0]), _single(images[1])


def _single(image: StoredImage) -> torch.Tensor:
    """The one plane of ``image``; :class:`InputError` for stacks and multi-channel files."""
    if image.layout.planes != 1:
        raise InputError(
            f"{image.layout.path} is {image.layout.describe()}: training and test read one "
            "grey or RGB image (predict restores stacks and channels plane by plane)"
        )
    return image.plane(0)


def _open(
    path: Path, max_pixels: int | None, decode: bool
) -> tuple[ImageLayout, np.ndarray | None]:
    """The layout of ``path`` and, if ``decode``, its samples as (pages, samples, H, W)."""
    limit = MAX_PIXELS if max_pixels is None else max_pixels
    if not path.exists():
        raise InputError(f"image not found: {path}")
    if path.is_dir():
        raise InputError(f"expected an image file, got a folder: {path}")
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic in TIFF_MAGIC:
        opened = open_tiff(path, limit, decode)
        if opened is not None:
            return opened
    return open_pillow(path, limit, decode)

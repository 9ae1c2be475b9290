"""Which files are read: listing image files and folders, and the size limit on reading."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from oneshot_lightning.data.io.layout import ImageLayout
from oneshot_lightning.errors import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")

#: Largest image (in pixels, all planes together) read without complaint;
#: ``ONESHOT_MAX_PIXELS`` raises it.
MAX_PIXELS = int(os.environ.get("ONESHOT_MAX_PIXELS", 100_000_000))


def list_images(sources: str | Path | Sequence[str | Path]) -> list[Path]:
    """Expand files and folders into a sorted list of image paths (folders: not recursive)."""
    items: Iterable[str | Path] = [sources] if isinstance(sources, (str, Path)) else sources
    paths: list[Path] = []
    for item in items:
        item = Path(item)
        if item.is_dir():
            found = sorted(
                p
                for p in item.iterdir()
                if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
            )
            if not found:
                raise InputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in folder: {item}")
            paths.extend(found)
        elif item.exists():
            paths.append(item)
        else:
            raise InputError(f"image not found: {item}")
    return paths


def check_pixels(layout: ImageLayout, limit: int) -> None:
    """The decompression-bomb cap, from the header, before anything is decoded."""
    if layout.pixels <= limit:
        return
    size = f"{layout.width}x{layout.height}"
    what = size if layout.planes == 1 else f"{layout.planes} planes of {size}"
    raise InputError(
        f"{layout.path} has {what} = {layout.pixels} pixels, over the limit of {limit} "
        "(set ONESHOT_MAX_PIXELS to raise it)"
    )

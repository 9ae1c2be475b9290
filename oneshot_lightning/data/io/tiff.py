"""Read TIFF with tifffile: grey, RGB, stacks, any axes, integer and float samples, any codec.

Compressed TIFF (LZW, deflate, JPEG, ...) is decoded through imagecodecs. Colour encodings
other than grey and RGB (palette, min-is-white, CMYK, YCbCr, ...) are left to Pillow
(:mod:`.pillow`), which converts them to grey or RGB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from oneshot_lightning.data.io.axes import orient, swap_yx, to_canonical
from oneshot_lightning.data.io.files import check_pixels
from oneshot_lightning.data.io.layout import ImageLayout
from oneshot_lightning.errors import InputError

#: The first four bytes of a TIFF (little/big endian, classic/BigTIFF).
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
# TIFF photometric interpretations tifffile's values mean as they are; the rest (palette,
# min-is-white, CMYK, YCbCr, ...) go through Pillow, which converts them to grey or RGB.
_MINISBLACK, _RGB = 1, 2


def open_tiff(path: Path, limit: int, decode: bool) -> tuple[ImageLayout, np.ndarray | None] | None:
    """Read a TIFF with tifffile; ``None`` for colour encodings that Pillow converts."""
    try:
        with tifffile.TiffFile(path) as tiff:
            # Reduced-resolution pages (thumbnails, previews) are copies, not data.
            series = [s for s in tiff.series if not _is_reduced(s)]
            if not series:
                raise InputError(f"not an image (a TIFF without image data): {path}")
            if len(series) > 1:
                shapes = ", ".join("x".join(map(str, s.shape)) for s in series)
                raise InputError(
                    f"{path} holds {len(series)} image series ({shapes}): save each as a file "
                    "of its own"
                )
            first = series[0]
            page = first.pages[0]
            if page is None or int(page.photometric) not in (_MINISBLACK, _RGB):
                return None
            axes, shape = first.axes, tuple(first.shape)
            if "Y" not in axes or "X" not in axes:
                raise InputError(f"{path}: a TIFF without rows and columns (axes {axes})")
            dtype = _check_dtype(path, first.dtype)
            orientation = int(page.tags.valueof(274, 1) or 1)
            if orientation in (5, 6, 7, 8):  # transposed: rows and columns swap
                shape = swap_yx(axes, shape)
            colour = int(page.photometric) == _RGB and "S" in axes and shape[axes.index("S")] >= 3
            layout = ImageLayout(
                path,
                "tiff",
                dtype,
                axes,
                shape,
                colour=colour,
                compressed=int(page.compression) != 1,
            )
            check_pixels(layout, limit)
            if not decode:
                return layout, None
            array = first.asarray()
    except InputError:
        raise
    except (tifffile.TiffFileError, ValueError, OSError, EOFError, KeyError, IndexError) as error:
        raise InputError(
            f"cannot decode {path} (truncated or corrupt): {_first_line(error)}"
        ) from None
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    return layout, orient(to_canonical(axes, array.astype(dtype, copy=False)), orientation)


def _check_dtype(path: Path, dtype: np.dtype) -> str:
    """The name of a sample type this package reads (bool is read as 8-bit)."""
    if dtype == np.bool_:
        return "uint8"
    if dtype.kind not in "uif":
        raise InputError(
            f"{path}: {dtype} samples are not supported (unsigned/signed integers and floats are)"
        )
    return dtype.newbyteorder("=").name


def _is_reduced(series: Any) -> bool:
    """A series of reduced-resolution pages (TIFF NewSubfileType bit 0)."""
    page = series.pages[0]
    return bool(getattr(page, "is_reduced", False))


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__

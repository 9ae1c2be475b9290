"""Read, validate and write images: files <-> float tensors in [0, 1] of shape (C, H, W).

A file holds one or more *planes*, the grey (C = 1) or RGB (C = 3) images the nets restore:
a plain photo is one plane; a TIFF stack holds one per page; a TIFF whose pixels have other
than 1 or 3 samples (e.g. 5 channels) holds one grey plane per channel (with an RGB plane
first when the file says its first three samples are RGB). :class:`ImageLayout` describes
how a file splits into planes, and puts the restored planes back together in the same
layout, type and axes.

Stored values map to the nets' [0, 1] by one :class:`ValueMap` per file:
``value = offset + span * normalised``. 8- and 16-bit unsigned integers use their full scale
(0 and 2^bits - 1); floats already within [0, 1] are taken as they are; other floats and
integer types are min-max normalised over the whole file (every page and channel): the
smallest value maps to 0, the largest to 1, and the restoration is mapped back the same way.

TIFF is read and written with tifffile (grey, RGB, stacks, any axes, 8/16/32-bit integers,
16/32/64-bit floats, LZW/deflate/JPEG and other codecs through imagecodecs); everything else
with Pillow, except 16-bit RGB PNG, which Pillow reads at 8 bits only (imagecodecs reads it).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import imagecodecs
import numpy as np
import tifffile
import torch
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import quantize

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
TIFF_SUFFIXES = (".tif", ".tiff")

#: Largest image (in pixels, all planes together) read without complaint;
#: ``ONESHOT_MAX_PIXELS`` raises it.
MAX_PIXELS = int(os.environ.get("ONESHOT_MAX_PIXELS", 100_000_000))

#: Sample types held at their full scale; every other type is min-max normalised.
FULL_SCALE = {"uint8": 255.0, "uint16": 65535.0}

#: What ``predict`` writes: ``same`` keeps each input's container, type and layout;
#: ``png8`` writes every (single-plane) input as an 8-bit PNG.
OutputFormat = Literal["same", "png8"]

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
# TIFF photometric interpretations tifffile's values mean as they are; the rest (palette,
# min-is-white, CMYK, YCbCr, ...) go through Pillow, which converts them to grey or RGB.
_MINISBLACK, _RGB = 1, 2


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
        """Undo :func:`to_canonical`: (pages, samples, h, w) -> ``axes`` order, any h, w."""
        order = _canonical_order(self.axes)
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
        """The same samples under another value map (see :func:`read_pair`)."""
        return StoredImage(self.layout, self.data, values)


def read_layout(path: str | Path, max_pixels: int | None = None) -> ImageLayout:
    """What ``path`` holds, from its header only (nothing decoded).

    Raises :class:`InputError` with one line naming the file for anything that is not an
    image this package reads, or that is over ``max_pixels`` (default :data:`MAX_PIXELS`).
    """
    return _open(Path(path), max_pixels, decode=False)[0]


def load_image(path: str | Path, max_pixels: int | None = None) -> StoredImage:
    """Decode every plane of ``path``, with the file's own :class:`ValueMap`.

    Raises :class:`InputError` as :func:`read_layout` does, and for data that cannot be
    decoded (truncated, corrupt) or that holds NaN or infinite values.
    """
    layout, data = _open(Path(path), max_pixels, decode=True)
    assert data is not None
    return StoredImage(layout, data, value_map(layout.dtype, [data_range(layout, data)]))


def read_image(path: str | Path, max_pixels: int | None = None) -> torch.Tensor:
    """Read a one-plane image as a float32 tensor of shape (C, H, W) in [0, 1], C = 1 or 3.

    Grey stays one channel; palette, RGBA and CMYK become RGB (alpha dropped); EXIF and TIFF
    orientation are applied; 16-bit files keep their 16 bits; floats map as the module
    docstring says. Stacks and files of other than 1 or 3 channels are refused with one
    line (``predict`` restores them plane by plane). Raises :class:`InputError` naming the
    file for anything that is not a readable image.
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
    if magic in _TIFF_MAGIC:
        opened = _open_tiff(path, limit, decode)
        if opened is not None:
            return opened
    return _open_pillow(path, limit, decode)


def _check_pixels(layout: ImageLayout, limit: int) -> None:
    """The decompression-bomb cap, from the header, before anything is decoded."""
    if layout.pixels <= limit:
        return
    size = f"{layout.width}x{layout.height}"
    what = size if layout.planes == 1 else f"{layout.planes} planes of {size}"
    raise InputError(
        f"{layout.path} has {what} = {layout.pixels} pixels, over the limit of {limit} "
        "(set ONESHOT_MAX_PIXELS to raise it)"
    )


def _check_dtype(path: Path, dtype: np.dtype) -> str:
    """The name of a sample type this package reads (bool is read as 8-bit)."""
    if dtype == np.bool_:
        return "uint8"
    if dtype.kind not in "uif":
        raise InputError(
            f"{path}: {dtype} samples are not supported (unsigned/signed integers and floats are)"
        )
    return dtype.newbyteorder("=").name


def _open_tiff(
    path: Path, limit: int, decode: bool
) -> tuple[ImageLayout, np.ndarray | None] | None:
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
                shape = _swap_yx(axes, shape)
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
            _check_pixels(layout, limit)
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
    return layout, _orient(to_canonical(axes, array.astype(dtype, copy=False)), orientation)


def to_canonical(axes: str, array: np.ndarray) -> np.ndarray:
    """An array in ``axes`` order (see :class:`ImageLayout`) as (pages, samples, H, W)."""
    array = array.transpose(_canonical_order(axes))
    return array.reshape(-1, array.shape[-3] if "S" in axes else 1, *array.shape[-2:])


def _canonical_order(axes: str) -> list[int]:
    """The axes' indices in canonical order: pages..., S (if any), Y, X."""
    pages = [i for i, axis in enumerate(axes) if axis not in "YXS"]
    samples = [axes.index("S")] if "S" in axes else []
    return [*pages, *samples, axes.index("Y"), axes.index("X")]


def _is_reduced(series: Any) -> bool:
    """A series of reduced-resolution pages (TIFF NewSubfileType bit 0)."""
    page = series.pages[0]
    return bool(getattr(page, "is_reduced", False))


def _swap_yx(axes: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` with its Y and X sizes swapped."""
    swapped = list(shape)
    y, x = axes.index("Y"), axes.index("X")
    swapped[y], swapped[x] = shape[x], shape[y]
    return tuple(swapped)


def _orient(canonical: np.ndarray, orientation: int) -> np.ndarray:
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


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _rawmode(image: ImageFile.ImageFile) -> str:
    """The raw mode of the first tile Pillow would decode ("" if none)."""
    if not image.tile:
        return ""
    args = image.tile[0].args
    return args if isinstance(args, str) else str(args[0]) if args else ""


def _open_pillow(path: Path, limit: int, decode: bool) -> tuple[ImageLayout, np.ndarray | None]:
    """Read anything but a grey/RGB TIFF with Pillow (16-bit RGB PNG: imagecodecs)."""
    pillow_limit = Image.MAX_IMAGE_PIXELS
    try:
        # Our own cap replaces Pillow's, which would stop ONESHOT_MAX_PIXELS at ~179 MP.
        Image.MAX_IMAGE_PIXELS = None
        with Image.open(path) as image:
            frames = getattr(image, "n_frames", 1)
            if frames > 1 and image.format == "TIFF":
                raise InputError(
                    f"{path}: a {frames}-page TIFF in a colour encoding read one page at a "
                    "time (palette, min-is-white, CMYK, ...): save it as grey or RGB"
                )
            if frames > 1 and image.format != "MPO":  # MPO: a photo's extra views
                raise InputError(
                    f"{path} has {frames} frames ({image.format}): only TIFF stacks are "
                    "restored page by page; save it as a multi-page TIFF"
                )
            rawmode = _rawmode(image)
            wide_png = image.format == "PNG" and rawmode in ("RGB;16B", "RGBA;16B", "LA;16B")
            if image.mode in ("RGB", "RGBA") and ";16" in rawmode and not wide_png:
                raise InputError(
                    f"{path}: 16-bit RGB {image.format} is not read at full precision; "
                    "save it as 16-bit TIFF or PNG"
                )
            if image.format == "PPM" and image.mode == "RGB" and _ppm_maxval(image) > 255:
                raise InputError(
                    f"{path}: 16-bit RGB PPM is not read at full precision; save it as "
                    "16-bit TIFF or PNG"
                )
            orientation = int(image.getexif().get(0x0112, 1) or 1)
            width, height = image.size
            if orientation in (5, 6, 7, 8):
                width, height = height, width
            dtype, colour = _pillow_sample_type(image, rawmode, wide_png)
            shape = (height, width, 3) if colour else (height, width)
            layout = ImageLayout(
                path, (image.format or "").lower(), dtype, "YXS" if colour else "YX", shape,
                colour=colour,
            )  # fmt: skip
            _check_pixels(layout, limit)
            if not decode:
                return layout, None
            if wide_png:
                array = imagecodecs.png_decode(path.read_bytes())
                array = array[..., :3] if colour else array[..., 0]
                data = _orient(to_canonical(layout.axes, array), orientation)
            else:
                array = _pillow_array(ImageOps.exif_transpose(image), dtype, colour)
                data = to_canonical(layout.axes, array)
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError(f"not an image (unrecognised format): {path}") from None
    except (OSError, SyntaxError, ValueError, imagecodecs.PngError) as error:
        # Pillow reports truncated or corrupt data as OSError/SyntaxError at decode time.
        raise InputError(f"cannot decode {path} (truncated or corrupt): {error}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_limit
    return layout, data


def _ppm_maxval(image: ImageFile.ImageFile) -> int:
    """The maximum value a PPM's header declares (255 if it says none)."""
    args = image.tile[0].args if image.tile else ()
    if isinstance(args, tuple) and len(args) > 1 and isinstance(args[1], int):
        return args[1]
    return 255


def _pillow_sample_type(image: Image.Image, rawmode: str, wide_png: bool) -> tuple[str, bool]:
    """(numpy sample type, colour) of what :func:`_pillow_array` returns for ``image``."""
    if wide_png:
        return "uint16", rawmode != "LA;16B"
    if image.mode.startswith("I;16") or (image.mode == "I" and rawmode.startswith("I;16")):
        return "uint16", False
    if image.mode == "I":
        return "int32", False
    if image.mode == "F":
        return "float32", False
    return "uint8", image.mode not in ("1", "L", "LA", "La")


def _pillow_array(image: Image.Image, dtype: str, colour: bool) -> np.ndarray:
    """Decode a Pillow image to (H, W) or (H, W, 3) samples of ``dtype``."""
    if dtype != "uint8":
        return np.asarray(image).astype(dtype)
    return np.asarray(image.convert("RGB" if colour else "L"), dtype=np.uint8)


# --- writing -------------------------------------------------------------------------------


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """Quantise a (C, H, W) tensor in [0, 1] to an 8-bit (H, W) or (H, W, C) array."""
    array = (quantize(image.detach().float()) * 255).round().to(torch.uint8).cpu().numpy()
    return array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)


def write_image(path: str | Path, image: torch.Tensor, bits: int = 8) -> Path:
    """Write a (C, H, W) tensor in [0, 1] as a PNG of ``bits`` = 8 or 16 (grey or RGB)."""
    path = Path(path)
    channels = image.shape[0]
    layout = ImageLayout(
        path,
        "png",
        "uint16" if bits == 16 else "uint8",
        "YXS" if channels == 3 else "YX",
        (*image.shape[1:], 3) if channels == 3 else tuple(image.shape[1:]),
        colour=channels == 3,
    )
    write_restored(path, layout, layout_values(layout), [image])
    return path


def layout_values(layout: ImageLayout) -> ValueMap:
    """The full-scale value map of an 8/16-bit layout (floats: the identity)."""
    return value_map(layout.dtype, [(0.0, 1.0)])


def write_restored(
    path: str | Path,
    layout: ImageLayout,
    values: ValueMap,
    planes: Sequence[torch.Tensor],
    output_format: OutputFormat = "same",
) -> Path:
    """Write the restored planes of a file laid out as ``layout`` (see the module docstring).

    Args:
        path: the file to write; replaced at once (written beside it, then renamed), so
            that a file of this name is always whole.
        layout: the input's layout; the output has its container, sample type, axes and
            number of planes (each plane may be larger: super-resolution).
        values: the input's value map, undone on the restored [0, 1] values.
        planes: the restored planes, (C, h, w) tensors in [0, 1], in the input's order.
        output_format: ``same``, or ``png8`` for an 8-bit PNG of the [0, 1] values.

    Returns:
        ``path``.
    """
    path = Path(path)
    if len(planes) != layout.planes:
        raise ValueError(f"{layout.path} has {layout.planes} planes, got {len(planes)}")
    height, width = planes[0].shape[-2:]
    canonical = np.zeros((layout.pages, layout.samples, height, width), dtype=np.float32)
    groups = layout.groups
    for index, plane in enumerate(planes):
        page, group = divmod(index, len(groups))
        canonical[page, groups[group]] = plane.detach().float().cpu().clamp(0, 1).numpy()
    if output_format == "png8":
        data = _encode_png(_to_samples(canonical, "uint8", values)[0])
    elif layout.output_container() == "png":
        data = _encode_png(_to_samples(canonical, layout.dtype, values)[0])
    else:
        data = _encode_tiff(layout, layout.stored(_to_samples(canonical, layout.dtype, values)))
    _replace(path, data)
    return path


def _to_samples(canonical: np.ndarray, dtype: str, values: ValueMap) -> np.ndarray:
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


def _encode_png(samples: np.ndarray) -> bytes:
    """(C, H, W) uint8/uint16 samples, C = 1 or 3, as grey or RGB PNG bytes."""
    samples = samples[0] if samples.shape[0] == 1 else samples.transpose(1, 2, 0)
    if samples.dtype == np.uint16:
        return bytes(imagecodecs.png_encode(np.ascontiguousarray(samples)))
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(samples)).save(buffer, format="PNG")
    return buffer.getvalue()


def _encode_tiff(layout: ImageLayout, array: np.ndarray) -> bytes:
    """The stored-order array as TIFF bytes with the input's axes and photometric."""
    options: dict[str, Any] = {
        "photometric": "rgb" if layout.colour else "minisblack",
        "metadata": {"axes": layout.axes},
        "compression": "zlib" if layout.compressed else None,
    }
    if "S" in layout.axes:
        planar = layout.axes.index("S") < layout.axes.index("Y")
        options["planarconfig"] = "separate" if planar else "contig"
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **options)
    return buffer.getvalue()


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole: into a hidden file beside it, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


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

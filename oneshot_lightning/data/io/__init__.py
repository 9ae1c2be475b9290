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

Modules: :mod:`.layout` (what a file holds), :mod:`.values` (value maps), :mod:`.axes`
(stored order and orientation), :mod:`.files` (listing, size limit), :mod:`.tiff` and
:mod:`.pillow` (decoding), :mod:`.read` and :mod:`.write` (the entry points).
"""

from oneshot_lightning.data.io.axes import to_canonical
from oneshot_lightning.data.io.files import IMAGE_SUFFIXES, MAX_PIXELS, list_images
from oneshot_lightning.data.io.layout import (
    TIFF_SUFFIXES,
    ImageLayout,
    OutputFormat,
    StoredImage,
)
from oneshot_lightning.data.io.read import load_image, read_image, read_layout, read_pair
from oneshot_lightning.data.io.values import (
    FULL_SCALE,
    ValueMap,
    data_range,
    layout_values,
    value_map,
)
from oneshot_lightning.data.io.write import to_uint8, write_image, write_restored

__all__ = [
    "FULL_SCALE",
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "TIFF_SUFFIXES",
    "ImageLayout",
    "OutputFormat",
    "StoredImage",
    "ValueMap",
    "data_range",
    "layout_values",
    "list_images",
    "load_image",
    "read_image",
    "read_layout",
    "read_pair",
    "to_canonical",
    "to_uint8",
    "value_map",
    "write_image",
    "write_restored",
]

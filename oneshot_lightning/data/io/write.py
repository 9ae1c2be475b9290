"""Write images: tensors in [0, 1] as 8/16-bit PNG, and restored planes in their input's layout.

Every file is replaced at once (written beside it, then renamed), so that a file of its name
is always whole.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
import tifffile
import torch
from PIL import Image

from oneshot_lightning.data.io.layout import ImageLayout, OutputFormat
from oneshot_lightning.data.io.values import ValueMap, layout_values, to_samples
from oneshot_lightning.functional import quantize


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


def write_restored(
    path: str | Path,
    layout: ImageLayout,
    values: ValueMap,
    planes: Sequence[torch.Tensor],
    output_format: OutputFormat = "same",
) -> Path:
    """Write the restored planes of a file laid out as ``layout`` (see :mod:`.layout`).

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
        data = _encode_png(to_samples(canonical, "uint8", values)[0])
    elif layout.output_container() == "png":
        data = _encode_png(to_samples(canonical, layout.dtype, values)[0])
    else:
        data = _encode_tiff(layout, layout.stored(to_samples(canonical, layout.dtype, values)))
    _replace(path, data)
    return path


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

"""Read, validate and write images as float tensors in [0, 1] with shape (C, H, W)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import quantize

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")

#: Largest image (in pixels) read without complaint; ``ONESHOT_MAX_PIXELS`` raises it.
MAX_PIXELS = int(os.environ.get("ONESHOT_MAX_PIXELS", 100_000_000))


def read_image(path: str | Path, max_pixels: int | None = None) -> torch.Tensor:
    """Read an image file as a float32 tensor of shape (C, H, W) in [0, 1], C = 1 or 3.

    Grey (8/16-bit) stays one channel; palette, RGBA and CMYK become RGB (alpha dropped);
    EXIF orientation is applied. 16-bit RGB files are read at 8-bit precision (a warning).
    Raises :class:`InputError` naming the file for anything that is not a readable image.
    """
    path = Path(path)
    limit = MAX_PIXELS if max_pixels is None else max_pixels
    if not path.exists():
        raise InputError(f"image not found: {path}")
    if path.is_dir():
        raise InputError(f"expected an image file, got a folder: {path}")
    pillow_limit = Image.MAX_IMAGE_PIXELS
    try:
        # Our own cap replaces Pillow's, which would stop ONESHOT_MAX_PIXELS at ~179 MP.
        Image.MAX_IMAGE_PIXELS = None
        with Image.open(path) as image:
            width, height = image.size
            if width * height > limit:
                raise InputError(
                    f"{path} has {width}x{height} = {width * height} pixels, over the limit of "
                    f"{limit} (set ONESHOT_MAX_PIXELS to raise it)"
                )
            if any(tile[3] in ("RGB;16B", "RGBA;16B") for tile in image.tile):
                warnings.warn(f"{path}: 16-bit RGB is read at 8-bit precision", stacklevel=2)
            array = _to_array(ImageOps.exif_transpose(image))
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError(f"not an image (unrecognised format): {path}") from None
    except (OSError, SyntaxError, ValueError) as error:
        # Pillow reports truncated or corrupt data as OSError/SyntaxError at decode time.
        raise InputError(f"cannot decode {path} (truncated or corrupt): {error}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_limit
    tensor = torch.from_numpy(array)
    return tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1).contiguous()


def _to_array(image: Image.Image) -> np.ndarray:
    """Decode a PIL image into float32 (H, W) or (H, W, 3) in [0, 1]."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grey PNGs open as I;16 (or I); their range is 0..65535.
        return np.asarray(image, dtype=np.float32) / 65535.0
    if image.mode == "F":
        return np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    if image.mode in ("1", "L", "LA"):
        return np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """Quantise a (C, H, W) tensor in [0, 1] to an 8-bit (H, W) or (H, W, C) array."""
    array = (quantize(image.detach().float()) * 255).round().to(torch.uint8).cpu().numpy()
    return array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)


def write_image(path: str | Path, image: torch.Tensor) -> Path:
    """Write a (C, H, W) tensor in [0, 1] as an 8-bit PNG (grey for C = 1, else RGB)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(to_uint8(image)).save(path)
    return path


def list_images(sources: str | Path | Sequence[str | Path]) -> list[Path]:
    """Expand files and folders into a sorted list of image paths (folders: not recursive)."""
    items: Iterable[str | Path] = [sources] if isinstance(sources, (str, Path)) else sources
    paths: list[Path] = []
    for item in items:
        item = Path(item)
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise InputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in folder: {item}")
            paths.extend(found)
        elif item.exists():
            paths.append(item)
        else:
            raise InputError(f"image not found: {item}")
    return paths

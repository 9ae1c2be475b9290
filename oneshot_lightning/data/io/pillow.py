"""Read everything but grey/RGB TIFF with Pillow; 16-bit RGB PNG with imagecodecs.

Grey stays grey; palette, RGBA, CMYK and the like become RGB (alpha dropped); EXIF
orientation is applied. Pillow reads 16-bit RGB PNG at 8 bits only, so imagecodecs does.
"""

from __future__ import annotations

from pathlib import Path

import imagecodecs
import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from oneshot_lightning.data.io.axes import orient, to_canonical
from oneshot_lightning.data.io.files import check_pixels
from oneshot_lightning.data.io.layout import ImageLayout
from oneshot_lightning.errors import InputError


def open_pillow(path: Path, limit: int, decode: bool) -> tuple[ImageLayout, np.ndarray | None]:
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
            check_pixels(layout, limit)
            if not decode:
                return layout, None
            if wide_png:
                array = imagecodecs.png_decode(path.read_bytes())
                array = array[..., :3] if colour else array[..., 0]
                data = orient(to_canonical(layout.axes, array), orientation)
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


def _rawmode(image: ImageFile.ImageFile) -> str:
    """The raw mode of the first tile Pillow would decode ("" if none)."""
    if not image.tile:
        return ""
    args = image.tile[0].args
    return args if isinstance(args, str) else str(args[0]) if args else ""


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

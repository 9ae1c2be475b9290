"""Real resize implementations that shrink a benchmark's clean images: MATLAB's, Pillow, OpenCV.

Each shrinks a (C, H, W) float image in [0, 1] by an integer factor; the benchmark then
rounds it to 8 bits. OpenCV is optional (``pip install opencv-python-headless``); without it
its routines run as ``torch.nn.functional.interpolate``, which computes the same weights
(``tests/functional/test_resize_kernels.py`` checks both against the package's kernels).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from oneshot_lightning.functional import bicubic_downscale

Shrink = Callable[[Tensor, int], Tensor]


def matlab_bicubic(image: Tensor, scale: int) -> Tensor:
    """MATLAB's ``imresize(x, 1/s)`` (bicubic, antialiased), as the package computes it."""
    return bicubic_downscale(image[None].double(), scale)[0].float()


def pillow(method: Image.Resampling) -> Shrink:
    """Pillow's ``Image.resize`` with ``method``, on each channel in 32-bit float mode."""

    def shrink(image: Tensor, scale: int) -> Tensor:
        size = (image.shape[-1] // scale, image.shape[-2] // scale)
        pictures = [Image.fromarray(plane.numpy().astype(np.float32), mode="F") for plane in image]
        planes = [np.array(picture.resize(size, method)) for picture in pictures]
        return torch.from_numpy(np.stack(planes))

    return shrink


def opencv(flag_name: str, torch_mode: str) -> Shrink:
    """OpenCV's ``cv2.resize`` with ``cv2.<flag_name>``, else its torch twin ``torch_mode``."""

    def shrink(image: Tensor, scale: int) -> Tensor:
        size = (image.shape[-1] // scale, image.shape[-2] // scale)
        if importlib.util.find_spec("cv2") is None:
            corners = {"align_corners": False} if torch_mode == "bicubic" else {}
            return F.interpolate(image[None], size=size[::-1], mode=torch_mode, **corners)[0]
        import cv2

        pixels = image.permute(1, 2, 0).double().numpy()
        shrunk = cv2.resize(pixels, size, interpolation=getattr(cv2, flag_name))
        return torch.from_numpy(shrunk.reshape(size[1], size[0], -1)).permute(2, 0, 1).float()

    return shrink


#: The resize implementations, by the name the benchmarks take.
RESIZERS: dict[str, Shrink] = {
    "matlab_bicubic": matlab_bicubic,
    "pillow_bicubic": pillow(Image.Resampling.BICUBIC),
    "pillow_bilinear": pillow(Image.Resampling.BILINEAR),
    "pillow_lanczos": pillow(Image.Resampling.LANCZOS),
    "pillow_box": pillow(Image.Resampling.BOX),
    "pillow_nearest": pillow(Image.Resampling.NEAREST),
    "opencv_cubic": opencv("INTER_CUBIC", "bicubic"),
    "opencv_area": opencv("INTER_AREA", "area"),
    "opencv_linear": opencv("INTER_LINEAR", "bilinear"),
}

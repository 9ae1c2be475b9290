"""A Python API over the same code as the ``oneshot`` command: arrays in, arrays out.

>>> from oneshot_lightning import Restorer, train  # doctest: +SKIP
>>> restorer = train(blurry, sharp, config="configs/deblur.yaml")  # doctest: +SKIP
>>> sharp_too = restorer(other_blurry)  # doctest: +SKIP
"""

from __future__ import annotations

import math
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
import yaml
from torch import Tensor

from oneshot_lightning.cli import main
from oneshot_lightning.data.io import write_image
from oneshot_lightning.data.io.values import ValueMap, to_samples, value_map
from oneshot_lightning.errors import InputError
from oneshot_lightning.models import RestorationModule, load_model

Image = TypeVar("Image", np.ndarray, Tensor)


def array_values(*images: np.ndarray) -> ValueMap:
    """One value map for arrays of one type (a pair keeps its relation).

    Full scale for 8/16-bit unsigned integers, the identity for floats within [0, 1], else
    min-max over all of them.
    """
    ranges = [(float(image.min()), float(image.max())) for image in images]
    if not all(math.isfinite(low) and math.isfinite(high) for low, high in ranges):
        raise InputError("the image holds NaN or infinite values")
    return value_map(str(images[0].dtype), ranges)


def to_planes(image: np.ndarray, values: ValueMap) -> Tensor:
    """(H, W) or (H, W, C) array -> (1, C, H, W) float32 on the nets' [0, 1] scale."""
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (1, 3)):
        raise InputError(
            f"an image array is (H, W) grey or (H, W, 3) RGB, got shape {tuple(image.shape)}"
        )
    planes = values.normalise(image if image.ndim == 3 else image[..., None])
    return torch.from_numpy(np.ascontiguousarray(planes.transpose(2, 0, 1)))[None]


def from_planes(restored: Tensor, like: np.ndarray, values: ValueMap) -> np.ndarray:
    """(1, C, H', W') in [0, 1] -> an array of ``like``'s type and layout (grey or RGB)."""
    array = restored[0].permute(1, 2, 0).float().cpu().numpy()
    return to_samples(array[..., 0] if like.ndim == 2 else array, str(like.dtype), values)


class Restorer:
    """A trained model that restores numpy arrays or tensors, returning the same type.

    Arrays: (H, W) grey or (H, W, 3) RGB, uint8, uint16 or float (floats within [0, 1] as
    they are, others min-max normalised and mapped back). Tensors: (C, H, W) or (B, C, H, W)
    floats in [0, 1]. Restoration is ``RestorationModule.restore``, as ``oneshot predict``
    runs it.
    """

    def __init__(self, model: RestorationModule) -> None:
        self.model = model.eval()

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu") -> Restorer:
        """Load a checkpoint written by ``oneshot fit`` (its own model class)."""
        return cls(load_model(path, device))

    @torch.inference_mode()
    def __call__(self, image: Image) -> Image:
        """Restore one image (or a batch of tensors); the output has the input's type."""
        device = self.model.device
        if isinstance(image, Tensor):
            batch = image if image.ndim == 4 else image[None]
            restored = self.model.restore(batch.to(device, torch.float32)).to(image.dtype)
            return restored if image.ndim == 4 else restored[0]
        array = np.asarray(image)
        values = array_values(array)
        restored = self.model.restore(to_planes(array, values).to(device))
        return from_planes(restored, array, values)


def model_from_config(config: str | Path) -> RestorationModule:
    """The untrained model that a config file's ``model:`` section describes.

    Built by jsonargparse as ``oneshot fit --config`` builds it (class paths, init args).
    """
    from jsonargparse import ArgumentParser

    path = Path(config)
    if not path.is_file():
        raise InputError(f"config not found: {path}")
    section = yaml.safe_load(path.read_text()).get("model")
    if section is None:
        raise InputError(f"{path} has no model: section")
    parser = ArgumentParser()
    parser.add_subclass_arguments(RestorationModule, "model")
    with warnings.catch_warnings():
        # The net is saved as weights and as its config: nothing for the user to do.
        warnings.filterwarnings("ignore", message=".*is an instance of `nn.Module`")
        return parser.instantiate_classes(parser.parse_object({"model": section})).model


def train(
    degraded: np.ndarray,
    clean: np.ndarray,
    config: str | Path = "configs/deblur.yaml",
    run_dir: str | Path | None = None,
    args: Sequence[str] = (),
) -> Restorer:
    """Train on one (degraded, clean) array pair with ``oneshot fit``; the best model.

    The arrays ((H, W) or (H, W, 3), one type) are mapped to [0, 1] with one value map for
    both, written as 16-bit PNGs into ``run_dir/pair/`` (``run_dir``: a new temporary folder
    if None) and trained on with ``config``; ``args`` are further command line flags, e.g.
    ``["--trainer.max_epochs", "2"]``.
    """
    folder = Path(run_dir) if run_dir is not None else Path(tempfile.mkdtemp(prefix="oneshot_"))
    pair = [np.asarray(degraded), np.asarray(clean)]
    if pair[0].dtype != pair[1].dtype:
        raise InputError(f"the pair's arrays differ in type: {pair[0].dtype} and {pair[1].dtype}")
    values = array_values(*pair)
    paths = [
        write_image(folder / "pair" / f"{name}.png", to_planes(image, values)[0], bits=16)
        for name, image in zip(("input", "target"), pair)
    ]
    main([
        "fit", "--config", str(config), "--data.input", str(paths[0]),
        "--data.target", str(paths[1]), "--trainer.default_root_dir", str(folder), *args,
    ])  # fmt: skip
    return Restorer.from_checkpoint(folder / "checkpoints" / "best.ckpt")


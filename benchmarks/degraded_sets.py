"""Degraded test sets on disk: inputs and clean targets in two folders, paired by file stem."""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from benchmarks.tasks import Task
from oneshot_lightning.data.io import list_images, read_image, write_image
from oneshot_lightning.functional import mod_crop, noise_generator

#: The one training image of every benchmark, relative to ``--data``.
TRAIN_IMAGE = "kodak24/kodim05.png"


@dataclass(frozen=True)
class DegradedSet:
    """Degraded inputs and clean targets in two folders, paired by file stem.

    Attributes:
        inputs: folder of the degraded images, ``<stem>.png``.
        targets: folder of the clean images.
        megapixels: output megapixels of each image (the target cropped to the scale).
    """

    inputs: Path
    targets: Path
    megapixels: dict[str, float] = field(default_factory=dict)


def degrade_image(clean: Tensor, task: Task, seed: int, index: int) -> Tensor:
    """Degrade one (C, H, W) clean image, cropped to the task's scale; noise of image ``index``.

    ``noise_generator(seed, index)``: the data module degrades test target ``i`` (0-based)
    with index ``i + 1``, its training image with index 0.
    """
    generator = noise_generator(seed, index)
    return task.degradation(mod_crop(clean, task.scale)[None], generator, task.scale)[0]


def degrade_set(sources: Sequence[Path], task: Task, folder: Path, seed: int) -> DegradedSet:
    """Write each source degraded (``<folder>/input/``) and as is (``<folder>/target/``).

    Image ``i`` gets the noise of index ``i + 1``, as ``oneshot test`` degrades targets
    (``data/datasets.py``'s ``TestPairs``), so a set degraded here equals one degraded there.
    """
    inputs, targets = folder / "input", folder / "target"
    for old in (inputs, targets):
        shutil.rmtree(old, ignore_errors=True)  # a rerun with other images leaves none behind
    targets.mkdir(parents=True)
    megapixels = {}
    for index, path in enumerate(sources):
        clean = read_image(path)
        write_image(inputs / f"{path.stem}.png", degrade_image(clean, task, seed, index + 1))
        shutil.copyfile(path, targets / path.name)
        height, width = mod_crop(clean, task.scale).shape[-2:]
        megapixels[path.stem] = height * width / 1e6
    return DegradedSet(inputs, targets, megapixels)


def degrade_training_image(clean: Path, task: Task, folder: Path, seed: int) -> Path:
    """The training image degraded as the first image of a set (the figures' convention)."""
    return next(iter(list_images(degrade_set([clean], task, folder, seed).inputs)))


def set_images(folder: Path, train_image: Path) -> tuple[list[Path], list[str]]:
    """The images of a test set folder without the training image: (kept, left-out names)."""
    images = list_images(folder)
    kept = [p for p in images if p.resolve() != train_image.resolve()]
    return kept, [p.name for p in images if p not in kept]


def image_megapixels(path: Path, scale: int) -> float:
    """Megapixels of the image file at ``path`` cropped to multiples of ``scale``."""
    with Image.open(path) as image:
        width, height = image.size
    return (height - height % scale) * (width - width % scale) / 1e6


def task_data(
    name: str, task: Task, args: argparse.Namespace
) -> tuple[Path, Path, dict[str, DegradedSet]]:
    """(degraded training image, clean one, {set: degraded test set}) of a task, on disk.

    ``args`` holds ``out``, ``data``, ``train_image``, ``sets`` and ``seed``; the training
    image is left out of every test set.
    """
    work = args.out / name
    train_clean = args.data / args.train_image
    train_input = degrade_training_image(train_clean, task, work / "train", args.seed)
    sets = {}
    for set_name in args.sets:
        targets, _ = set_images(args.data / set_name, train_clean)
        sets[set_name] = degrade_set(targets, task, work / set_name, args.seed)
    return train_input, train_clean, sets


#: The validation photos (scikit-image's), none of them in a benchmark set.
PHOTOS = ["astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry"]


def validation_photos(folder: Path, side: int = 500) -> Path:
    """``PHOTOS`` centre-cropped to at most ``side`` x ``side``, as PNGs in ``folder``."""
    import skimage.data  # the dev extra's

    for name in PHOTOS:
        image = torch.from_numpy(getattr(skimage.data, name)()).permute(2, 0, 1) / 255
        write_centre(folder / f"{name}.png", image, side)
    return folder


def write_centre(path: Path, image: Tensor, side: int) -> None:
    """The centre of a (C, H, W) image, at most ``side`` x ``side``, written to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    top, left = max(0, (image.shape[1] - side) // 2), max(0, (image.shape[2] - side) // 2)
    write_image(path, image[:, top : top + side, left : left + side])


#: Grey content, none of it in a benchmark set: scikit-image's grey textures and scenes
#: (brickwork, grass, gravel, the moon, a printed page, coins) and the luma of two of
#: ``PHOTOS``. Given as grey files (a grey file and the same grey stored as RGB restore alike).
GREY_CONTENT = ["brick", "grass", "gravel", "moon", "page", "coins", "astronaut", "coffee"]


def grey_content(folder: Path, side: int = 400) -> Path:
    """``GREY_CONTENT`` centre-cropped to at most ``side`` x ``side``: grey PNGs in ``folder``."""
    import skimage.data  # the dev extra's

    for name in GREY_CONTENT:
        grey = Image.fromarray(getattr(skimage.data, name)()).convert("L")  # ITU-R 601 luma
        image = torch.from_numpy(np.asarray(grey).copy()).float()[None] / 255
        write_centre(folder / f"{name}.png", image, side)
    return folder

"""The data module: one degraded/clean training pair, whole images for val/test/predict.

The pair is given (``input`` + ``target``) or made by the known degradation from one image
taken as clean: ``target``, or in zero-shot mode the degraded ``input`` itself (internal
learning, as in ZSSR: learn to undo one more degradation of the photo, then apply the model
to the photo), or the bundled sample.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import torch
from lightning.pytorch import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader

from oneshot_lightning.batch import Batch
from oneshot_lightning.data.augment import PairedDihedral
from oneshot_lightning.data.datasets import (
    FilesPerProcess,
    ImageFiles,
    ImagePairs,
    PatchPairStream,
    TestPairs,
    check_pair,
    pair_by_stem,
)
from oneshot_lightning.data.degradations import Degradation
from oneshot_lightning.data.io import (
    ImageLayout,
    ValueMap,
    list_images,
    read_image,
    read_layout,
    read_pair,
)
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import imresize, mod_crop, noise_generator, require_size
from oneshot_lightning.metrics import SSIM_WINDOW

#: The bundled sample (public domain, see ``sample/LICENSE.md``) used when no image is given.
SAMPLE_IMAGE = Path(__file__).parent / "sample" / "astronaut.png"


class OneShotDataModule(LightningDataModule):
    """Patches from ONE degraded/clean pair for training; whole images for everything else.

    Which images make the training pair:

    - ``input`` and ``target``: the given pair;
    - ``target`` alone: the clean image; ``degradation`` makes the degraded one;
    - ``input`` alone (zero-shot mode): the degraded photo stands in for the clean image and
      ``degradation`` degrades it once more; the model learns to undo that step and is
      then applied to the photo itself (for super-resolution the photo is the high-resolution
      side, its bicubic downscale the low-resolution one);
    - neither: the bundled sample is the clean image.

    Args:
        input: the degraded training image (with ``target``), or the only image (zero-shot).
        target: the clean training image.
        degradation: how to degrade the clean image (training, zero-shot, and test targets
            without inputs).
        val_input, val_target: a validation pair; without it, a held-out strip of
            ``val_fraction`` of the training pair's rows (at the bottom) validates.
        test_input, test_target: folders or files, paired by file name (stem).
        scale: super-resolution factor s: inputs are s times smaller than targets, which
            are cropped to multiples of s (1 for deblurring).
        predict: image files or folders to restore; in zero-shot mode ``input`` by default.
        clean_scales: sizes, relative to the clean image, of the copies (MATLAB bicubic,
            antialiased) that the pair made by ``degradation`` is drawn from, each degraded
            the same way, patches in proportion to area; e.g. ``[1.0, 0.8, 0.6]`` adds
            smaller views of the same scene (ZSSR's "HR fathers"). The default is the image
            alone.
        patch_size: side of the input patches in pixels (set from the model by the CLI).
        batch_size: patch pairs per training step.
        steps_per_epoch: training steps between validations.
        augment: random paired flips/transposes of the training patches.
        seed: seeds the degradation noise and the patch draw.
    """

    def __init__(
        self,
        input: str | None = None,
        target: str | None = None,
        degradation: Degradation | None = None,
        val_input: str | None = None,
        val_target: str | None = None,
        val_fraction: float = 0.15,
        test_input: str | None = None,
        test_target: str | None = None,
        predict: str | list[str] | None = None,
        scale: int = 1,
        patch_size: int = 11,
        batch_size: int = 512,
        steps_per_epoch: int = 250,
        augment: bool = True,
        seed: int = 0,
        clean_scales: tuple[float, ...] = (1.0,),
    ) -> None:
        super().__init__()
        if not 0 < val_fraction < 1:
            raise InputError(f"data.val_fraction must be in (0, 1), got {val_fraction}")
        if not clean_scales or not all(0 < factor <= 1 for factor in clean_scales):
            raise InputError(
                f"data.clean_scales must be sizes in (0, 1] relative to the clean image, got "
                f"{list(clean_scales)}"
            )
        for name, value in {
            "scale": scale,
            "patch_size": patch_size,
            "batch_size": batch_size,
            "steps_per_epoch": steps_per_epoch,
        }.items():
            if value < 1:
                raise InputError(f"data.{name} must be a positive integer, got {value}")
        self.save_hyperparameters(ignore=["degradation"])
        self.input, self.target, self.degradation = input, target, degradation
        self.val_input, self.val_target, self.val_fraction = val_input, val_target, val_fraction
        self.test_input, self.test_target, self.predict = test_input, test_target, predict
        self.scale, self.patch_size, self.batch_size = scale, patch_size, batch_size
        self.steps_per_epoch, self.seed = steps_per_epoch, seed
        self.clean_scales = tuple(clean_scales)
        self.augmentation = PairedDihedral() if augment else None

    @property
    def zero_shot(self) -> bool:
        """Only the degraded photo is given: it is the clean side of its own training pair."""
        return self.input is not None and self.target is None

    @property
    def pair_given(self) -> bool:
        """Both training images are files; otherwise ``degradation`` makes the degraded one."""
        return self.input is not None and self.target is not None

    def load_training_pair(self) -> tuple[Tensor, Tensor]:
        """The (degraded, clean) training images, each (C, H, W)."""
        if self.input is not None and self.target is not None:
            degraded, clean = read_pair(self.input, self.target)
            return degraded, check_pair(
                degraded, clean, f"{self.input} / {self.target}", self.scale
            )
        if self.input is not None:  # zero-shot
            if self.degradation is None:
                raise InputError(
                    "data.input alone (zero-shot mode) needs data.degradation, the known "
                    "degradation of the photo, or data.target, its clean version"
                )
            clean, what = read_image(self.input), "data.input"
        elif self.target is not None:
            clean, what = read_image(self.target), "data.target"
        else:
            clean, what = read_image(SAMPLE_IMAGE), "the bundled sample (no data.target)"
        clean = mod_crop(clean, self.scale)
        return self.degrade(clean, what), clean

    def degrade(self, clean: Tensor, what: str, index: int = 0) -> Tensor:
        """Apply the configured degradation to one (C, H, W) image; noise seeded by ``index``."""
        if self.degradation is None:
            raise InputError(f"{what} alone needs data.degradation to make the degraded input")
        return self.degradation(clean[None], noise_generator(self.seed, index), self.scale)[0]

    def scaled_pairs(self, degraded: Tensor, clean: Tensor) -> list[tuple[Tensor, Tensor]]:
        """The training pairs at each of ``clean_scales``: (degraded (C, h, w), clean (C, H, W)).

        Scale 1 is the pair itself; a smaller one shrinks the clean image (bicubic,
        antialiased), crops it to a multiple of ``scale`` and degrades it with its own noise.
        """
        if self.clean_scales == (1.0,):
            return [(degraded, clean)]
        if self.pair_given:
            raise InputError(
                "data.clean_scales needs a pair made by data.degradation: give data.input "
                "(zero-shot) or data.target alone, not both"
            )
        pairs = []
        height, width = clean.shape[-2:]
        for index, factor in enumerate(self.clean_scales, start=1):
            if factor == 1:
                pairs.append((degraded, clean))
                continue
            size = (round(factor * height), round(factor * width))
            if min(size) < self.scale * self.patch_size:
                raise InputError(
                    f"data.clean_scales {factor} shrinks the {width}x{height} training image "
                    f"below one {self.patch_size}x{self.patch_size} patch"
                )
            # Bicubic overshoots; a clean image stays in [0, 1].
            small = mod_crop(imresize(clean[None], size)[0].clamp(0, 1), self.scale)
            pairs.append((self.degrade(small, "data.clean_scales", index), small))
        return pairs

    def setup(self, stage: str) -> None:
        """Read and check the images the ``stage`` needs."""
        if stage in ("fit", "validate"):
            self.setup_fit()
        elif stage == "test":
            self.setup_test()
        elif stage == "predict":
            # Zero-shot learning is for the photo itself: restore it unless told otherwise.
            predict = self.input if self.predict is None and self.zero_shot else self.predict
            if predict is None:
                raise InputError("predict needs images: --data.predict FILE_OR_FOLDER")
            layouts = [read_layout(path) for path in list_images(predict)]
            self.predict_dataset = ImageFiles(layouts, self.patch_size)

    def setup_fit(self) -> None:
        """The training patch stream and the validation pair."""
        degraded, clean = self.load_training_pair()
        if self.val_input is not None or self.val_target is not None:
            if self.val_target is None:
                raise InputError("data.val_input needs data.val_target")
            if self.val_input is None:
                val_clean = mod_crop(read_image(self.val_target), self.scale)
                val_degraded = self.degrade(val_clean, "data.val_target")
            else:
                val_degraded, val_clean = read_pair(self.val_input, self.val_target)
                what = f"{self.val_input} / {self.val_target}"
                val_clean = check_pair(val_degraded, val_clean, what, self.scale)
            train = (degraded, clean)
            val = (val_degraded, val_clean)
        else:
            train, val = self.split_strip(degraded, clean)
        size = self.patch_size
        height, width = train[0].shape[-2:]
        require_size(height, width, size, f"one {size}x{size} patch", "training image region")
        # Shrunk copies come from the training part only: the validation strip stays unseen.
        first, *extra = self.scaled_pairs(*train)
        self.train_dataset = PatchPairStream(
            *first,
            self.patch_size,
            self.batch_size,
            self.steps_per_epoch,
            self.seed,
            self.scale,
            extra=extra,
        )
        self.val_dataset = ImagePairs([(*val, "validation")])

    def split_strip(
        self, degraded: Tensor, clean: Tensor
    ) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
        """Hold out the bottom rows of the pair for validation: (train pair, val pair).

        Rows count in the degraded (input) image; the clean one is cut at ``scale`` times that.
        """
        height = degraded.shape[-2]
        # The strip must hold a patch (inference pads by half a patch) and, at full
        # resolution, an SSIM window after the super-resolution border (= scale) is shaved.
        ssim_rows = (
            SSIM_WINDOW if self.scale == 1 else -(-(SSIM_WINDOW + 2 * self.scale) // self.scale)
        )
        held_out = max(self.patch_size, ssim_rows, round(height * self.val_fraction))
        if height - held_out < self.patch_size:
            raise InputError(
                f"training image {degraded.shape[-1]}x{height} is too small to split: a "
                f"{held_out}-row validation strip and a {self.patch_size}-row patch need "
                f"{held_out + self.patch_size} rows (give data.val_target or a larger image)"
            )
        cut, clean_cut = height - held_out, self.scale * (height - held_out)
        return (degraded[:, :cut], clean[:, :clean_cut]), (
            degraded[:, cut:],
            clean[:, clean_cut:],
        )

    def setup_test(self) -> None:
        """The test pairs: files paired by name, or targets degraded here."""
        if self.test_target is None:
            raise InputError(
                "test needs --data.test_target (and --data.test_input, or a "
                "data.degradation to make the inputs)"
            )
        targets = list_images(self.test_target)
        inputs = None
        if self.test_input is not None:
            inputs = list_images(self.test_input)
            # Two single files are a pair whatever their names; folders pair by name.
            if not (len(inputs) == len(targets) == 1 and Path(self.test_input).is_file()):
                inputs = pair_by_stem(inputs, targets)
        elif self.degradation is None:
            raise InputError("data.test_target alone needs data.degradation to make the inputs")
        self.test_dataset = TestPairs(targets, inputs, self.degradation, self.seed, self.scale)

    def train_dataloader(self) -> DataLoader:
        """The patch stream, batched by itself."""
        return DataLoader(self.train_dataset, batch_size=None)

    def val_dataloader(self) -> DataLoader:
        """One whole image per batch."""
        return DataLoader(self.val_dataset, batch_size=1)

    def test_dataloader(self) -> DataLoader:
        """One whole image per batch."""
        return DataLoader(self.test_dataset, batch_size=1)

    def predict_dataloader(self) -> DataLoader:
        """One whole plane per batch; under DDP, all planes of a file in one process."""
        sampler = None
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            world, rank = torch.distributed.get_world_size(), torch.distributed.get_rank()
            if world > 1:
                sampler = FilesPerProcess(self.predict_dataset, world, rank)
        return DataLoader(self.predict_dataset, batch_size=1, sampler=sampler)

    def prediction_paths(self) -> list[Path]:
        """The files ``predict`` restores, in order (after ``setup``)."""
        return self.predict_dataset.paths

    def prediction_layouts(self) -> list[ImageLayout]:
        """What each of :meth:`prediction_paths` holds: its planes, type and axes."""
        return self.predict_dataset.layouts

    def prediction_plane(self, index: int) -> tuple[int, int]:
        """(file, plane) of the ``predict`` item ``index`` (a batch index of the writer)."""
        return self.predict_dataset.planes[index]

    def prediction_values(self, file: int) -> ValueMap:
        """How the restored planes of file ``file`` map back to its stored values.

        Read from the decoded file (already in memory once its planes have been restored).
        """
        return self.predict_dataset.decoded(file).values

    def skip_predictions(self, files: Collection[int]) -> None:
        """Restore none of the files numbered ``files`` (e.g. whose outputs exist)."""
        self.predict_dataset = self.predict_dataset.without(files)

    def on_after_batch_transfer(self, batch: Batch, dataloader_idx: int) -> Batch:
        """Augment the training patches, on the device, after transfer."""
        if self.augmentation is not None and self.trainer is not None and self.trainer.training:
            batch["input"], batch["target"] = self.augmentation(batch["input"], batch["target"])
        return batch

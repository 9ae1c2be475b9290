"""The data module: one degraded/clean training pair, whole images for val/test/predict.

Which images make the training pair:

- ``input`` and ``target``: the given pair;
- ``target`` alone: the clean image; ``degradation`` makes the degraded one;
- ``input`` alone (zero-shot mode): the degraded photo stands in for the clean image and
  ``degradation`` degrades it once more; the model learns to undo that step and is then
  applied to the photo itself (internal learning, as in ZSSR; for super-resolution the photo
  is the high-resolution side, its downscale the low-resolution one); with
  ``first_pass``, the noisy photo denoised once by it is the clean side;
- neither: the bundled sample is the clean image.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import partial
from typing import Literal

from lightning.pytorch import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader

from oneshot_lightning.batch import Batch
from oneshot_lightning.data.augment import PairedDihedral, TrainingTransform
from oneshot_lightning.data.datasets import FilesPerProcess, ImageFiles, ImagePairs, TestPairs
from oneshot_lightning.data.degradations import Degradation
from oneshot_lightning.data.first_pass import FirstPass, zero_shot_denoising
from oneshot_lightning.data.io import list_images, read_image, read_layout
from oneshot_lightning.data.pairs import (
    SAMPLE_IMAGE,
    alternative_validation,
    pair_blur,
    pair_downscaling,
    training_images,
    validation_material,
)
from oneshot_lightning.data.registration import register_pair
from oneshot_lightning.data.sampling import shrunk_pairs
from oneshot_lightning.data.stream import patch_stream
from oneshot_lightning.data.synthesis import fresh_degradation, noisy_copies
from oneshot_lightning.errors import InputError, require
from oneshot_lightning.functional import is_dihedral_invariant, noise_generator, require_size
from oneshot_lightning.hand_over import TrainingPair


class OneShotDataModule(LightningDataModule):
    """Patches from ONE degraded/clean pair for training; whole images for everything else.

    Which images make the pair: see the module's docstring.

    Args:
        input, target: the degraded and clean training images; ``input`` alone: zero-shot.
        degradation: how to degrade the clean image (training, zero-shot, and test targets
            without inputs).
        val_input, val_target: a validation pair; without it, parts of the training pair
            are held out (``pairs.validation_blocks``): no training patch touches them.
        val_fraction, val_blocks: the share of the pair held out, in how many squares.
        test_input, test_target: folders or files, paired by file name (stem).
        scale: super-resolution factor s: inputs are s times smaller than targets, which
            are cropped to multiples of s (1 for deblurring).
        predict: image files or folders to restore; in zero-shot mode ``input`` by default.
        clean_scales: sizes, relative to the clean image, of the copies (MATLAB bicubic,
            antialiased) that the pair made by ``degradation`` is drawn from, each degraded
            the same way, patches in proportion to area; e.g. ``[1.0, 0.8, 0.6]`` (ZSSR's
            "HR fathers"). The default is the image alone.
        patch_size: side of the input patches in pixels (set from the model by the CLI).
        batch_size, steps_per_epoch: patch pairs per training step; steps per validation.
        augment: random flips/transposes of both sides of a pair when its blur is symmetric,
            and of the clean crops of fresh pairs before they are degraded.
        fresh_fraction: share of each batch made afresh at every step: clean crops degraded
            by ``degradation`` or the given pair's estimated blur and noise, new noise each
            time (``data/synthesis.py``).
        permute_channels: the colour channels of each training patch (and fresh crop) in a
            random order, the same for both sides: valid when the degradation treats every
            channel alike; teaches colour nets from one photo's few hues (+0.7 dB, sigma 25).
        grey_share: share of the fresh crops made grey, one noise draw in all channels, so
            that a colour denoiser also restores grey photos stored as RGB.
        patch_sampling: ``uniform`` draws every allowed patch alike; ``gradient`` draws
            textured patches up to 8x as often as flat ones (``sampling.gradient_weighted``).
        seed: seeds the degradation noise and the patch draw.
        align: align a given pair's two shots (motion, exposure) before training, or refuse
            a pair of two scenes in one line (``data/registration.py``).
        noise_copies: whole copies of the clean image degraded anew, each with its own noise
            (a first stage deconvolves them as it does the pair), added to the training
            pairs; ``copies_share`` of the patches come from them, about.
        first_pass: what denoises the noisy photo into its pair's clean side (``first_pass.py``).
    """

    def __init__(
        self,
        input: str | None = None,
        target: str | None = None,
        degradation: Degradation | None = None,
        val_input: str | None = None,
        val_target: str | None = None,
        val_fraction: float = 0.15,
        val_blocks: int = 4,
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
        fresh_fraction: float = 0.0,
        permute_channels: bool = False,
        grey_share: float = 0.0,
        patch_sampling: Literal["uniform", "gradient"] = "uniform",
        align: bool = True,
        noise_copies: int = 0,
        copies_share: float = 0.5,
        first_pass: FirstPass | None = None,
    ) -> None:
        super().__init__()
        require(0 <= fresh_fraction <= 1, "data.fresh_fraction", "in [0, 1]", fresh_fraction)
        require(0 < val_fraction < 1, "data.val_fraction", "in (0, 1)", val_fraction)
        require(0 <= grey_share <= 1, "data.grey_share", "in [0, 1]", grey_share)
        grey_made = grey_share == 0 or fresh_fraction > 0
        require(grey_made, "data.fresh_fraction", "> 0 with data.grey_share", fresh_fraction)
        require(0 <= copies_share < 1, "data.copies_share", "in [0, 1)", copies_share)
        require(noise_copies >= 0, "data.noise_copies", "a count >= 0", noise_copies)
        sizes = "sizes in (0, 1] relative to the clean image"
        valid_sizes = bool(clean_scales) and all(0 < factor <= 1 for factor in clean_scales)
        require(valid_sizes, "data.clean_scales", sizes, list(clean_scales))
        sampling = patch_sampling in ("uniform", "gradient")
        require(sampling, "data.patch_sampling", "uniform or gradient", repr(patch_sampling))
        counts = {"scale": scale, "patch_size": patch_size, "batch_size": batch_size}
        counts |= {"steps_per_epoch": steps_per_epoch, "val_blocks": val_blocks}
        for name, value in counts.items():
            require(value >= 1, f"data.{name}", "a positive integer", value)
        require(first_pass is None or scale == 1, "data.scale", "1 with data.first_pass", scale)
        require(not (first_pass and target), "data.target", "unset with data.first_pass", target)
        self.save_hyperparameters(ignore=["degradation", "first_pass"])
        self.input, self.target, self.degradation = input, target, degradation
        self.val_input, self.val_target, self.val_fraction = val_input, val_target, val_fraction
        self.test_input, self.test_target, self.predict = test_input, test_target, predict
        self.scale, self.patch_size, self.batch_size = scale, patch_size, batch_size
        self.steps_per_epoch, self.seed, self.augment = steps_per_epoch, seed, augment
        self.fresh_fraction, self.clean_scales = fresh_fraction, tuple(clean_scales)
        self.permute_channels, self.patch_sampling = permute_channels, patch_sampling
        self.grey_share, self.val_blocks = grey_share, val_blocks
        self.align, self.noise_copies, self.copies_share = align, noise_copies, copies_share
        self.first_pass, self.noise_source = first_pass, "in data.degradation"
        self.first_pass_made: tuple[Tensor, Degradation, str] | None = None  # made once
        #: What a training batch goes through on the device; set by ``setup("fit")``.
        self.transform = TrainingTransform()
        self.pair: TrainingPair | None = None

    @property
    def zero_shot(self) -> bool:
        """Only the degraded photo is given: it is the clean side of its own training pair."""
        return self.input is not None and self.target is None

    @property
    def pair_given(self) -> bool:
        """Both training images are files; otherwise ``degradation`` makes the degraded one."""
        return self.input is not None and self.target is not None

    def load_training_pair(self) -> tuple[Tensor, Tensor]:
        """The (degraded, clean) training images, each (C, H, W) (see the module docstring)."""
        if self.first_pass is not None:
            photo, noise = read_image(self.input or SAMPLE_IMAGE), self.degradation
            made = self.first_pass_made or zero_shot_denoising(photo, self.first_pass, noise)
            clean, self.degradation, self.noise_source = self.first_pass_made = made
            return self.degrade(clean, what="data.input"), clean
        if self.zero_shot and self.degradation is None:
            raise InputError(
                "data.input alone (zero-shot mode) needs data.degradation (the photo's known "
                "degradation), data.first_pass (a noisy photo) or data.target (its clean one)"
            )
        if self.degradation is not None and self.target is None:  # the photo is the clean side
            self.degradation.fit_to(read_image(self.input or SAMPLE_IMAGE), self.scale)
        return training_images(self.input, self.target, self.scale, self.degrade)

    def degrade(self, clean: Tensor, index: int = 0, what: str = "data.target") -> Tensor:
        """Apply the configured degradation to one (C, H, W) image; noise seeded by ``index``."""
        if self.degradation is None:
            raise InputError(f"{what} alone needs data.degradation to make the degraded input")
        return self.degradation(clean[None], noise_generator(self.seed, index), self.scale)[0]

    def setup(self, stage: str) -> None:
        """Read and check the images the ``stage`` needs."""
        if stage in ("fit", "validate"):
            self.setup_fit()
        elif stage == "test":
            self.test_dataset = TestPairs.from_paths(
                self.test_target, self.test_input, self.degradation, self.seed, self.scale
            )
        elif stage == "predict":
            # Zero-shot learning is for the photo itself: restore it unless told otherwise.
            predict = self.input if self.predict is None and self.zero_shot else self.predict
            if predict is None:
                raise InputError("predict needs images: --data.predict FILE_OR_FOLDER")
            layouts = [read_layout(path) for path in list_images(predict)]
            self.predict_dataset = ImageFiles(layouts, self.patch_size)

    def setup_fit(self) -> None:
        """The training pair, its patch stream, validation pairs and blur, and the transform."""
        degraded, clean = self.load_training_pair()
        alignment, aligned = None, False
        if self.pair_given and self.align:
            degraded, clean, alignment, aligned = register_pair(degraded, clean, self.scale)
        size = self.patch_size
        height, width = degraded.shape[-2:]
        require_size(height, width, size, f"one {size}x{size} patch", "training image")
        given, held_out = (self.val_input, self.val_target), (self.val_blocks, self.val_fraction)
        degrade = partial(self.degrade, what="data.val_target")
        material = (degraded, clean, self.scale, size, held_out, given, degrade, self.align)
        blocks, val = validation_material(*material)
        made_by = None if self.pair_given else self.degradation
        val += alternative_validation(made_by, clean, blocks, self.scale, self.seed)
        blur = pair_blur(degraded, clean, self.scale, made_by)
        source = self.noise_source if made_by else "estimated from the pair"
        found = (blur, source, alignment, aligned, *pair_downscaling(made_by))
        self.pair = pair = TrainingPair(degraded, clean, self.scale, val, *found)
        # A flipped pair is another valid pair only if its kernel looks the same flipped.
        kernel = pair.downscaling.kernel if pair.downscaling else blur.kernel if blur else None
        symmetric = kernel is None or is_dihedral_invariant(kernel)
        flips = PairedDihedral() if self.augment and symmetric else None
        pairs = [(degraded, clean)]
        if self.clean_scales != (1.0,):
            if self.pair_given:
                raise InputError(
                    "data.clean_scales needs a pair made by data.degradation: give data.input "
                    "(zero-shot) or data.target alone, not both"
                )
            copy = partial(self.degrade, what="data.clean_scales")
            pairs = shrunk_pairs(degraded, clean, self.clean_scales, copy, size, self.scale)
        weights = None
        if self.noise_copies:
            synthetic = fresh_degradation(made_by, blur)
            copies = noisy_copies(clean, synthetic, self.noise_copies, self.seed, self.scale)
            share = self.copies_share
            weights = [1 - share] * len(pairs) + [share / len(copies)] * len(copies)
            pairs += copies
        fresh_count = round(self.fresh_fraction * self.batch_size)
        synthesis = fresh_degradation(made_by, blur) if fresh_count else None
        gradient, scale = self.patch_sampling == "gradient", self.scale
        batches = (size, self.batch_size, self.steps_per_epoch, self.seed, scale)
        stream = patch_stream(pairs, blocks, *batches, gradient, fresh_count, synthesis, weights)
        margin = 0 if stream.fresh is None else stream.fresh.margin
        self.transform = TrainingTransform(
            flips, self.permute_channels, synthesis, margin, scale, self.grey_share
        )
        self.train_dataset = stream
        self.val_dataset = ImagePairs(val)

    def training_pair(self) -> TrainingPair:
        """The training pair, its validation images and blur (after ``setup("fit")``)."""
        assert self.pair is not None, "the training pair is made by setup('fit')"
        return self.pair

    def map_training_inputs(self, transform: Callable[[Tensor], Tensor]) -> None:
        """Put the degraded side of each training pair through ``transform`` (a first stage).

        ``transform`` maps (1, C, h, w) to the same shape. Fresh pairs, made crop by crop on
        the device, would skip it, so they are refused.
        """
        if self.fresh_fraction > 0:
            raise InputError(
                "model.first_stage works on whole images, not on fresh crops: set "
                "data.fresh_fraction 0"
            )
        self.train_dataset.map_inputs(transform)

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
        sampler = FilesPerProcess.under_ddp(self.predict_dataset)
        return DataLoader(self.predict_dataset, batch_size=1, sampler=sampler)

    def prediction_files(self) -> ImageFiles:
        """What ``predict`` restores (after ``setup``): the files, their layouts and planes."""
        return self.predict_dataset

    def skip_predictions(self, files: Collection[int]) -> None:
        """Restore none of the files numbered ``files`` (e.g. whose outputs exist)."""
        self.predict_dataset = self.predict_dataset.without(files)

    def on_after_batch_transfer(self, batch: Batch, dataloader_idx: int) -> Batch:
        """Augment the training patches and make the fresh pairs, on the device."""
        if self.trainer is None or not self.trainer.training:
            return batch
        return self.transform(batch)

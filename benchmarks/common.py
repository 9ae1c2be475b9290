"""What the benchmarks share: tasks, degraded test sets, training, scoring, baselines, tables.

Every method is scored by the package's own test loop, :meth:`RestorationModule.test_step`
run by ``Trainer.test`` on a folder of degraded inputs and a folder of clean targets paired by
file name, and read back from ``model.test_results`` (one row per image). Trained models come
from their checkpoints; the classical baselines (the degraded input itself, scikit-image
Wiener and Richardson-Lucy, bicubic upscaling) are wrapped in a :class:`Baseline` net, so the
same code rounds the outputs to 8 bits, shaves the border and measures them.

Metric conventions (the module's): deblurring tasks report RGB ``psnr``/``ssim`` with
``--border`` pixels shaved (``metric_border``); super-resolution tasks report ``psnr_y``/
``ssim_y`` (MATLAB luma, border = scale, no ``metric_border``). ``s_per_mp`` is the restore
time of a whole set over its output megapixels.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import platform
import re
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from lightning.pytorch import Trainer
from PIL import Image
from skimage.restoration import richardson_lucy, wiener
from torch import Tensor, nn

from oneshot_lightning.checkpoints import load_hyperparameters, model_class_of
from oneshot_lightning.cli import QUIET_WARNINGS
from oneshot_lightning.data import OneShotDataModule
from oneshot_lightning.data.degradations import (
    Blur,
    DefocusBlur,
    Degradation,
    GaussianBlur,
    KernelBlur,
)
from oneshot_lightning.data.io import list_images, read_image, write_image
from oneshot_lightning.functional import bicubic_upscale, mod_crop, noise_generator
from oneshot_lightning.metrics import psnr
from oneshot_lightning.models import RestorationModule
from oneshot_lightning.models.nets import RNNSparseCoder

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
#: The one training image of every benchmark, relative to ``--data``.
TRAIN_IMAGE = "kodak24/kodim05.png"
#: A whole-image function: (B, C, h, w) in [0, 1] -> (B, C, s h, s w).
Restore = Callable[[Tensor], Tensor]
#: Results of one method: {test set: {metric or ``s_per_mp``: mean}}.
Scores = dict[str, dict[str, float]]
#: Output tile side of a baseline: larger than any image, so it sees each image whole.
WHOLE_IMAGE_TILE = 1 << 20
#: Warnings of a benchmark's test runs that say nothing about the figures.
QUIET = (
    "does not have many workers",  # whole images, one per batch: loading is not the cost
    # A module keeps its net in its hyperparameters; the benchmarks save no checkpoints.
    "is an instance of `nn.Module` and is already saved",
    "removed from hparams because it cannot be pickled",
)
#: The bits the test loop rounds outputs to, as an 8-bit PNG holds them.
METRIC_BITS = 8
#: The camera chain of the deblurring benchmark: optics, sensor, file.
CAMERA_RADIUS, CAMERA_PHOTONS, CAMERA_READ_NOISE, CAMERA_JPEG_QUALITY = 3.5, 2500.0, 0.005, 90


# Tasks ------------------------------------------------------------------------------------


@dataclass
class Task:
    """A degradation, its scale, the configs that learn to undo it, and how it is measured.

    Attributes:
        degradation: makes the degraded input from a clean image.
        scale: the super-resolution factor (1 for deblurring).
        configs: names of the files of ``configs/`` that the quality benchmark trains.
        description: one line for the report's heading.
        metrics: names of the test loop's metrics the tables report.
        metric_border: pixels the test loop shaves before every metric.
    """

    degradation: Degradation
    scale: int
    configs: list[str]
    description: str
    metrics: tuple[str, ...] = ("psnr", "ssim")
    metric_border: int = 0

    @property
    def kernel(self) -> np.ndarray:
        """The blur kernel as a float64 array (deblurring tasks only)."""
        blur = self.degradation.blur
        assert isinstance(blur, Blur), "a task without a blur has no kernel"
        return blur.kernel.double().numpy()


def blur_task(blur: nn.Module, description: str, border: int, noise: float = 0.01) -> Task:
    """A deblurring task: ``blur`` + noise, 8-bit; RGB PSNR/SSIM with ``border`` shaved."""
    return Task(Degradation(blur, noise_sigma=noise), 1, [], description, metric_border=border)


def sr_task(scale: int, configs: list[str]) -> Task:
    """Bicubic (MATLAB) downscaling by ``scale``, 8-bit; PSNR/SSIM on luma, border = scale."""
    description = f"bicubic x{scale} (MATLAB imresize), 8-bit; Y, border {scale}"
    return Task(Degradation(), scale, configs, description, ("psnr_y", "ssim_y"))


def tasks(border: int, data: Path) -> dict[str, Task]:
    """The benchmark tasks by name; ``deblur_motion`` only if ``data`` has Levin's kernels.

    ``border`` is the deblurring tasks' metric border.
    """
    deblur = blur_task(
        GaussianBlur(sigma=1.6, size=15),
        f"Gaussian blur sigma 1.6 (15x15, reflect) + noise 0.01, 8-bit; RGB, border {border}",
        border,
    )
    deblur.configs = ["rnn"]
    found = {"deblur": deblur}
    motion_kernel = data / "kernels" / "levin09" / "levin09_k1.npy"
    if motion_kernel.is_file():
        found["deblur_motion"] = blur_task(
            KernelBlur(str(motion_kernel)),
            f"Levin et al. motion kernel 1 (19x19, reflect) + noise 0.01, 8-bit; RGB, "
            f"border {border}",
            border,
        )
        found["deblur_motion"].configs = ["rnn"]
    for index in range(1, 9):
        kernel = data / "kernels" / "levin09" / f"levin09_k{index}.npy"
        if kernel.is_file():
            blur = KernelBlur(str(kernel))
            side = blur.kernel.shape[-1]
            found[f"levin{index}"] = blur_task(
                blur,
                f"Levin et al. kernel {index} ({side}x{side}, reflect) + noise 0.01, 8-bit; "
                f"RGB, border {border}",
                border,
            )
    found["camera"] = Task(
        Degradation(
            DefocusBlur(CAMERA_RADIUS),
            noise_sigma=CAMERA_READ_NOISE,
            poisson_peak=CAMERA_PHOTONS,
            jpeg_quality=CAMERA_JPEG_QUALITY,
        ),
        1,
        [],
        f"camera chain: defocus disk radius {CAMERA_RADIUS} px, shot noise "
        f"({CAMERA_PHOTONS:.0f} photons at white) + read noise {CAMERA_READ_NOISE}, JPEG "
        f"quality {CAMERA_JPEG_QUALITY}; RGB, border {border}",
        metric_border=border,
    )
    for s in (2, 3, 4):
        found[f"sr_x{s}"] = sr_task(s, [f"sr_x{s}"] + (["sr_x2_bicubic_input"] if s == 2 else []))
    return found


# Degraded test sets ------------------------------------------------------------------------


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


# Scoring: the package's test loop -----------------------------------------------------------


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence what a test run prints: Lightning's info lines, known warnings, the table.

    The module prints its per-image table to stdout; the benchmarks write their own.
    """
    loggers = [logging.getLogger(name) for name in ("lightning.pytorch", "lightning.fabric")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        for message in (*QUIET_WARNINGS, *QUIET):
            warnings.filterwarnings("ignore", message=".*" + re.escape(message))
        for logger in loggers:
            logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


def score_rows(
    model: RestorationModule, inputs: Path, targets: Path, border: int
) -> list[dict[str, Any]]:
    """The per-image rows of ``Trainer.test`` on the pairs of ``inputs`` and ``targets``.

    ``inputs`` and ``targets`` are folders paired by file stem, or two files. Outputs are
    rounded to 8 bits and ``border`` pixels shaved before every metric; each row holds the
    image name, the module's metrics and ``s_per_mp`` (restore seconds per output MP).
    """
    model.metric_border, model.metric_bits = border, METRIC_BITS
    data = OneShotDataModule(test_input=str(inputs), test_target=str(targets), scale=model.scale)
    with quiet():
        trainer = Trainer(
            accelerator="cpu",
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        trainer.test(model, datamodule=data, verbose=False)
    return model.test_results


def mean_scores(
    rows: list[dict[str, Any]], task: Task, megapixels: dict[str, float]
) -> dict[str, float]:
    """Mean of each of the task's metrics over the rows, and seconds per MP of the whole set."""
    means = {name: float(np.mean([row[name] for row in rows])) for name in task.metrics}
    seconds = sum(row["s_per_mp"] * megapixels[row["image"]] for row in rows)
    return means | {"s_per_mp": seconds / sum(megapixels[row["image"]] for row in rows)}


def evaluate(model: RestorationModule, test_set: DegradedSet, task: Task) -> dict[str, float]:
    """The task's metrics of ``model`` on a test set (means over its images), and s per MP."""
    rows = score_rows(model, test_set.inputs, test_set.targets, task.metric_border)
    return mean_scores(rows, task, test_set.megapixels)


def evaluate_pair(
    model: RestorationModule, degraded: Path, clean: Path, task: Task
) -> dict[str, float]:
    """The task's metrics of ``model`` on one pair of files, and its seconds per MP."""
    rows = score_rows(model, degraded, clean, task.metric_border)
    return mean_scores(rows, task, {rows[0]["image"]: image_megapixels(clean, task.scale)})


def per_image(
    model: RestorationModule, test_set: DegradedSet, task: Task
) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """Like :func:`evaluate`, with each image's row too: (means, {image stem: row})."""
    rows = score_rows(model, test_set.inputs, test_set.targets, task.metric_border)
    return mean_scores(rows, task, test_set.megapixels), {row["image"]: row for row in rows}


# Baselines: classical methods as restoration nets ----------------------------------------------


class Baseline(nn.Module):
    """A whole-image function offered as a :class:`~oneshot_lightning.models.nets.RestorationNet`.

    It reads one channel (``channels`` = 1: the module folds the channels of an RGB image
    into the batch, as the per-channel scikit-image restorations work) and no context
    (``context`` = 1), so ``RestorationModule.restore`` hands ``function`` each image whole
    when the module's ``tile_size`` exceeds the image.

    Args:
        function: (B, 1, h, w) -> (B, 1, scale h, scale w).
        scale: output pixels per input pixel along each axis.
    """

    channels = 1
    patch_size = 1
    context = 1
    stride = 1

    def __init__(self, function: Restore, scale: int = 1) -> None:
        super().__init__()
        self.function, self.scale = function, scale

    def forward(self, patches: Tensor) -> Tensor:
        """Not used: a baseline restores whole images only."""
        raise NotImplementedError("a baseline is not trained on patches")

    def forward_valid(self, image: Tensor) -> Tensor:
        """(B, 1, h, w) -> (B, 1, scale h, scale w): ``function`` on the whole images."""
        return self.function(image)


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


def score_baselines(
    baselines: dict[str, Restore], sets: dict[str, DegradedSet], task: Task
) -> dict[str, Scores]:
    """{method: {set: scores}} of whole-image functions, through the test loop."""
    rows: dict[str, Scores] = {}
    for method, function in baselines.items():
        model = baseline_model(function, task)
        rows[method] = {s: evaluate(model, test_set, task) for s, test_set in sets.items()}
    return rows


def baseline_model(function: Restore, task: Task) -> RestorationModule:
    """``function`` wrapped for the test loop: a module whose net is a :class:`Baseline`."""
    net = Baseline(function, task.scale)
    with quiet():
        return RestorationModule(net, tile_size=WHOLE_IMAGE_TILE, metric_border=task.metric_border)


def identity(image: Tensor) -> Tensor:
    """The degraded input itself, the baseline of no restoration."""
    return image


def per_plane(restore: Callable[[np.ndarray], np.ndarray], image: Tensor) -> Tensor:
    """``restore`` on each float64 (H, W) plane of (B, C, H, W); float32, clipped to [0, 1]."""
    planes = [restore(plane.double().numpy()) for picture in image for plane in picture]
    stacked = torch.from_numpy(np.stack(planes)).float().clamp(0, 1)
    return stacked.reshape(*image.shape[:2], *stacked.shape[-2:])


def wiener_restore(image: Tensor, kernel: np.ndarray, balance: float) -> Tensor:
    """scikit-image Wiener deconvolution of each channel of (B, C, H, W); clipped to [0, 1]."""
    return per_plane(lambda plane: wiener(plane, kernel, balance), image)


def richardson_lucy_restore(image: Tensor, kernel: np.ndarray, iterations: int) -> Tensor:
    """scikit-image Richardson-Lucy deconvolution of each channel of (B, C, H, W)."""
    return per_plane(lambda plane: richardson_lucy(plane, kernel, iterations), image)


def bicubic(image: Tensor, scale: int) -> Tensor:
    """MATLAB-style bicubic upscaling of (B, C, h, w) by ``scale``, clipped to [0, 1]."""
    return bicubic_upscale(image, scale).clamp(0, 1)


def best_setting(
    restore: Callable[[Tensor, float], Tensor],
    grid: list[float],
    degraded: Tensor,
    clean: Tensor,
    border: int,
) -> float:
    """The value in ``grid`` for which ``restore(degraded, value)`` has the best PSNR.

    ``degraded`` and ``clean`` are one (C, H, W) training pair; PSNR of the unrounded output,
    ``border`` shaved.
    """
    scores = [psnr(restore(degraded[None], v), clean[None], border).item() for v in grid]
    return grid[int(np.argmax(scores))]


def tuned_wiener(
    kernel: np.ndarray, degraded: Tensor, clean: Tensor, border: int
) -> tuple[float, Restore]:
    """Wiener with the balance that scores best on the training pair: (balance, restore)."""
    balance = best_setting(
        lambda x, b: wiener_restore(x, kernel, b),
        np.logspace(-4, 0, 17).tolist(),
        degraded,
        clean,
        border,
    )
    return balance, partial(wiener_restore, kernel=kernel, balance=balance)


def tuned_richardson_lucy(
    kernel: np.ndarray, degraded: Tensor, clean: Tensor, border: int
) -> tuple[int, Restore]:
    """Richardson-Lucy with the iterations that score best on the pair: (iterations, restore)."""
    iterations = int(
        best_setting(
            lambda x, n: richardson_lucy_restore(x, kernel, int(n)),
            [5, 10, 20, 40, 80],
            degraded,
            clean,
            border,
        )
    )
    return iterations, partial(richardson_lucy_restore, kernel=kernel, iterations=iterations)


# Models: training through the CLI, loading from checkpoints --------------------------------------


def config_path(name: str) -> Path:
    """The file of config ``name`` (``rnn`` or ``rnn.yaml``) in ``configs/``."""
    return CONFIGS / (name if name.endswith((".yaml", ".yml")) else f"{name}.yaml")


def config_problem(name: str, scale: int) -> str | None:
    """Why config ``name`` can't serve a task at ``scale`` (missing, other scale), or None."""
    path = config_path(name)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CONFIGS.glob("*.yaml")))
        return f"no config {path} (configs: {known})"
    data = (yaml.safe_load(path.read_text()) or {}).get("data") or {}
    config_scale = data.get("scale", 1)
    if config_scale != scale:
        return f"config {name} works at scale {config_scale}, the task at scale {scale}"
    return None


def clock(seconds: int) -> str:
    """``--trainer.max_time`` format, DD:HH:MM:SS."""
    hours, rest = divmod(seconds, 3600)
    return f"00:{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def train(
    config: Path,
    pair: tuple[Path, Path],
    budget: int | None,
    run_dir: Path,
    extra: Sequence[str] = (),
) -> tuple[Path, float]:
    """Run ``oneshot fit`` on the pair, capped at ``budget`` seconds; (best checkpoint, seconds).

    The config's own schedule (epochs, cosine decay) stands; the budget only cuts it short.
    ``budget`` None keeps the config's own ``max_time``; ``extra`` arguments go last, so they
    override the config and the budget (e.g. ``--trainer.max_steps 1500``). The command's
    output goes to ``<run_dir>/fit.log``.
    """
    command = [sys.executable, "-m", "oneshot_lightning", "fit", "--config", str(config)]
    command += ["--data.input", str(pair[0]), "--data.target", str(pair[1])]
    command += ["--trainer.default_root_dir", str(run_dir)]
    if budget is not None:
        command += ["--trainer.max_time", clock(budget)]
    command += list(extra)
    run_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(run_dir / "fit.log", "w") as log:
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT)
    return run_dir / "checkpoints" / "best.ckpt", time.perf_counter() - start


def module_class(checkpoint: Path) -> type[RestorationModule]:
    """The RestorationModule (sub)class a checkpoint was trained with, read without unpickling."""
    return model_class_of(load_hyperparameters(checkpoint)["_class_path"], RestorationModule)


def load_model(checkpoint: Path, self_ensemble: bool = False) -> RestorationModule:
    """The checkpoint's model on the CPU, loaded through its own class, in eval mode."""
    with quiet():
        model = module_class(checkpoint).load_from_checkpoint(checkpoint, map_location="cpu")
    model.self_ensemble = self_ensemble
    return model.eval()


def flops_per_window(net: RNNSparseCoder) -> int:
    """Multiply-adds x 2 of one window of the RNN: input projection, recurrence, decoder."""
    p, c, latent, s = net.patch_size, net.channels, net.latent, net.scale
    return 2 * (p * c * p * latent + (p - 1) * latent * latent + latent * c * s * s)


def flops_per_input_pixel(net: RNNSparseCoder) -> int:
    """Multiply-adds x 2 per input pixel of the RNN's whole-image form (``forward_valid``).

    Each input column is projected once and shared by the p windows that read it (a p x 1
    convolution), so only the mean offset, the recurrence and the decoder are per window.
    """
    p, c, latent, s = net.patch_size, net.channels, net.latent, net.scale
    return 2 * (c * p * latent + c * latent + (p - 1) * latent * latent + latent * c * s * s)


# Reports ---------------------------------------------------------------------------------------


def machine() -> str:
    """The machine in a few words: architecture, threads, torch version."""
    return f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"


def format_metrics(values: dict[str, float], task: Task) -> str:
    """``psnr / ssim`` as the tables print them (dB to 2 places, SSIM to 4)."""
    return " / ".join(f"{values[m]:.{2 if 'psnr' in m else 4}f}" for m in task.metrics)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A markdown table: the header line, the rule, one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def method_table(name: str, task: Task, set_names: list[str], rows: dict[str, Scores]) -> list[str]:
    """A heading and one table row per method: its metrics per set and mean s per MP."""
    metric_names = " / ".join(task.metrics)
    header = ["method", *(f"{s} {metric_names}" for s in set_names), "s per MP"]
    cells = [
        [
            method,
            *(format_metrics(v, task) for v in by_set.values()),
            f"{np.mean([v['s_per_mp'] for v in by_set.values()]):.2f}",
        ]
        for method, by_set in rows.items()
    ]
    return [f"### {name}: {task.description}", "", *markdown_table(header, cells)]


def run_and_report(
    run: Callable[[str, Task, argparse.Namespace], tuple[list[str], dict]],
    available: dict[str, Task],
    args: argparse.Namespace,
    report: list[str],
    stem: str,
) -> dict[str, dict]:
    """Run each of ``args.tasks``, print its table, write ``<out>/<stem>.md`` and ``.json``.

    Returns each task's results by name.
    """
    results = {}
    for name in args.tasks:
        lines, results[name] = run(name, available[name], args)
        report += lines
        print("\n".join(lines), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.md").write_text("\n".join(report) + "\n")
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2))
    return results

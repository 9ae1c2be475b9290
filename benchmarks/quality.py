"""Quality benchmark: learn from ONE degraded/clean pair, restore whole test sets.

For each task and config: degrade the training image, train through the real ``oneshot fit``
CLI (capped at ``--budget`` seconds), then restore every degraded test image and compare with
baselines computed in the same run.

- ``deblur``: Gaussian blur sigma 1.6 (15x15, reflect) + noise 0.01, 8-bit;
  ``deblur_motion``: Levin et al.'s motion kernel 1 (19x19) + noise 0.01. Baselines: the
  degraded input, scikit-image Wiener (true kernel, balance tuned on the training pair) and
  Richardson-Lucy (true kernel, iterations tuned on the training pair). Metrics: RGB
  PSNR/SSIM, ``--border`` pixels shaved.
- ``sr_x2``, ``sr_x3``, ``sr_x4``: MATLAB-style bicubic downscaling, 8-bit. Baseline:
  bicubic upscaling. Metrics: PSNR/SSIM on MATLAB luma (Y), border = scale, 8-bit outputs.

    python benchmarks/quality.py --data ../shared/data --tasks deblur sr_x2 sr_x4 --budget 120

Writes ``<out>/quality.md`` and ``<out>/quality.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch
from skimage.restoration import richardson_lucy, wiener

from oneshot_lightning.data.degradations import (
    Degradation,
    GaussianBlur,
    KernelBlur,
    noise_generator,
)
from oneshot_lightning.data.io import list_images, read_image, write_image
from oneshot_lightning.data.resize import bicubic_upscale, mod_crop
from oneshot_lightning.metrics import psnr, psnr_y, quantize_8bit, ssim, ssim_y
from oneshot_lightning.models import RestorationModule

ROOT = Path(__file__).resolve().parents[1]
Restore = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Task:
    """A degradation, its scale, the configs that learn to undo it, and its metric convention."""

    degradation: Degradation
    scale: int
    configs: list[str]
    description: str
    metrics: dict[str, Callable] = field(default_factory=dict)


def tasks(border: int, data: Path) -> dict[str, Task]:
    rgb = {"psnr": partial(psnr, border=border), "ssim": partial(ssim, border=border)}
    gaussian = Degradation(GaussianBlur(sigma=1.6, size=15), noise_sigma=0.01)
    motion_kernel = data / "kernels" / "levin09" / "levin09_k1.npy"
    found = {
        "deblur": Task(
            gaussian,
            1,
            ["rnn"],
            f"Gaussian blur sigma 1.6 (15x15, reflect) + noise 0.01, 8-bit; RGB, border {border}",
            rgb,
        )
    }
    if motion_kernel.is_file():
        found["deblur_motion"] = Task(
            Degradation(KernelBlur(str(motion_kernel)), noise_sigma=0.01),
            1,
            ["rnn"],
            f"Levin et al. motion kernel 1 (19x19, reflect) + noise 0.01, 8-bit; RGB, "
            f"border {border}",
            rgb,
        )
    for s in (2, 3, 4):
        configs = [f"sr_x{s}"] + (["sr_x2_bicubic_input"] if s == 2 else [])
        found[f"sr_x{s}"] = Task(
            Degradation(),
            s,
            configs,
            f"bicubic x{s} (MATLAB imresize), 8-bit; Y, border {s}",
            {"psnr_y": partial(psnr_y, border=s), "ssim_y": partial(ssim_y, border=s)},
        )
    return found


def degrade_set(sources: list[Path], task: Task, out_dir: Path, seed: int) -> list[Path]:
    """Degrade each image (own seeded noise) into ``<out_dir>/<stem>.png``; the written paths."""
    written = []
    for index, path in enumerate(sources):
        generator = noise_generator(seed, index + 1)  # as `oneshot test` degrades targets
        clean = mod_crop(read_image(path), task.scale)[None]
        written.append(
            write_image(
                out_dir / f"{path.stem}.png", task.degradation(clean, generator, task.scale)[0]
            )
        )
    return written


def wiener_restore(image: torch.Tensor, kernel: np.ndarray, balance: float) -> torch.Tensor:
    """scikit-image Wiener deconvolution of each channel of (C, H, W); clipped to [0, 1]."""
    channels = [wiener(channel.double().numpy(), kernel, balance) for channel in image]
    return torch.from_numpy(np.stack(channels)).float().clamp(0, 1)


def best_setting(
    restore: Callable[[torch.Tensor, float], torch.Tensor],
    grid: list[float],
    degraded: torch.Tensor,
    clean: torch.Tensor,
    border: int,
) -> float:
    """The value in ``grid`` for which ``restore(degraded, value)`` has the best PSNR."""
    scores = [psnr(restore(degraded, v)[None], clean[None], border).item() for v in grid]
    return grid[int(np.argmax(scores))]


def richardson_lucy_restore(
    image: torch.Tensor, kernel: np.ndarray, iterations: int
) -> torch.Tensor:
    """scikit-image Richardson-Lucy deconvolution of each channel of (C, H, W)."""
    channels = [richardson_lucy(c.double().numpy(), kernel, iterations) for c in image]
    return torch.from_numpy(np.stack(channels)).float().clamp(0, 1)


def train(config: Path, pair: tuple[Path, Path], budget: int, run_dir: Path) -> tuple[Path, float]:
    """Run ``oneshot fit`` on the pair, capped at ``budget`` seconds; (best checkpoint, seconds).

    The config's own schedule (epochs, cosine decay) stands; the budget only cuts it short.
    """
    hours, rest = divmod(budget, 3600)
    command = [
        sys.executable,
        "-m",
        "oneshot_lightning",
        "fit",
        "--config",
        str(config),
        "--data.input",
        str(pair[0]),
        "--data.target",
        str(pair[1]),
        "--trainer.max_time",
        f"00:{hours:02d}:{rest // 60:02d}:{rest % 60:02d}",
        "--trainer.default_root_dir",
        str(run_dir),
    ]
    run_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(run_dir / "fit.log", "w") as log:
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT)
    return run_dir / "checkpoints" / "best.ckpt", time.perf_counter() - start


def evaluate(restore: Restore, inputs: list[Path], targets: list[Path], task: Task) -> dict:
    """Mean of each metric of ``restore`` over the pairs, and its seconds per output MP."""
    values: dict[str, list[float]] = {name: [] for name in task.metrics}
    seconds, pixels = 0.0, 0
    for input_path, target_path in zip(inputs, targets):
        degraded = read_image(input_path)
        clean = mod_crop(read_image(target_path), task.scale)
        start = time.perf_counter()
        restored = restore(degraded)
        seconds += time.perf_counter() - start
        pixels += clean.shape[-1] * clean.shape[-2]
        restored = quantize_8bit(restored)  # as written to an 8-bit PNG
        for name, metric in task.metrics.items():
            values[name].append(metric(restored[None], clean[None]).item())
    means = {name: float(np.mean(v)) for name, v in values.items()}
    return means | {"s_per_mp": seconds / (pixels / 1e6)}


def model_restorer(checkpoint: Path, self_ensemble: bool = False) -> Restore:
    model = RestorationModule.load_from_checkpoint(checkpoint, map_location="cpu").eval()
    model.self_ensemble = self_ensemble

    @torch.inference_mode()
    def restore(image: torch.Tensor) -> torch.Tensor:
        return model.restore(image[None])[0]

    return restore


def run_task(name: str, task: Task, args: argparse.Namespace) -> tuple[list[str], dict]:
    work = args.out / name
    train_clean = args.data / args.train_image
    (train_input,) = degrade_set([train_clean], task, work / "train", args.seed)
    sets = {}
    for set_name in args.sets:
        targets = list_images(args.data / set_name)
        sets[set_name] = (degrade_set(targets, task, work / set_name, args.seed), targets)

    baselines: dict[str, Restore] = {}
    if task.scale == 1:
        baselines["degraded input"] = lambda x: x
        kernel = task.degradation.blur.kernel.double().numpy()
        pair = (read_image(train_input), read_image(train_clean), args.border)
        balance = best_setting(
            lambda x, b: wiener_restore(x, kernel, b), np.logspace(-4, 0, 17).tolist(), *pair
        )
        baselines[f"Wiener (balance {balance:.3g})"] = partial(
            wiener_restore, kernel=kernel, balance=balance
        )
        iterations = int(
            best_setting(
                lambda x, n: richardson_lucy_restore(x, kernel, int(n)), [5, 10, 20, 40, 80], *pair
            )
        )
        baselines[f"Richardson-Lucy ({iterations} iterations)"] = partial(
            richardson_lucy_restore, kernel=kernel, iterations=iterations
        )
    else:
        baselines["bicubic"] = lambda x: bicubic_upscale(x[None], task.scale)[0].clamp(0, 1)

    rows = {
        method: {s: evaluate(fn, *pair, task) for s, pair in sets.items()}
        for method, fn in baselines.items()
    }
    train_seconds = {}
    for config in task.configs:
        checkpoint, seconds = train(
            ROOT / "configs" / f"{config}.yaml",
            (train_input, train_clean),
            args.budget,
            work / "runs" / config,
        )
        train_seconds[config] = seconds
        for ensemble in (False, True) if args.self_ensemble else (False,):
            restore = model_restorer(checkpoint, ensemble)
            label = f"{config} ({seconds:.0f} s)" + (", self-ensemble x8" if ensemble else "")
            rows[label] = {s: evaluate(restore, *pair, task) for s, pair in sets.items()}

    metric_names = " / ".join(task.metrics)
    lines = [
        f"### {name}: {task.description}",
        "",
        "| method | " + " | ".join(f"{s} {metric_names}" for s in sets) + " | s per MP |",
        "|---|" + "---|" * (len(sets) + 1),
    ]
    for method, by_set in rows.items():
        cells = [
            " / ".join(f"{v[m]:.2f}" if "psnr" in m else f"{v[m]:.4f}" for m in task.metrics)
            for v in by_set.values()
        ]
        speed = np.mean([v["s_per_mp"] for v in by_set.values()])
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {speed:.2f} |")
    return [*lines, ""], {"rows": rows, "train_seconds": train_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with kodak24/, set5/, ...")
    parser.add_argument("--tasks", nargs="+", default=["deblur", "sr_x2", "sr_x4"])
    parser.add_argument("--budget", type=int, default=120, help="training seconds per config")
    parser.add_argument("--train-image", default="kodak24/kodim05.png")
    parser.add_argument("--sets", nargs="+", default=["set5", "set14"])
    parser.add_argument("--border", type=int, default=8, help="deblurring metric border")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--self-ensemble", action="store_true", help="also score each model with 8x self-ensemble"
    )
    parser.add_argument("--out", type=Path, default=Path("bench_out"))
    args = parser.parse_args()

    available = tasks(args.border, args.data)
    report = [
        f"Trained on {args.train_image} only; budget {args.budget} s per config. Machine: "
        f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}.",
        "",
    ]
    results = {}
    for name in args.tasks:
        lines, results[name] = run_task(name, available[name], args)
        report += lines
        print("\n".join(lines), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality.md").write_text("\n".join(report) + "\n")
    (args.out / "quality.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

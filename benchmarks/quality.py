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

Test sets are folders of ``--data`` (``set5``, ``set14``, ``bsd68`` and ``set12`` grey,
``kodak24``); the training image is left out of a set that holds it (kodim05 of kodak24), and
the report says so. Grey images go through RGB models with replicated channels.

``--configs NAME ...`` replaces every task's config list with files of ``configs/``; a config
must work at the task's scale (checked against its ``data.scale``), so use it with one task
family: deblurring configs with ``deblur``/``deblur_motion``, an x2 config with ``sr_x2``.

    python benchmarks/quality.py --data ../shared/data --tasks deblur sr_x2 sr_x4 --budget 120
    python benchmarks/quality.py --data ../shared/data --tasks deblur --configs rnn unet_gan
    python benchmarks/quality.py --data ../shared/data --quick   # a few minutes: a smoke run

Writes ``<out>/quality.md`` and ``<out>/quality.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch
import yaml
from skimage.restoration import richardson_lucy, wiener

from oneshot_lightning.checkpoints import load_hyperparameters, model_class_of
from oneshot_lightning.data.degradations import (
    Degradation,
    GaussianBlur,
    KernelBlur,
    noise_generator,
)
from oneshot_lightning.data.io import list_images, read_image, write_image
from oneshot_lightning.functional.resize import bicubic_upscale, mod_crop
from oneshot_lightning.metrics import psnr, psnr_y, quantize_8bit, ssim, ssim_y
from oneshot_lightning.models import RestorationModule

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
Restore = Callable[[torch.Tensor], torch.Tensor]
#: What ``--quick`` runs unless the options are given: a smoke run of a few minutes.
QUICK = {"tasks": ["deblur", "sr_x2"], "sets": ["set5"], "budget": 20}
DEFAULTS = {"tasks": ["deblur", "sr_x2", "sr_x4"], "sets": ["set5", "set14"], "budget": 120}


@dataclass
class Task:
    """A degradation, its scale, the configs that learn to undo it, and its metric convention."""

    degradation: Degradation
    scale: int
    configs: list[str]
    description: str
    metrics: dict[str, Callable] = field(default_factory=dict)


def rgb_metrics(border: int) -> dict[str, Callable]:
    """RGB PSNR and SSIM (data range 1) with ``border`` pixels shaved: the deblurring metrics."""
    return {"psnr": partial(psnr, border=border), "ssim": partial(ssim, border=border)}


def tasks(border: int, data: Path) -> dict[str, Task]:
    rgb = rgb_metrics(border)
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


def tuned_wiener(
    kernel: np.ndarray, degraded: torch.Tensor, clean: torch.Tensor, border: int
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


def richardson_lucy_restore(
    image: torch.Tensor, kernel: np.ndarray, iterations: int
) -> torch.Tensor:
    """scikit-image Richardson-Lucy deconvolution of each channel of (C, H, W)."""
    channels = [richardson_lucy(c.double().numpy(), kernel, iterations) for c in image]
    return torch.from_numpy(np.stack(channels)).float().clamp(0, 1)


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
    override the config and the budget (e.g. ``--trainer.max_steps 1500``).
    """
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
        "--trainer.default_root_dir",
        str(run_dir),
    ]
    if budget is not None:
        hours, rest = divmod(budget, 3600)
        command += ["--trainer.max_time", f"00:{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"]
    command += list(extra)
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


def module_class(checkpoint: Path) -> type[RestorationModule]:
    """The RestorationModule (sub)class a checkpoint was trained with, read without unpickling."""
    return model_class_of(load_hyperparameters(checkpoint)["_class_path"], RestorationModule)


def model_restorer(checkpoint: Path, self_ensemble: bool = False) -> Restore:
    """``restore(image)`` with the checkpoint's model, loaded through its own class."""
    model_class = module_class(checkpoint)
    model = model_class.load_from_checkpoint(checkpoint, map_location="cpu").eval()
    model.self_ensemble = self_ensemble

    @torch.inference_mode()
    def restore(image: torch.Tensor) -> torch.Tensor:
        return model.restore(image[None])[0]

    return restore


def test_images(folder: Path, train_image: Path) -> tuple[list[Path], list[str]]:
    """The images of a test set folder without the training image: (kept, left-out names)."""
    images = list_images(folder)
    kept = [p for p in images if p.resolve() != train_image.resolve()]
    return kept, [p.name for p in images if p not in kept]


def set_notes(args: argparse.Namespace) -> list[str]:
    """One line per test set: its image count and any training image left out of it."""
    notes = []
    for set_name in args.sets:
        kept, left_out = test_images(args.data / set_name, args.data / args.train_image)
        note = f" ({', '.join(left_out)} left out: the training image)" if left_out else ""
        notes.append(f"- {set_name}: {len(kept)} images{note}")
    return notes


def run_task(name: str, task: Task, args: argparse.Namespace) -> tuple[list[str], dict]:
    work = args.out / name
    train_clean = args.data / args.train_image
    (train_input,) = degrade_set([train_clean], task, work / "train", args.seed)
    sets = {}
    for set_name in args.sets:
        targets, _ = test_images(args.data / set_name, train_clean)
        sets[set_name] = (degrade_set(targets, task, work / set_name, args.seed), targets)

    baselines: dict[str, Restore] = {}
    if task.scale == 1:
        baselines["degraded input"] = lambda x: x
        kernel = task.degradation.blur.kernel.double().numpy()
        pair = (read_image(train_input), read_image(train_clean), args.border)
        balance, wiener_fn = tuned_wiener(kernel, *pair)
        baselines[f"Wiener (balance {balance:.3g})"] = wiener_fn
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
            config_path(config),
            (train_input, train_clean),
            args.budget,
            work / "runs" / config,
        )
        train_seconds[config] = seconds
        for ensemble in (False, True) if args.self_ensemble else (False,):
            restore = model_restorer(checkpoint, ensemble)
            label = f"{config} ({seconds:.0f} s)" + (", self-ensemble x8" if ensemble else "")
            rows[label] = {s: evaluate(restore, *pair, task) for s, pair in sets.items()}

    lines = markdown_table(name, task, list(sets), rows)
    return [*lines, ""], {"rows": rows, "train_seconds": train_seconds}


def format_metrics(values: dict[str, float], task: Task) -> str:
    """``psnr / ssim`` as the tables print them (dB to 2 places, SSIM to 4)."""
    return " / ".join(f"{values[m]:.{2 if 'psnr' in m else 4}f}" for m in task.metrics)


def markdown_table(
    name: str, task: Task, set_names: list[str], rows: dict[str, dict[str, dict]]
) -> list[str]:
    """A heading and one table row per method: its metrics per set and mean s per MP."""
    metric_names = " / ".join(task.metrics)
    lines = [
        f"### {name}: {task.description}",
        "",
        "| method | " + " | ".join(f"{s} {metric_names}" for s in set_names) + " | s per MP |",
        "|---|" + "---|" * (len(set_names) + 1),
    ]
    for method, by_set in rows.items():
        cells = [format_metrics(v, task) for v in by_set.values()]
        speed = np.mean([v["s_per_mp"] for v in by_set.values()])
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {speed:.2f} |")
    return lines


def run_and_report(
    run: Callable[[str, Task, argparse.Namespace], tuple[list[str], dict]],
    available: dict[str, Task],
    args: argparse.Namespace,
    report: list[str],
    stem: str,
) -> None:
    """Run each of ``args.tasks``, print its table, write ``<out>/<stem>.md`` and ``.json``."""
    results = {}
    for name in args.tasks:
        lines, results[name] = run(name, available[name], args)
        report += lines
        print("\n".join(lines), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.md").write_text("\n".join(report) + "\n")
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options, with ``--quick`` defaults filled in and tasks, sets and configs checked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with kodak24/, set5/, ...")
    parser.add_argument("--tasks", nargs="+", help=f"default {' '.join(DEFAULTS['tasks'])}")
    parser.add_argument(
        "--configs",
        nargs="+",
        help="config names in configs/ to run for every task, instead of each task's own "
        "(they must fit the tasks' scale: use with one task family)",
    )
    parser.add_argument("--budget", type=int, help="training seconds per config (default 120)")
    parser.add_argument("--train-image", default="kodak24/kodim05.png")
    parser.add_argument(
        "--sets", nargs="+", help="test set folders of --data: set5 set14 bsd68 set12 kodak24"
    )
    parser.add_argument("--border", type=int, default=8, help="deblurring metric border")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--self-ensemble", action="store_true", help="also score each model with 8x self-ensemble"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few minutes: tasks deblur sr_x2, set5, 20 s budget (unless given)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench_out"))
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)

    available = tasks(args.border, args.data)
    unknown = [name for name in args.tasks if name not in available]
    if unknown:
        parser.error(f"unknown task(s) {', '.join(unknown)}; known: {', '.join(available)}")
    missing = [s for s in args.sets if not (args.data / s).is_dir()]
    if missing:
        parser.error(f"no test set folder {', '.join(str(args.data / s) for s in missing)}")
    for name in args.tasks if args.configs is not None else ():
        for config in args.configs:
            problem = config_problem(config, available[name].scale)
            if problem is not None:
                parser.error(f"--configs for task {name}: {problem}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    available = tasks(args.border, args.data)
    if args.configs is not None:
        for name in args.tasks:
            available[name].configs = list(args.configs)
    report = [
        f"Trained on {args.train_image} only; budget {args.budget} s per config. Machine: "
        f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}.",
        "Test sets:",
        *set_notes(args),
        "",
    ]
    run_and_report(run_task, available, args, report, "quality")


if __name__ == "__main__":
    main()

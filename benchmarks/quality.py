"""Quality benchmark: learn from ONE degraded/clean pair, restore whole test sets.

For each task and config: degrade the training image, train through the real ``oneshot fit``
CLI (capped at ``--budget`` seconds), then restore every degraded test image and compare with
baselines computed in the same run, every method scored by the package's own test loop
(``benchmarks/scoring.py``).

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
``--baselines-only`` trains nothing: the baseline rows alone, in a few minutes.

    python -m benchmarks.quality --data ../shared/data --tasks deblur sr_x2 sr_x4 --budget 120
    python -m benchmarks.quality --data ../shared/data --tasks deblur --configs rnn unet_gan
    python -m benchmarks.quality --data ../shared/data --quick   # a few minutes: a smoke run

Writes ``<out>/quality.md`` and ``<out>/quality.json``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.baselines import (
    Restore,
    bicubic,
    identity,
    score_baselines,
    tuned_richardson_lucy,
    tuned_wiener,
)
from benchmarks.degraded_sets import TRAIN_IMAGE, set_images, task_data
from benchmarks.reports import machine, method_table, run_and_report
from benchmarks.scoring import evaluate
from benchmarks.tasks import Task, tasks
from benchmarks.training import config_path, config_problem, load_model, train
from oneshot_lightning.data.io import read_image

#: What ``--quick`` runs unless the options are given: a smoke run of a few minutes.
QUICK: dict[str, Any] = {"tasks": ["deblur", "sr_x2"], "sets": ["set5"], "budget": 20}
DEFAULTS: dict[str, Any] = {
    "tasks": ["deblur", "sr_x2", "sr_x4"],
    "sets": ["set5", "set14"],
    "budget": 120,
}


def set_notes(args: argparse.Namespace) -> list[str]:
    """One line per test set: its image count and any training image left out of it."""
    notes = []
    for set_name in args.sets:
        kept, left_out = set_images(args.data / set_name, args.data / args.train_image)
        note = f" ({', '.join(left_out)} left out: the training image)" if left_out else ""
        notes.append(f"- {set_name}: {len(kept)} images{note}")
    return notes


def baselines(task: Task, train_input: Path, train_clean: Path, border: int) -> dict[str, Restore]:
    """The task's baselines by table label; deblurring ones tuned on the training pair."""
    if task.scale > 1:
        return {"bicubic": partial(bicubic, scale=task.scale)}
    pair = (read_image(train_input), read_image(train_clean), border)
    balance, wiener = tuned_wiener(task.kernel, *pair)
    iterations, richardson_lucy = tuned_richardson_lucy(task.kernel, *pair)
    return {
        "degraded input": identity,
        f"Wiener (balance {balance:.3g})": wiener,
        f"Richardson-Lucy ({iterations} iterations)": richardson_lucy,
    }


def run_task(name: str, task: Task, args: argparse.Namespace) -> tuple[list[str], dict]:
    """Baselines and every config of ``task`` on each set; (markdown lines, results)."""
    work = args.out / name
    train_input, train_clean, sets = task_data(name, task, args)
    rows = score_baselines(baselines(task, train_input, train_clean, args.border), sets, task)
    train_seconds = {}
    for config in [] if args.baselines_only else task.configs:
        checkpoint, seconds = train(
            config_path(config),
            (train_input, train_clean),
            args.budget,
            work / "runs" / config,
        )
        train_seconds[config] = seconds
        for ensemble in (False, True) if args.self_ensemble else (False,):
            model = load_model(checkpoint, ensemble)
            label = f"{config} ({seconds:.0f} s)" + (", self-ensemble x8" if ensemble else "")
            rows[label] = {s: evaluate(model, test_set, task) for s, test_set in sets.items()}

    lines = method_table(name, task, list(sets), rows)
    return [*lines, ""], {"rows": rows, "train_seconds": train_seconds}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options, with ``--quick`` defaults filled in and tasks, sets and configs checked."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with kodak24/, set5/, ...")
    parser.add_argument("--tasks", nargs="+", help=f"default {' '.join(DEFAULTS['tasks'])}")
    parser.add_argument(
        "--configs",
        nargs="+",
        help="config names in configs/ to run for every task, instead of each task's own "
        "(they must fit the tasks' scale: use with one task family)",
    )
    parser.add_argument("--budget", type=int, help="training seconds per config (default 120)")
    parser.add_argument(
        "--baselines-only", action="store_true", help="train nothing: the baseline rows alone"
    )
    parser.add_argument("--train-image", default=TRAIN_IMAGE)
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
    """Run the benchmark on the command line's tasks and sets; write the report."""
    args = parse_args(argv)
    available = tasks(args.border, args.data)
    if args.configs is not None:
        for name in args.tasks:
            available[name].configs = list(args.configs)
    budget = "no training" if args.baselines_only else f"budget {args.budget} s per config"
    report = [
        f"Trained on {args.train_image} only; {budget}. Machine: {machine()}.",
        "Test sets:",
        *set_notes(args),
        "",
    ]
    run_and_report(run_task, available, args, report, "quality")


if __name__ == "__main__":
    main()

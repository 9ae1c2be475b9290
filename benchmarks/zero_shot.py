"""Zero-shot benchmark: learn from each degraded test image alone, then restore that image.

For every test image: degrade it (the benchmark input), train
``oneshot fit --config configs/<config>.yaml --data.input <degraded image>`` on it alone (no
clean image anywhere: the model learns to undo one more degradation of the image itself),
stopped by the config's step count or ``--budget`` seconds, whichever comes first, then
restore the degraded image with the best checkpoint and score it against the clean original
with the package's test loop (``benchmarks/common.py``). Training runs in this process
through the CLI's ``main`` (start-up paid once; the time per image is the whole ``fit`` call:
set-up, training, validation, checkpoints).

- ``sr_x2``: MATLAB-style bicubic x2, 8-bit; PSNR/SSIM on MATLAB luma (Y), border 2, 8-bit
  outputs. Rows: bicubic; the pair mode (``configs/sr_x2.yaml`` trained on one clean/degraded
  pair, ``--train-image``); zero-shot (``configs/zssr_x2.yaml``); ZSSR's published figures.
- ``deblur``: Gaussian blur sigma 1.6 (15x15, reflect) + noise 0.01, 8-bit; RGB PSNR/SSIM,
  ``--border`` shaved. Rows: the degraded input; Wiener (true kernel, balance tuned on the
  ``--train-image`` pair as the quality benchmark does); the pair mode (``configs/rnn.yaml``);
  zero-shot (``configs/zero_shot_deblur.yaml``).

    python -m benchmarks.zero_shot --data ../shared/data --budget 60 --out bench_out/zero_shot

Writes ``<out>/zero_shot.md`` and ``<out>/zero_shot.json``.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import shutil
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.common import (
    CONFIGS,
    TRAIN_IMAGE,
    Restore,
    Scores,
    Task,
    baseline_model,
    bicubic,
    clock,
    degrade_set,
    degrade_training_image,
    evaluate,
    evaluate_pair,
    format_metrics,
    identity,
    load_model,
    machine,
    method_table,
    per_image,
    run_and_report,
    tasks,
    train,
    tuned_wiener,
)
from oneshot_lightning.cli import main as oneshot
from oneshot_lightning.data.io import list_images, read_image

#: Zero-shot config and pair-mode config of each task.
TASK_CONFIGS = {"sr_x2": ("zssr_x2", "sr_x2"), "deblur": ("zero_shot_deblur", "rnn")}
#: Shocher et al., "Zero-Shot" Super-Resolution using Deep Internal Learning, CVPR 2018,
#: Table 1 (PSNR-Y, bicubic kernel): trained on each test image, about a minute per image on
#: a GPU.
ZSSR_PUBLISHED = {"sr_x2": {"set5": 37.37, "set14": 33.00}}


def train_zero_shot(
    config: Path, image: Path, budget: int, run_dir: Path, extra: list[str]
) -> tuple[Path, float, int]:
    """``oneshot fit`` on ``image`` alone, in-process; (best checkpoint, seconds, steps run)."""
    shutil.rmtree(run_dir, ignore_errors=True)  # a rerun replaces this benchmark's own runs
    start = time.perf_counter()
    oneshot(
        [
            "fit",
            "--config",
            str(config),
            "--data.input",
            str(image),
            "--trainer.max_time",
            clock(budget),
            "--trainer.default_root_dir",
            str(run_dir),
            "--trainer.enable_progress_bar",
            "false",
            "--trainer.enable_model_summary",
            "false",
            *extra,
        ]
    )
    seconds = time.perf_counter() - start
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    return run_dir / "checkpoints" / "best.ckpt", seconds, int(last["global_step"])


def baselines(task: Task, train_input: Path, args: argparse.Namespace) -> dict[str, Restore]:
    """Bicubic, or the degraded input and Wiener tuned on the pair; by table label."""
    if task.scale > 1:
        return {"bicubic": partial(bicubic, scale=task.scale)}
    pair = (read_image(train_input), read_image(args.data / args.train_image), args.border)
    balance, wiener = tuned_wiener(task.kernel, *pair)
    label = f"Wiener, true kernel (balance {balance:.3g}, tuned on {args.train_image})"
    return {"degraded input": identity, label: wiener}


def run_task(name: str, task: Task, args: argparse.Namespace) -> tuple[list[str], dict]:
    """Baselines, pair mode and per-image zero-shot on each set; (markdown lines, results)."""
    work = args.out / name
    zero_shot_config, pair_config = (CONFIGS / f"{c}.yaml" for c in TASK_CONFIGS[name])
    set_names = args.sets if task.scale > 1 else args.deblur_sets
    sets = {}
    for set_name in set_names:
        targets = list_images(args.data / set_name)[: args.limit]
        sets[set_name] = degrade_set(targets, task, work / set_name, args.seed)

    train_clean = args.data / args.train_image
    train_input = degrade_training_image(train_clean, task, work / "train", args.seed)
    rows: dict[str, Scores] = {}
    first_rows: dict[str, dict[str, dict[str, Any]]] = {}  # the first baseline, per image
    for method, function in baselines(task, train_input, args).items():
        model = baseline_model(function, task)
        rows[method] = {}
        for set_name, test_set in sets.items():
            rows[method][set_name], by_image = per_image(model, test_set, task)
            first_rows.setdefault(set_name, by_image)

    if args.pair_budget > 0:
        checkpoint, seconds = train(
            pair_config, (train_input, train_clean), args.pair_budget, work / "pair"
        )
        label = f"pair mode: {pair_config.stem} on {args.train_image} ({seconds:.0f} s, once)"
        model = load_model(checkpoint)
        rows[label] = {s: evaluate(model, test_set, task) for s, test_set in sets.items()}

    per_image_rows: dict[str, list[dict]] = {}
    zero_shot: dict[str, dict] = {}
    for set_name, test_set in sets.items():
        per_image_rows[set_name] = []
        for target_path in list_images(test_set.targets):
            input_path = test_set.inputs / f"{target_path.stem}.png"
            run_dir = work / "zero_shot" / set_name / input_path.stem
            checkpoint, seconds, steps = train_zero_shot(
                zero_shot_config, input_path, args.budget, run_dir, args.fit_args
            )
            scores = evaluate_pair(load_model(checkpoint), input_path, target_path, task)
            first = first_rows[set_name][target_path.stem]
            baseline = {key: first[key] for key in [*task.metrics, "s_per_mp"]}
            row = {"image": input_path.stem, "seconds": seconds, "steps": steps}
            row |= {f"baseline_{k}": v for k, v in baseline.items()} | scores
            per_image_rows[set_name].append(row)
            print(
                f"{name} {set_name}/{input_path.stem}: {format_metrics(baseline, task)} -> "
                f"{format_metrics(scores, task)} ({seconds:.0f} s, {steps} steps)",
                flush=True,
            )
        zero_shot[set_name] = {
            key: float(np.mean([r[key] for r in per_image_rows[set_name]]))
            for key in [*task.metrics, "s_per_mp", "seconds"]
        }
    seconds_run = [r["seconds"] for rs in per_image_rows.values() for r in rs]
    label = (
        f"**zero-shot: {zero_shot_config.stem}, on each image alone** "
        f"({np.mean(seconds_run):.0f} s mean, {max(seconds_run):.0f} s max per image)"
    )
    rows[label] = zero_shot

    lines = method_table(name, task, list(sets), rows)
    published = ZSSR_PUBLISHED.get(name, {})
    if published:
        cells = [f"{published[s]:.2f} / -" if s in published else "-" for s in sets]
        lines.append(
            "| ZSSR, published (Shocher et al. 2018, Table 1; GPU, ~1 min per image) | "
            + " | ".join(cells)
            + " | - |"
        )
    first_label = next(iter(rows))
    lines += [
        "",
        f"Per image ({first_label} -> zero-shot {' / '.join(task.metrics)}, training seconds, "
        "steps):",
        "",
        "| set | image | " + first_label + " | zero-shot | s | steps |",
        "|---|---|---|---|---|---|",
    ]
    for set_name, image_rows in per_image_rows.items():
        for r in image_rows:
            baseline = {m: r[f"baseline_{m}"] for m in task.metrics}
            lines.append(
                f"| {set_name} | {r['image']} | {format_metrics(baseline, task)} | "
                f"{format_metrics(r, task)} | {r['seconds']:.0f} | {r['steps']} |"
            )
    results = {"rows": rows, "per_image": per_image_rows, "zssr_published": published}
    return [*lines, ""], results


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options, with ``--quick`` settings applied."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with set5/, set14/, ...")
    parser.add_argument("--tasks", nargs="+", default=["sr_x2", "deblur"], choices=TASK_CONFIGS)
    parser.add_argument("--budget", type=int, default=60, help="training seconds per image")
    parser.add_argument(
        "--pair-budget", type=int, default=120, help="pair-mode training seconds (0: skip it)"
    )
    parser.add_argument("--train-image", default=TRAIN_IMAGE, help="pair-mode pair")
    parser.add_argument("--sets", nargs="+", default=["set5", "set14"], help="for sr_x2")
    parser.add_argument("--deblur-sets", nargs="+", default=["set5"])
    parser.add_argument("--limit", type=int, default=None, help="first N images of each set")
    parser.add_argument("--border", type=int, default=8, help="deblurring metric border")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--fit-args", type=shlex.split, default=[], help="extra zero-shot fit flags, one string"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 2 images a set, 10 s each, no pair mode"
    )
    parser.add_argument("--out", type=Path, default=Path("bench_out/zero_shot"))
    args = parser.parse_args(argv)
    if args.quick:
        args.limit, args.budget, args.pair_budget = 2, 10, 0
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark on the command line's tasks and sets; write the report."""
    args = parse_args(argv)
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)

    available = tasks(args.border, args.data)
    report = [
        f"Zero-shot: trained on each degraded test image alone, at most {args.budget} s each "
        f"(`--fit-args` {shlex.join(args.fit_args) or 'none'}); pair mode trained once on "
        f"{args.train_image}"
        + (f" ({args.pair_budget} s cap)" if args.pair_budget > 0 else " (skipped)")
        + f". Machine: {machine()}.",
        "",
    ]
    run_and_report(run_task, available, args, report, "zero_shot")


if __name__ == "__main__":
    main()

"""Zero-shot benchmark: learn from each degraded test image alone, then restore that image.

For every test image: degrade it (the benchmark input), train
``oneshot fit --config configs/<config>.yaml --data.input <degraded image>`` on it alone (no
clean image anywhere: the model learns to undo one more degradation of the image itself),
stopped by the config's step count or ``--budget`` seconds, whichever comes first, then
restore the degraded image with the best checkpoint and score it against the clean original
with the package's test loop (``benchmarks/scoring.py``). Training runs in this process
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

from benchmarks.baselines import Restore, baseline_model, bicubic, identity, tuned_wiener
from benchmarks.degraded_sets import TRAIN_IMAGE, degrade_set, degrade_training_image
from benchmarks.reports import format_metrics, machine, method_table, run_and_report
from benchmarks.scoring import Scores, evaluate, evaluate_pair, per_image
from benchmarks.tasks import Task, tasks
from benchmarks.training import CONFIGS, clock, load_model, train
from oneshot_lightning.cli import main as oneshot
from oneshot_lightning.data.io import list_images, read_image, write_image

#: Zero-shot config and pair-mode config of each task.
TASK_CONFIGS = {
    "sr_x2": ("zssr_x2", "sr_x2"),
    "sr_x4": ("zssr_x4", "sr_x4"),
    "deblur": ("zero_shot_deblur", "rnn"),
}
#: Shocher et al., "Zero-Shot" Super-Resolution using Deep Internal Learning, CVPR 2018,
#: Table 1 (PSNR-Y, bicubic kernel): trained on each test image, about a minute per image on
#: a GPU.
ZSSR_PUBLISHED = {
    "sr_x2": {"set5": 37.37, "set14": 33.00},
    "sr_x4": {"set5": 31.13, "set14": 28.01},
}


def set_sources(data: Path, spec: str, folder: Path, limit: int | None) -> list[Path]:
    """The clean images of the set ``spec``: a folder of ``data``, or ``NAME:SIDE``.

    ``NAME:SIDE`` stands for the SIDE x SIDE centre crops of ``data/NAME``'s images (written to
    ``folder``), e.g. ``kodak24:256``: small photos, whose x2 inputs are 128 x 128.
    """
    name, _, side = spec.partition(":")
    sources = list_images(data / name)[:limit]
    if not side:
        return sources
    size = int(side)
    shutil.rmtree(folder, ignore_errors=True)
    crops = []
    for path in sources:
        image = read_image(path)
        top, left = (image.shape[-2] - size) // 2, (image.shape[-1] - size) // 2
        crops.append(folder / f"{path.stem}.png")
        write_image(crops[-1], image[:, top : top + size, left : left + size])
    return crops


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
        folder = work / set_name.replace(":", "_")
        targets = set_sources(args.data, set_name, folder / "clean", args.limit)
        sets[set_name] = degrade_set(targets, task, folder, args.seed)

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
            run_dir = work / "zero_shot" / set_name.replace(":", "_") / input_path.stem
            checkpoint, seconds, steps = train_zero_shot(
                zero_shot_config, input_path, args.budget, run_dir, args.fit_args
            )
            model = load_model(checkpoint, args.self_ensemble)
            scores = evaluate_pair(model, input_path, target_path, task)
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
    first_label, metric = next(iter(rows)), task.metrics[0]
    lines += [
        "",
        f"Per image ({first_label} -> zero-shot {' / '.join(task.metrics)}, the gain in "
        f"{metric}, training steps and seconds, restore seconds):",
        "",
        f"| set | image | {first_label} | zero-shot | gain | steps | fit s | restore s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for set_name, image_rows in per_image_rows.items():
        for r in image_rows:
            baseline = {m: r[f"baseline_{m}"] for m in task.metrics}
            restore_seconds = r["s_per_mp"] * sets[set_name].megapixels[r["image"]]
            lines.append(
                f"| {set_name} | {r['image']} | {format_metrics(baseline, task)} | "
                f"{format_metrics(r, task)} | {r[metric] - baseline[metric]:+.2f} | "
                f"{r['steps']} | {r['seconds']:.0f} | {restore_seconds:.1f} |"
            )
    lines += [
        "",
        f"Gain over {first_label} in {metric}, per set: mean / smallest / images below:",
        "",
    ]
    for set_name, image_rows in per_image_rows.items():
        gains = [r[metric] - r[f"baseline_{metric}"] for r in image_rows]
        below = sum(gain < 0 for gain in gains)
        lines.append(
            f"- {set_name}: {np.mean(gains):+.2f} / {min(gains):+.2f} / {below} of {len(gains)}"
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
    parser.add_argument(
        "--sets",
        nargs="+",
        default=["set5", "set14"],
        help="for super-resolution; NAME:SIDE for the SIDE x SIDE centre crops (kodak24:256)",
    )
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
    parser.add_argument(
        "--self-ensemble",
        action="store_true",
        help="restore the zero-shot models with --model.self_ensemble true, as README says",
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
        f"(`--fit-args` {shlex.join(args.fit_args) or 'none'}), restored "
        f"{'with' if args.self_ensemble else 'without'} the self-ensemble; pair mode trained "
        "once on "
        f"{args.train_image}"
        + (f" ({args.pair_budget} s cap)" if args.pair_budget > 0 else " (skipped)")
        + f". Machine: {machine()}.",
        "",
    ]
    run_and_report(run_task, available, args, report, "zero_shot")


if __name__ == "__main__":
    main()

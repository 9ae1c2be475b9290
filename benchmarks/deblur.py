"""Deblurring benchmark: large and motion blur, a camera chain, against the classical methods.

For each task (Levin et al.'s 8 recorded camera-shake kernels, 13x13 to 27x27, + noise 0.01;
a camera chain: defocus disk, shot + read noise, JPEG; the Gaussian task of the quality
benchmark), one training pair (``--train-image`` and its degraded version) and, in the same
run: the degraded input; scikit-image's Wiener filter and Richardson-Lucy given the TRUE
kernel (balance / iterations tuned on the training pair); Wiener with the kernel ESTIMATED
from the training pair (``functional.estimate_kernel``, balance tuned likewise); and each
config trained on the pair through the CLI (capped at ``--budget`` seconds). Metrics: RGB
PSNR/SSIM, ``--border`` pixels shaved, 8-bit outputs, by the package's test loop.

    python -m benchmarks.deblur --data ../shared/data --configs deblur rnn --budget 120

Writes ``<out>/deblur.md`` (a table per task, the kernel estimates, the gains over Wiener
with the true kernel) and ``<out>/deblur.json``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.baselines import (
    Restore,
    identity,
    score_baselines,
    tuned_richardson_lucy,
    tuned_wiener,
)
from benchmarks.degraded_sets import TRAIN_IMAGE, task_data
from benchmarks.reports import machine, markdown_table, method_table, run_and_report
from benchmarks.scoring import evaluate
from benchmarks.tasks import Task, tasks
from benchmarks.training import config_path, config_problem, load_model, train
from oneshot_lightning.data.io import read_image
from oneshot_lightning.functional.kernel_estimation import estimate_kernel
from oneshot_lightning.models import Deconvolution

TASKS = [*(f"levin{index}" for index in range(1, 9)), "camera", "deblur"]
#: The row every gain is measured against.
REFERENCE = "Wiener, true kernel"
#: The configs' deconvolution first stage alone: what the learned part starts from.
FIRST_STAGE = "first stage alone (estimated kernel, boundary-aware Tikhonov)"


def kernel_error(estimate: np.ndarray, truth: np.ndarray) -> float:
    """Relative l2 error of a kernel estimate, both centred on one zero-padded grid."""
    side = max(estimate.shape[0], truth.shape[0])

    def centred(kernel: np.ndarray) -> np.ndarray:
        pad = (side - kernel.shape[0]) // 2
        return np.pad(kernel, pad)

    return float(np.linalg.norm(centred(estimate) - centred(truth)) / np.linalg.norm(truth))


def run_task(name: str, task: Task, args: argparse.Namespace) -> tuple[list[str], dict]:
    """Baselines, the kernel estimate and every config on each set; (markdown, results)."""
    work = args.out / name
    train_input, train_clean, sets = task_data(name, task, args)
    degraded, clean = read_image(train_input), read_image(train_clean)
    start = time.perf_counter()
    estimate = estimate_kernel(degraded, clean)
    estimate_seconds = time.perf_counter() - start
    estimated = estimate.kernel.double().numpy()
    pair = (degraded, clean, args.border)
    balance, wiener = tuned_wiener(task.kernel, *pair)
    estimated_balance, estimated_wiener = tuned_wiener(estimated, *pair)
    iterations, richardson_lucy = tuned_richardson_lucy(task.kernel, *pair)
    first_stage = Deconvolution()
    first_stage.set_degradation(estimate.kernel, estimate.noise_sigma)
    first_stage.tune(degraded[None], clean[None], estimate.noise_sigma, args.border)
    baselines: dict[str, Restore] = {
        "degraded input": identity,
        REFERENCE: wiener,
        "Richardson-Lucy, true kernel": richardson_lucy,
        "Wiener, estimated kernel": estimated_wiener,
        FIRST_STAGE: first_stage.eval(),
    }
    rows = score_baselines(baselines, sets, task)
    train_seconds = {}
    for config in args.configs:
        label = Path(config).stem  # a config named by path keeps its file's name
        checkpoint, seconds = train(
            config_path(config), (train_input, train_clean), args.budget, work / "runs" / label
        )
        train_seconds[label] = seconds
        model = load_model(checkpoint, args.self_ensemble)
        rows[label] = {s: evaluate(model, test, task) for s, test in sets.items()}
    kernel = {
        "true_size": int(task.kernel.shape[0]),
        "estimated_size": int(estimated.shape[0]),
        "relative_error": kernel_error(estimated, task.kernel),
        "noise_sigma": estimate.noise_sigma,
        "seconds": estimate_seconds,
        "balance": balance,
        "estimated_balance": estimated_balance,
        "richardson_lucy_iterations": iterations,
    }
    lines = method_table(name, task, list(sets), rows)
    notes = (
        f"Wiener balance {balance:.3g} (true kernel), {estimated_balance:.3g} (estimated); "
        f"Richardson-Lucy {iterations} iterations"
        + "".join(f"; training {name} {seconds:.0f} s" for name, seconds in train_seconds.items())
    )
    results = {"rows": rows, "train_seconds": train_seconds, "kernel": kernel}
    return [*lines, "", notes, ""], results


def summary(results: dict[str, dict], set_names: Sequence[str]) -> list[str]:
    """Gains in PSNR over Wiener with the true kernel, per task and set, and their means."""
    methods = [m for m in next(iter(results.values()))["rows"] if m != REFERENCE]
    header = ["task", *(f"{s} {REFERENCE}" for s in set_names)]
    header += [f"{s} {m}" for m in methods for s in set_names]
    cells: list[list[str]] = []
    gains: dict[tuple[str, str], list[float]] = {(m, s): [] for m in methods for s in set_names}
    for name, result in results.items():
        rows = result["rows"]
        row = [name, *(f"{rows[REFERENCE][s]['psnr']:.2f}" for s in set_names)]
        for method in methods:
            for s in set_names:
                gain = rows[method][s]["psnr"] - rows[REFERENCE][s]["psnr"]
                gains[method, s].append(gain)
                row.append(f"{gain:+.2f}")
        cells.append(row)
    cells.append(
        ["mean", *("" for _ in set_names)]
        + [f"{np.mean(gains[m, s]):+.2f}" for m in methods for s in set_names]
    )
    title = "### PSNR gain over Wiener with the true kernel (dB)"
    return [title, "", *markdown_table(header, cells)]


def kernel_table(results: dict[str, dict]) -> list[str]:
    """The kernel estimates: sizes, relative error, noise level, seconds."""
    header = ["task", "true size", "estimated size", "relative l2 error", "noise sigma", "s"]
    cells = [
        [
            name,
            str(result["kernel"]["true_size"]),
            str(result["kernel"]["estimated_size"]),
            f"{result['kernel']['relative_error']:.3f}",
            f"{result['kernel']['noise_sigma']:.4f}",
            f"{result['kernel']['seconds']:.1f}",
        ]
        for name, result in results.items()
    ]
    return ["### Kernel estimated from the training pair", "", *markdown_table(header, cells)]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options, checked."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with set5/, kernels/, ...")
    parser.add_argument("--tasks", nargs="+", default=TASKS, help=f"default {' '.join(TASKS)}")
    parser.add_argument("--configs", nargs="*", default=["deblur", "rnn"], help="none: baselines")
    parser.add_argument("--budget", type=int, default=120, help="training seconds per config")
    parser.add_argument("--train-image", default=TRAIN_IMAGE)
    parser.add_argument("--sets", nargs="+", default=["set5", "set14"])
    parser.add_argument("--border", type=int, default=8, help="metric border")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--self-ensemble", action="store_true", help="score models with x8")
    parser.add_argument("--out", type=Path, default=Path("bench_out/deblur"))
    args = parser.parse_args(argv)
    available = tasks(args.border, args.data)
    unknown = [name for name in args.tasks if name not in available]
    if unknown:
        parser.error(f"unknown task(s) {', '.join(unknown)}; known: {', '.join(TASKS)}")
    for config in args.configs:
        problem = config_problem(config, 1)
        if problem is not None:
            parser.error(problem)
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Run the tasks; write the report."""
    args = parse_args(argv)
    available = tasks(args.border, args.data)
    report = [
        f"Trained on {args.train_image} only; budget {args.budget} s per config. "
        f"Machine: {machine()}.",
        "",
    ]
    results = run_and_report(run_task, available, args, report, "deblur")
    extra = ["", *summary(results, args.sets), "", *kernel_table(results), ""]
    print("\n".join(extra), flush=True)
    with open(args.out / "deblur.md", "a") as handle:
        handle.write("\n".join(extra) + "\n")


if __name__ == "__main__":
    main()

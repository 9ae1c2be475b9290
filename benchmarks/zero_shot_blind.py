"""Blind zero-shot super-resolution on photos shrunk by random camera-like kernels (DIV2KRK-style).

Protocol (after DIV2KRK, Bell-Kligler et al. 2019): for image i, a kernel is drawn with seed
i: an anisotropic Gaussian whose covariance has eigenvalues U(0.6, 5) (high-resolution
pixels squared), rotated by U(0, 180) degrees, each tap multiplied by U(0.75, 1.25), then
normalised; 16 x 16, centred on each low-resolution pixel's block
(``functional.downscaling``). x2: the clean image shrunk once by it; x4: shrunk twice by it
(the x4 kernel is the two steps' composition, as KernelGAN derives its x4 kernel from the x2
one). 8-bit. Scored as the SR benchmarks score: PSNR/SSIM on MATLAB luma, border s.

Rows: bicubic; zero-shot assuming bicubic (``zssr_x{s}``); blind zero-shot
(``zssr_blind_x{s}``, the kernel estimated from the input alone); the same config given the
true kernel (``zssr_blind_x{s}`` with ``KernelDownscale(path=...)``): the upper reference, with
the same net and back-projection. Each image also gets the relative l2 error of the estimated
kernel, and of the bicubic kernel (the x2 step's: the x4 configs learn and estimate the x2
step, run twice). "Bicubic assumed" names
MATLAB's bicubic as the photo's routine (``downscale.init_args.routine bicubic``), ZSSR's
default.

    python -m benchmarks.zero_shot_blind --data ../shared/data --set kodak24:256 --scale 2

Writes ``<out>/zero_shot_blind_x{s}.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path

import numpy as np
import torch

from benchmarks.baselines import baseline_model, bicubic
from benchmarks.reports import machine
from benchmarks.scoring import evaluate_pair
from benchmarks.tasks import Task, tasks
from benchmarks.training import CONFIGS, load_model
from benchmarks.zero_shot import set_sources, train_zero_shot
from oneshot_lightning.data.io import read_image, write_image
from oneshot_lightning.functional import (
    bicubic_kernel,
    downscaling_gaussian,
    kernel_downscale,
    quantize,
    relative_error,
)

SR_SCALE = 2  # each step's factor; x4 is two steps


def random_kernel(seed: int) -> torch.Tensor:
    """(16, 16) the DIV2KRK-style x2 kernel of image ``seed`` (see the module docstring)."""
    generator = torch.Generator().manual_seed(seed)
    variances = 0.6 + 4.4 * torch.rand(2, generator=generator, dtype=torch.float64)
    angle = 180 * float(torch.rand(1, generator=generator))
    sigma, sigma_y = (float(v) ** 0.5 for v in variances)
    kernel = downscaling_gaussian(SR_SCALE, sigma, sigma_y, angle).double()
    noise = torch.rand(kernel.shape, generator=generator, dtype=torch.float64)
    kernel = kernel * (0.75 + 0.5 * noise)
    return (kernel / kernel.sum()).float()


def shrink(image: torch.Tensor, kernel: torch.Tensor, scale: int) -> torch.Tensor:
    """(C, H, W) shrunk by ``kernel`` log2(``scale``) times, 8-bit."""
    out = image[None]
    for _ in range(int(np.log2(scale))):
        out = kernel_downscale(out, kernel, SR_SCALE)
    return quantize(out.clamp(0, 1))[0]


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--set", default="kodak24:256", help="a folder of --data, or NAME:SIDE")
    parser.add_argument("--scale", type=int, choices=(2, 4), default=2)
    parser.add_argument("--limit", type=int, default=None, help="first N images only")
    parser.add_argument("--budget", type=int, default=60, help="seconds per zero-shot fit")
    parser.add_argument("--out", type=Path, default=Path("bench_out/zero_shot_blind"))
    args = parser.parse_args(argv)
    scale, work = args.scale, args.out / f"x{args.scale}"
    task = tasks(0, args.data)[f"sr_x{scale}"]
    configs: dict[str, tuple[Path, list[str]]] = {
        "zero-shot, bicubic assumed": (
            CONFIGS / f"zssr_x{scale}.yaml",
            ["--data.degradation.init_args.downscale.init_args.routine", "bicubic"],
        ),
        "blind zero-shot": (CONFIGS / f"zssr_blind_x{scale}.yaml", []),
    }
    rows: list[dict] = []
    sources = set_sources(args.data, args.set, work / "clean", args.limit)
    for index, source in enumerate(sources):
        clean = read_image(source)
        clean = clean[..., : clean.shape[-2] // scale * scale, : clean.shape[-1] // scale * scale]
        kernel = random_kernel(index)
        target = work / "targets" / f"{source.stem}.png"
        degraded = work / "lr" / f"{source.stem}.png"
        kernel_file = work / "kernels" / f"{source.stem}.npy"
        kernel_file.parent.mkdir(parents=True, exist_ok=True)
        np.save(kernel_file, kernel.double().numpy())
        write_image(target, clean)
        write_image(degraded, shrink(clean, kernel, scale))
        path_arg = "--data.degradation.init_args.downscale.init_args.path"
        true_kernel = [
            "--data.degradation.init_args.downscale",
            "oneshot_lightning.data.degradations.KernelDownscale",
            path_arg,
            str(kernel_file),
        ]
        true_run = (CONFIGS / f"zssr_blind_x{scale}.yaml", true_kernel)
        runs = configs | {"zero-shot, true kernel": true_run}
        bicubic_error = relative_error(bicubic_kernel(SR_SCALE), kernel)
        row: dict = {"image": source.stem, "kernel_error_bicubic": bicubic_error}
        baseline = baseline_model(partial(bicubic, scale=scale), task)
        row["bicubic"] = evaluate_pair(baseline, degraded, target, task)
        for label, (config, extra) in runs.items():
            run_dir = work / "runs" / label.replace(" ", "_").replace(",", "") / source.stem
            checkpoint, seconds, _ = train_zero_shot(config, degraded, args.budget, run_dir, extra)
            row[label] = evaluate_pair(load_model(checkpoint, True), degraded, target, task)
            row[label]["seconds"] = seconds
            if label == "blind zero-shot":
                estimate = torch.from_numpy(np.load(run_dir / "kernel.npy")).float()
                row["kernel_error"] = relative_error(estimate, kernel)
        rows.append(row)
        psnr = task.metrics[0]
        print(
            f"x{scale} {source.stem}: "
            + ", ".join(f"{k} {v[psnr]:.2f}" for k, v in row.items() if isinstance(v, dict))
            + f"; kernel error {row['kernel_error']:.3f} (bicubic's {bicubic_error:.3f})",
            flush=True,
        )
    report(rows, scale, task, args, work)


def report(rows: list[dict], scale: int, task: Task, args: argparse.Namespace, work: Path) -> None:
    """Write the markdown table (means, worst image against bicubic) and the JSON rows."""
    methods = [k for k, v in rows[0].items() if isinstance(v, dict)]
    metric = task.metrics[0]
    lines = [
        f"# Blind zero-shot SR x{scale}, DIV2KRK-style kernels, {args.set}, {len(rows)} images",
        "",
        f"Machine: {machine()}. Self-ensemble at predict. PSNR/SSIM on luma, border {scale}.",
        "",
        "| method | PSNR-Y | SSIM-Y | worst image vs bicubic (dB) | s per fit |",
        "|---|---|---|---|---|",
    ]
    for method in methods:
        psnr = [r[method][metric] for r in rows]
        ssim = [r[method][task.metrics[1]] for r in rows]
        gaps = [r[method][metric] - r["bicubic"][metric] for r in rows]
        worst = int(np.argmin(gaps))
        seconds = [r[method].get("seconds", 0.0) for r in rows]
        lines.append(
            f"| {method} | {np.mean(psnr):.2f} | {np.mean(ssim):.4f} | "
            f"{gaps[worst]:+.2f} ({rows[worst]['image']}) | {np.mean(seconds):.0f} |"
        )
    errors = [r["kernel_error"] for r in rows]
    lines += [
        "",
        "| image | " + " | ".join(methods) + " | kernel error |",
        "|---" * (len(methods) + 2) + "|",
    ]
    for row in rows:
        cells = " | ".join(f"{row[m][metric]:.2f}" for m in methods)
        lines.append(f"| {row['image']} | {cells} | {row['kernel_error']:.3f} |")
    blind, assumed, true = "blind zero-shot", "zero-shot, bicubic assumed", "zero-shot, true kernel"
    over = [r[blind][metric] - r[assumed][metric] for r in rows]
    under = [r[true][metric] - r[blind][metric] for r in rows]
    lines += [
        "",
        f"Blind minus bicubic assumed: {np.mean(over):+.2f} dB mean, {min(over):+.2f} worst "
        f"({rows[int(np.argmin(over))]['image']}); true kernel minus blind: {np.mean(under):.2f} "
        f"mean, {max(under):.2f} worst ({rows[int(np.argmax(under))]['image']}).",
        f"Kernel relative l2 error: estimate {np.mean(errors):.3f} mean, {max(errors):.3f} worst; "
        f"the bicubic kernel {np.mean([r['kernel_error_bicubic'] for r in rows]):.3f} mean.",
    ]
    work.mkdir(parents=True, exist_ok=True)
    (args.out / f"zero_shot_blind_x{scale}.md").write_text("\n".join(lines) + "\n")
    (args.out / f"zero_shot_blind_x{scale}.json").write_text(json.dumps(rows, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

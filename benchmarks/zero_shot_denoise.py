"""Zero-shot denoising benchmark: each noisy photo alone trains its own model, against BM3D.

For each set (folders of ``--data``; ``photos`` is the validation set of photos unlike the
benchmark sets: scikit-image's astronaut, chelsea, coffee, rocket and immunohistochemistry,
centre-cropped to at most 500 x 500, the photos the config was tuned on) and noise level
(Gaussian, sigma in 8-bit levels, clipped, saved as 8 bits): the noisy input, BM3D/CBM3D told
the true sigma (``--workers`` single-thread processes, before any training), and the zero-shot
config fitted on each noisy image alone through the real CLI (in-process), then restoring it.
Seconds per image are the fit plus the restore, timed alone. PSNR/SSIM on all channels, no
border, 8-bit outputs. Each row gives the mean and the worst image against BM3D.

    python -m benchmarks.zero_shot_denoise --data ../shared/data --sets kodak24 photos

Writes ``<out>/zero_shot_denoise.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.degraded_sets import degrade_set, validation_photos
from benchmarks.denoise import BM3D, NOISY, classical_outputs, method_folder
from benchmarks.reports import machine, markdown_table
from benchmarks.scoring import evaluate_pair
from benchmarks.tasks import Task
from benchmarks.training import config_path, load_model
from oneshot_lightning.cli import main as oneshot
from oneshot_lightning.data.degradations import Degradation
from oneshot_lightning.data.io import list_images, read_image
from oneshot_lightning.metrics import psnr, ssim


def file_scores(output: Path, clean: Path) -> dict[str, float]:
    """PSNR and SSIM of an 8-bit output file against its clean image."""
    restored, target = read_image(output)[None], read_image(clean)[None]
    return {"psnr": psnr(restored, target).item(), "ssim": ssim(restored, target).item()}


def fit_and_restore(
    config: Path, noisy: Path, clean: Path, run_dir: Path, task: Task,
    extra: Sequence[str] = (),
) -> dict[str, float]:  # fmt: skip
    """The config fitted on ``noisy`` alone (``extra``: more fit arguments), restoring it.

    Returns its scores, the fit's seconds and the fit's plus the restore's.
    """
    shutil.rmtree(run_dir, ignore_errors=True)  # a rerun replaces this benchmark's own runs
    start = time.perf_counter()
    oneshot(["fit", "--config", str(config), "--data.input", str(noisy),
             "--trainer.default_root_dir", str(run_dir), "--trainer.enable_progress_bar",
             "false", "--trainer.enable_model_summary", "false", *extra])  # fmt: skip
    fit_seconds = time.perf_counter() - start
    model = load_model(run_dir / "checkpoints" / "best.ckpt", self_ensemble=True)
    scores = evaluate_pair(model, noisy, clean, task)
    restore_seconds = scores["s_per_mp"] * read_image(clean)[0].numel() / 1e6
    return scores | {"fit_seconds": fit_seconds, "seconds": fit_seconds + restore_seconds}


def run_set(
    name: str, sources: list[Path], sigma: int, args: argparse.Namespace
) -> dict[str, dict[str, dict[str, float]]]:
    """BM3D and the zero-shot config on one set at one noise level: per-image rows."""
    work = args.out / f"{name}_sigma{sigma}"
    task = Task(Degradation(noise_sigma=sigma / 255), 1, [], f"sigma {sigma}")
    test = degrade_set(sources[: args.limit], task, work / "set", args.seed)
    classical_outputs({name: test}, sigma / 255, work, args.workers)
    bm3d_folder = method_folder(work, name, BM3D)
    rows: dict[str, dict[str, dict[str, float]]] = {NOISY: {}, BM3D: {}, args.config: {}}
    for noisy in list_images(test.inputs):
        clean = test.targets / noisy.name
        rows[NOISY][noisy.stem] = file_scores(noisy, clean)
        rows[BM3D][noisy.stem] = file_scores(bm3d_folder / noisy.name, clean)
        run = work / "runs" / noisy.stem
        rows[args.config][noisy.stem] = fit_and_restore(config_path(args.config), noisy,
                                                        clean, run, task)  # fmt: skip
        print(name, sigma, noisy.stem, {k: round(v[noisy.stem]["psnr"], 2)
                                        for k, v in rows.items()}, flush=True)  # fmt: skip
    return rows


def summary(set_name: str, sigma: int, rows: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """Markdown: mean, worst image against BM3D and seconds per image, then every image."""
    bm3d = rows[BM3D]
    header = ["method", "PSNR", "SSIM", "vs BM3D", "worst image vs BM3D", "s per image"]
    cells = []
    for method, images in rows.items():
        mean = {k: sum(r[k] for r in images.values()) / len(images) for k in ("psnr", "ssim")}
        gains = {stem: r["psnr"] - bm3d[stem]["psnr"] for stem, r in images.items()}
        worst = min(gains, key=gains.__getitem__)
        seconds = [r["seconds"] for r in images.values() if "seconds" in r]
        cells.append([method, f"{mean['psnr']:.2f}", f"{mean['ssim']:.4f}",
                      f"{sum(gains.values()) / len(gains):+.2f}",
                      f"{worst} {gains[worst]:+.2f}" if method != BM3D else "",
                      f"{sum(seconds) / len(seconds):.0f} (max {max(seconds):.0f})"
                      if seconds else ""])  # fmt: skip
    per_image = [[stem, *(f"{rows[m][stem]['psnr']:.2f}" for m in rows)] for stem in bm3d]
    return [f"### {set_name}, sigma {sigma}", "", *markdown_table(header, cells), "",
            *markdown_table(["image", *rows], per_image), ""]  # fmt: skip


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with kodak24/, ...")
    parser.add_argument("--sets", nargs="+", default=["kodak24", "photos"])
    parser.add_argument("--sigmas", type=int, nargs="+", default=[25])
    parser.add_argument("--config", default="zero_shot_denoise")
    parser.add_argument("--limit", type=int, default=None, help="first N images of each set")
    parser.add_argument("--workers", type=int, default=2, help="processes for BM3D")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench_out/zero_shot_denoise"))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Every set at every noise level; the report."""
    args = parse_args(argv)
    report = [f"Config {args.config}, fitted on each noisy image alone. Machine: {machine()}.", ""]
    results = {}
    for set_name in args.sets:
        folder = (validation_photos(args.out / "photos") if set_name == "photos"
                  else args.data / set_name)  # fmt: skip
        for sigma in args.sigmas:
            rows = run_set(set_name, list_images(folder), sigma, args)
            results[f"{set_name}, sigma {sigma}"] = rows
            report += summary(set_name, sigma, rows)
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "zero_shot_denoise.md").write_text("\n".join(report) + "\n")
            (args.out / "zero_shot_denoise.json").write_text(json.dumps(results, indent=2))
    print("\n".join(report), flush=True)


if __name__ == "__main__":
    main()

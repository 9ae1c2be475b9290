"""Quality benchmark: learn from ONE degraded/clean pair, restore whole test sets.

For each config: degrade the training image, train through the real ``oneshot fit`` CLI with
a wall-clock budget, then restore every degraded test image and compare with the degraded
input itself and scikit-image's Wiener filter (true kernel, balance tuned on the training
pair). Metrics: RGB PSNR/SSIM, data range 1, per-image mean, ``--border`` pixels shaved.

    python benchmarks/quality.py --data ../shared/data --budget 120 --out bench_out

Writes ``<out>/quality.md`` and ``<out>/quality.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from skimage.restoration import wiener

from oneshot_lightning.data.degradations import Degradation, GaussianBlur
from oneshot_lightning.data.io import list_images, read_image, write_image
from oneshot_lightning.metrics import psnr, ssim
from oneshot_lightning.models import RestorationModule

ROOT = Path(__file__).resolve().parents[1]


def degrade_set(sources: list[Path], degradation: Degradation, out_dir: Path, seed: int) -> None:
    """Write each image's degraded version (own seeded noise) as ``<out_dir>/<stem>.png``."""
    for index, path in enumerate(sources):
        generator = torch.Generator().manual_seed(seed + 7919 * (index + 1))
        write_image(out_dir / f"{path.stem}.png", degradation(read_image(path)[None], generator)[0])


def wiener_restore(image: torch.Tensor, kernel: np.ndarray, balance: float) -> torch.Tensor:
    """scikit-image Wiener deconvolution of each channel of (C, H, W); clipped to [0, 1]."""
    channels = [wiener(channel.double().numpy(), kernel, balance) for channel in image]
    return torch.from_numpy(np.stack(channels)).float().clamp(0, 1)


def tune_wiener(
    degraded: torch.Tensor, clean: torch.Tensor, kernel: np.ndarray, border: int
) -> float:
    """The balance (log grid 1e-4 .. 1) with the best PSNR on the training pair."""
    grid = np.logspace(-4, 0, 17)
    scores = [
        psnr(wiener_restore(degraded, kernel, b)[None], clean[None], border).item() for b in grid
    ]
    return float(grid[int(np.argmax(scores))])


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


def evaluate(restore, inputs: list[Path], targets: list[Path], border: int) -> dict:
    """Mean PSNR/SSIM of ``restore`` over the pairs, and its seconds per megapixel."""
    values, seconds, pixels = [], 0.0, 0
    for input_path, target_path in zip(inputs, targets):
        degraded, clean = read_image(input_path), read_image(target_path)
        start = time.perf_counter()
        restored = restore(degraded)
        seconds += time.perf_counter() - start
        pixels += clean.shape[-1] * clean.shape[-2]
        restored = (restored * 255).round() / 255  # as written to an 8-bit PNG
        values.append(
            (
                psnr(restored[None], clean[None], border).item(),
                ssim(restored[None], clean[None], border).item(),
            )
        )
    psnrs, ssims = zip(*values)
    return {
        "psnr": float(np.mean(psnrs)),
        "ssim": float(np.mean(ssims)),
        "s_per_mp": seconds / (pixels / 1e6),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with kodak24/, set5/, ...")
    parser.add_argument("--budget", type=int, default=120, help="training seconds per config")
    parser.add_argument("--configs", nargs="+", type=Path, default=[ROOT / "configs/rnn.yaml"])
    parser.add_argument("--train-image", default="kodak24/kodim05.png")
    parser.add_argument("--sets", nargs="+", default=["set5", "set14"])
    parser.add_argument("--border", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench_out"))
    args = parser.parse_args()

    blur = GaussianBlur(sigma=1.6, size=15)
    degradation = Degradation(blur, noise_sigma=0.01)
    kernel = blur.kernel.double().numpy()
    work = args.out / "deblur_gauss1.6_noise0.01"
    train_clean_path = args.data / args.train_image
    train_input_path = work / "train" / "input.png"
    degrade_set([train_clean_path], degradation, train_input_path.parent, args.seed)
    (train_input_path.parent / f"{train_clean_path.stem}.png").rename(train_input_path)
    train_degraded, train_clean = read_image(train_input_path), read_image(train_clean_path)
    balance = tune_wiener(train_degraded, train_clean, kernel, args.border)

    sets = {}
    for name in args.sets:
        targets = list_images(args.data / name)
        degrade_set(targets, degradation, work / name, args.seed)
        sets[name] = ([work / name / f"{path.stem}.png" for path in targets], targets)

    rows: dict[str, dict[str, dict]] = {"degraded input": {}, f"Wiener (balance {balance:.3g})": {}}
    for name, (inputs, targets) in sets.items():
        rows["degraded input"][name] = evaluate(lambda x: x, inputs, targets, args.border)
        rows[f"Wiener (balance {balance:.3g})"][name] = evaluate(
            lambda x: wiener_restore(x, kernel, balance), inputs, targets, args.border
        )
    train_seconds = {}
    for config in args.configs:
        checkpoint, seconds = train(
            config, (train_input_path, train_clean_path), args.budget, work / "runs" / config.stem
        )
        model = RestorationModule.load_from_checkpoint(checkpoint, map_location="cpu").eval()
        train_seconds[config.stem] = seconds

        @torch.inference_mode()
        def restore(image: torch.Tensor, model: RestorationModule = model) -> torch.Tensor:
            return model.restore(image[None])[0]

        rows[config.stem] = {
            name: evaluate(restore, *pair, args.border) for name, pair in sets.items()
        }

    header = "| method | " + " | ".join(f"{s} PSNR / SSIM" for s in sets) + " | s per MP |"
    lines = [
        f"Deblurring, Gaussian sigma 1.6 (15x15, reflect) + noise 0.01, 8-bit; trained on "
        f"{args.train_image} only, budget {args.budget} s; RGB, border {args.border}.",
        f"Machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} "
        f"threads, torch {torch.__version__}.",
        "",
        header,
        "|---|" + "---|" * (len(sets) + 1),
    ]
    for method, by_set in rows.items():
        cells = [f"{v['psnr']:.2f} / {v['ssim']:.4f}" for v in by_set.values()]
        speed = np.mean([v["s_per_mp"] for v in by_set.values()])
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {speed:.2f} |")
    lines += [
        "",
        "Training wall time (fit command, incl. start-up): "
        + ", ".join(f"{k} {v:.0f} s" for k, v in train_seconds.items()),
    ]
    report = "\n".join(lines)
    print(report)
    (args.out / "quality.md").write_text(report + "\n")
    (args.out / "quality.json").write_text(
        json.dumps(
            {
                "rows": rows,
                "train_seconds": train_seconds,
                "wiener_balance": balance,
                "budget": args.budget,
                "border": args.border,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

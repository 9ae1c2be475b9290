"""Patch2Patch stride study: what the grid step of whole-image inference trades.

Restores the deblurring test sets (degraded as the quality benchmark degrades them) with one
trained Patch2Patch checkpoint at several strides, scored by the package's test loop
(``benchmarks/scoring.py``); stride 1 averages every patch, stride s about s * s times fewer.

    python -m benchmarks.stride --data ../shared/data --ckpt CKPT [--strides 1 2 3 5 11]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from benchmarks.degraded_sets import degrade_set
from benchmarks.scoring import evaluate
from benchmarks.tasks import tasks
from benchmarks.training import load_model
from oneshot_lightning.data.io import list_images


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--ckpt", type=Path, required=True, help="an RNNPatch2Patch checkpoint")
    parser.add_argument("--strides", type=int, nargs="+", default=[1, 2, 3, 5, 11])
    parser.add_argument("--sets", nargs="+", default=["set5", "set14"])
    parser.add_argument("--border", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench_out/stride"))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Print one markdown row per stride: PSNR / SSIM per set and mean s per MP."""
    args = parse_args(argv)
    task = tasks(args.border, args.data)["deblur"]
    model = load_model(args.ckpt)
    sets = {
        name: degrade_set(list_images(args.data / name), task, args.out / name, args.seed)
        for name in args.sets
    }
    print(f"| stride | {' | '.join(f'{s} psnr / ssim' for s in sets)} | s per MP |")
    print("|---|" + "---|" * (len(sets) + 1))
    for stride in args.strides:
        model.net.stride = stride
        scores = {name: evaluate(model, test_set, task) for name, test_set in sets.items()}
        cells = [f"{v['psnr']:.2f} / {v['ssim']:.4f}" for v in scores.values()]
        seconds = sum(v["s_per_mp"] for v in scores.values()) / len(scores)
        print(f"| {stride} | {' | '.join(cells)} | {seconds:.2f} |", flush=True)


if __name__ == "__main__":
    main()

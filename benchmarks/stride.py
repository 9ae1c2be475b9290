"""Patch2Patch stride study: what the grid step of whole-image inference trades.

Restores the deblurring test sets (as ``quality.py`` degrades them) with one trained
Patch2Patch checkpoint at several strides; stride 1 averages every patch, stride s about
s * s times fewer.

    python benchmarks/stride.py --data ../shared/data --ckpt CKPT [--strides 1 2 3 5 11]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from quality import degrade_set, evaluate, module_class, tasks

from oneshot_lightning.data.io import list_images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--ckpt", type=Path, required=True, help="an RNNPatch2Patch checkpoint")
    parser.add_argument("--strides", type=int, nargs="+", default=[1, 2, 3, 5, 11])
    parser.add_argument("--sets", nargs="+", default=["set5", "set14"])
    parser.add_argument("--border", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("bench_out/stride"))
    args = parser.parse_args()

    task = tasks(args.border, args.data)["deblur"]
    model = module_class(args.ckpt).load_from_checkpoint(args.ckpt, map_location="cpu").eval()

    @torch.inference_mode()
    def restore(image: torch.Tensor) -> torch.Tensor:
        return model.restore(image[None])[0]

    sets = {}
    for name in args.sets:
        targets = list_images(args.data / name)
        sets[name] = (degrade_set(targets, task, args.out / name, seed=0), targets)
    print(f"| stride | {' | '.join(f'{s} psnr / ssim' for s in sets)} | s per MP |")
    print("|---|" + "---|" * (len(sets) + 1))
    for stride in args.strides:
        model.net.stride = stride
        scores = {name: evaluate(restore, *pair, task) for name, pair in sets.items()}
        cells = [f"{v['psnr']:.2f} / {v['ssim']:.4f}" for v in scores.values()]
        seconds = sum(v["s_per_mp"] for v in scores.values()) / len(scores)
        print(f"| {stride} | {' | '.join(cells)} | {seconds:.2f} |", flush=True)


if __name__ == "__main__":
    main()

"""Before/after picture: degraded (or bicubic) | restored | clean, side by side, with PSNR.

    python -m benchmarks.before_after --ckpt CKPT [CKPT ...] --image IMG --out docs/images/x.png \
        [--scale 4 | --kernel KERNEL.npy | --noise 25] [--self-ensemble] [--labels A B ...]

Several checkpoints give one restored panel each, in order, named by ``--labels``.

Scale 1: the image is degraded like the deblurring benchmark (Gaussian sigma 1.6, 15x15, or
the blur kernel ``--kernel``, e.g. one of Levin et al.'s camera-shake kernels; noise 0.01,
8-bit), or by Gaussian noise alone (``--noise``, sigma in 8-bit grey levels, clipped,
8-bit); the first panel is the degraded image (RGB PSNR, no border). Scale s > 1:
it is shrunk by MATLAB-style bicubic; the first panel is bicubic upscaling (PSNR-Y, border s).
The PSNR of each panel comes from the package's test loop (``benchmarks/scoring.py``): outputs
rounded to 8 bits, as the picture holds them.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from benchmarks.baselines import baseline_model, bicubic, identity
from benchmarks.degraded_sets import degrade_image
from benchmarks.scoring import evaluate_pair
from benchmarks.tasks import Task, blur_task, sr_task
from benchmarks.training import load_model
from oneshot_lightning.data.degradations import Degradation, GaussianBlur, KernelBlur
from oneshot_lightning.data.io import read_image, to_uint8, write_image
from oneshot_lightning.functional import mod_crop


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ckpt", type=Path, nargs="+", required=True)
    parser.add_argument("--labels", nargs="+", help="one per checkpoint (default: restored)")
    parser.add_argument("--image", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kernel", type=Path, help="blur kernel file (.npy or image), scale 1")
    parser.add_argument("--noise", type=float, help="noise alone, sigma in 8-bit levels")
    parser.add_argument("--self-ensemble", action="store_true", help="restore with x8")
    args = parser.parse_args(argv)
    if args.noise is not None and (args.kernel is not None or args.scale != 1):
        parser.error("--noise is a denoising picture: leave out --kernel and --scale")
    if args.labels is None:
        args.labels = ["restored"] * len(args.ckpt)
    if len(args.labels) != len(args.ckpt):
        parser.error(f"--labels needs one name per --ckpt ({len(args.ckpt)})")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Degrade the image, restore it with each checkpoint, write the panels with their PSNR."""
    args = parse_args(argv)
    models = [load_model(ckpt, args.self_ensemble) for ckpt in args.ckpt]
    if args.noise is not None:
        task = Task(Degradation(noise_sigma=args.noise / 255), 1, [], "denoising")
        baseline, label, metric = identity, "noisy", "psnr"
    elif args.scale == 1:
        gaussian = args.kernel is None
        blur = GaussianBlur(sigma=1.6, size=15) if gaussian else KernelBlur(str(args.kernel))
        task = blur_task(blur, "deblurring", border=0)
        baseline, label, metric = identity, "degraded", "psnr"
    else:
        task = sr_task(args.scale, [])
        baseline, label, metric = (
            partial(bicubic, scale=args.scale),
            f"bicubic x{args.scale}",
            "psnr_y",
        )
    clean = mod_crop(read_image(args.image), args.scale)
    # The noise of index 0, as the pictures in docs/images were made.
    degraded = degrade_image(clean, task, args.seed, index=0)
    with tempfile.TemporaryDirectory() as folder:
        degraded_file = write_image(Path(folder) / "degraded.png", degraded)
        scores = [
            evaluate_pair(method, degraded_file, args.image, task)[metric]
            for method in (baseline_model(baseline, task), *models)
        ]
    with torch.inference_mode():
        restored = [model.restore(degraded[None])[0] for model in models]
    panels = [
        (baseline(degraded[None])[0], f"{label} {scores[0]:.2f} dB"),
        *(
            (image, f"{name} {score:.2f} dB")
            for image, name, score in zip(restored, args.labels, scores[1:], strict=True)
        ),
        (clean, "clean"),
    ]
    width, height = clean.shape[-1], clean.shape[-2]
    count = len(panels)
    canvas = Image.new("RGB", (count * width + 4 * (count - 1), height + 18), "white")
    draw = ImageDraw.Draw(canvas)
    for index, (image, text) in enumerate(panels):
        canvas.paste(Image.fromarray(to_uint8(image)).convert("RGB"), (index * (width + 4), 18))
        draw.text((index * (width + 4) + 2, 3), text, fill="black")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(args.out, optimize=True)


if __name__ == "__main__":
    main()

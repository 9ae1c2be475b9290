"""Before/after picture: degraded (or bicubic) | restored | clean, side by side, with PSNR.

    python benchmarks/before_after.py --ckpt CKPT --image IMG --out docs/images/x.png [--scale 4]

Scale 1: the image is degraded like the deblurring benchmark (Gaussian sigma 1.6, 15x15,
noise 0.01, 8-bit); the first panel is the degraded image (RGB PSNR). Scale s > 1: it is
shrunk by MATLAB-style bicubic; the first panel is bicubic upscaling (PSNR-Y, border s).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from oneshot_lightning.data.degradations import Degradation, GaussianBlur
from oneshot_lightning.data.io import read_image, to_uint8
from oneshot_lightning.functional import noise_generator
from oneshot_lightning.functional.resize import bicubic_upscale, mod_crop
from oneshot_lightning.metrics import psnr, psnr_y
from oneshot_lightning.models import RestorationModule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, required=True)
    parser.add_argument("--image", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    model = RestorationModule.load_from_checkpoint(args.ckpt, map_location="cpu").eval()
    clean = mod_crop(read_image(args.image), args.scale)[None]
    if args.scale == 1:
        degrade = Degradation(GaussianBlur(sigma=1.6, size=15), noise_sigma=0.01)
        degraded = degrade(clean, noise_generator(args.seed))
        baseline, label, metric = degraded, "degraded", lambda x: psnr(x, clean).item()
    else:
        degraded = Degradation()(clean, scale=args.scale)
        baseline = bicubic_upscale(degraded, args.scale).clamp(0, 1)
        label, metric = f"bicubic x{args.scale}", lambda x: psnr_y(x, clean, args.scale).item()
    with torch.inference_mode():
        restored = model.restore(degraded)
    panels = [
        (baseline, f"{label} {metric(baseline):.2f} dB"),
        (restored, f"restored {metric(restored):.2f} dB"),
        (clean, "clean"),
    ]
    width, height = clean.shape[-1], clean.shape[-2]
    canvas = Image.new("RGB", (3 * width + 8, height + 18), "white")
    draw = ImageDraw.Draw(canvas)
    for index, (image, text) in enumerate(panels):
        canvas.paste(Image.fromarray(to_uint8(image[0])).convert("RGB"), (index * (width + 4), 18))
        draw.text((index * (width + 4) + 2, 3), text, fill="black")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(args.out, optimize=True)


if __name__ == "__main__":
    main()

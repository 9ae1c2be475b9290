"""Before/after picture: degraded | restored | clean, side by side, with PSNR labels.

    python benchmarks/before_after.py --ckpt CKPT --image IMG --out docs/images/x.png

The image is degraded with the deblurring benchmark's operator (Gaussian sigma 1.6, 15x15,
noise 0.01, 8-bit) and restored with the checkpoint.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from oneshot_lightning.data.degradations import Degradation, GaussianBlur
from oneshot_lightning.data.io import read_image, to_uint8
from oneshot_lightning.metrics import psnr
from oneshot_lightning.models import RestorationModule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, required=True)
    parser.add_argument("--image", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    model = RestorationModule.load_from_checkpoint(args.ckpt, map_location="cpu").eval()
    clean = read_image(args.image)[None]
    degrade = Degradation(GaussianBlur(sigma=1.6, size=15), noise_sigma=0.01)
    degraded = degrade(clean, torch.Generator().manual_seed(args.seed))
    with torch.inference_mode():
        restored = model.restore(degraded)
    panels = [
        (degraded, f"degraded {psnr(degraded, clean).item():.2f} dB"),
        (restored, f"restored {psnr(restored, clean).item():.2f} dB"),
        (clean, "clean"),
    ]
    width, height = clean.shape[-1], clean.shape[-2]
    canvas = Image.new("RGB", (3 * width + 8, height + 18), "white")
    draw = ImageDraw.Draw(canvas)
    for index, (image, label) in enumerate(panels):
        canvas.paste(Image.fromarray(to_uint8(image[0])).convert("RGB"), (index * (width + 4), 18))
        draw.text((index * (width + 4) + 2, 3), label, fill="black")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(args.out, optimize=True)


if __name__ == "__main__":
    main()

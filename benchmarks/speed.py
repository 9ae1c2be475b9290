"""Speed benchmark: training throughput, inference speed, and achieved GFLOP/s against the
machine's own fp32 matmul rate, measured in the same run.

    python benchmarks/speed.py [--quick] [--patch-size 11] [--latent 128] [--scale 1]

The last line is ``ratio=<achieved inference GFLOP/s / matmul GFLOP/s>``.
"""

from __future__ import annotations

import argparse
import time

import torch

from oneshot_lightning.models import RestorationModule
from oneshot_lightning.models.nets import RNNSparseCoder


def best_seconds(function, repeats: int) -> float:
    """The fastest of ``repeats`` timed calls (after one warm-up call)."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_gflops(size: int, repeats: int) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2 * size**3 / best_seconds(lambda: a @ b, repeats) / 1e9


def flops_per_window(net: RNNSparseCoder) -> int:
    """Multiply-adds x 2 of one window: input projection, recurrence, decoder."""
    p, c, latent, s = net.patch_size, net.channels, net.latent, net.scale
    return 2 * (p * c * p * latent + (p - 1) * latent * latent + latent * c * s * s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller image, fewer repeats")
    parser.add_argument("--patch-size", type=int, default=11)
    parser.add_argument("--latent", type=int, default=128)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=512)
    args = parser.parse_args()
    side, repeats = (256, 2) if args.quick else (512, 3)

    net = RNNSparseCoder(patch_size=args.patch_size, latent=args.latent, scale=args.scale)
    module = RestorationModule(net).eval()
    matmul = matmul_gflops(1024, 10 if args.quick else 30)

    image = torch.rand(1, 3, side, side)
    with torch.inference_mode():
        seconds = best_seconds(lambda: module.restore(image), repeats)
    megapixels = side * side / 1e6
    achieved = flops_per_window(net) * side * side / seconds / 1e9

    module.train()
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    p, s = args.patch_size, args.scale
    low = torch.rand(args.batch_size, 3, p, p)
    high = torch.rand(args.batch_size, 3, s * p, s * p)

    def step() -> None:
        optimizer.zero_grad()
        module.patch_loss(low, high).backward()
        optimizer.step()

    steps = 5 if args.quick else 20
    step_seconds = best_seconds(lambda: [step() for _ in range(steps)], 1) / steps

    print(f"threads: {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"net: patch {p}, code {args.latent}, scale {s}: "
          f"{flops_per_window(net) / 1e6:.3f} MFLOP per input pixel")  # fmt: skip
    print(f"fp32 matmul 1024^3: {matmul:.1f} GFLOP/s")
    print(f"training: {step_seconds * 1e3:.1f} ms per step of {args.batch_size} patches, "
          f"{args.batch_size / step_seconds:.0f} patches/s")  # fmt: skip
    print(f"inference: {side}x{side} input in {seconds:.3f} s = {megapixels / seconds:.3f} MP/s "
          f"({seconds / megapixels:.2f} s per input MP), {achieved:.1f} GFLOP/s")  # fmt: skip
    print(f"ratio={achieved / matmul:.2f}")


if __name__ == "__main__":
    main()

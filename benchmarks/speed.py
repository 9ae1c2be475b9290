"""Speed benchmark: training and inference speed, and how long training takes to settle.

Training throughput, inference speed, and achieved GFLOP/s against the machine's own fp32
matmul rate, measured in the same run; the restore speed and training throughput of every
shipped config; and how long a real training run takes until its validation PSNR settles.

    python -m benchmarks.speed [--quick] [--patch-size 11] [--latent 128] [--scale 1]
        [--configs rnn deblur ...] [--no-settle]

GFLOP/s count the work the RNN's whole-image form does (``flops_per_input_pixel``: each
column's projection shared by the windows that read it). Each config's model is built
untrained from its file, with a 15x15 Gaussian kernel (sigma 1.6) where it holds one; MP/s
are output megapixels per second of ``restore`` (self-ensemble included where the config
sets it), patches/s of its training loss, forward and backward, and an Adam step
(the config's batch of patches; the GANs' discriminator and fresh pairs left out).

The settling time comes from a real ``oneshot fit`` (in-process) with ``configs/rnn.yaml`` on
the bundled sample and its held-out strip, validated every ``--val-every`` steps: the wall
time after which ``val/psnr`` stays within ``--tolerance`` dB (0.1) of its final value. The
full mode keeps the config's whole schedule (24 x 250 steps); ``--quick`` trains 400 steps.

The last line is ``ratio=<achieved inference GFLOP/s / matmul GFLOP/s>``: the default net's
restore of one image and a 1024^3 fp32 matrix product, timed in turns (best of 10 each with
``--quick``, of 20 without).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file, python benchmarks/speed.py: import as a package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
import yaml
from lightning.pytorch import Callback, LightningModule, Trainer

from benchmarks.flops import flops_per_input_pixel
from benchmarks.training import CONFIGS
from oneshot_lightning.api import model_from_config
from oneshot_lightning.cli import QUIET_WARNINGS, OneShotCLI
from oneshot_lightning.functional import gaussian_kernel
from oneshot_lightning.models import RestorationModule
from oneshot_lightning.models.nets import DegradationAware, RNNSparseCoder

CONFIG = CONFIGS / "rnn.yaml"


def best_seconds(function: Callable[[], Any], repeats: int) -> float:
    """The fastest of ``repeats`` timed calls (after one warm-up call)."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def interleaved_best(functions: Sequence[Callable[[], Any]], rounds: int) -> list[float]:
    """The fastest call of each function over ``rounds`` rounds that call each in turn.

    Taken in turns, the functions see the machine in the same state (a shared or throttled
    CPU slows them alike), so ratios of their times are steadier than from separate runs.
    """
    for function in functions:
        function()  # warm-up
    best = [float("inf")] * len(functions)
    for _ in range(rounds):
        for index, function in enumerate(functions):
            start = time.perf_counter()
            function()
            best[index] = min(best[index], time.perf_counter() - start)
    return best


class ValidationClock(Callback):
    """Records (seconds since training started, step, val/psnr) after every validation."""

    def __init__(self) -> None:
        self.start: float | None = None
        self.points: list[tuple[float, int, float]] = []

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Start the clock."""
        self.start = time.perf_counter()

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Record the time, step and val/psnr of a validation (not the sanity check)."""
        if trainer.sanity_checking or self.start is None:  # the sanity check is not training
            return
        psnr = float(trainer.callback_metrics["val/psnr"])
        self.points.append((time.perf_counter() - self.start, trainer.global_step, psnr))


def settled(points: list[tuple[float, int, float]], tolerance: float) -> tuple[float, int]:
    """(seconds, step) of the first validation after which val/psnr stays near its end.

    Near: within ``tolerance`` dB of the final value.
    """
    final = points[-1][2]
    first = len(points) - 1
    while first > 0 and abs(points[first - 1][2] - final) <= tolerance:
        first -= 1
    return points[first][0], points[first][1]


def train_with_clock(epochs: int, val_every: int) -> ValidationClock:
    """Run ``oneshot fit --config configs/rnn.yaml`` in-process; its validation clock.

    It trains ``epochs`` x ``val_every`` steps (cosine schedule over those), validating after
    every ``val_every`` steps.
    """
    clock = ValidationClock()
    with tempfile.TemporaryDirectory() as root, warnings.catch_warnings():
        for message in QUIET_WARNINGS:
            warnings.filterwarnings("ignore", message=re.escape(message))
        args = ["fit", "--config", str(CONFIG), "--trainer.default_root_dir", root]
        args += ["--trainer.max_epochs", str(epochs), "--trainer.max_time", "null"]
        args += ["--data.steps_per_epoch", str(val_every)]
        args += ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
        OneShotCLI(args=args, trainer_defaults={"callbacks": [clock]})
    return clock


def train_seconds(module: RestorationModule, batch_size: int, steps: int) -> float:
    """Seconds per training step of ``batch_size`` random patch pairs (loss, backward, Adam)."""
    module.train()
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    p, s, c = module.patch_size, module.scale, module.net.channels
    low, high = torch.rand(batch_size, c, p, p), torch.rand(batch_size, c, s * p, s * p)

    def train_steps() -> None:
        for _ in range(steps):
            optimizer.zero_grad()
            module.patch_loss(low, high).backward()
            optimizer.step()

    seconds = best_seconds(train_steps, 1) / steps
    module.eval()
    return seconds


def config_speed(name: str, side: int, repeats: int, batch_size: int) -> str:
    """One line: restore MP/s and training patches/s of ``configs/<name>.yaml``'s model.

    Training runs batches of the config's ``data.batch_size`` (else ``batch_size``).
    """
    module = model_from_config(CONFIGS / f"{name}.yaml").eval()
    for part in module.modules():
        if isinstance(part, DegradationAware):
            part.set_degradation(gaussian_kernel(15, 1.6), 0.01)
    image = torch.rand(1, module.net.channels, side, side)
    with torch.inference_mode():
        seconds = best_seconds(lambda: module.restore(image), repeats)
    megapixels = (module.scale * side) ** 2 / 1e6
    data = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text()).get("data") or {}
    batch = int(data.get("batch_size", batch_size))
    step = train_seconds(module, batch, 3)
    return (
        f"config {name}: restore {megapixels / seconds:.3f} MP/s ({seconds / megapixels:.2f} s "
        f"per output MP, {side}x{side} input); training {batch / step:.0f} patches/s "
        f"({step * 1e3:.0f} ms per step of {batch} patches of {module.patch_size}x"
        f"{module.patch_size})"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Measure and print the figures, the ratio last."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller image, fewer repeats")
    parser.add_argument("--patch-size", type=int, default=11)
    parser.add_argument("--latent", type=int, default=128)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--val-every", type=int, help="steps between validations (100; quick 50)")
    parser.add_argument("--tolerance", type=float, default=0.1, help="dB from the final PSNR")
    parser.add_argument("--no-settle", action="store_true", help="skip the training run")
    parser.add_argument(
        "--configs", nargs="*", help="shipped configs to time (default: all; none: skip)"
    )
    args = parser.parse_args(argv)
    side, repeats = (256, 2) if args.quick else (512, 3)
    configs = sorted(path.stem for path in CONFIGS.glob("*.yaml"))
    configs = configs if args.configs is None else args.configs

    net = RNNSparseCoder(patch_size=args.patch_size, latent=args.latent, scale=args.scale)
    module = RestorationModule(net).eval()
    image = torch.rand(1, 3, side, side)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    with torch.inference_mode():
        product, seconds = interleaved_best(
            [lambda: a @ b, lambda: module.restore(image)], 10 if args.quick else 20
        )
    matmul = 2 * 1024**3 / product / 1e9
    megapixels = side * side / 1e6
    achieved = flops_per_input_pixel(net) * side * side / seconds / 1e9
    p, s = args.patch_size, args.scale
    step_seconds = train_seconds(module, args.batch_size, 5 if args.quick else 20)
    config_lines = [config_speed(name, side, repeats, args.batch_size) for name in configs]

    settle_line = None
    if not args.no_settle:
        # The config's schedule is 24 x 250 = 6000 steps; validating more often keeps the
        # same steps, the same patch draw and the same cosine schedule.
        val_every = args.val_every or (50 if args.quick else 100)
        total = 400 if args.quick else 6000
        points = train_with_clock(max(1, total // val_every), val_every).points
        settle_seconds, at_step = settled(points, args.tolerance)
        settle_line = (
            f"settling: {CONFIG.name} on the sample, val/psnr within {args.tolerance} dB of its "
            f"final {points[-1][2]:.2f} dB from {settle_seconds:.1f} s (step {at_step}) of "
            f"{points[-1][0]:.1f} s ({points[-1][1]} steps, validation every {val_every}); "
            "best {2:.2f} dB at {0:.1f} s (step {1})".format(*max(points, key=lambda q: q[2]))
        )

    print(f"threads: {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"net: patch {p}, code {args.latent}, scale {s}: "
          f"{flops_per_input_pixel(net) / 1e6:.3f} MFLOP per input pixel")  # fmt: skip
    print(f"fp32 matmul 1024^3: {matmul:.1f} GFLOP/s")
    print(f"training: {step_seconds * 1e3:.1f} ms per step of {args.batch_size} patches, "
          f"{args.batch_size / step_seconds:.0f} patches/s")  # fmt: skip
    print(f"inference: {side}x{side} input in {seconds:.3f} s = {megapixels / seconds:.3f} MP/s "
          f"({seconds / megapixels:.2f} s per input MP), {achieved:.1f} GFLOP/s")  # fmt: skip
    print(*config_lines, sep="\n")
    if settle_line is not None:
        print(settle_line)
    print(f"ratio={achieved / matmul:.2f}")


if __name__ == "__main__":
    main()

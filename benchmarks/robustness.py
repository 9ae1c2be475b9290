r"""Robustness benchmark: a zoo of camera chains, a config against the best training-free method.

For every chain of ``benchmarks/chains.py`` (blur of several kinds, Gaussian and signal-dependent
noise, JPEG at several qualities, a Bayer sensor with demosaicing and a tone curve, a second
shot moved and exposed otherwise): degrade ``--train-image`` into ONE training pair, train
``--config`` on it through the real ``oneshot fit``, and restore photos that are none of the
test sets of the other benchmarks (centre crops of ``--photos``), degraded by the same chain.

Beside it, in the same run, the training-free methods given the TRUE kernel and the true noise
level (measured on the aligned, synthetic pair: the degraded minus the truly blurred clean),
each tuned on the centre of the training pair: the degraded input; scikit-image's Wiener
(periodic borders); the package's boundary-aware deconvolution (its first stage); CBM3D with
the noise level; CBM3D before the deconvolution; the deconvolution before CBM3D (both of its
settings tuned together). The best of them by mean PSNR is the chain's reference: the table
gives the config's mean gain over it and its worst image, worst chain first. Metrics: RGB
PSNR/SSIM, ``--border`` pixels shaved, 8-bit outputs, by the package's test loop.

    python -m benchmarks.robustness --data ../shared/data --out bench_out/robustness
    python -m benchmarks.robustness --data ../shared/data --chains second-shot \\
        --fit-args "--data.align false" --label "deblur, not aligned"

``--reuse LABEL`` trains nothing: it restores with the checkpoints an earlier run with that
label left in ``--out`` (e.g. the same models scored again with ``--self-ensemble``).

Baseline rows are kept in ``<out>/<chain>/baselines.json`` and reused by a later run with the
same photos and seed (CBM3D takes most of a chain's time).
Writes ``<out>/robustness.md`` and ``<out>/robustness.json``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from benchmarks.baselines import Restore, baseline_model, identity, wiener_restore
from benchmarks.chains import Chain, zoo
from benchmarks.degraded_sets import DegradedSet
from benchmarks.reports import machine, markdown_table
from benchmarks.scoring import per_image
from benchmarks.tasks import Task
from benchmarks.training import config_path, config_problem, load_model, train
from oneshot_lightning.data.degradations import Degradation
from oneshot_lightning.data.io import read_image, write_image
from oneshot_lightning.functional import convolve, noise_generator
from oneshot_lightning.metrics import psnr
from oneshot_lightning.models import Deconvolution

#: Photos restored in every chain: Kodak images other than the training image, centre crops.
PHOTOS = [f"kodak24/kodim{n:02d}.png" for n in (1, 3, 7, 9, 13, 15, 19, 23)]
TRAIN_IMAGE = "kodak24/kodim05.png"
#: The side of the square at the training pair's centre the baselines are tuned on.
TUNING_CROP = 256
INPUT = "degraded input"


def centre_crop(image: Tensor, side: int) -> Tensor:
    """The (C, side, side) centre of a (C, H, W) image (the whole of a smaller side)."""
    height, width = image.shape[-2:]
    top, left = max(0, (height - side) // 2), max(0, (width - side) // 2)
    return image[:, top : top + side, left : left + side]


def bm3d_restore(image: Tensor, sigma: float) -> Tensor:
    """CBM3D (grey: BM3D) of (B, C, H, W) in [0, 1] with noise deviation ``sigma``; clipped."""
    import bm3d  # the benchmark's own dependency (pip install bm3d)

    out = []
    for picture in image.double().numpy():
        planes = picture.transpose(1, 2, 0)
        restored = (
            bm3d.bm3d_rgb(planes, sigma_psd=sigma)
            if planes.shape[-1] == 3
            else bm3d.bm3d(planes[..., 0], sigma_psd=sigma)[..., None]
        )
        out.append(torch.from_numpy(np.clip(restored, 0, 1).transpose(2, 0, 1)))
    return torch.stack(out).to(image.dtype)


def noise_level(degraded: Tensor, clean: Tensor, kernel: Tensor, margin: int = 16) -> float:
    """The deviation of ``degraded`` - ``kernel`` * ``clean`` away from borders and clipping."""
    blurred = convolve(clean[None], kernel)[0]
    residual = (degraded - blurred)[..., margin:-margin, margin:-margin]
    inside = blurred[..., margin:-margin, margin:-margin]
    keep = (inside > 0.05) & (inside < 0.95)
    return float(residual[keep].std())


def deconvolution(kernel: Tensor, balance: float) -> Deconvolution:
    """The package's boundary-aware Tikhonov deconvolution with ``kernel`` and ``balance``."""
    stage = Deconvolution(kernel_size=max(41, kernel.shape[-1] | 1))
    stage.set_degradation(kernel, 0.01)
    stage.balance.fill_(balance)
    return stage.eval()


def best(grid: Sequence[Any], restore: Any, image: Tensor, clean: Tensor, border: int) -> Any:
    """The setting of ``grid`` for which ``restore(image, setting)`` scores best against clean."""

    def score(setting: Any) -> float:
        return psnr(restore(image, setting).clamp(0, 1), clean[None], border).item()

    return max(grid, key=score)


def tuned_baselines(
    chain: Chain, degraded: Tensor, clean: Tensor, border: int
) -> tuple[dict[str, tuple[Restore, int]], dict[str, float]]:
    """The training-free methods, each tuned on the (C, H, W) pair; {name: (restore, channels)}.

    Also returns the settings chosen (noise level, balances, CBM3D deviations).
    """
    kernel, image = chain.kernel, degraded[None]
    sigma = noise_level(degraded, clean, kernel)
    methods: dict[str, tuple[Restore, int]] = {
        INPUT: (identity, 1),
        "CBM3D": (partial(bm3d_restore, sigma=sigma), 3),
    }
    settings = {"noise_sigma": sigma}
    if kernel.numel() == 1:
        return methods, settings
    numpy_kernel = kernel.double().numpy()

    def wiener(x: Tensor, balance: float) -> Tensor:
        return wiener_restore(x, numpy_kernel, balance)

    def deconvolve(x: Tensor, balance: float) -> Tensor:
        return deconvolution(kernel, balance)(x)

    def deconvolve_then_cbm3d(x: Tensor, setting: tuple[float, float]) -> Tensor:
        return bm3d_restore(deconvolve(x, setting[0]).clamp(0, 1), setting[1])

    balances = [sigma**2 * 2.0**k for k in range(-4, 10)]
    with torch.no_grad():
        wiener_balance = best(np.logspace(-4, 0, 17).tolist(), wiener, image, clean, border)
        balance = best(balances, deconvolve, image, clean, border)
        after = best(balances, deconvolve, bm3d_restore(image, sigma), clean, border)
        # The deconvolution's noise is amplified and coloured; CBM3D wants a sharper balance.
        grid = [(b, k * sigma) for b in (balance / 8, balance / 2) for k in (1.5, 3.0, 6.0)]
        before = best(grid, deconvolve_then_cbm3d, image, clean, border)
    methods |= {
        "Wiener (periodic)": (partial(wiener, balance=wiener_balance), 1),
        "deconvolution": (deconvolution(kernel, balance), 1),
        "CBM3D, then deconvolution": (lambda x: deconvolve(bm3d_restore(x, sigma), after), 3),
        "deconvolution, then CBM3D": (partial(deconvolve_then_cbm3d, setting=before), 3),
    }
    settings |= {
        "wiener_balance": wiener_balance,
        "balance": balance,
        "balance_after_cbm3d": after,
        "balance_before_cbm3d": before[0],
        "cbm3d_after_sigma": before[1],
    }
    return methods, settings


def degraded_photos(chain: Chain, photos: Sequence[Path], folder: Path, seed: int) -> DegradedSet:
    """The photos through the chain (photo ``i``: the noise of index ``i + 1``), and as they are."""
    megapixels = {}
    for index, path in enumerate(photos):
        clean = read_image(path)
        degraded = chain.degrade(clean[None], noise_generator(seed, index + 1))[0]
        write_image(folder / "input" / path.name, degraded)
        write_image(folder / "target" / path.name, clean)
        megapixels[path.stem] = clean[0].numel() / 1e6
    return DegradedSet(folder / "input", folder / "target", megapixels)


def photo_crops(data: Path, names: Sequence[str], side: int, folder: Path) -> list[Path]:
    """The centre ``side`` x ``side`` crop of each photo, written into ``folder``."""
    return [
        write_image(folder / Path(name).name, centre_crop(read_image(data / name), side))
        for name in names
    ]


def scores_per_image(model: Any, test_set: DegradedSet, task: Task) -> dict[str, dict[str, float]]:
    """{photo: {psnr, ssim}} of a model through the package's test loop."""
    _, rows = per_image(model, test_set, task)
    return {name: {m: float(row[m]) for m in task.metrics} for name, row in rows.items()}


def run_chain(name: str, chain: Chain, args: argparse.Namespace, photos: list[Path]) -> dict:
    """Baselines (cached) and the config on one chain; its results."""
    work = args.out / name
    task = Task(Degradation(), 1, [], chain.description, metric_border=args.border)
    test_set = degraded_photos(chain, photos, work / "photos", args.seed)
    clean = read_image(args.data / args.train_image)
    generator = noise_generator(args.seed, 0)
    shot = chain.degrade_pair_input(clean[None], generator)[0]
    pair_input = write_image(work / "train" / "input.png", shot)
    pair_target = write_image(work / "train" / "target.png", clean)
    cache = work / "baselines.json"
    key = {"photos": [p.name for p in photos], "seed": args.seed, "border": args.border}
    baselines = json.loads(cache.read_text()) if cache.is_file() else {}
    if baselines.get("key") != key:
        crop = centre_crop(clean, TUNING_CROP)
        # Told the truth: tuned on the chain's own, aligned degradation of the crop.
        degraded = chain.degrade(crop[None], noise_generator(args.seed, 0))[0]
        start = time.perf_counter()
        methods, settings = tuned_baselines(chain, degraded, crop, args.border)
        rows = {
            method: scores_per_image(baseline_model(function, task, channels), test_set, task)
            for method, (function, channels) in methods.items()
        }
        seconds = time.perf_counter() - start
        baselines = {"key": key, "rows": rows, "settings": settings, "seconds": seconds}
        cache.write_text(json.dumps(baselines, indent=2))
    run_dir = work / "runs" / run_name(args.reuse or args.label)
    if args.reuse:
        checkpoint, seconds = run_dir / "checkpoints" / "best.ckpt", 0.0
        if not checkpoint.is_file():
            raise SystemExit(f"--reuse {args.reuse}: no {checkpoint}; run that label first")
    else:
        checkpoint, seconds = train(
            config_path(args.config), (pair_input, pair_target), args.budget, run_dir, args.fit_args
        )
    learned = scores_per_image(load_model(checkpoint, args.self_ensemble), test_set, task)
    alignment = run_dir / "alignment.json"
    return {
        "description": chain.description,
        "baselines": baselines["rows"],
        "settings": baselines["settings"],
        "config": learned,
        "train_seconds": seconds,
        "alignment": json.loads(alignment.read_text()) if alignment.is_file() else None,
    }


def run_name(label: str) -> str:
    """The run folder's name for a row label."""
    return label.replace(" ", "_").replace(",", "")


def mean_psnr(rows: dict[str, dict[str, float]]) -> float:
    """Mean PSNR over the photos of one method's rows."""
    return float(np.mean([row["psnr"] for row in rows.values()]))


def chain_summary(result: dict) -> dict[str, Any]:
    """The best baseline by mean PSNR, the config's mean gain over it, its worst photo."""
    baselines = result["baselines"]
    top = max(baselines, key=lambda method: mean_psnr(baselines[method]))
    reference = baselines[top]
    gains = {
        photo: row["psnr"] - reference[photo]["psnr"] for photo, row in result["config"].items()
    }
    worst = min(gains, key=gains.__getitem__)
    return {
        "best": top,
        "best_psnr": mean_psnr(reference),
        "config_psnr": mean_psnr(result["config"]),
        "input_psnr": mean_psnr(baselines[INPUT]),
        "mean_gain": float(np.mean(list(gains.values()))),
        "worst_gain": gains[worst],
        "worst_photo": worst,
        "below": sum(gain < 0 for gain in gains.values()),
    }


def report(results: dict[str, dict], args: argparse.Namespace) -> list[str]:
    """The summary (worst chain first) and a table per chain."""
    summaries = {name: chain_summary(result) for name, result in results.items()}
    order = sorted(summaries, key=lambda name: summaries[name]["worst_gain"])
    count = len(next(iter(results.values()))["config"])
    header = ["chain", "input", "best training-free", "its PSNR", args.label, "mean gain"]
    header += ["worst photo: gain", f"photos below (of {count})"]
    cells = []
    for name in order:
        s = summaries[name]
        cells.append([name, f"{s['input_psnr']:.2f}", s["best"], f"{s['best_psnr']:.2f}"])
        cells[-1] += [f"{s['config_psnr']:.2f}", f"{s['mean_gain']:+.2f}"]
        cells[-1] += [f"{s['worst_photo']}: {s['worst_gain']:+.2f}", str(s["below"])]
    gains = [s["mean_gain"] for s in summaries.values()]
    lines = [
        f"Trained on {args.train_image} only ({args.config}, {args.label}); photos: centre "
        f"{args.crop}x{args.crop} crops of {', '.join(Path(p).stem for p in args.photos)}; "
        f"RGB PSNR, border {args.border}, 8-bit outputs. Machine: {machine()}.",
        "",
        "### Worst chain first: the config against the best training-free method given the "
        "true kernel and noise level",
        "",
        *markdown_table(header, cells),
        "",
        f"Mean gain over all chains {np.mean(gains):+.2f} dB; smallest chain mean "
        f"{min(gains):+.2f} dB; photos below their chain's best training-free method: "
        f"{sum(s['below'] for s in summaries.values())} of {count * len(summaries)}.",
        "",
    ]
    for name, result in results.items():
        methods = {**result["baselines"], args.label: result["config"]}
        photos = list(result["config"])
        rows = [
            [method, f"{mean_psnr(by_photo):.2f}", *(f"{by_photo[p]['psnr']:.2f}" for p in photos)]
            for method, by_photo in methods.items()
        ]
        table = markdown_table(["method", "mean", *photos], rows)
        lines += [f"#### {name}: {result['description']}", "", *table, ""]
        settings = ", ".join(f"{k} {v:.3g}" for k, v in result["settings"].items())
        lines += [f"Tuned on the pair: {settings}; training {result['train_seconds']:.0f} s.", ""]
        if result["alignment"]:
            lines += [
                f"Alignment found: {result['alignment'].get('line', result['alignment'])}",
                "",
            ]
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options, checked."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with kodak24/, kernels/")
    parser.add_argument("--chains", nargs="+", help="default: every chain of the zoo")
    parser.add_argument("--config", default="deblur", help="a config of configs/ (scale 1)")
    parser.add_argument("--label", help="the config's row name (default: the config's)")
    parser.add_argument("--fit-args", default="", help="more `oneshot fit` flags, one string")
    parser.add_argument("--budget", type=int, default=None, help="cap on training seconds")
    parser.add_argument("--train-image", default=TRAIN_IMAGE)
    parser.add_argument("--photos", nargs="+", default=PHOTOS)
    parser.add_argument("--crop", type=int, default=256, help="side of the photos' centre crops")
    parser.add_argument("--border", type=int, default=8, help="metric border")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--self-ensemble", action="store_true", help="restore with x8")
    parser.add_argument("--reuse", help="restore with the checkpoints of this label's run")
    parser.add_argument("--out", type=Path, default=Path("bench_out/robustness"))
    args = parser.parse_args(argv)
    available = zoo(args.data / "kernels" / "levin09")
    args.chains = args.chains or list(available)
    unknown = [name for name in args.chains if name not in available]
    if unknown:
        parser.error(f"unknown chain(s) {', '.join(unknown)}; known: {', '.join(available)}")
    problem = config_problem(args.config, 1)
    if problem is not None:
        parser.error(problem)
    args.label = args.label or Path(args.config).stem
    args.fit_args = shlex.split(args.fit_args)
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Run the chains; write the report."""
    args = parse_args(argv)
    available = zoo(args.data / "kernels" / "levin09")
    photos = photo_crops(args.data, args.photos, args.crop, args.out / "photos")
    results = {}
    for name in args.chains:
        results[name] = run_chain(name, available[name], args, photos)
        print(f"{name}: {chain_summary(results[name])}", flush=True)
    lines = report(results, args)
    print("\n".join(lines), flush=True)
    stem = args.label.replace(" ", "_").replace(",", "")
    (args.out / f"robustness_{stem}.md").write_text("\n".join(lines) + "\n")
    (args.out / f"robustness_{stem}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

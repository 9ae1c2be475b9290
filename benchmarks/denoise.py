"""Denoising benchmark: one noisy/clean pair against BM3D and non-local means.

For each noise level (Gaussian, sigma in 8-bit grey levels, clipped to [0, 1] and saved as
8 bits, as a camera file holds it) and each family: grey (Set12, BSD68, ``grey_content``; the
training pair is the luma of ``--train-image``, ITU-R 601 as Pillow makes it) and colour
(Kodak24 without the training image; ``photos``, the validation photos unlike the sets of
``benchmarks/zero_shot_denoise.py``; ``grey_content``, grey textures and scenes given as grey
files to the colour model, scored on their one channel), in the same run: the noisy input;
BM3D told the true sigma (the ``bm3d`` package, ``bm3d_rgb`` for colour: ``pip install
bm3d``); scikit-image's non-local means with its own noise estimate (h = 0.8 sigma, 5x5
patches, 13x13 search, the documented example's settings); and each config trained on the
pair through the CLI (grey: one-channel net).
Metrics: PSNR/SSIM on all channels, no border, 8-bit outputs, by the package's test loop.
Under each table, every learned row's worst image against BM3D, per set.

The classical methods run in ``--workers`` processes (one thread each) before any training,
so trainings and restores are timed alone; their seconds per MP are measured in the worker.

    python -m benchmarks.denoise --data ../shared/data --workers 2

Writes ``<out>/denoise.md`` (a table per family and sigma, the gains over BM3D and non-local
means) and ``<out>/denoise.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.baselines import baseline_model, identity, score_baselines
from benchmarks.degraded_sets import (
    TRAIN_IMAGE,
    DegradedSet,
    degrade_set,
    degrade_training_image,
    grey_content,
    set_images,
    validation_photos,
)
from benchmarks.reports import machine, markdown_table, method_table
from benchmarks.scoring import Scores, per_image
from benchmarks.tasks import Task
from benchmarks.training import config_path, config_problem, load_model, train
from oneshot_lightning.data.degradations import Degradation
from oneshot_lightning.data.io import list_images, read_image, write_image
from oneshot_lightning.models import RestorationModule

SIGMAS = [15, 25, 50]
#: Test sets of each family, folders of ``--data``.
# grey_content in both: the same grey files to the grey model and to the colour model.
FAMILIES = {
    "grey": ["set12", "bsd68", "grey_content"],
    "colour": ["kodak24", "photos", "grey_content"],
}
#: Validation sets made here (none of them a benchmark set): {name: writer of the images}.
VALIDATION_SETS = {"photos": validation_photos, "grey_content": grey_content}
BM3D, NLM, NOISY = "BM3D (true sigma)", "non-local means (estimated sigma)", "noisy input"


@dataclass(frozen=True)
class Job:
    """One classical restoration: a noisy file in, an 8-bit output file out."""

    method: str
    noisy: Path
    output: Path
    sigma: float


def bm3d_denoise(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """BM3D of an (H, W) or (H, W, 3) image in [0, 1] with noise deviation ``sigma``."""
    import bm3d  # optional: the benchmark's own dependency

    if noisy.ndim == 2:
        return bm3d.bm3d(noisy, sigma_psd=sigma)
    return bm3d.bm3d_rgb(noisy, sigma_psd=sigma)


def nlm_denoise(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """scikit-image non-local means with its own noise estimate (``sigma`` unused)."""
    from skimage.restoration import denoise_nl_means, estimate_sigma

    axis = None if noisy.ndim == 2 else -1
    estimate = float(np.mean(estimate_sigma(noisy, channel_axis=axis)))
    return denoise_nl_means(
        noisy,
        h=0.8 * estimate,
        sigma=estimate,
        fast_mode=True,
        patch_size=5,
        patch_distance=6,
        channel_axis=axis,
    )


METHODS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    BM3D: bm3d_denoise,
    NLM: nlm_denoise,
}


def method_folder(work: Path, set_name: str, method: str) -> Path:
    """Where ``method``'s outputs on ``set_name`` are written under ``work``."""
    return work / set_name / f"method{list(METHODS).index(method)}"


def run_job(job: Job) -> float:
    """Restore one file with a classical method, write the output; the seconds it took."""
    noisy = read_image(job.noisy).double().numpy()
    image = noisy[0] if noisy.shape[0] == 1 else noisy.transpose(1, 2, 0)
    start = time.perf_counter()
    restored = METHODS[job.method](image, job.sigma)
    seconds = time.perf_counter() - start
    planes = restored[None] if restored.ndim == 2 else restored.transpose(2, 0, 1)
    write_image(job.output, torch.from_numpy(np.clip(planes, 0, 1)).float())
    return seconds


def single_thread() -> None:
    """Pool worker start-up: one thread each, so the workers share the cores fairly."""
    torch.set_num_threads(1)


def classical_outputs(
    sets: dict[str, DegradedSet], sigma: float, work: Path, workers: int
) -> dict[str, dict[str, float]]:
    """Every classical method on every set, outputs under ``<work>/<set>/<method n>/``.

    Returns {method: {set: seconds per MP}}.
    """
    jobs: dict[tuple[str, str], list[Job]] = {}
    for method in METHODS:
        for set_name, test_set in sets.items():
            folder = method_folder(work, set_name, method)
            jobs[method, set_name] = [
                Job(method, noisy, folder / noisy.name, sigma)
                for noisy in list_images(test_set.inputs)
            ]
    flat = [job for batch in jobs.values() for job in batch]
    with ProcessPoolExecutor(workers, initializer=single_thread) as pool:
        seconds = dict(zip(flat, pool.map(run_job, flat)))
    return {
        method: {
            set_name: sum(seconds[job] for job in jobs[method, set_name])
            / sum(sets[set_name].megapixels.values())
            for set_name in sets
        }
        for method in METHODS
    }


def score_outputs(
    sets: dict[str, DegradedSet], work: Path, task: Task, timing: dict[str, dict[str, float]]
) -> dict[str, Scores]:
    """The classical outputs on disk scored by the test loop, with the workers' timing."""
    rows: dict[str, Scores] = {}
    for method in METHODS:
        outputs = {
            set_name: DegradedSet(
                method_folder(work, set_name, method), test.targets, test.megapixels
            )
            for set_name, test in sets.items()
        }
        scores = score_baselines({method: identity}, outputs, task)[method]
        for set_name in scores:
            scores[set_name]["s_per_mp"] = timing[method][set_name]
        rows[method] = scores
    return rows


def image_psnrs(
    model: RestorationModule, sets: dict[str, DegradedSet], task: Task
) -> tuple[Scores, dict[str, dict[str, float]]]:
    """``model``'s means per set, and each image's PSNR: ({set: means}, {set: {image: dB}})."""
    scored = {name: per_image(model, test, task) for name, test in sets.items()}
    means = {name: means for name, (means, _) in scored.items()}
    psnrs = {name: {n: r["psnr"] for n, r in rows.items()} for name, (_, rows) in scored.items()}
    return means, psnrs


def worst_lines(
    learned: dict[str, dict[str, dict[str, float]]], bm3d: dict[str, dict[str, float]]
) -> list[str]:
    """Per learned row and set, the image furthest below BM3D (or least above it)."""
    lines = []
    for label, by_set in learned.items():
        for set_name, psnrs in by_set.items():
            gaps = {image: psnr - bm3d[set_name][image] for image, psnr in psnrs.items()}
            image = min(gaps, key=gaps.__getitem__)
            mean = float(np.mean(list(gaps.values())))
            lines.append(
                f"- {label} on {set_name}: worst image {image} {gaps[image]:+.2f} dB against "
                f"BM3D (mean {mean:+.2f})"
            )
    return lines


def ensemble_losses(learned: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """Per set, the images whose x8 self-ensemble scores below the same model's one pass.

    The mean of 8 views beat one pass on every image of the 2026-12-07 runs but one, where
    four transposed views drew checkerboards on BSD68's zebras (test051, -3.67 dB): a loss
    means views broke.
    """
    lines = []
    for label, by_set in learned.items():
        plain = learned.get(label.removesuffix(" x8")) if label.endswith(" x8") else None
        if plain is None:
            continue
        for set_name, psnrs in by_set.items():
            losses = {
                image: psnr - plain[set_name][image]
                for image, psnr in psnrs.items()
                if psnr < plain[set_name][image]
            }
            if losses:
                listed = ", ".join(f"{image} {loss:+.2f}" for image, loss in sorted(
                    losses.items(), key=lambda item: item[1]))  # fmt: skip
                lines.append(
                    f"- {label} on {set_name}: below one pass on {len(losses)} of "
                    f"{len(psnrs)} images ({listed} dB)"
                )
    return lines


def grey_copy(path: Path, folder: Path) -> Path:
    """The luma (Pillow's ITU-R 601 "L") of an image, as ``<folder>/<name>``."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    with Image.open(path) as image:
        image.convert("L").save(target)
    return target


def run_level(
    family: str, sigma: int, args: argparse.Namespace
) -> tuple[list[str], dict[str, object]]:
    """Baselines and configs for one family and noise level; (markdown, results)."""
    work = args.out / f"{family}_sigma{sigma}"
    description = (
        f"Gaussian noise sigma {sigma}/255, clipped, 8-bit; "
        f"{'grey' if family == 'grey' else 'RGB'} PSNR/SSIM, no border"
    )
    task = Task(Degradation(noise_sigma=sigma / 255), 1, [], description)
    train_source = args.data / args.train_image
    train_clean = grey_copy(train_source, work / "clean") if family == "grey" else train_source
    train_input = degrade_training_image(train_clean, task, work / "train", args.seed)
    sets = {}
    for set_name in FAMILIES[family]:
        if set_name in VALIDATION_SETS:
            targets = list_images(VALIDATION_SETS[set_name](args.out / set_name))
        else:
            targets, _ = set_images(args.data / set_name, train_source)
        sets[set_name] = degrade_set(targets, task, work / set_name, args.seed)
    rows = {NOISY: score_baselines({NOISY: identity}, sets, task)[NOISY]}
    timing = classical_outputs(sets, sigma / 255, work, args.workers)
    rows |= score_outputs(sets, work, task, timing)
    bm3d_outputs = {
        name: DegradedSet(method_folder(work, name, BM3D), test.targets, test.megapixels)
        for name, test in sets.items()
    }
    _, bm3d_images = image_psnrs(baseline_model(identity, task), bm3d_outputs, task)
    learned_images = {}
    train_seconds = {}
    channels = ["--model.net.init_args.channels", "1"] if family == "grey" else []
    for config in args.configs:
        label = Path(config).stem
        checkpoint, seconds = train(
            config_path(config),
            (train_input, train_clean),
            args.budget,
            work / "runs" / label,
            channels,
        )
        train_seconds[label] = seconds
        model = load_model(checkpoint)
        rows[label], learned_images[label] = image_psnrs(model, sets, task)
        if args.self_ensemble:
            model.self_ensemble = True
            rows[f"{label} x8"], learned_images[f"{label} x8"] = image_psnrs(model, sets, task)
    lines = method_table(f"{family}, sigma {sigma}", task, list(sets), rows)
    lines += ["", *worst_lines(learned_images, bm3d_images), *ensemble_losses(learned_images)]
    notes = "".join(f"training {name} {seconds:.0f} s; " for name, seconds in train_seconds.items())
    notes += f"training pair: {train_input.name} (noisy) / {train_clean}"
    results = {"rows": rows, "train_seconds": train_seconds, "sets": list(sets)}
    return [*lines, "", notes, ""], results


def summary(results: dict[str, dict]) -> list[str]:
    """PSNR of each learned row minus BM3D's and minus non-local means', per level and set."""
    header = ["family, sigma", "set", "BM3D", "non-local means"]
    learned = sorted(
        {m for r in results.values() for m in r["rows"] if m not in (BM3D, NLM, NOISY)}
    )
    header += [f"{m} - BM3D" for m in learned] + [f"{m} - NLM" for m in learned]
    cells = []
    for name, result in results.items():
        rows = result["rows"]
        for set_name in result["sets"]:
            bm3d, nlm = rows[BM3D][set_name]["psnr"], rows[NLM][set_name]["psnr"]
            cells.append(
                [name, set_name, f"{bm3d:.2f}", f"{nlm:.2f}"]
                + [f"{rows[m][set_name]['psnr'] - bm3d:+.2f}" for m in learned]
                + [f"{rows[m][set_name]['psnr'] - nlm:+.2f}" for m in learned]
            )
    return ["### PSNR gain over BM3D and non-local means (dB)", "", *markdown_table(header, cells)]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options, checked."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with set12/, bsd68/, ...")
    parser.add_argument("--sigmas", type=int, nargs="+", default=SIGMAS, help="8-bit levels")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--configs", nargs="*", default=["denoise"], help="none: baselines")
    parser.add_argument("--budget", type=int, default=None, help="cap on training seconds")
    parser.add_argument("--train-image", default=TRAIN_IMAGE)
    parser.add_argument("--workers", type=int, default=1, help="processes for BM3D and NLM")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--self-ensemble", action="store_true", help="also score models x8")
    parser.add_argument("--out", type=Path, default=Path("bench_out/denoise"))
    args = parser.parse_args(argv)
    for config in args.configs:
        problem = config_problem(config, 1)
        if problem is not None:
            parser.error(problem)
    try:
        import bm3d  # noqa: F401
    except ImportError:
        parser.error("the BM3D baseline needs the bm3d package: pip install bm3d")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Run every family at every noise level; write the report."""
    args = parse_args(argv)
    report = [
        f"Trained on {args.train_image} only (its luma for grey); "
        f"{'budget ' + str(args.budget) + ' s' if args.budget else 'each config its own schedule'}"
        f". Machine: {machine()}; classical methods in {args.workers} single-thread workers.",
        "",
    ]
    results = {}
    for family in args.families:
        for sigma in args.sigmas:
            lines, results[f"{family}, sigma {sigma}"] = run_level(family, sigma, args)
            report += lines
            print("\n".join(lines), flush=True)
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "denoise.md").write_text("\n".join(report) + "\n")
    report += ["", *summary(results), ""]
    print("\n".join(report[-len(summary(results)) - 1 :]), flush=True)
    (args.out / "denoise.md").write_text("\n".join(report) + "\n")
    (args.out / "denoise.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""ZSSR's ingredients in the zero-shot x2 mode, each measured on its own, on images not tested.

Every image of ``--sets`` (by default ``zsval``: centre crops of scikit-image's bundled photos,
written under ``--out``; none of the test sets) is downscaled x2 (MATLAB bicubic, 8-bit) and learned
from alone with ``configs/zssr_x2.yaml``, in turn:

- **training ingredients**, each one change to the config (fit flags), trained with
  back-projection off and restored in one plain pass, against the same plain baseline;
- **restore ingredients** on the baseline's checkpoints: the 8-transform self-ensemble
  (mean or median), back-projection onto the input;
- **the shipped config** as the README runs it (its back-projection, ``predict
  --model.self_ensemble true``).

PSNR-Y on 8-bit outputs, border 2, and each image's gain over bicubic (the table shows the
mean and the smallest). Each variant writes ``<out>/<key>.json``, so variants can run in
separate processes (``--variants``); the report gathers every finished one:

    python -m benchmarks.zero_shot_ingredients --data ../shared/data --out bench_out/ingredients
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from benchmarks.degraded_sets import degrade_set
from benchmarks.reports import machine, markdown_table
from benchmarks.tasks import sr_task
from benchmarks.training import CONFIGS, load_model
from benchmarks.zero_shot import set_sources, train_zero_shot
from oneshot_lightning.data.io import list_images, read_image, write_image
from oneshot_lightning.functional import (
    DIHEDRAL_COUNT,
    back_project,
    bicubic_upscale,
    clamp_to_neighbourhood,
    dihedral,
    quantize,
    undo_dihedral,
)
from oneshot_lightning.metrics import psnr_y
from oneshot_lightning.models import RestorationModule
from oneshot_lightning.models.whole_image import RestoreSettings, restore

SCALE = 2
#: Training ingredients: key -> (label, fit flags over configs/zssr_x2.yaml).
TRAINING: dict[str, tuple[str, list[str]]] = {
    "baseline": ("baseline: zssr_x2 before (7 x 7 patches), one plain pass", []),
    "steps": ("8000 steps, not 4000", ["--trainer.max_epochs", "32"]),
    "scales": (
        "shrunk copies down to 0.5 (6 sizes, not 4)",
        ["--data.clean_scales", "[1.0,0.9,0.8,0.7,0.6,0.5]"],
    ),
    "noise": (
        "noise sigma 0.01 on the training input",
        ["--data.degradation.init_args.noise_sigma", "0.01"],
    ),
    "patch": ("patches of 5 x 5, not 7 x 7", ["--model.net.init_args.patch_size", "5"]),
    "width": ("code width 192, not 128", ["--model.net.init_args.latent", "192"]),
    "gradient": (
        "patches drawn by gradient magnitude (ZSSR's crop sampling)",
        ["--data.patch_sampling", "gradient"],
    ),
}
#: The flags every training ingredient starts from: the config before this study (patches
#: of 7 x 7), without back-projection.
PLAIN = ["--model.back_projection", "0", "--model.net.init_args.patch_size", "7"]
#: Restore ingredients on the baseline's checkpoints: label -> (ensemble, back-projection
#: iterations, overshoot margin).
RESTORE: dict[str, tuple[str | None, int, float | None]] = {
    "self-ensemble, mean of 8": ("mean", 0, None),
    "self-ensemble, median of 8 (ZSSR's)": ("median", 0, None),
    "back-projection, 4 iterations": (None, 4, None),
    "mean of 8, then back-projection": ("mean", 4, None),
    "mean of 8, overshoot clip 0.02, back-projection": ("mean", 4, 0.02),
}
SHIPPED = "shipped"
#: scikit-image photos of the tuning set and the sides of their centre crops.
ZSVAL = {
    "astronaut": (256, 512),
    "coffee": (256,),
    "chelsea": (256,),
    "rocket": (256,),
    "immunohistochemistry": (256,),
    "stereo_motorcycle": (256, 480),
    "hubble_deep_field": (256,),
}


def make_zsval(folder: Path) -> None:
    """Write the tuning set: centre crops of scikit-image's bundled photos (8-bit RGB)."""
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    for name, sides in ZSVAL.items():
        image = getattr(data, name)()
        image = image[0] if isinstance(image, tuple) else image  # a stereo pair: the left
        planes = torch.from_numpy(np.ascontiguousarray(image[..., :3])).permute(2, 0, 1) / 255
        for side in sides:
            top, left = (planes.shape[1] - side) // 2, (planes.shape[2] - side) // 2
            write_image(
                folder / f"{name}_{side}.png", planes[:, top : top + side, left : left + side]
            )


def restore_with(
    model: RestorationModule,
    image: Tensor,
    ensemble: str | None,
    iterations: int,
    margin: float | None = None,
) -> Tensor:
    """(1, C, h, w) -> (1, C, 2h, 2w): one pass or the mean/median of 8, then back-projection.

    With a ``margin``, clipped to the input's local ranges before the back-projection. One
    pass and the mean are the package's own restore; the median (not in the package) is
    combined here, then clipped and back-projected alike.
    """
    with torch.inference_mode():
        if ensemble != "median":
            settings = RestoreSettings(
                model.tile_size, ensemble == "mean", iterations, overshoot_margin=margin
            )
            return restore(image, model.net, model.first_stage, settings)
        views = range(DIHEDRAL_COUNT)
        outputs = [undo_dihedral(model.restore_once(dihedral(image, k)), k) for k in views]
        output = torch.stack(outputs).median(0).values
        if margin is not None:
            output = clamp_to_neighbourhood(output, image, SCALE, 3, margin)
        return back_project(output, image, SCALE, iterations).clamp(0, 1)


def score(output: Tensor, target: Tensor) -> float:
    """PSNR-Y of an output against its target: 8-bit, MATLAB luma, border 2."""
    return psnr_y(quantize(output), target, SCALE).item()


def run_variant(key: str, pairs: list[tuple[Path, Path]], args: argparse.Namespace) -> dict:
    """Train ``key`` on every pair and score it (the baseline: with the restore ingredients)."""
    flags = [] if key == SHIPPED else [*PLAIN, *TRAINING[key][1]]
    results: dict[str, dict[str, float]] = {}
    for low_path, target_path in pairs:
        run_dir = args.out / "runs" / key / low_path.stem
        checkpoint, seconds, _ = train_zero_shot(
            CONFIGS / "zssr_x2.yaml", low_path, args.budget, run_dir, flags
        )
        model = load_model(checkpoint)
        low, target = read_image(low_path)[None], read_image(target_path)[None]
        rows = {"bicubic": score(bicubic_upscale(low, SCALE).clamp(0, 1), target)}
        if key == SHIPPED:
            model.self_ensemble = True  # as README's predict command restores
            with torch.inference_mode():
                rows[SHIPPED] = score(model.restore(low), target)
        else:
            rows[key] = score(restore_with(model, low, None, 0), target)
        if key == "baseline":
            for label, settings in RESTORE.items():
                rows[label] = score(restore_with(model, low, *settings), target)
        rows["seconds"] = seconds
        results[low_path.stem] = rows
        print(key, low_path.stem, {k: round(v, 2) for k, v in rows.items()}, flush=True)
    return results


def report(out: Path, sets: Sequence[str], budget: int) -> list[str]:
    """The table of every finished variant in ``out``."""
    found = {path.stem: json.loads(path.read_text()) for path in sorted(out.glob("*.json"))}
    labels: dict[str, str] = {key: label for key, (label, _) in TRAINING.items()}
    labels[SHIPPED] = "**zssr_x2.yaml as shipped, predict --model.self_ensemble true**"
    rows: list[list[str]] = []

    def add(label: str, per_image: dict[str, dict[str, float]], column: str) -> None:
        gains = [r[column] - r["bicubic"] for r in per_image.values()]
        psnrs = [r[column] for r in per_image.values()]
        seconds = np.mean([r["seconds"] for r in per_image.values()])
        trained = column != "bicubic"
        rows.append([label, f"{np.mean(psnrs):.2f}", f"{np.mean(gains):+.2f}",
                     f"{min(gains):+.2f}", f"{seconds:.0f}" if trained else "-"])  # fmt: skip

    baseline = found.get("baseline")
    if baseline is not None:
        add("bicubic", baseline, "bicubic")
    for key in [*TRAINING, SHIPPED]:
        if key in found:
            add(labels[key], found[key], key)
        if key == "baseline" and baseline is not None:
            for label in RESTORE:
                add(f"baseline + {label}", baseline, label)
    images = len(next(iter(found.values()), {}))
    return [
        f"ZSSR's ingredients, zero-shot x2 on {', '.join(sets)} ({images} images, none of the "
        f"test sets), each training run capped at {budget} s; PSNR-Y (8-bit, border 2). "
        f"Machine: {machine()}.",
        "",
        *markdown_table(
            ["variant", "PSNR-Y", "gain over bicubic, mean", "smallest gain", "fit s"], rows
        ),
    ]


def pairs_of(args: argparse.Namespace) -> list[tuple[Path, Path]]:
    """(low-resolution input, clean target) files of every image of the sets.

    Made once under ``<out>/sets`` (the same files for every process of a study).
    """
    pairs = []
    for name in args.sets:
        folder = args.out / "sets" / name.replace(":", "_")
        if not (folder / "target").is_dir():
            if name == "zsval":
                make_zsval(folder / "clean")
                sources = list_images(folder / "clean")
            else:
                sources = set_sources(args.data, name, folder / "clean", None)
            degrade_set(sources, sr_task(SCALE, []), folder, seed=0)
        pairs += [(folder / "input" / f"{t.stem}.png", t) for t in list_images(folder / "target")]
    return pairs


def main(argv: Sequence[str] | None = None) -> None:
    """Run the chosen variants, then write ``<out>/ingredients.md`` from all finished ones."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with the sets")
    parser.add_argument("--sets", nargs="+", default=["zsval"])
    parser.add_argument("--variants", nargs="+", default=[*TRAINING, SHIPPED],
                        choices=[*TRAINING, SHIPPED])  # fmt: skip
    parser.add_argument("--budget", type=int, default=300, help="seconds cap per fit")
    parser.add_argument("--out", type=Path, default=Path("bench_out/ingredients"))
    args = parser.parse_args(argv)
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    pairs = pairs_of(args)
    args.out.mkdir(parents=True, exist_ok=True)
    for key in args.variants:
        results = run_variant(key, pairs, args)
        (args.out / f"{key}.json").write_text(json.dumps(results, indent=1))
    lines = report(args.out, args.sets, args.budget)
    (args.out / "ingredients.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

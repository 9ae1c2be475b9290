r"""Zero-shot super-resolution on photos shrunk by different resize implementations.

Every clean image of ``--sets`` is shrunk by each of ``--resizers`` (``benchmarks/resizers.py``:
MATLAB's imresize, Pillow, OpenCV), rounded to 8 bits, learned from alone with ``--config``
and restored with the self-ensemble; scored against the clean image on MATLAB luma, border
s, 8-bit outputs, beside plain bicubic upscaling of the same input. The question is the worst
image: zero-shot must not end below the interpolation a user would otherwise use, whatever
made the photo. Each row also names the kernel the run chose and whether it back-projected.

    python -m benchmarks.zero_shot_resizers --data ../shared/data --scale 2 \
        --sets set5 set14 kodak24:256 --resizers matlab_bicubic opencv_cubic opencv_area

Writes ``<out>/zero_shot_resizers_x{s}.md`` and ``.json``; a rerun skips the images whose
rows are already there (``--fresh`` starts over).
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path

import numpy as np
import torch

from benchmarks.baselines import baseline_model, bicubic
from benchmarks.reports import machine
from benchmarks.resizers import RESIZERS
from benchmarks.scoring import evaluate_pair
from benchmarks.tasks import sr_task
from benchmarks.training import config_path, load_model
from benchmarks.zero_shot import set_sources, train_zero_shot
from oneshot_lightning.data.io import read_image, write_image
from oneshot_lightning.functional import mod_crop, quantize, resize_kernel
from oneshot_lightning.functional.resize_kernels import ROUTINES


def kernel_name(run_dir: Path) -> str:
    """The routine whose kernel the run saved (``kernel.npy``), else ``Gaussian``."""
    saved = run_dir / "kernel.npy"
    if not saved.is_file():
        return "bicubic (assumed)"
    kernel = torch.from_numpy(np.load(saved)).float()
    for key in ROUTINES:
        known = resize_kernel(key, 2)  # the x2 step's, as the configs train
        if known.shape == kernel.shape and torch.allclose(known, kernel, atol=1e-6):
            return key
    return "Gaussian"


def back_projected(checkpoint: Path) -> bool:
    """Whether the checkpoint's model back-projects its outputs."""
    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
    return bool(saved.get("back_projection", saved["hyper_parameters"]["back_projection"]))


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--sets", nargs="+", default=["set5", "set14", "kodak24:256"])
    parser.add_argument("--scale", type=int, choices=(2, 4), default=2)
    parser.add_argument("--resizers", nargs="+", default=["matlab_bicubic", "opencv_cubic",
                        "opencv_area"], choices=sorted(RESIZERS))  # fmt: skip
    parser.add_argument("--config", default=None, help="default: zssr_x{scale}")
    parser.add_argument("--fit-args", nargs=argparse.REMAINDER, default=[])
    parser.add_argument("--limit", type=int, default=None, help="first N images of each set")
    parser.add_argument("--budget", type=int, default=60, help="seconds per zero-shot fit")
    parser.add_argument("--out", type=Path, default=Path("bench_out/zero_shot_resizers"))
    parser.add_argument("--fresh", action="store_true", help="forget earlier rows")
    args = parser.parse_args(argv)
    scale = args.scale
    config = config_path(args.config or f"zssr_x{scale}")
    task = sr_task(scale, [config.stem])
    results = args.out / f"zero_shot_resizers_x{scale}.json"
    earlier = results.is_file() and not args.fresh
    rows: list[dict] = json.loads(results.read_text()) if earlier else []
    done = {(r["set"], r["resizer"], r["image"]) for r in rows}
    baseline = baseline_model(partial(bicubic, scale=scale), task)
    for set_name in args.sets:
        folder = args.out / f"x{scale}" / set_name.replace(":", "_")
        for source in set_sources(args.data, set_name, folder / "clean", args.limit):
            clean = mod_crop(read_image(source), scale)
            target = write_image(folder / "targets" / f"{source.stem}.png", clean)
            for resizer in args.resizers:
                if (set_name, resizer, source.stem) in done:
                    continue
                small = quantize(RESIZERS[resizer](clean, scale).clamp(0, 1))
                photo = write_image(folder / resizer / f"{source.stem}.png", small)
                run_dir = folder / "runs" / resizer / source.stem
                checkpoint, seconds, _ = train_zero_shot(
                    config, photo, args.budget, run_dir, args.fit_args
                )
                row = {"set": set_name, "resizer": resizer, "image": source.stem}
                row["bicubic"] = evaluate_pair(baseline, photo, target, task)["psnr_y"]
                row["zero_shot"] = evaluate_pair(load_model(checkpoint, True), photo, target, task)[
                    "psnr_y"
                ]
                row |= {"seconds": seconds, "kernel": kernel_name(run_dir)}
                row["back_projected"] = back_projected(checkpoint)
                rows.append(row)
                results.parent.mkdir(parents=True, exist_ok=True)
                results.write_text(json.dumps(rows, indent=1))
                print(
                    f"x{scale} {set_name}/{source.stem} {resizer}: bicubic {row['bicubic']:.2f}, "
                    f"zero-shot {row['zero_shot']:.2f} ({row['zero_shot'] - row['bicubic']:+.2f}; "
                    f"{row['kernel']}, back-projection {'on' if row['back_projected'] else 'off'}"
                    f", {seconds:.0f} s)",
                    flush=True,
                )
    report(rows, scale, config.stem, args.out)


def report(rows: list[dict], scale: int, config: str, out: Path) -> None:
    """Per set and resizer: mean PSNR-Y of bicubic and zero-shot, mean and worst gain."""
    lines = [
        f"# Zero-shot x{scale} ({config}) on photos shrunk by different resize routines",
        "",
        f"Machine: {machine()}. PSNR-Y (MATLAB luma), border {scale}, 8-bit outputs; "
        "self-ensemble at predict. Gain = zero-shot minus bicubic upscaling of the same photo.",
        "",
        "| set | resizer | images | bicubic | zero-shot | mean gain | worst gain (image) | "
        "back-projected | s per fit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["set"], row["resizer"]), []).append(row)
    for (set_name, resizer), group in groups.items():
        gains = [r["zero_shot"] - r["bicubic"] for r in group]
        worst = int(np.argmin(gains))
        lines.append(
            f"| {set_name} | {resizer} | {len(group)} | "
            f"{np.mean([r['bicubic'] for r in group]):.2f} | "
            f"{np.mean([r['zero_shot'] for r in group]):.2f} | {np.mean(gains):+.2f} | "
            f"{gains[worst]:+.2f} ({group[worst]['image']}) | "
            f"{sum(r['back_projected'] for r in group)}/{len(group)} | "
            f"{np.mean([r['seconds'] for r in group]):.0f} |"
        )
    gains = [r["zero_shot"] - r["bicubic"] for r in rows]
    worst = int(np.argmin(gains))
    lines += [
        "",
        f"Worst image of all {len(rows)}: {gains[worst]:+.2f} dB "
        f"({rows[worst]['set']}/{rows[worst]['image']}, {rows[worst]['resizer']}); "
        f"{sum(g < 0 for g in gains)} below bicubic.",
    ]
    (out / f"zero_shot_resizers_x{scale}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Adapt-mode denoising: the pair model of a ``benchmarks.denoise`` run fine-tuned on each photo.

Reads what ``python -m benchmarks.denoise --out FROM`` left for one family and noise level
(the noisy and clean sets, BM3D's outputs, the pair config's best checkpoint), so every row
sees the same noise: BM3D told the true sigma, the pair model alone, and the adapt config
(``configs/denoise_adapt.yaml``) fitted on each noisy photo alone through the real CLI
(in-process), starting from the pair model (``--model.init_from``), then restoring it. Both
learned rows restore with the 8-transform self-ensemble. Seconds per image are the fit plus
the restore, timed alone. PSNR/SSIM on all channels, no border, 8-bit outputs; each row
gives the mean and the worst image against BM3D, then every image.

    python -m benchmarks.denoise --data ../shared/data --families colour --sigmas 25 \
        --out bench_out/denoise
    python -m benchmarks.denoise_adapt --from bench_out/denoise --family colour --sigma 25

Writes ``<out>/denoise_adapt.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.denoise import BM3D, FAMILIES, NOISY, method_folder
from benchmarks.reports import machine
from benchmarks.scoring import evaluate_pair
from benchmarks.tasks import Task
from benchmarks.training import config_path, load_model
from benchmarks.zero_shot_denoise import file_scores, fit_and_restore, summary
from oneshot_lightning.data.degradations import Degradation
from oneshot_lightning.data.io import list_images

Rows = dict[str, dict[str, dict[str, float]]]


def run_set(work: Path, set_name: str, task: Task, args: argparse.Namespace) -> Rows:
    """Noisy input, BM3D, the pair model and the adapt config on one set: per-image rows."""
    checkpoint = work / "runs" / args.pair / "checkpoints" / "best.ckpt"
    pair = load_model(checkpoint, self_ensemble=True)
    labels = (f"{args.pair} x8 (pair model)", f"{Path(args.config).stem} x8")
    rows: Rows = {NOISY: {}, BM3D: {}, labels[0]: {}, labels[1]: {}}
    extra = ["--model.init_from", str(checkpoint), *shlex.split(args.fit_args)]
    for noisy in list_images(work / set_name / "input")[: args.limit]:
        clean = next((work / set_name / "target").glob(f"{noisy.stem}.*"))
        rows[NOISY][noisy.stem] = file_scores(noisy, clean)
        rows[BM3D][noisy.stem] = file_scores(method_folder(work, set_name, BM3D) / noisy.name,
                                             clean)  # fmt: skip
        rows[labels[0]][noisy.stem] = evaluate_pair(pair, noisy, clean, task)
        run = args.out / work.name / set_name / noisy.stem
        rows[labels[1]][noisy.stem] = fit_and_restore(config_path(args.config), noisy, clean,
                                                      run, task, extra)  # fmt: skip
        print(set_name, noisy.stem, {k: round(v[noisy.stem]["psnr"], 2)
                                     for k, v in rows.items()}, flush=True)  # fmt: skip
    return rows


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, required=True,
                        help="the --out folder of a benchmarks.denoise run")  # fmt: skip
    parser.add_argument("--family", default="colour", choices=list(FAMILIES))
    parser.add_argument("--sigma", type=int, default=25)
    parser.add_argument("--sets", nargs="+", default=None, help="default: the family's sets")
    parser.add_argument("--pair", default="denoise", help="the pair config of that run")
    parser.add_argument("--config", default="denoise_adapt")
    parser.add_argument("--fit-args", default="", help="more fit arguments, one string")
    parser.add_argument("--limit", type=int, default=None, help="first N images of each set")
    parser.add_argument("--out", type=Path, default=Path("bench_out/denoise_adapt"))
    args = parser.parse_args(argv)
    args.work = args.source / f"{args.family}_sigma{args.sigma}"  # that run's family and level
    if not (args.work / "runs" / args.pair / "checkpoints" / "best.ckpt").is_file():
        parser.error(f"no {args.pair} checkpoint under {args.work}: run benchmarks.denoise first")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Every set of the family; the report."""
    args = parse_args(argv)
    work = args.work
    task = Task(Degradation(noise_sigma=args.sigma / 255), 1, [], f"sigma {args.sigma}")
    report = [f"Pair model and noisy sets of {work}; {args.config} fitted on each noisy photo "
              f"alone from the pair model {args.fit_args}. Machine: {machine()}.", ""]  # fmt: skip
    results = {}
    start = time.perf_counter()
    for set_name in args.sets or FAMILIES[args.family]:
        rows = run_set(work, set_name, task, args)
        results[set_name] = rows
        report += summary(set_name, args.sigma, rows)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "denoise_adapt.md").write_text("\n".join(report) + "\n")
        (args.out / "denoise_adapt.json").write_text(json.dumps(results, indent=2))
    report.append(f"{time.perf_counter() - start:.0f} s in all.")
    (args.out / "denoise_adapt.md").write_text("\n".join(report) + "\n")
    print("\n".join(report), flush=True)


if __name__ == "__main__":
    main()

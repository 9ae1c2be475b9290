"""Study: which pair should a user shoot? Each Kodak image in turn as the one teacher.

Each of the 24 Kodak images is degraded and trained on, alone, by ``configs/rnn.yaml`` (the
deblur task: Gaussian sigma 1.6, 15x15, + noise 0.01, 8-bit) and by ``configs/sr_x2.yaml``
(bicubic x2, 8-bit), for a fixed ``--steps`` (the cosine schedule over those steps, no time
limit, so a busy CPU changes nothing), validated on the CLI's own held-out blocks. Each model
is scored on Set5 and Set14 (the test sets: RGB PSNR with border 8 for deblurring, luma PSNR
with border 2 for x2) and on five Kodak validation images (kodim01, 08, 13, 19, 23; a
teacher's own image left out of its mean), which choose the predictor and the threshold of
the weak-teacher note; the test sets choose nothing. ``--full-teachers`` also trains those
teachers with ``--full-steps`` (the configs' 6000), to show that the short budget ranks
teachers as the full one does.

Statistics of each training pair (``oneshot_lightning.functional.texture``, the clean image's
luma) are set against the results: gradient energy, mean local contrast, the fraction of flat
patches, patch diversity, the detail the degradation removed, and the validation gain that
``fit`` reports. Content: each image is labelled people, nature or man-made
(:data:`CONTENT`), to ask whether a teacher of the test image's kind helps beyond texture.

    python -m benchmarks.study_teachers --data ../shared/data --out bench_out/teachers \
        --plots benchmarks/plots [--steps 1500] [--full-teachers kodim05 kodim13 ...]

Runs are cached in ``<out>/<task>/<teacher>_s<steps>/record.json``; a rerun trains only what
is missing. Writes ``<out>/study_teachers.md`` and ``.json``, and
``<plots>/study_teachers.png`` when matplotlib is installed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import shutil
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.baselines import baseline_model, bicubic, identity
from benchmarks.degraded_sets import DegradedSet, degrade_set, degrade_training_image
from benchmarks.reports import machine
from benchmarks.scoring import per_image
from benchmarks.tasks import Task, blur_task, sr_task
from benchmarks.training import CONFIGS, load_model, train
from oneshot_lightning.data.degradations import GaussianBlur
from oneshot_lightning.data.io import list_images
from oneshot_lightning.models import RestorationModule

#: PSNR per image (by stem) per set.
Scores = dict[str, dict[str, float]]

#: The teachers' folder, the test sets, and the Kodak images that validate the predictor.
TEACHERS, TEST_SETS = "kodak24", ("set5", "set14")
VALIDATION = ("kodim01", "kodim08", "kodim13", "kodim19", "kodim23")

#: What each image shows, for the content study: people, nature, else man-made.
PEOPLE = ["kodim04", "kodim12", "kodim14", "kodim15", "kodim17", "kodim18"]
PEOPLE += ["baby", "head", "woman", "face", "lenna", "man", "foreman", "barbara"]
NATURE = ["kodim13", "kodim16", "kodim23"]
NATURE += ["bird", "butterfly", "baboon", "flowers", "monarch", "zebra"]
CONTENT = dict.fromkeys(PEOPLE, "people") | dict.fromkeys(NATURE, "nature")


def study_tasks(border: int) -> dict[str, tuple[Task, Path, str]]:
    """{task: (task, config, metric)}: the deblur task with rnn.yaml, x2 with sr_x2.yaml."""
    deblur = blur_task(
        GaussianBlur(sigma=1.6, size=15),
        f"Gaussian blur sigma 1.6 (15x15, reflect) + noise 0.01, 8-bit; RGB, border {border}",
        border,
    )
    return {
        "deblur": (deblur, CONFIGS / "rnn.yaml", "psnr"),
        "sr_x2": (sr_task(2, ["sr_x2"]), CONFIGS / "sr_x2.yaml", "psnr_y"),
    }


def gain_over_start(run_dir: Path) -> float | None:
    """The validation gain over the untrained start that ``fit`` printed, in dB."""
    log = (run_dir / "fit.log").read_text()
    found = re.search(r"([+-]\d+\.\d+) dB over the untrained start", log)
    return float(found.group(1)) if found else None


class TeacherBench:
    """Degraded teachers and sets written once per task; runs trained and scored once."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.teachers = list_images(args.data / TEACHERS)
        self.sets: dict[str, dict[str, DegradedSet]] = {}

    def test_sets(self, name: str, task: Task) -> dict[str, DegradedSet]:
        """Set5, Set14 and the validation images, degraded by ``task`` (written once)."""
        if name not in self.sets:
            folder = self.args.out / name
            sets = {
                s: degrade_set(list_images(self.args.data / s), task, folder / s, self.args.seed)
                for s in TEST_SETS
            }
            validation = [p for p in self.teachers if p.stem in VALIDATION]
            sets["kodval"] = degrade_set(validation, task, folder / "kodval", self.args.seed)
            self.sets[name] = sets
        return self.sets[name]

    def baseline(self, name: str, task: Task) -> Scores:
        """Per-image PSNR of the degraded input (deblurring) or bicubic (x2), per set."""
        function = identity if task.scale == 1 else partial(bicubic, scale=task.scale)
        return self.scores(baseline_model(function, task), name, task)

    def scores(self, model: RestorationModule, name: str, task: Task) -> Scores:
        """``model``'s PSNR on each image of each set, per set (the task's metric)."""
        metric = study_tasks(self.args.border)[name][2]
        return {
            s: {image: row[metric] for image, row in per_image(model, data, task)[1].items()}
            for s, data in self.test_sets(name, task).items()
        }

    def run(self, name: str, teacher: Path, steps: int) -> dict[str, Any]:
        """Train ``teacher`` for task ``name`` (unless cached); its record with scores."""
        task, config, _ = study_tasks(self.args.border)[name]
        run_dir = self.args.out / name / f"{teacher.stem}_s{steps}"
        record_path = run_dir / "record.json"
        if record_path.is_file():
            return dict(json.loads(record_path.read_text()))
        if run_dir.exists():
            shutil.rmtree(run_dir)  # an unfinished run: start it afresh
        degraded = degrade_training_image(teacher, task, run_dir / "pair", self.args.seed)
        extra = [
            *("--trainer.max_steps", str(steps), "--trainer.max_epochs", "-1"),
            *("--trainer.max_time", "null", "--trainer.enable_progress_bar", "false"),
            *("--data.steps_per_epoch", str(max(1, steps // 6))),
        ]
        checkpoint, seconds = train(config, (degraded, teacher), None, run_dir, extra)
        scores = self.scores(load_model(checkpoint), name, task)
        record = {
            "teacher": teacher.stem,
            "steps": steps,
            "seconds": seconds,
            "val_gain": gain_over_start(run_dir),
            "scores": scores,
        }
        record_path.write_text(json.dumps(record, indent=2))
        shutil.rmtree(run_dir / "checkpoints")  # 24 x 2 models: keep the scores, not weights
        print(f"{name} {teacher.stem} {steps} steps: {seconds:.0f} s, "
              f"Set5 {np.mean(list(scores['set5'].values())):.2f}", flush=True)  # fmt: skip
        return record


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The study's options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of the shared data")
    parser.add_argument("--out", type=Path, default=Path("bench_out/teachers"))
    parser.add_argument("--plots", type=Path, help="folder for the PNG plot")
    parser.add_argument("--steps", type=int, default=1500, help="training steps per teacher")
    parser.add_argument("--full-steps", type=int, default=6000)
    parser.add_argument("--full-teachers", nargs="*", default=[], help="also trained in full")
    parser.add_argument("--tasks", nargs="*", default=["deblur", "sr_x2"])
    parser.add_argument("--teachers", nargs="*", help="Kodak stems (default: all 24)")
    parser.add_argument("--border", type=int, default=8, help="deblurring metric border")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-only", action="store_true", help="train and score, no report")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Train and score every teacher, then write the report."""
    args = parse_args(argv)
    bench = TeacherBench(args)
    teachers = [p for p in bench.teachers if args.teachers is None or p.stem in args.teachers]
    records: dict[str, dict[str, dict[str, Any]]] = {}
    for name in args.tasks:
        records[name] = {t.stem: bench.run(name, t, args.steps) for t in teachers}
        for teacher in teachers:
            if teacher.stem in args.full_teachers:
                records[name][f"{teacher.stem}@full"] = bench.run(name, teacher, args.full_steps)
    if args.train_only:
        return
    from benchmarks.study_teachers_report import report

    started = datetime.date.today().isoformat()
    baselines = {
        name: bench.baseline(name, study_tasks(args.border)[name][0]) for name in args.tasks
    }
    lines, results, draw = report(args, records, baselines, teachers, started, machine())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "study_teachers.md").write_text("\n".join(lines) + "\n")
    (args.out / "study_teachers.json").write_text(json.dumps(results, indent=2))
    print("\n".join(lines))
    if args.plots is not None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed: no plot (pip install -e .[plots])")
            return
        draw(plt)
        args.plots.mkdir(parents=True, exist_ok=True)
        plt.savefig(args.plots / "study_teachers.png", dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    main()

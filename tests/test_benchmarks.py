"""The benchmarks' shared scoring: the package's test loop on baselines, on the bundled images."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks import baselines, degraded_sets, scoring, tasks
from oneshot_lightning.data import OneShotDataModule
from oneshot_lightning.data.degradations import GaussianBlur
from oneshot_lightning.data.io import list_images, read_image, write_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.functional import mod_crop, quantize
from oneshot_lightning.metrics import psnr, psnr_y, ssim


@pytest.fixture
def clean_images(tmp_path: Path) -> list[Path]:
    """Small crops of the bundled images (one RGB, one grey), odd sizes included."""
    folder = tmp_path / "clean"
    astronaut = read_image(SAMPLE_IMAGE)[:, 100:197, 150:270]
    coffee = read_image(SAMPLE_IMAGE.parent / "coffee.png")[:, 50:150, 60:181].mean(0, keepdim=True)
    return [write_image(folder / "a.png", astronaut), write_image(folder / "b.png", coffee)]


def deblur_task(border: int = 4) -> tasks.Task:
    return tasks.blur_task(GaussianBlur(sigma=1.6, size=15), "test", border)


def test_degraded_set_matches_the_data_module(clean_images, tmp_path):
    task = deblur_task()
    test_set = degraded_sets.degrade_set(clean_images, task, tmp_path / "set", seed=3)
    data = OneShotDataModule(
        test_target=str(test_set.targets), degradation=task.degradation, seed=3
    )
    data.setup("test")
    for index, path in enumerate(list_images(test_set.inputs)):
        assert torch.equal(read_image(path), data.test_dataset[index]["input"])


def test_wiener_scored_by_the_test_loop_matches_psnr(clean_images, tmp_path):
    task = deblur_task(border=4)
    test_set = degraded_sets.degrade_set(clean_images, task, tmp_path / "set", seed=0)
    restore = partial(baselines.wiener_restore, kernel=task.kernel, balance=0.01)
    scores = scoring.evaluate(baselines.baseline_model(restore, task), test_set, task)

    psnrs, ssims = [], []
    for target in clean_images:
        degraded = read_image(test_set.inputs / target.name)[None]
        restored = quantize(restore(degraded))
        clean = read_image(target)[None]
        psnrs.append(psnr(restored, clean, border=4).item())
        ssims.append(ssim(restored, clean, border=4).item())
    assert scores["psnr"] == pytest.approx(np.mean(psnrs), abs=1e-9)
    assert scores["ssim"] == pytest.approx(np.mean(ssims), abs=1e-9)
    assert set(scores) == {"psnr", "ssim", "s_per_mp"} and scores["s_per_mp"] > 0
    # The restoration did something: Wiener beats the degraded input here.
    untouched = baselines.baseline_model(baselines.identity, task)
    unrestored = scoring.evaluate(untouched, test_set, task)
    assert scores["psnr"] > unrestored["psnr"]


def test_bicubic_scored_by_the_test_loop_matches_psnr_y(clean_images, tmp_path):
    task = tasks.sr_task(3, [])
    test_set = degraded_sets.degrade_set(clean_images, task, tmp_path / "set", seed=0)
    model = baselines.baseline_model(partial(baselines.bicubic, scale=3), task)
    scores, rows = scoring.per_image(model, test_set, task)

    for target in clean_images:
        degraded = read_image(test_set.inputs / target.name)[None]
        clean = mod_crop(read_image(target), 3)[None]
        expected = psnr_y(quantize(baselines.bicubic(degraded, 3)), clean, border=3).item()
        assert rows[target.stem]["psnr_y"] == pytest.approx(expected, abs=1e-9)
    assert scores["psnr_y"] == pytest.approx(np.mean([r["psnr_y"] for r in rows.values()]))
    assert len(rows) == len(clean_images) and model.net.scale == 3


def test_deblur_benchmark_scores_every_baseline_in_one_run(clean_images, tmp_path):
    from benchmarks import deblur

    data = tmp_path / "data"
    write_image(data / "train.png", read_image(SAMPLE_IMAGE)[:, 128:384, 128:384])
    for path in clean_images:
        write_image(data / "set" / path.name, read_image(path))
    out = tmp_path / "out"
    deblur.main(["--data", str(data), "--train-image", "train.png", "--sets", "set",
                 "--tasks", "deblur", "--configs", "--out", str(out)])  # fmt: skip
    report = (out / "deblur.md").read_text()
    baselines = ("degraded input", deblur.REFERENCE, "Richardson-Lucy, true kernel")
    for row in (*baselines, "Wiener, estimated kernel", deblur.FIRST_STAGE):
        assert f"| {row} |" in report
    rows = {
        line.split("|")[1].strip(): float(line.split("|")[2].split("/")[0])
        for line in report.splitlines()
        if line.startswith("| ") and " / 0." in line
    }
    # Deconvolution with the kernel estimated from the pair beats doing nothing.
    assert rows[deblur.FIRST_STAGE] > rows["degraded input"] + 0.5


def test_denoise_benchmark_scores_bm3d_as_computed_directly(clean_images, tmp_path):
    from benchmarks import denoise

    data = tmp_path / "data"
    write_image(data / "train.png", read_image(SAMPLE_IMAGE)[:, 128:256, 128:256])
    for path in clean_images:
        write_image(data / "set12" / path.name, read_image(path).mean(0, keepdim=True))
    write_image(data / "bsd68" / "c.png", read_image(clean_images[1]))
    out = tmp_path / "out"
    denoise.main(["--data", str(data), "--train-image", "train.png", "--sigmas", "25",
                  "--families", "grey", "--configs", "--out", str(out)])  # fmt: skip
    report = (out / "denoise.md").read_text()
    rows = {
        line.split("|")[1].strip(): float(line.split("|")[2].split("/")[0])
        for line in report.splitlines()
        if line.startswith("| ") and " / 0." in line
    }
    # The BM3D row is BM3D of each noisy input, rounded to 8 bits, scored on set12.
    noisy_folder = out / "grey_sigma25" / "set12" / "input"
    direct = []
    for path in clean_images:
        noisy = read_image(noisy_folder / path.name)[0].double().numpy()
        restored = torch.from_numpy(denoise.bm3d_denoise(noisy, 25 / 255)).float()
        clean = read_image(data / "set12" / path.name)
        direct.append(psnr(quantize(restored.clamp(0, 1))[None, None], clean[None]).item())
    assert rows[denoise.BM3D] == pytest.approx(np.mean(direct), abs=0.01)
    assert rows[denoise.BM3D] > rows[denoise.NOISY] + 3
    assert rows[denoise.NLM] > rows[denoise.NOISY] + 1


def test_teacher_study_statistics() -> None:
    from scipy.stats import spearmanr

    from benchmarks.study_teachers_report import input_psnr, spearman

    generator = np.random.default_rng(0)
    x, y = generator.random(24).tolist(), generator.random(24).tolist()
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic)
    assert spearman(x, x) == pytest.approx(1.0)
    assert spearman(x, [-v for v in x]) == pytest.approx(-1.0)
    clean = read_image(SAMPLE_IMAGE)[:, :64, :66]
    low = baselines.bicubic(clean[None, :, :64, :66], 1)[0][:, ::2, ::2]  # any 32x33 input
    upscaled = baselines.bicubic(low[None], 2)
    assert input_psnr(low, clean, 2) == pytest.approx(psnr(upscaled, clean[None]).item())
    assert input_psnr(clean, clean, 1) > 80


def test_zero_shot_denoise_report_gives_the_worst_image_against_bm3d() -> None:
    from benchmarks import zero_shot_denoise as zsd

    rows = {
        zsd.NOISY: {"a": {"psnr": 20.0, "ssim": 0.3}, "b": {"psnr": 21.0, "ssim": 0.4}},
        zsd.BM3D: {"a": {"psnr": 30.0, "ssim": 0.8}, "b": {"psnr": 31.0, "ssim": 0.9}},
        "zero_shot_denoise": {
            "a": {"psnr": 29.0, "ssim": 0.7, "seconds": 50.0},
            "b": {"psnr": 28.0, "ssim": 0.6, "seconds": 58.0},
        },
    }
    lines = zsd.summary("set", 25, rows)
    learned = next(line for line in lines if line.startswith("| zero_shot_denoise"))
    # Mean 28.50, -2.00 against BM3D on average, worst image b at -3.00, 54 s (max 58).
    assert learned == "| zero_shot_denoise | 28.50 | 0.6500 | -2.00 | b -3.00 | 54 (max 58) |"
    assert "| b | 21.00 | 31.00 | 28.00 |" in lines


def test_denoise_report_gives_each_rows_worst_image_against_bm3d() -> None:
    from benchmarks import denoise

    bm3d = {"kodak24": {"a": 30.0, "b": 31.0}, "photos": {"c": 32.0}}
    learned = {"denoise": {"kodak24": {"a": 30.5, "b": 30.0}, "photos": {"c": 32.25}}}
    assert denoise.worst_lines(learned, bm3d) == [
        "- denoise on kodak24: worst image b -1.00 dB against BM3D (mean -0.25)",
        "- denoise on photos: worst image c +0.25 dB against BM3D (mean +0.25)",
    ]


def test_denoise_report_names_images_whose_self_ensemble_loses_to_one_pass() -> None:
    from benchmarks import denoise

    learned = {
        "denoise": {"bsd68": {"a": 28.0, "b": 27.7, "c": 30.0}},
        "denoise x8": {"bsd68": {"a": 28.2, "b": 24.0, "c": 29.9}},
    }
    assert denoise.ensemble_losses(learned) == [
        "- denoise x8 on bsd68: below one pass on 2 of 3 images (b -3.70, c -0.10 dB)"
    ]
    learned["denoise x8"]["bsd68"] |= {"b": 27.8, "c": 30.1}
    assert denoise.ensemble_losses(learned) == []


def test_grey_content_is_grey_and_the_photos_luma(tmp_path: Path) -> None:
    import skimage.data

    from benchmarks.degraded_sets import GREY_CONTENT, grey_content

    folder = grey_content(tmp_path, side=64)
    images = {path.stem: read_image(path) for path in list_images(folder)}
    assert sorted(images) == sorted(GREY_CONTENT)
    assert all(image.shape == (1, 64, 64) for image in images.values())
    photo = skimage.data.coffee()  # (400, 600, 3): its centre 64 x 64, as Pillow's luma
    centre = photo[168:232, 268:332].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    assert np.abs(images["coffee"][0].double().numpy() * 255 - centre).max() <= 1


def test_denoise_adapt_needs_a_denoise_run_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import denoise_adapt

    with pytest.raises(SystemExit) as info:
        denoise_adapt.parse_args(["--from", str(tmp_path), "--family", "colour"])
    assert info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "no denoise checkpoint under" in error and "run benchmarks.denoise first" in error

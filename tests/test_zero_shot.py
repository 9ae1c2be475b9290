"""Zero-shot mode end to end: fit on one low-resolution photo alone, then enlarge that photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from oneshot_lightning.data import OneShotDataModule
from oneshot_lightning.data.degradations import Degradation, KernelDownscale
from oneshot_lightning.data.io import read_image, write_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.functional import (
    bicubic_kernel,
    downscaling_gaussian,
    kernel_downscale,
    quantize,
    relative_error,
    resize_kernel,
)
from oneshot_lightning.functional.back_projection import back_project
from oneshot_lightning.functional.resize import bicubic_downscale, bicubic_upscale
from oneshot_lightning.metrics import psnr_y
from oneshot_lightning.models import RestorationModule

CONF = Path(__file__).parent / "conf"


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A 128x128 low-resolution photo: the sample shrunk x2 (8-bit, as a file would be)."""
    return write_image(
        tmp_path / "photo.png", bicubic_downscale(read_image(SAMPLE_IMAGE)[None], 2)[0]
    )


def test_fit_on_the_photo_alone_then_enlarge_it(photo: Path, tmp_path: Path, cli) -> None:
    run = tmp_path / "run"
    cli("fit", "--config", CONF / "zssr_tiny.yaml", "--data.input", photo,
        "--trainer.default_root_dir", run)  # fmt: skip
    checkpoint = run / "checkpoints" / "best.ckpt"
    cli("predict", "--ckpt_path", checkpoint, "--data.predict", photo,
        "--writer.output_dir", tmp_path / "out")  # fmt: skip
    written = read_image(tmp_path / "out" / "photo.png")
    assert written.shape == (3, 256, 256)
    low = read_image(photo)[None]
    model = RestorationModule.load_from_checkpoint(checkpoint, map_location="cpu")
    with torch.inference_mode():
        expected = model.restore(low)[0]
    assert (written - expected).abs().max() <= 0.5 / 255 + 1e-6
    # No worse than bicubic against the truth: best.ckpt is never worse than the start.
    bicubic = bicubic_upscale(low, 2)[0].clamp(0, 1)
    truth = read_image(SAMPLE_IMAGE)[None]
    gain = psnr_y(expected[None], truth, border=2) - psnr_y(bicubic[None], truth, border=2)
    assert gain.item() > -0.05
    # And training did learn a correction (the latest weights are not plain bicubic).
    last = RestorationModule.load_from_checkpoint(run / "checkpoints" / "last.ckpt")
    with torch.inference_mode():
        assert (last.restore(low)[0] - bicubic).abs().mean() > 0.1 / 255


def test_predict_with_the_config_restores_the_input_by_default(
    photo: Path, tmp_path: Path, cli
) -> None:
    common = ["--config", CONF / "zssr_tiny.yaml", "--data.input", photo,
              "--trainer.default_root_dir", tmp_path / "run"]  # fmt: skip
    cli("fit", *common, "--trainer.max_epochs", 1)
    cli("predict", *common, "--ckpt_path", tmp_path / "run" / "checkpoints" / "last.ckpt",
        "--writer.output_dir", tmp_path / "out")  # fmt: skip
    assert read_image(tmp_path / "out" / "photo.png").shape == (3, 256, 256)


def test_zero_shot_without_a_degradation_is_one_line(photo: Path, tmp_path: Path, cli, capsys):
    with pytest.raises(SystemExit) as info:
        cli("fit", "--config", CONF / "zssr_tiny.yaml", "--data.input", photo,
            "--data.degradation", "null", "--trainer.default_root_dir", tmp_path)  # fmt: skip
    assert info.value.code == 2
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert last_line.startswith("oneshot: error: data.input alone (zero-shot mode) needs")


def test_adapt_mode_starts_from_a_pair_model(
    photo: Path, tmp_path: Path, cli, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--model.init_from``: zero-shot on the photo, starting from a model trained on a pair."""
    cli("fit", "--config", CONF / "sr_tiny.yaml", "--trainer.default_root_dir", tmp_path / "pair")
    pair = tmp_path / "pair" / "checkpoints" / "last.ckpt"
    run = tmp_path / "adapt"
    cli("fit", "--config", CONF / "zssr_tiny.yaml", "--data.input", photo,
        "--model.init_from", pair, "--trainer.default_root_dir", run)  # fmt: skip
    start = torch.load(run / "checkpoints" / "start.ckpt", weights_only=True)["state_dict"]
    trained = torch.load(pair, weights_only=True)["state_dict"]
    nets = [key for key in trained if key.startswith("net.")]
    assert nets and all(torch.equal(start[key], trained[key]) for key in nets)
    adapted = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert not all(torch.equal(adapted[key], trained[key]) for key in nets), "fine-tuned"

    capsys.readouterr()
    with pytest.raises(SystemExit):
        cli("fit", "--config", CONF / "zssr_tiny.yaml", "--data.input", photo,
            "--model.init_from", pair, "--model.net.init_args.latent", "48",
            "--trainer.default_root_dir", tmp_path / "other")  # fmt: skip
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "model.init_from" in error and "same config" in error


def test_gradual_x4_trains_the_x2_step_and_predicts_at_x4(photo: Path, tmp_path: Path, cli):
    """``--model.passes 2``: a x2 net learned on the photo, applied twice, back-projected."""
    run = tmp_path / "run"
    cli("fit", "--config", CONF / "zssr_tiny.yaml", "--data.input", photo, "--model.passes", 2,
        "--model.back_projection", 2, "--trainer.default_root_dir", run)  # fmt: skip
    checkpoint = run / "checkpoints" / "best.ckpt"
    # The checkpoint alone says how to restore: no flags at predict.
    cli("predict", "--ckpt_path", checkpoint, "--data.predict", photo,
        "--writer.output_dir", tmp_path / "out")  # fmt: skip
    written = read_image(tmp_path / "out" / "photo.png")
    assert written.shape == (3, 512, 512)
    model = RestorationModule.load_from_checkpoint(checkpoint, map_location="cpu")
    assert (model.passes, model.back_projection, model.scale) == (2, 2, 4)
    with torch.inference_mode():
        expected = model.restore(read_image(photo)[None])[0]
    assert (written - expected).abs().max() <= 0.5 / 255 + 1e-6
    # The untrained start interpolates x4 at once, not x2 twice (which is blurrier).
    low = read_image(photo)[None]
    start = RestorationModule.load_from_checkpoint(run / "checkpoints" / "start.ckpt")
    assert start.interpolates and not RestorationModule.load_from_checkpoint(
        run / "checkpoints" / "last.ckpt"
    ).interpolates
    with torch.inference_mode():
        restored = start.restore(low)
    interpolated = back_project(bicubic_upscale(low, 4), low, 4, 2, start.downscale_kernel)
    assert torch.allclose(restored, interpolated.clamp(0, 1), atol=1e-6)


def test_a_time_budget_alone_ends_the_learning_rate_schedule(photo: Path, tmp_path: Path, cli):
    """With no step count, the cosine decay follows ``trainer.max_time`` to its end."""
    run = tmp_path / "run"
    cli("fit", "--config", CONF / "zssr_tiny.yaml", "--data.input", photo,
        "--trainer.max_epochs", -1, "--trainer.max_time", "00:00:00:04",
        "--trainer.default_root_dir", run)  # fmt: skip
    last = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] > 10  # epochs ran (10 steps each), then the time was up
    lr = last["optimizer_states"][0]["param_groups"][0]["lr"]
    assert lr < 0.25 * 0.005  # the config's rate 0.005, decayed near zero (constant before)


def test_blind_fit_estimates_saves_and_back_projects_with_the_photos_kernel(
    tmp_path: Path, cli, capsys: pytest.CaptureFixture[str]
) -> None:
    """A photo shrunk by a wide camera-like kernel: fit finds it, predict back-projects with it."""
    truth = read_image(SAMPLE_IMAGE)[None]
    kernel = downscaling_gaussian(2, 1.9, 1.1, 30)
    photo = write_image(tmp_path / "photo.png", quantize(kernel_downscale(truth, kernel, 2))[0])
    run = tmp_path / "run"
    cli("fit", "--config", CONF / "zssr_tiny.yaml", "--data.input", photo,
        "--data.degradation.init_args.downscale",
        "oneshot_lightning.data.degradations.KernelDownscale",
        "--data.degradation.init_args.downscale.init_args.camera", "true",
        "--model.back_projection", 4, "--trainer.default_root_dir", run)  # fmt: skip
    said = capsys.readouterr().err
    assert "downscaling kernel 16x16 estimated from the photo alone: Gaussian" in said
    saved = torch.from_numpy(np.load(run / "kernel.npy")).float()
    assert (run / "kernel.png").is_file()
    assert relative_error(saved, kernel) < 0.5 * relative_error(bicubic_kernel(2), kernel)
    checkpoint = run / "checkpoints" / "best.ckpt"
    model = RestorationModule.load_from_checkpoint(checkpoint, map_location="cpu")
    assert torch.allclose(model.downscale_kernel, saved)
    cli("predict", "--ckpt_path", checkpoint, "--data.predict", photo,
        "--writer.output_dir", tmp_path / "out")  # fmt: skip
    written = read_image(tmp_path / "out" / "photo.png")
    low = read_image(photo)[None]
    with torch.inference_mode():
        expected = model.restore(low)[0]
    assert (written - expected).abs().max() <= 0.5 / 255 + 1e-6
    # The photo's own kernel undoes its blur: far above bicubic, and above assuming bicubic.
    bicubic = bicubic_upscale(low, 2).clamp(0, 1)
    model.downscale_kernel = None
    with torch.inference_mode():
        assumed = model.restore(low)
    gain = psnr_y(expected[None], truth, border=2) - psnr_y(bicubic, truth, border=2)
    assert gain.item() > 1.0
    assert psnr_y(expected[None], truth, border=2) > psnr_y(assumed, truth, border=2) + 0.5


def test_a_photo_whose_resize_is_not_told_apart_is_validated_on_each_and_not_back_projected(
    tmp_path: Path, cli, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nearest-neighbour shrinking fits several routines' spectra: no kernel is trusted."""
    sample, kernel = read_image(SAMPLE_IMAGE)[None], resize_kernel("nearest_middle", 2)
    nearest = kernel_downscale(sample, kernel, 2)
    photo = write_image(tmp_path / "nearest.png", quantize(nearest)[0])
    data = OneShotDataModule(
        input=str(photo), scale=2, degradation=Degradation(downscale=KernelDownscale())
    )
    data.setup("fit")
    found = data.training_pair().downscaling
    assert found is not None and not found.back_project and found.alternatives
    names = [name for _, _, name in data.val_dataset.pairs]
    for routine in found.alternatives:
        shrunk_so = [name for name in names if name.endswith(f"shrunk as {routine}")]
        assert len(shrunk_so) == len(names) // (1 + len(found.alternatives)) >= 1

    def fit(run: Path, guessed_gain: float) -> tuple[str, bool]:
        """What fit said, and whether best.ckpt holds the untrained start's weights."""
        cli("fit", "--config", CONF / "zssr_tiny.yaml", "--data.input", photo,
            "--data.degradation.init_args.downscale",
            "oneshot_lightning.data.degradations.KernelDownscale",
            "--model.back_projection", 4, "--starting_point.guessed_gain", guessed_gain,
            "--trainer.default_root_dir", run)  # fmt: skip
        best, start = (
            torch.load(run / "checkpoints" / f"{name}.ckpt", weights_only=False)["state_dict"]
            for name in ("best", "start")
        )
        return capsys.readouterr().err, all(torch.equal(best[k], v) for k, v in start.items())

    said, kept_start = fit(tmp_path / "any", -100.0)  # any trained epoch is kept
    assert "not told apart (" in said and "not back-projected" in said
    assert not kept_start
    said, kept_start = fit(tmp_path / "strict", 100.0)  # no tiny run gains 100 dB
    assert kept_start and "best.ckpt is the untrained start" in said
    model = RestorationModule.load_from_checkpoint(tmp_path / "strict/checkpoints/best.ckpt")
    assert model.back_projection == 0  # the config's 4, turned off and kept so

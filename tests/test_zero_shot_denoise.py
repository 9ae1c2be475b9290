"""Zero-shot denoising end to end: fit on one noisy photo alone, then restore that photo."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from oneshot_lightning.data.io import read_image, write_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.metrics import psnr
from oneshot_lightning.models import PairDownsamplingModule, RecorruptionModule, load_model
from oneshot_lightning.models.nets import ShallowDenoiser

ROOT = Path(__file__).parents[1]
CONFIGS = {
    "zero_shot_denoise": RecorruptionModule,  # Gaussian noise, its level measured
    "zero_shot_denoise_any_noise": PairDownsamplingModule,  # no level, any white noise
}


def noisy(clean: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    """``clean`` with white noise of ``sigma``, clipped and rounded to 8 bits as a file."""
    noise = sigma * torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed))
    return (clean + noise).clamp(0, 1).mul(255).round().div(255)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """The bundled photo with Gaussian noise of sigma 25/255, as an 8-bit file."""
    return write_image(tmp_path / "noisy.png", noisy(read_image(SAMPLE_IMAGE), 25 / 255))


@pytest.mark.parametrize("config", CONFIGS)
def test_fit_on_the_noisy_photo_alone_then_restore_it(
    config: str, photo: Path, tmp_path: Path, cli
) -> None:
    run, path = tmp_path / "run", ROOT / "configs" / f"{config}.yaml"
    cli("fit", "--config", path, "--data.input", photo, "--trainer.default_root_dir", run,
        "--data.steps_per_epoch", 250, "--seed_everything", 0,
        "--trainer.enable_progress_bar", "false")  # fmt: skip
    assert not (run / "kernel.npy").exists()  # the pair differs by nothing: no blur to report
    checkpoint = run / "checkpoints" / "best.ckpt"
    # predict restores the photo itself unless told otherwise.
    cli("predict", "--config", path, "--data.input", photo, "--ckpt_path", checkpoint,
        "--trainer.default_root_dir", run, "--writer.output_dir", tmp_path / "out")  # fmt: skip
    written = read_image(tmp_path / "out" / "noisy.png")
    model = load_model(checkpoint)
    assert type(model) is CONFIGS[config]
    with torch.inference_mode():
        expected = model.restore(read_image(photo)[None])[0]
    assert (written - expected).abs().max() <= 0.5 / 255 + 1e-6
    # No clean image was seen, yet the photo is far closer to it than before.
    truth = read_image(SAMPLE_IMAGE)[None]
    before = psnr(read_image(photo)[None], truth).item()
    after = psnr(written[None], truth).item()
    assert after > before + 5, (before, after)


class BoxBlur(torch.nn.Module):
    """A crude denoiser with the net protocol: the mean of each 3x3 window."""

    channels, patch_size, context, stride, scale = 3, 64, 3, 1, 1

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.avg_pool2d(patches, 3, 1, 1, count_include_pad=False)

    def forward_valid(self, image: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.avg_pool2d(image, 3, 1)


def test_validation_ranks_models_without_a_clean_image() -> None:
    """The view-against-view score prefers a denoiser to the identity, as the truth does."""
    clean = read_image(SAMPLE_IMAGE)[None]
    image = noisy(clean, 25 / 255)
    models = [PairDownsamplingModule(net).eval() for net in (ShallowDenoiser(), BoxBlur())]
    batches = [{"input": image, "target": image}]
    scores = [model.validation_scores(batches)["val/psnr"] for model in models]
    with torch.no_grad():
        truths = [psnr(model.restore(image), clean).item() for model in models]
    # The other view's noise squeezes the score: +1.4 dB here where the truth gains +5.7.
    assert scores[1] > scores[0] + 1 and truths[1] > truths[0] + 3, (scores, truths)


def test_the_loss_of_the_untrained_net_is_the_views_difference() -> None:
    """Identity: the residual loss is the views' mean squared difference, consistency zero."""
    image = noisy(read_image(SAMPLE_IMAGE)[None, :, :64, :64], 25 / 255)
    first, second = image[..., 0::2, 0::2] + image[..., 1::2, 1::2], (
        image[..., 0::2, 1::2] + image[..., 1::2, 0::2]
    )
    expected = ((first - second) / 2).square().mean()
    module = PairDownsamplingModule(ShallowDenoiser(patch_size=64))
    torch.testing.assert_close(module.patch_loss(image, image), expected)
    # A trained net's loss counts both terms: a step changes it and keeps it finite.
    with torch.no_grad():
        module.net.noise.weight.normal_(0, 0.01)
    loss = module.patch_loss(image, image)
    assert loss.isfinite() and loss != expected


def test_recorruption_measures_the_photos_noise_and_keeps_it(
    photo: Path, tmp_path: Path, cli, capfd: pytest.CaptureFixture[str]
) -> None:
    """fit says the level it measured, within 5 % of the truth, and the checkpoint keeps it."""
    run = tmp_path / "run"
    cli("fit", "--config", ROOT / "configs" / "zero_shot_denoise.yaml", "--data.input", photo,
        "--trainer.default_root_dir", run, "--data.steps_per_epoch", 2,
        "--trainer.enable_progress_bar", "false")  # fmt: skip
    said = capfd.readouterr()
    assert "measured on the photo" in said.out + said.err
    sigma = load_model(run / "checkpoints" / "best.ckpt").sigma
    assert sigma is not None and abs(sigma - 25 / 255) < 0.05 * 25 / 255, sigma


def test_recorruption_on_grey_stored_as_rgb(tmp_path: Path, cli) -> None:
    """Equal channels: the level is measured on one of them (all three would read as no
    noise) and the photo is denoised as well as the colour photo is."""
    grey = read_image(SAMPLE_IMAGE).mean(dim=0, keepdim=True)
    photo = write_image(tmp_path / "grey.png", noisy(grey, 25 / 255).expand(3, -1, -1))
    run = tmp_path / "run"
    cli("fit", "--config", ROOT / "configs" / "zero_shot_denoise.yaml", "--data.input", photo,
        "--trainer.default_root_dir", run, "--data.steps_per_epoch", 250, "--seed_everything",
        0, "--trainer.enable_progress_bar", "false")  # fmt: skip
    model = load_model(run / "checkpoints" / "best.ckpt")
    assert abs(model.sigma - 25 / 255) < 0.05 * 25 / 255, model.sigma
    truth = grey.expand(3, -1, -1)[None]
    with torch.inference_mode():
        restored = model.restore(read_image(photo)[None])
    before = psnr(read_image(photo)[None], truth).item()
    assert psnr(restored, truth).item() > before + 5


def test_recorruption_validation_ranks_models_without_a_clean_image() -> None:
    """Scored against a recorrupted target, a denoiser beats the identity, as on the truth."""
    clean = read_image(SAMPLE_IMAGE)[None]
    image = noisy(clean, 25 / 255)
    models = [
        RecorruptionModule(net=net, noise_sigma=25 / 255).eval()
        for net in (ShallowDenoiser(), BoxBlur())
    ]
    batches = [{"input": image, "target": image}]
    scores = [model.validation_scores(batches)["val/psnr"] for model in models]
    with torch.no_grad():
        truths = [psnr(model.restore(image), clean).item() for model in models]
    assert scores[1] > scores[0] + 0.5 and truths[1] > truths[0] + 3, (scores, truths)
    # The same draw every time: a model's score does not move between validations.
    assert models[1].validation_scores(batches)["val/psnr"] == scores[1]


def test_recorruption_loss_of_the_identity_is_the_fresh_noise() -> None:
    """Untrained (the identity), the loss is the mean square of (alpha + 1/alpha) z."""
    torch.manual_seed(0)
    image = noisy(read_image(SAMPLE_IMAGE)[None, :, :128, :128], 25 / 255)
    module = RecorruptionModule(net=ShallowDenoiser(patch_size=64), noise_sigma=0.1, alpha=0.5)
    expected = (0.1 * (0.5 + 2)) ** 2
    assert abs(module.patch_loss(image, image).item() - expected) < 0.03 * expected


@pytest.mark.parametrize("setting", [["--model.alpha", "0"], ["--model.noise_sigma", "-0.1"]])
def test_recorruption_settings_are_checked(
    setting: list[str], photo: Path, tmp_path: Path, cli, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli("fit", "--config", ROOT / "configs" / "zero_shot_denoise.yaml", "--data.input",
            photo, "--trainer.default_root_dir", tmp_path / "run", *setting)  # fmt: skip
    assert info.value.code == 2
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert last_line.startswith("oneshot: error:") and f"{setting[0][2:]} must be > 0" in last_line

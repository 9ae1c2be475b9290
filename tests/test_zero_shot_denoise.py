"""Zero-shot denoising end to end: fit on one noisy photo alone, then restore that photo."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from oneshot_lightning.data.io import read_image, write_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.metrics import psnr
from oneshot_lightning.models import PairDownsamplingModule, load_model
from oneshot_lightning.models.nets import ShallowDenoiser

ROOT = Path(__file__).parents[1]
CONFIG = ROOT / "configs" / "zero_shot_denoise.yaml"


def noisy(clean: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    """``clean`` with white noise of ``sigma``, clipped and rounded to 8 bits as a file."""
    noise = sigma * torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed))
    return (clean + noise).clamp(0, 1).mul(255).round().div(255)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """The bundled photo with Gaussian noise of sigma 25/255, as an 8-bit file."""
    return write_image(tmp_path / "noisy.png", noisy(read_image(SAMPLE_IMAGE), 25 / 255))


def test_fit_on_the_noisy_photo_alone_then_restore_it(photo: Path, tmp_path: Path, cli) -> None:
    run = tmp_path / "run"
    cli("fit", "--config", CONFIG, "--data.input", photo, "--trainer.default_root_dir", run,
        "--data.steps_per_epoch", 250, "--seed_everything", 0,
        "--trainer.enable_progress_bar", "false")  # fmt: skip
    assert not (run / "kernel.npy").exists()  # the pair differs by nothing: no blur to report
    checkpoint = run / "checkpoints" / "best.ckpt"
    # predict restores the photo itself unless told otherwise.
    cli("predict", "--config", CONFIG, "--data.input", photo, "--ckpt_path", checkpoint,
        "--trainer.default_root_dir", run, "--writer.output_dir", tmp_path / "out")  # fmt: skip
    written = read_image(tmp_path / "out" / "noisy.png")
    model = load_model(checkpoint)
    assert isinstance(model, PairDownsamplingModule)
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

"""Adapt-mode denoising: a pair model fine-tuned on one noisy photo, blended near the clipping."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from oneshot_lightning.checkpoints import load_checkpoint
from oneshot_lightning.data.io import read_image, write_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import unclipped_weight
from oneshot_lightning.metrics import psnr
from oneshot_lightning.models import AdaptedDenoisingModule, load_model
from oneshot_lightning.models.nets import ClippingBlend, DenoisingUNet, RNNSparseCoder
from oneshot_lightning.models.whole_image import restore, restore_once
from tests.conftest import CONF
from tests.test_zero_shot_denoise import noisy

ROOT = Path(__file__).parents[1]
CONFIG = ROOT / "configs" / "denoise_adapt.yaml"
#: The small net of tests/conf/denoise_quality.yaml, for the adapt config.
SMALL_NET = ("--model.net.init_args.widths", "[16, 32]", "--model.net.init_args.blocks", "1",
             "--model.net.init_args.patch_size", "32")  # fmt: skip


def clipped_photo() -> torch.Tensor:
    """(3, 256, 256): the bundled photo with its top quarter near black and a band near white."""
    photo = read_image(SAMPLE_IMAGE).clone()
    photo[:, :64] *= 0.05
    photo[:, 96:128] = 0.97 + 0.03 * photo[:, 96:128]
    return photo


@pytest.fixture(scope="module")
def pair_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small denoise model trained briefly on the bundled pair (sigma 25/255)."""
    from oneshot_lightning.cli import main

    run = tmp_path_factory.mktemp("pair")
    main(["fit", "--config", str(CONF / "denoise_quality.yaml"), "--trainer.max_epochs", "1",
          "--data.steps_per_epoch", "60", "--trainer.default_root_dir", str(run)])  # fmt: skip
    return run / "checkpoints" / "best.ckpt"


@pytest.fixture(scope="module")
def adapted(pair_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The adapt config fitted on a noisy clipped photo from the pair model: its files."""
    from oneshot_lightning.cli import main

    folder = tmp_path_factory.mktemp("adapt")
    photo = write_image(folder / "noisy.png", noisy(clipped_photo(), 25 / 255, seed=3))
    run = folder / "run"
    main(["fit", "--config", str(CONFIG), "--data.input", str(photo), "--model.init_from",
          str(pair_checkpoint), *SMALL_NET, "--data.steps_per_epoch", "80",
          "--model.optimizer.init_args.lr", "0.001", "--seed_everything", "0",
          "--trainer.default_root_dir", str(run),
          "--trainer.enable_progress_bar", "false"])  # fmt: skip
    return {"photo": photo, "run": run, "checkpoint": run / "checkpoints" / "last.ckpt"}


def test_fit_keeps_the_pair_model_and_tunes_a_copy(
    adapted: dict[str, Path], pair_checkpoint: Path
) -> None:
    model, pair = load_model(adapted["checkpoint"]), load_model(pair_checkpoint)
    assert type(model) is AdaptedDenoisingModule
    for name, weight in pair.net.state_dict().items():
        torch.testing.assert_close(model.pair_net.state_dict()[name], weight)
    tuned = model.net.state_dict()
    assert any(not torch.equal(tuned[name], w) for name, w in pair.net.state_dict().items())
    # The photo is denoised at the level the pair model was trained for, not re-measured.
    assert model.sigma == load_checkpoint(pair_checkpoint)["pair_noise_sigma"] == 0.098


def test_the_adapted_model_restores_the_photo_better_than_the_pair_model(
    adapted: dict[str, Path], pair_checkpoint: Path
) -> None:
    model, pair = load_model(adapted["checkpoint"]), load_model(pair_checkpoint)
    image, truth = read_image(adapted["photo"])[None], clipped_photo()[None]
    with torch.inference_mode():
        ours, theirs = model.restore(image), pair.restore(image)
    assert psnr(ours, truth).item() > psnr(theirs, truth).item() + 0.3
    # Far inside the near-black quarter the blend is the pair model's output alone.
    weight = unclipped_weight(image, model.sigma, model.window, model.clip_margin)
    assert (weight[..., 8:48, :] == 0).all()
    with torch.inference_mode():
        kept = restore(image, model.pair_net, None, model.restore_settings)  # same ensemble
    torch.testing.assert_close(ours[..., 8:48, :], kept[..., 8:48, :])


def test_predict_restores_as_the_module(adapted: dict[str, Path], tmp_path: Path, cli) -> None:
    cli("predict", "--config", CONFIG, *SMALL_NET, "--ckpt_path", adapted["checkpoint"],
        "--data.predict", adapted["photo"], "--trainer.default_root_dir", tmp_path / "run",
        "--writer.output_dir", tmp_path / "out")  # fmt: skip
    written = read_image(tmp_path / "out" / "noisy.png")
    with torch.inference_mode():
        expected = load_model(adapted["checkpoint"]).restore(read_image(adapted["photo"])[None])
    assert (written - expected[0]).abs().max() <= 0.5 / 255 + 1e-6


def test_fit_without_a_pair_model_is_one_line(
    adapted: dict[str, Path], tmp_path: Path, cli, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli("fit", "--config", CONFIG, *SMALL_NET, "--data.input", adapted["photo"],
            "--trainer.default_root_dir", tmp_path / "run")  # fmt: skip
    assert info.value.code != 0
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("oneshot: error:") and "model.init_from must be" in error


def test_the_blend_restores_in_tiles_as_whole() -> None:
    torch.manual_seed(0)
    nets = [DenoisingUNet(widths=(8, 16), blocks=1, patch_size=32) for _ in range(2)]
    with torch.no_grad():
        for net in nets:
            for weight in net.parameters():
                weight.add_(0.05 * torch.randn(weight.shape))
    blend = ClippingBlend(nets[0], nets[1], 0.1)
    image = noisy(clipped_photo()[None, :, :100, :90], 0.1)
    whole = blend.restore(image)
    torch.testing.assert_close(restore_once(image, blend, None, 40), whole)
    torch.testing.assert_close(restore(image, blend), whole.clamp(0, 1))
    # Far from clipping it is the first net; deep in the black quarter the second.
    weight = unclipped_weight(image, 0.1)
    torch.testing.assert_close(whole[weight == 1], nets[0].restore(image)[weight == 1])
    torch.testing.assert_close(whole[weight == 0], nets[1].restore(image)[weight == 0])


def test_the_blend_refuses_a_net_that_is_not_a_whole_image_denoiser() -> None:
    with pytest.raises(InputError, match="cannot be blended"):
        ClippingBlend(RNNSparseCoder(), DenoisingUNet(), 0.1)

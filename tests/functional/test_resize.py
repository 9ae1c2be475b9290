from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from oneshot_lightning.data.io import list_images, read_image
from oneshot_lightning.functional import quantize
from oneshot_lightning.functional.resize import (
    bicubic_downscale,
    bicubic_upscale,
    bicubic_upscale_valid,
    mod_crop,
    resize_matrix,
)
from oneshot_lightning.metrics import psnr_y

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def pillow_resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Pillow's antialiased BICUBIC on each float channel of (C, H, W); size is (H, W)."""
    channels = [
        np.asarray(Image.fromarray(c.numpy().astype(np.float32)).resize(size[::-1], Image.BICUBIC))
        for c in image
    ]
    return torch.from_numpy(np.stack(channels)).double()


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_downscale_agrees_with_pillow_bicubic(scale: int) -> None:
    image = mod_crop(torch.rand(3, 61, 50, dtype=torch.float64), scale)
    ours = bicubic_downscale(image[None], scale)[0]
    theirs = pillow_resize(image, (image.shape[-2] // scale, image.shape[-1] // scale))
    inner = (slice(None), slice(3, -3), slice(3, -3))  # Pillow renormalises at the borders
    torch.testing.assert_close(ours[inner], theirs[inner], rtol=0, atol=1e-5)
    # Saved as 8-bit images, the two are identical away from the borders.
    assert torch.equal(quantize(ours)[inner], quantize(theirs)[inner])


def test_resize_weights_and_constant_images() -> None:
    for n_in, n_out in ((10, 5), (10, 20), (9, 3), (7, 28)):
        torch.testing.assert_close(
            resize_matrix(n_in, n_out).sum(1), torch.ones(n_out, dtype=torch.float64)
        )
    flat = torch.full((1, 1, 12, 12), 0.3, dtype=torch.float64)
    torch.testing.assert_close(
        bicubic_upscale(flat, 3), torch.full((1, 1, 36, 36), 0.3, dtype=torch.float64)
    )


@pytest.mark.parametrize("scale", [1, 2, 3, 4])
def test_valid_upscale_is_the_inner_part_of_the_whole(scale: int) -> None:
    image = torch.rand(2, 3, 14, 11, dtype=torch.float64)
    whole = bicubic_upscale(image, scale)
    margin = 2 * scale
    torch.testing.assert_close(
        bicubic_upscale_valid(image, scale), whole[..., margin:-margin, margin:-margin]
    )


def test_downscale_needs_multiples() -> None:
    with pytest.raises(ValueError, match="multiple"):
        bicubic_downscale(torch.rand(1, 1, 9, 8), 2)
    assert mod_crop(torch.rand(3, 9, 14), 4).shape == (3, 8, 12)


@pytest.mark.skipif(
    not (SHARED_DATA / "set5").is_dir(), reason="benchmark data not beside the checkout"
)
def test_set5_x2_bicubic_matches_the_literature() -> None:
    values = []
    for path in list_images(SHARED_DATA / "set5"):
        hr = mod_crop(read_image(path), 2)[None].double()
        lr = quantize(bicubic_downscale(hr, 2))
        values.append(psnr_y(bicubic_upscale(lr, 2), hr, border=2).item())
    assert np.mean(values) == pytest.approx(33.66, abs=0.05)

import torch

from oneshot_lightning.functional import bicubic_upscale, clamp_to_neighbourhood


def test_each_output_pixel_stays_in_its_input_neighbourhoods_range() -> None:
    image = torch.rand(2, 3, 6, 5)
    output = torch.randn(2, 3, 12, 10)
    clamped = clamp_to_neighbourhood(output, image, 2, window=3, margin=0.05)
    padded = torch.nn.functional.pad(image, (1, 1, 1, 1), mode="replicate")
    for y in range(12):
        for x in range(10):
            around = padded[..., y // 2 : y // 2 + 3, x // 2 : x // 2 + 3].flatten(-2)
            low, high = around.amin(-1) - 0.05, around.amax(-1) + 0.05
            torch.testing.assert_close(clamped[..., y, x], output[..., y, x].clamp(low, high))


def test_what_stays_in_range_is_untouched() -> None:
    """Smooth content (bicubic of a smooth image) is within its neighbourhoods' ranges."""
    ramp = torch.linspace(0, 1, 16).repeat(1, 1, 16, 1)
    upscaled = bicubic_upscale(ramp, 2)
    inner = (..., slice(4, -4), slice(4, -4))
    clamped = clamp_to_neighbourhood(upscaled, ramp, 2, margin=0.0)
    torch.testing.assert_close(clamped[inner], upscaled[inner])

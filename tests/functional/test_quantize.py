import torch

from oneshot_lightning.functional import quantize


def test_quantize_gives_8_bit_levels() -> None:
    values = quantize(torch.tensor([-0.2, 0.0, 0.5, 1.3]))
    torch.testing.assert_close(values, torch.tensor([0.0, 0.0, 128 / 255, 1.0]))


def test_quantize_to_16_bits() -> None:
    values = quantize(torch.tensor([0.5, 1 / 65535 * 0.6]), bits=16)
    torch.testing.assert_close(values, torch.tensor([32768 / 65535, 1 / 65535]))

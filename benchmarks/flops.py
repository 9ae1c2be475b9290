"""The RNN sparse coder's cost in floating-point operations (multiply-adds x 2)."""

from __future__ import annotations

from oneshot_lightning.models.nets import RNNSparseCoder


def flops_per_window(net: RNNSparseCoder) -> int:
    """Multiply-adds x 2 of one window of the RNN: input projection, recurrence, decoder."""
    p, c, latent, s = net.patch_size, net.channels, net.latent, net.scale
    return 2 * (p * c * p * latent + (p - 1) * latent * latent + latent * c * s * s)


def flops_per_input_pixel(net: RNNSparseCoder) -> int:
    """Multiply-adds x 2 per input pixel of the RNN's whole-image form (``forward_valid``).

    Each input column is projected once and shared by the p windows that read it (a p x 1
    convolution), so only the mean offset, the recurrence and the decoder are per window.
    """
    p, c, latent, s = net.patch_size, net.channels, net.latent, net.scale
    return 2 * (c * p * latent + c * latent + (p - 1) * latent * latent + latent * c * s * s)

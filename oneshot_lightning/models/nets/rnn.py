"""The RNN sparse coder: a patch read column by column refines an over-complete code.

For a p x p patch with C channels and local mean m (per channel), the mean-removed columns
x_0 .. x_{p-1} (each C*p values) are the time steps of
``h_t = relu(W (x_t - m) + U h_{t-1} + b)`` with ``h_{-1} = 0``: an unrolled, learned
iterative soft-thresholding with a non-negative code of ``latent`` units. A linear decoder maps
the final code to the patch's centre pixel (Patch2Pixel), added to the degraded centre pixel
when ``residual`` is set, else to the local mean. For super-resolution (``scale`` s > 1) the
decoder gives the centre pixel's s x s high-resolution sub-pixels (pixel shuffle), added to
their bicubic interpolation. Removing the mean makes the code depend on
local structure, not brightness, which carries better from one training image to others.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import bicubic_upscale_valid, require_size

#: Windows per band of whole-image inference when ``band_rows`` is None.
BAND_WINDOWS = 4096


class RNNSparseCoder(nn.Module):
    """Patch2Pixel RNN sparse coder.

    Args:
        channels: image channels C (3 for RGB; grey images are replicated to match).
        patch_size: odd patch side p in pixels; also the number of time steps.
        latent: code width; at least C * p (over-complete).
        residual: predict the correction to the degraded centre pixel.
        band_rows: output rows per band in whole-image inference (None: enough rows for
            about ``BAND_WINDOWS`` windows over the batch). Bands keep the recurrence's
            working set in cache: with code width 128 on 2 cores, bands of 4096 windows
            measured 10% faster than 4 rows at widths 256 and 512, whole maps 2x slower.
        scale: output pixels per input pixel along each axis (super-resolution factor).
    """

    def __init__(
        self,
        channels: int = 3,
        patch_size: int = 11,
        latent: int = 128,
        residual: bool = True,
        band_rows: int | None = None,
        scale: int = 1,
    ) -> None:
        super().__init__()
        if patch_size < 5 or patch_size % 2 == 0:
            raise InputError(f"net.patch_size must be an odd integer >= 5, got {patch_size}")
        if latent < channels * patch_size:
            raise InputError(
                f"net.latent must be at least channels * patch_size = {channels * patch_size} "
                f"(an over-complete code), got {latent}"
            )
        if band_rows is not None and band_rows < 1:
            raise InputError(f"net.band_rows must be positive, got {band_rows}")
        if scale < 1:
            raise InputError(f"net.scale must be a positive integer, got {scale}")
        self.channels, self.patch_size, self.latent = channels, patch_size, latent
        self.residual, self.band_rows, self.scale = residual, band_rows, scale
        self.context = patch_size  # each output pixel reads one p x p window
        self.stride = 1  # whole-image outputs do not depend on where a tile starts
        self.encoder = nn.Linear(channels * patch_size, latent)  # W and the threshold b
        self.recurrence = nn.Linear(latent, latent, bias=False)  # U
        self.decoder = nn.Linear(latent, channels * scale * scale)
        # A small recurrence keeps early codes bounded; a zero decoder starts the net at the
        # identity (residual) or the local mean, so training only ever improves on that.
        nn.init.normal_(self.recurrence.weight, std=0.5 / latent**0.5)
        nn.init.zeros_(self.decoder.weight)
        nn.init.zeros_(self.decoder.bias)

    def encode(self, patches: Tensor) -> tuple[Tensor, Tensor]:
        """(N, C, p, p) patches -> their (N, L) sparse codes and (N, C) means."""
        count, p = patches.shape[0], self.patch_size
        mean = patches.mean((2, 3))
        # Columns are the time steps: (N, p, C * p) with each column's values channel-major.
        steps = (patches - mean[:, :, None, None]).permute(0, 3, 1, 2).reshape(count, p, -1)
        projected = self.encoder(steps)  # (N, p, L)
        code = projected[:, 0].relu()
        for t in range(1, p):
            code = torch.addmm(projected[:, t], code, self.recurrence.weight.t()).relu_()
        return code, mean

    def forward(self, patches: Tensor) -> Tensor:
        """(N, C, p, p) patches -> (N, C, s, s) restored centre pixels (s = ``scale``)."""
        p, s = self.patch_size, self.scale
        code, mean = self.encode(patches)
        out = self.decoder(code).view(-1, self.channels, s, s)
        centre = patches[:, :, p // 2 - 2 : p // 2 + 3, p // 2 - 2 : p // 2 + 3]
        return out + self._base(centre, mean[:, :, None, None])

    def _base(self, window: Tensor, mean: Tensor) -> Tensor:
        """What the decoder's output corrects: (B, C, h + 4, w + 4) -> (B, C, s h, s w).

        The bicubic interpolation of the inner pixels (the pixels themselves when s = 1)
        when ``residual``, else the local ``mean`` (B, C, h, w) repeated over sub-pixels.
        """
        if self.residual:
            return bicubic_upscale_valid(window, self.scale)
        return mean.repeat_interleave(self.scale, -2).repeat_interleave(self.scale, -1)

    def forward_valid(self, image: Tensor) -> Tensor:
        """Fully-convolutional form: (B, C, H, W) -> (B, C, s (H-p+1), s (W-p+1)).

        Exactly the patch path applied to every window, without materialising the patches:
        the input projection is a (p x 1) convolution, the mean removal a box filter, and the
        recurrence runs on shifted views of the projection, one band of output rows at a time.
        """
        p = self.patch_size
        require_size(image.shape[-2], image.shape[-1], p, f"one {p}x{p} patch")
        height, width = image.shape[-2] - p + 1, image.shape[-1] - p + 1
        rows = self.band_rows or max(1, BAND_WINDOWS // (width * image.shape[0]))
        bands = [
            self._band(image[:, :, top : top + min(rows, height - top) + p - 1])
            for top in range(0, height, rows)
        ]
        return torch.cat(bands, dim=-2)

    def _band(self, rows: Tensor) -> Tensor:
        """(B, C, R + p - 1, W + p - 1) input rows -> (B, C, s R, s W) outputs."""
        p, latent, s = self.patch_size, self.latent, self.scale
        batch, out_rows, out_cols = rows.shape[0], rows.shape[-2] - p + 1, rows.shape[-1] - p + 1
        weight = self.encoder.weight.view(latent, self.channels, p, 1)
        # Per window: W (x_t - m) = (W x_t) - (W summed over a column) m.
        # The p x p box mean, as two 1D means (2p adds per pixel, not p^2).
        mean = F.avg_pool2d(F.avg_pool2d(rows, (p, 1), stride=1), (1, p), stride=1)  # (B, C, R, W)
        offset = torch.einsum("lc,bcrw->brlw", weight.sum((2, 3)), mean)
        projected = F.conv2d(rows, weight, self.encoder.bias)  # (B, L, R, W + p - 1)
        # One small matrix per output row: (B * R, L, W + p - 1), cache-sized.
        projected = projected.permute(0, 2, 1, 3).reshape(batch * out_rows, latent, -1)
        offset = offset.reshape(batch * out_rows, latent, out_cols)
        recurrence = self.recurrence.weight.expand(batch * out_rows, -1, -1)
        code = (projected[..., :out_cols] - offset).relu_()
        for t in range(1, p):
            # In place on the product: a new (projection - offset) tensor per step cost a third
            # of the restore time.
            code = torch.baddbmm(projected[..., t : t + out_cols], recurrence, code)
            code.sub_(offset).relu_()
        decoder = self.decoder.weight.expand(batch * out_rows, -1, -1)
        # baddbmm, not matmul: broadcasting the weight made matmul copy every code transposed.
        out = torch.baddbmm(self.decoder.bias[:, None], decoder, code)
        # (B * R, C * s * s, W) -> (B, C, R, s, W, s) -> (B, C, s R, s W): pixel shuffle.
        out = out.view(batch, out_rows, self.channels, s, s, out_cols).permute(0, 2, 1, 3, 5, 4)
        out = out.reshape(batch, self.channels, s * out_rows, s * out_cols)
        c = p // 2
        window = rows[:, :, c - 2 : c + 2 + out_rows, c - 2 : c + 2 + out_cols]
        return out + self._base(window, mean)

"""FPN-style pixel decoder: fused multi-scale maps -> stride-4 mask features."""

import torch.nn.functional as F
from torch import nn

from .layers import GroupNorm

__all__ = ["FPNPixelDecoder"]


def _conv_gn_relu(c_in, c_out):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        GroupNorm(min(32, c_out // 4) if c_out >= 8 else 1, c_out),
        nn.ReLU(inplace=True),
    )


class FPNPixelDecoder(nn.Module):
    """Top-down path over maps that already share ``dim`` channels (the AV encoder's output).

    From the coarsest scale down: upsample, add the next finer map, 3x3 conv. The finest level
    (stride 4) is convolved straight to the thin ``mask_dim`` (stride-4 convolutions dominate the
    cost, DESIGN.md §4).

    Args:
        names: feature names fine to coarse (e.g. res2..res5).
        dim: channels of every input map.
        mask_dim: channels of the output mask features.
    """

    def __init__(self, names, dim, mask_dim):
        super().__init__()
        self.names = list(names)
        self.convs = nn.ModuleDict({n: _conv_gn_relu(dim, dim) for n in self.names[1:-1]})
        self.mask_conv = _conv_gn_relu(dim, mask_dim)
        self.mask_proj = nn.Conv2d(mask_dim, mask_dim, 1)

    def forward(self, features):
        """{name: ``[N, dim, H_i, W_i]``} -> (mask features ``[N, mask_dim, H_0, W_0]``,
        {name: refined map} for the decoder's memory)."""
        out = dict(features)
        y = features[self.names[-1]]
        for n in reversed(self.names[:-1]):
            y = features[n] + F.interpolate(y, size=features[n].shape[-2:], mode="nearest")
            if n in self.convs:
                y = self.convs[n](y)
                out[n] = y
        return self.mask_proj(self.mask_conv(y)), out

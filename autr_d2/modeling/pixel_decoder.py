"""Pixel decoders: fused multi-scale maps -> stride-4 mask features (+ refined maps)."""

import torch.nn.functional as F
from detectron2.config import configurable
from torch import nn

from .layers import GroupNorm
from .registry import PIXEL_DECODER_REGISTRY, lookup

__all__ = ["FPNPixelDecoder", "LightFPNPixelDecoder", "build_pixel_decoder"]


def _gn(c):
    return GroupNorm(min(32, c // 4) if c >= 8 else 1, c)


def _conv_gn_relu(c_in, c_out):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), _gn(c_out), nn.ReLU(True)
    )


def _top_down(features, names, convs):
    """From ``names[-1]`` down to ``names[0]``: upsample, add the finer map, and a 3x3 conv
    where ``convs`` has one -> (the finest sum, {name: map, refined where convolved})."""
    out = dict(features)
    y = features[names[-1]]
    for n in reversed(names[:-1]):
        y = features[n] + F.interpolate(y, size=features[n].shape[-2:], mode="nearest")
        if n in convs:
            y = convs[n](y)
            out[n] = y
    return y, out


@PIXEL_DECODER_REGISTRY.register()
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

    fuses_finest = True  # the finest map comes through the AV encoder (projected, audio-fused)

    @configurable
    def __init__(self, names, dim, mask_dim):
        super().__init__()
        self.names = list(names)
        self.convs = nn.ModuleDict({n: _conv_gn_relu(dim, dim) for n in self.names[1:-1]})
        self.mask_conv = _conv_gn_relu(dim, mask_dim)
        self.mask_proj = nn.Conv2d(mask_dim, mask_dim, 1)

    @classmethod
    def from_config(cls, cfg, input_shape):
        a = cfg.MODEL.AUTR
        return {"names": a.IN_FEATURES, "dim": a.HIDDEN_DIM, "mask_dim": a.MASK_DIM}

    def forward(self, features):
        """{name: ``[N, dim, H_i, W_i]``} -> (mask features ``[N, mask_dim, H_0, W_0]``,
        {name: refined map} for the decoder's memory)."""
        y, out = _top_down(features, self.names, self.convs)
        return self.mask_proj(self.mask_conv(y)), out


@PIXEL_DECODER_REGISTRY.register()
class LightFPNPixelDecoder(nn.Module):
    """The FPN with a thin finest level, as Mask2Former's pixel decoder treats stride 4.

    The finest backbone map (stride 4) does not go through the AV encoder: a lateral 1x1 conv
    takes it straight to ``mask_dim`` channels, the coarser (fused, ``dim``-wide) path is reduced
    to ``mask_dim`` by a 1x1 conv before its upsampling (the same function as after it, at a
    16th of the cost), and the last 3x3 conv runs ``mask_dim -> mask_dim``. Audio reaches the
    stride-4 features through the coarser fused maps. Against :class:`FPNPixelDecoder` at
    ``dim`` 256, ``mask_dim`` 64 this removes per stride-4 pixel a 256-wide projection, the audio
    fusion and 3/4 of the 3x3 conv. (Depthwise-separable convs on the coarser levels as well,
    commit baf57fb, were faster still but cost 2.9 M_J on AVS-Synth MS3 against 0.5 for this.)

    Args:
        names: feature names fine to coarse; ``names[0]`` arrives raw from the backbone.
        dim: channels of the other (fused) maps.
        mask_dim: channels of the output mask features.
        finest_channels: channels of the backbone's finest map.
    """

    fuses_finest = False

    @configurable
    def __init__(self, names, dim, mask_dim, finest_channels):
        super().__init__()
        self.names = list(names)
        self.convs = nn.ModuleDict({n: _conv_gn_relu(dim, dim) for n in self.names[1:-1]})
        self.lateral = nn.Sequential(
            nn.Conv2d(finest_channels, mask_dim, 1, bias=False), _gn(mask_dim)
        )
        self.reduce = nn.Conv2d(dim, mask_dim, 1)
        self.mask_conv = _conv_gn_relu(mask_dim, mask_dim)
        self.mask_proj = nn.Conv2d(mask_dim, mask_dim, 1)

    @classmethod
    def from_config(cls, cfg, input_shape):
        a = cfg.MODEL.AUTR
        return {
            "names": a.IN_FEATURES,
            "dim": a.HIDDEN_DIM,
            "mask_dim": a.MASK_DIM,
            "finest_channels": input_shape[a.IN_FEATURES[0]].channels,
        }

    def forward(self, features):
        """{name: map}, ``names[0]`` ``[N, C_0, H_0, W_0]`` raw, the others ``[N, dim, H_i, W_i]``
        -> (mask features ``[N, mask_dim, H_0, W_0]``, {name: refined map})."""
        y, out = _top_down(features, self.names[1:], self.convs)  # the fused, dim-wide levels
        fine = features[self.names[0]]
        y = self.lateral(fine) + F.interpolate(self.reduce(y), size=fine.shape[-2:], mode="nearest")
        return self.mask_proj(self.mask_conv(y)), out


SHORT_NAMES = {"fpn": "FPNPixelDecoder", "light_fpn": "LightFPNPixelDecoder"}


def build_pixel_decoder(cfg, input_shape):
    """``MODEL.AUTR.PIXEL_DECODER`` (a registered class or a short name) -> the module;
    `input_shape` is the backbone's ``output_shape()``."""
    name = cfg.MODEL.AUTR.PIXEL_DECODER
    return lookup(PIXEL_DECODER_REGISTRY, "PIXEL_DECODER", name, SHORT_NAMES)(cfg, input_shape)

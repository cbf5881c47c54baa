"""Mask heads: query embeddings + stride-4 mask features -> one mask logit map per query."""

import torch
import torch.nn.functional as F
from detectron2.config import configurable
from torch import nn

from .layers import MLP
from .registry import MASK_HEAD_REGISTRY, lookup

__all__ = ["DynamicMaskHead", "DotMaskHead", "build_mask_head"]


@MASK_HEAD_REGISTRY.register()
class DynamicMaskHead(nn.Module):
    """CondInst-style dynamic convolution.

    A shared 1x1 conv reduces the mask features to ``channels``; every query generates the weights
    and biases of its own small head of ``num_layers`` 1x1 convs (ReLU between), applied to those
    features concatenated with 2 coordinate maps relative to a reference point the query predicts.

    Args:
        dim: query embedding size.
        mask_dim: channels of the mask features.
        channels: width of the dynamic head.
        num_layers: number of dynamic 1x1 layers (the last outputs one logit).
    """

    @configurable
    def __init__(self, dim, mask_dim, channels=8, num_layers=3):
        super().__init__()
        self.reduce = nn.Conv2d(mask_dim, channels, 1)
        dims = [channels + 2] + [channels] * (num_layers - 1) + [1]
        self.shapes = list(zip(dims[:-1], dims[1:]))
        n_params = sum(a * b + b for a, b in self.shapes)
        self.param_gen = MLP(dim, dim, n_params, 2)
        self.ref_point = nn.Linear(dim, 2)

    @classmethod
    def from_config(cls, cfg):
        a = cfg.MODEL.AUTR
        return {
            "dim": a.HIDDEN_DIM,
            "mask_dim": a.MASK_DIM,
            "channels": a.DYNAMIC_CHANNELS,
            "num_layers": a.DYNAMIC_LAYERS,
        }

    def forward(self, queries, mask_features):
        """queries ``[N, Q, D]``, mask_features ``[N, M, H, W]`` -> logits ``[N, Q, H, W]``."""
        n, q, _ = queries.shape
        h, w = mask_features.shape[-2:]
        x = self.reduce(mask_features)  # [N, C, H, W]
        params = self.param_gen(queries)  # [N, Q, P]
        ref = self.ref_point(queries).sigmoid()  # [N, Q, 2] (y, x) in [0, 1]
        ys = torch.linspace(0, 1, h, device=x.device, dtype=x.dtype)
        xs = torch.linspace(0, 1, w, device=x.device, dtype=x.dtype)
        rel_y = ys[None, None, :, None] - ref[..., 0, None, None]  # [N, Q, H, 1]
        rel_x = xs[None, None, None, :] - ref[..., 1, None, None]  # [N, Q, 1, W]
        coords = torch.stack([rel_y.expand(n, q, h, w), rel_x.expand(n, q, h, w)], 2)
        feats = torch.cat([x[:, None].expand(n, q, -1, h, w), coords], 2)  # [N, Q, C+2, H, W]
        y = feats.flatten(3)  # [N, Q, C+2, HW]
        start = 0
        for i, (c_in, c_out) in enumerate(self.shapes):
            wgt = params[..., start : start + c_in * c_out].reshape(n, q, c_out, c_in)
            start += c_in * c_out
            bias = params[..., start : start + c_out]
            start += c_out
            y = wgt @ y + bias[..., None]
            if i < len(self.shapes) - 1:
                y = F.relu(y)
        return y.reshape(n, q, h, w)


@MASK_HEAD_REGISTRY.register()
class DotMaskHead(nn.Module):
    """Mask2Former-style: an MLP embedding of each query dotted with the mask features."""

    @configurable
    def __init__(self, dim, mask_dim):
        super().__init__()
        self.embed = MLP(dim, dim, mask_dim, 3)

    @classmethod
    def from_config(cls, cfg):
        return {"dim": cfg.MODEL.AUTR.HIDDEN_DIM, "mask_dim": cfg.MODEL.AUTR.MASK_DIM}

    def forward(self, queries, mask_features):
        """queries ``[N, Q, D]``, mask_features ``[N, M, H, W]`` -> logits ``[N, Q, H, W]``."""
        return torch.einsum("nqc,nchw->nqhw", self.embed(queries), mask_features)


SHORT_NAMES = {"dynamic": "DynamicMaskHead", "dot": "DotMaskHead"}


def build_mask_head(cfg):
    """``MODEL.AUTR.MASK_HEAD`` (a registered class or a short name) -> the module."""
    return lookup(MASK_HEAD_REGISTRY, "MASK_HEAD", cfg.MODEL.AUTR.MASK_HEAD, SHORT_NAMES)(cfg)

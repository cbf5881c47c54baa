"""timm PVT-v2 (b0...b5) as a Detectron2 Backbone with res2..res5 outputs (strides 4/8/16/32)."""

import logging

import timm
import torch
from detectron2.layers import ShapeSpec
from detectron2.modeling import BACKBONE_REGISTRY, Backbone

__all__ = ["D2PVTv2", "build_pvt_v2_backbone", "load_pvt_weights"]

logger = logging.getLogger(__name__)
_NAMES = ["res2", "res3", "res4", "res5"]


class D2PVTv2(Backbone):
    """Wraps ``timm.create_model(name, features_only=True)``; never downloads (pretrained=False).

    Args:
        name: timm model name, e.g. "pvt_v2_b5".
        out_features: subset of res2..res5.
        freeze: freeze every parameter.
        drop_path_rate: stochastic depth.
    """

    def __init__(self, name="pvt_v2_b5", out_features=_NAMES, freeze=False, drop_path_rate=0.1):
        super().__init__()
        self.model_name = name
        self.body = timm.create_model(
            name,
            pretrained=False,
            features_only=True,
            out_indices=(0, 1, 2, 3),
            drop_path_rate=drop_path_rate,
        )
        info = self.body.feature_info
        self._out_features = list(out_features)
        self._out_feature_channels = {n: info[i]["num_chs"] for i, n in enumerate(_NAMES)}
        self._out_feature_strides = {n: info[i]["reduction"] for i, n in enumerate(_NAMES)}
        if freeze:
            for p in self.parameters():
                p.requires_grad_(False)

    def forward(self, x):
        """x: ``[N,3,H,W]`` normalised -> {res2..res5: ``[N,C_i,H/s_i,W/s_i]``}."""
        feats = self.body(x)
        return {n: f for n, f in zip(_NAMES, feats) if n in self._out_features}

    def output_shape(self):
        return {
            n: ShapeSpec(
                channels=self._out_feature_channels[n], stride=self._out_feature_strides[n]
            )
            for n in self._out_features
        }

    @property
    def size_divisibility(self):
        return 32


def load_pvt_weights(backbone, path):
    """Load a timm/official PVT-v2 classification state dict into a D2PVTv2; report mismatches.

    Keys may be bare (``patch_embed1.proj.weight``, the official release) or timm's
    (``patch_embed.proj.weight`` with stages); both map onto the features_only body.
    """
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    # timm remaps the official checkpoint layout itself.
    from timm.models.pvt_v2 import checkpoint_filter_fn

    body = backbone.body
    try:
        state = checkpoint_filter_fn(state, None)
    except Exception as e:  # a malformed file: say which one
        raise ValueError(f"{path}: not a PVT-v2 state dict ({e})") from e
    # features_only flattens module paths: "stages.0.x" -> "stages_0.x"; the head is unused.
    state = {
        k.replace("stages.", "stages_", 1): v for k, v in state.items() if not k.startswith("head.")
    }
    own = body.state_dict()
    for k, v in state.items():
        if k in own and own[k].shape != v.shape:
            raise ValueError(
                f"{path}: {k} has shape {tuple(v.shape)}, model expects "
                f"{tuple(own[k].shape)} (wrong PVT-v2 variant?)"
            )
    result = body.load_state_dict(state, strict=False)
    for what, keys in (("missing", result.missing_keys), ("unexpected", result.unexpected_keys)):
        if keys:
            logger.warning(f"PVT-v2 weights {path}: {what} keys {keys}")
    return result.missing_keys, result.unexpected_keys


@BACKBONE_REGISTRY.register()
def build_pvt_v2_backbone(cfg, input_shape):
    p = cfg.MODEL.PVT
    backbone = D2PVTv2(p.NAME, p.OUT_FEATURES, p.FREEZE, p.DROP_PATH_RATE)
    if p.WEIGHTS:
        load_pvt_weights(backbone, p.WEIGHTS)
    return backbone

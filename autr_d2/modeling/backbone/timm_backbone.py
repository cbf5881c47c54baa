"""Any timm ``features_only`` model as a Detectron2 Backbone with res2..res5 (strides 4/8/16/32).

PVT-v2 (b0..b5), EfficientNet(-Lite), ConvNeXt, Swin and the other timm families that expose
stride-4..32 features build from ``MODEL.TIMM.NAME``. Building never reads a file or downloads
(``pretrained=False``); a local classification state dict reaches the backbone through
:func:`load_timm_weights` (called when training starts, see ``autr_d2/checkpoint.py``).
"""

import importlib
import logging

import torch
from detectron2.layers import ShapeSpec
from detectron2.modeling import BACKBONE_REGISTRY, Backbone

__all__ = [
    "D2TimmBackbone",
    "build_pvt_v2_backbone",
    "build_timm_backbone",
    "load_timm_weights",
]

logger = logging.getLogger(__name__)
_NAMES = ["res2", "res3", "res4", "res5"]
_STRIDES = [4, 8, 16, 32]


def _create(name, drop_path_rate):
    import timm  # lazy, as below: importing timm costs every tool a second at start-up

    kwargs = dict(pretrained=False, features_only=True, drop_path_rate=drop_path_rate)
    try:  # Swin & co. fix their input size unless told otherwise
        return timm.create_model(name, dynamic_img_size=True, **kwargs)
    except TypeError:
        return timm.create_model(name, **kwargs)


class D2TimmBackbone(Backbone):
    """Wraps ``timm.create_model(name, features_only=True)``; never downloads.

    The outputs at strides 4, 8, 16, 32 become res2..res5 (channels-last outputs, e.g. Swin's,
    are returned channels-first). ``pixel_mean``/``pixel_std`` are the mean/std (0-255) its
    pretrained weights expect. Freezing sets ``requires_grad=False``; AuTR keeps a frozen encoder
    in eval mode (fixed BatchNorm statistics) and runs it without autograd.

    Args:
        name: timm model name, e.g. "pvt_v2_b5", "tf_efficientnet_lite0", "convnext_tiny",
            "swin_tiny_patch4_window7_224".
        out_features: subset of res2..res5.
        freeze: freeze every parameter.
        drop_path_rate: stochastic depth (where the family has it).
    """

    def __init__(self, name="pvt_v2_b5", out_features=_NAMES, freeze=False, drop_path_rate=0.1):
        import timm

        super().__init__()
        self.model_name = name
        self.body = _create(name, drop_path_rate)
        reductions = self.body.feature_info.reduction()
        missing = [s for s in _STRIDES if s not in reductions]
        if missing:
            raise ValueError(
                f"timm model {name!r} has no features at strides {missing} (it has "
                f"{reductions}); MODEL.TIMM.NAME needs a model with strides 4, 8, 16 and 32"
            )
        # index of the last output at each stride (EfficientNet also outputs stride 2)
        self._index = {
            n: max(i for i, r in enumerate(reductions) if r == s) for n, s in zip(_NAMES, _STRIDES)
        }
        channels = self.body.feature_info.channels()
        self._channels_last = str(getattr(self.body, "output_fmt", "NCHW")).endswith("NHWC")
        self._out_features = list(out_features)
        self._out_feature_channels = {n: channels[self._index[n]] for n in _NAMES}
        self._out_feature_strides = dict(zip(_NAMES, _STRIDES))
        cfg = getattr(self.body, "pretrained_cfg", None) or timm.models.get_pretrained_cfg(name)
        cfg = cfg if isinstance(cfg, dict) else cfg.to_dict()
        # the mean/std (0-255 scale) the pretrained weights expect
        self.pixel_mean = [255.0 * m for m in cfg.get("mean", (0.485, 0.456, 0.406))]
        self.pixel_std = [255.0 * s for s in cfg.get("std", (0.229, 0.224, 0.225))]
        if freeze:
            for p in self.parameters():
                p.requires_grad_(False)

    def forward(self, x):
        """x: ``[N,3,H,W]`` normalised -> {res2..res5: ``[N,C_i,H/s_i,W/s_i]``}."""
        feats = self.body(x)
        out = {}
        for n in self._out_features:
            f = feats[self._index[n]]
            out[n] = f.permute(0, 3, 1, 2) if self._channels_last else f
        return out

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


def _key(k):
    """features_only renames modules ("stages.0" -> "stages_0") and some wrap the model
    ("model."): compare keys with every "_" read as "." and without such a prefix."""
    return k.removeprefix("model.").replace("_", ".")


def load_timm_weights(backbone, path):
    """Load a local timm classification state dict (or a layout timm converts itself, such as
    the official PVT-v2 release) into a :class:`D2TimmBackbone`.

    Returns ``(missing_keys, unexpected_keys)`` of the backbone (the classifier head is not
    counted as unexpected). A shape mismatch is an error naming the key; a file that is not a
    state dict is an error naming the file.
    """
    import timm

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(f"{path}: not a readable state dict ({type(e).__name__})") from e
    for wrapper in ("model", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a state dict (a {type(state).__name__})")
    # the family's own converter maps official layouts to timm's (PVT-v2, ConvNeXt, Swin, ...)
    entry = timm.models.model_entrypoint(backbone.model_name)
    filter_fn = getattr(importlib.import_module(entry.__module__), "checkpoint_filter_fn", None)
    if filter_fn is not None:
        try:
            state = filter_fn(state, timm.create_model(backbone.model_name, pretrained=False))
        except Exception as e:  # a malformed file: say which one
            raise ValueError(f"{path}: not a {backbone.model_name} state dict ({e})") from e
    own = backbone.body.state_dict()
    by_key = {_key(k): k for k in own}
    if len(by_key) != len(own):
        raise RuntimeError(f"{backbone.model_name}: ambiguous parameter names, cannot map weights")
    mapped, unexpected = {}, []
    for k, v in state.items():
        name = by_key.get(_key(k))
        if name is None:
            unexpected.append(k)
            continue
        if own[name].shape != v.shape:
            raise ValueError(
                f"{path}: {k} has shape {tuple(v.shape)}, {backbone.model_name} expects "
                f"{tuple(own[name].shape)} (a different model variant?)"
            )
        mapped[name] = v
    result = backbone.body.load_state_dict(mapped, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    # keys of the classification head and of stages after res5 are expected to be unused
    head = ("head", "fc", "classifier", "conv_head", "bn2", "norm")
    unexpected = [k for k in unexpected if k.split(".")[0] not in head]
    for what, keys in (("missing", missing), ("unexpected", unexpected)):
        if keys:
            logger.warning(f"{backbone.model_name} weights {path}: {what} keys {keys}")
    return missing, unexpected


@BACKBONE_REGISTRY.register()
def build_timm_backbone(cfg, input_shape):
    t = cfg.MODEL.TIMM
    return D2TimmBackbone(t.NAME, t.OUT_FEATURES, t.FREEZE, t.DROP_PATH_RATE)


@BACKBONE_REGISTRY.register()
def build_pvt_v2_backbone(cfg, input_shape):
    """The name earlier configs used for PVT-v2: the same builder."""
    return build_timm_backbone(cfg, input_shape)

"""Audio encoders: log-mel ``[N,1,96,64]`` -> ``[N,128]``. VGGish (the torchvggish architecture,
the paper's) and TimmAudio (a timm image network that reads the log-mel patch as a one-channel
image, so that ImageNet weights can start it)."""

import logging

import torch
from detectron2.config import configurable
from detectron2.layers import get_norm
from detectron2.utils.registry import Registry
from torch import nn

__all__ = [
    "AUDIO_ENCODER_REGISTRY",
    "TimmAudio",
    "VGGish",
    "build_audio_encoder",
    "load_audio_weights",
    "load_vggish_weights",
]

AUDIO_ENCODER_REGISTRY = Registry("AUDIO_ENCODER")
AUDIO_ENCODER_REGISTRY.__doc__ = """
Audio encoders: ``encoder(log_mel [N,1,96,64]) -> [N, encoder.output_dim]``.
Built by ``build_audio_encoder(cfg)`` from ``MODEL.AUDIO.NAME``.
"""
logger = logging.getLogger(__name__)


@AUDIO_ENCODER_REGISTRY.register()
class VGGish(nn.Module):
    """torchvggish's VGG (conv stack 64-128-256-256-512-512, FC 12288-4096-4096-128, ReLU after the
    last FC; PCA post-processing off, as AVSBench uses it). Parameter names match the usual
    ``vggish-10086976.pth`` state dict (``features.*``, ``embeddings.*``) at width_mult=1.

    ``width_mult``/``fc_dim`` shrink it for a CPU (released weights then do not fit; weights
    pretrained by ``tools/pretrain_audio.py`` for that size do). Two more departures help training
    from scratch (both off in the original):
    ``norm`` (a D2 norm name, e.g. "BN") after every conv, and ``embed_relu=False`` to drop the
    ReLU on the embedding, whose dead units otherwise carry no audio into the model.
    """

    @configurable
    def __init__(self, width_mult=1.0, fc_dim=4096, embed_dim=128, norm="", embed_relu=True):
        super().__init__()
        layers, c_in = [], 1
        for v in [64, "M", 128, "M", 256, 256, "M", 512, 512, "M"]:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                c = max(8, int(v * width_mult))
                layers.append(nn.Conv2d(c_in, c, kernel_size=3, padding=1, bias=not norm))
                if norm:
                    layers.append(get_norm(norm, c))
                layers.append(nn.ReLU(inplace=True))
                c_in = c
        self.features = nn.Sequential(*layers)
        self.embeddings = nn.Sequential(
            nn.Linear(c_in * 4 * 6, fc_dim),
            nn.ReLU(True),
            nn.Linear(fc_dim, fc_dim),
            nn.ReLU(True),
            nn.Linear(fc_dim, embed_dim),
            nn.ReLU(True) if embed_relu else nn.Identity(),
        )
        self.output_dim = embed_dim

    @classmethod
    def from_config(cls, cfg):
        a = cfg.MODEL.AUDIO
        return {
            "width_mult": a.WIDTH_MULT,
            "fc_dim": a.FC_DIM,
            "embed_dim": a.EMBED_DIM,
            "norm": a.NORM,
            "embed_relu": a.EMBED_RELU,
        }

    def forward(self, x):
        """x: ``[N,1,96,64]`` log-mel -> ``[N, embed_dim]``."""
        x = self.features(x)  # [N,C,6,4]
        # torchvggish flattens channels-last (TF order): keep it so released weights line up.
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        return self.embeddings(x)


@AUDIO_ENCODER_REGISTRY.register()
class TimmAudio(nn.Module):
    """A timm image classifier's body as an audio encoder: the log-mel patch ``[N,1,96,64]``
    (time x mel) is a one-channel image, standardised by a BatchNorm (log-mel values are not
    ImageNet pixels), pooled to the body's features and projected to ``embed_dim``.

    Its use: ImageNet weights transfer to spectrograms (PSLA, AST), and they install offline
    (EfficientNet-Lite0), where no audio network pretrained on AudioSet does.
    ``tools/pretrain_audio.py --preset effl0`` starts the body from them (the RGB stem summed to
    one channel) and trains it on the audio bank; building never reads a file.

    Args:
        name: a timm classification model, e.g. "tf_efficientnet_lite0".
        embed_dim: size of the embedding (VGGish's 128).
        embed_relu: ReLU on the embedding, as VGGish's.
    """

    @configurable
    def __init__(self, name="tf_efficientnet_lite0", embed_dim=128, embed_relu=True):
        import timm  # lazy: importing timm costs every tool a second at start-up

        super().__init__()
        self.input_norm = nn.BatchNorm2d(1)
        self.body = timm.create_model(name, pretrained=False, in_chans=1, num_classes=0)
        self.embeddings = nn.Sequential(
            nn.Linear(self.body.num_features, embed_dim),
            nn.ReLU(True) if embed_relu else nn.Identity(),
        )
        self.output_dim = embed_dim

    @classmethod
    def from_config(cls, cfg):
        a = cfg.MODEL.AUDIO
        return {"name": a.TIMM_NAME, "embed_dim": a.EMBED_DIM, "embed_relu": a.EMBED_RELU}

    def forward(self, x):
        """x: ``[N,1,96,64]`` log-mel -> ``[N, embed_dim]``."""
        return self.embeddings(self.body(self.input_norm(x)))


def load_audio_weights(model, path):
    """Load an audio encoder's state dict (for VGGish the released ``vggish-10086976.pth``; any
    encoder: a file written by ``tools/pretrain_audio.py``) into `model`.

    Every parameter of `model` must be in the file with its shape: a file made for another
    architecture (encoder, width, FC size, norm) is an error naming the first keys that differ
    and the config keys that set the architecture. Returns the file's keys the model does not
    use.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        what = f"not a readable audio encoder state dict ({type(e).__name__})"
        raise ValueError(f"{path}: {what}") from e
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a state dict (a {type(state).__name__})")
    own = model.state_dict()
    arch = (
        "MODEL.AUDIO.NAME / TIMM_NAME / WIDTH_MULT / FC_DIM / EMBED_DIM / NORM must match the "
        "file's architecture"
    )
    for k, v in state.items():
        if k in own and own[k].shape != v.shape:
            raise ValueError(
                f"{path}: {k} has shape {tuple(v.shape)}, the model expects "
                f"{tuple(own[k].shape)} ({arch})"
            )
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        raise ValueError(f"{path}: has no {', '.join(missing[:4])} ... ({arch})")
    result = model.load_state_dict(state, strict=False)
    if result.unexpected_keys:
        logger.warning(f"audio encoder weights {path}: unused keys {result.unexpected_keys}")
    return result.unexpected_keys


load_vggish_weights = load_audio_weights  # the name it had when VGGish was the only encoder


def build_audio_encoder(cfg):
    """Build ``MODEL.AUDIO.NAME`` (random weights: MODEL.AUDIO.WEIGHTS is loaded when training
    starts, see ``autr_d2/checkpoint.py``); freeze its parameters if asked. A ``@configurable``
    encoder takes the config; any other gets the VGGish-style sizes as keyword arguments."""
    a = cfg.MODEL.AUDIO
    cls = AUDIO_ENCODER_REGISTRY.get(a.NAME)
    if hasattr(cls, "from_config"):
        encoder = cls(cfg)
    else:
        encoder = cls(
            width_mult=a.WIDTH_MULT,
            fc_dim=a.FC_DIM,
            embed_dim=a.EMBED_DIM,
            norm=a.NORM,
            embed_relu=a.EMBED_RELU,
        )
    if a.FREEZE:
        for p in encoder.parameters():
            p.requires_grad_(False)
    return encoder

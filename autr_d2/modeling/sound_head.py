"""Sound heads: each query's output embedding -> one "this query is the sounding object" logit."""

import math

from detectron2.config import configurable
from torch import nn

from .registry import SOUND_HEAD_REGISTRY, lookup

__all__ = ["LinearSoundHead", "AudioMatchSoundHead", "build_sound_head"]


@SOUND_HEAD_REGISTRY.register()
class LinearSoundHead(nn.Linear):
    """A linear layer on the query embedding (the paper's classifier); ignores the audio.
    (An ``nn.Linear``, so its weights keep the names ``sound_head.weight/bias``.)"""

    @configurable
    def __init__(self, dim):
        super().__init__(dim, 1)

    @classmethod
    def from_config(cls, cfg):
        return {"dim": cfg.MODEL.AUTR.HIDDEN_DIM}

    def forward(self, queries, audio=None):
        """queries ``[N, Q, D]`` (audio unused) -> logits ``[N, Q]``."""
        return super().forward(queries)[..., 0]


@SOUND_HEAD_REGISTRY.register()
class AudioMatchSoundHead(LinearSoundHead):
    """The linear score plus a scaled dot product between the query (what it segments) and the
    frame's audio embedding (what is heard): ``w·q + b + <A q, B a> / sqrt(D)``.

    The score then asks directly whether the query's object matches the sound, so the sound loss
    trains the audio embedding to match the objects' appearance from the first iteration. Helps
    most when the audio encoder learns from scratch.
    """

    @configurable
    def __init__(self, dim):
        super().__init__(dim)
        self.query_proj = nn.Linear(dim, dim)
        self.audio_proj = nn.Linear(dim, dim)
        self.scale = 1.0 / math.sqrt(dim)

    def forward(self, queries, audio):
        """queries ``[N, Q, D]``, audio ``[N, D]`` (the frame's embedding) -> logits ``[N, Q]``."""
        match = (self.query_proj(queries) * self.audio_proj(audio)[:, None]).sum(-1)
        return super().forward(queries) + match * self.scale


SHORT_NAMES = {"linear": "LinearSoundHead", "audio_match": "AudioMatchSoundHead"}


def build_sound_head(cfg, name=None):
    """``MODEL.AUTR.SOUND_HEAD`` (or `name`, which the model passes when audio is off) -> the
    module."""
    name = name or cfg.MODEL.AUTR.SOUND_HEAD
    return lookup(SOUND_HEAD_REGISTRY, "SOUND_HEAD", name, SHORT_NAMES)(cfg)

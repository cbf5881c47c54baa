from .audio_encoder import AUDIO_ENCODER_REGISTRY, VGGish, build_audio_encoder
from .backbone import D2TimmBackbone, build_timm_backbone

__all__ = [
    "AUDIO_ENCODER_REGISTRY",
    "D2TimmBackbone",
    "VGGish",
    "build_audio_encoder",
    "build_timm_backbone",
]

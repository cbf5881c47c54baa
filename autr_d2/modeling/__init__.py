from .audio_encoder import AUDIO_ENCODER_REGISTRY, VGGish, build_audio_encoder
from .backbone import D2TimmBackbone, build_timm_backbone
from .registry import MASK_HEAD_REGISTRY, PIXEL_DECODER_REGISTRY, SOUND_HEAD_REGISTRY

__all__ = [
    "AUDIO_ENCODER_REGISTRY",
    "D2TimmBackbone",
    "MASK_HEAD_REGISTRY",
    "PIXEL_DECODER_REGISTRY",
    "SOUND_HEAD_REGISTRY",
    "VGGish",
    "build_audio_encoder",
    "build_timm_backbone",
]

from .audio_encoder import AUDIO_ENCODER_REGISTRY, VGGish, build_audio_encoder
from .backbone import D2PVTv2, build_pvt_v2_backbone

__all__ = [
    "AUDIO_ENCODER_REGISTRY",
    "D2PVTv2",
    "VGGish",
    "build_audio_encoder",
    "build_pvt_v2_backbone",
]

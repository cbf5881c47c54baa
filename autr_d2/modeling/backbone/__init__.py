from .timm_backbone import (
    D2TimmBackbone,
    build_pvt_v2_backbone,
    build_timm_backbone,
    load_timm_weights,
)

__all__ = ["D2TimmBackbone", "build_pvt_v2_backbone", "build_timm_backbone", "load_timm_weights"]

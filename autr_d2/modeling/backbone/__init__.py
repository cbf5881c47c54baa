from .pvt import D2PVTv2, build_pvt_v2_backbone, load_pvt_weights

__all__ = ["D2PVTv2", "build_pvt_v2_backbone", "load_pvt_weights"]

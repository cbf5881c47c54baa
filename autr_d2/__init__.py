"""AuTR for audio-visual segmentation, as a Detectron2 extension.

Importing the package registers the datasets (AVSBench, AVS-Synth), the AuTR meta-architecture and
its backbones/encoders in Detectron2's registries.
"""

from . import (
    data,  # noqa: F401  (registers datasets)
    modeling,  # noqa: F401  (registers backbones, audio encoders)
)
from .config import add_autr_config
from .meta_arch import AuTR

__all__ = ["AuTR", "add_autr_config"]

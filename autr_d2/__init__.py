"""AuTR for audio-visual segmentation, as a Detectron2 extension.

Importing the package registers the datasets (AVSBench, AVS-Synth), the meta-architectures (AuTR,
and the TPAVI baseline) and their backbones/encoders in Detectron2's registries.
"""

from . import (
    data,  # noqa: F401  (registers datasets)
    modeling,  # noqa: F401  (registers backbones, audio encoders)
)
from .baselines import TPAVI
from .config import add_autr_config
from .meta_arch import AuTR

__all__ = ["AuTR", "TPAVI", "add_autr_config"]

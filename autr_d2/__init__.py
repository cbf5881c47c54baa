"""AuTR for audio-visual segmentation, as a Detectron2 extension.

Importing the package registers the datasets (AVSBench, AVS-Synth), the AuTR meta-architecture and
its backbones/encoders in Detectron2's registries.
"""

from . import data  # noqa: F401  (registers datasets)
from .config import add_autr_config

__all__ = ["add_autr_config"]

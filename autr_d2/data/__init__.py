from . import datasets  # noqa: F401  (registers AVSBench and AVS-Synth)
from .audio import AudioError, load_log_mel
from .clip_mapper import AVSClipDatasetMapper, ClipDataError

__all__ = ["AVSClipDatasetMapper", "AudioError", "ClipDataError", "load_log_mel"]

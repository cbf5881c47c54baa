"""Dataset registration: runs on `import autr_d2`, so DDP workers see every dataset."""

import os

from .avs_synth import register_all_avs_synth
from .avsbench import (
    AVSBENCH_S4_CATEGORIES,
    DatasetLayoutError,
    load_avs_clips,
    register_all_avsbench,
    register_avs_dataset,
    train_categories,
)
from .avss import load_avss_clips, register_all_avss, register_avss_dataset

__all__ = [
    "AVSBENCH_S4_CATEGORIES",
    "DatasetLayoutError",
    "load_avs_clips",
    "load_avss_clips",
    "register_all_avsbench",
    "register_all_avs_synth",
    "register_all_avss",
    "register_avs_dataset",
    "register_avss_dataset",
    "train_categories",
]

_root = os.getenv("DETECTRON2_DATASETS", "datasets")
register_all_avsbench(_root)
register_all_avs_synth(_root)
register_all_avss(_root)

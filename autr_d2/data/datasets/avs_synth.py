"""Registration of AVS-Synth (the offline benchmark, written in AVSBench's layout)."""

import os

from ..synth import categories_of, splits_of
from .avsbench import register_avs_dataset

__all__ = ["register_all_avs_synth"]


def register_all_avs_synth(datasets_root):
    """avs_synth_{s4,ms3}_{train,val,test,test_unseen,test_openset} and the probe splits
    (``avs_synth_s4_test_snr10``, ``avs_synth_ms3_test_switch1``, ...) under <root>/avs_synth."""
    root = os.path.join(datasets_root, "avs_synth")
    for subset in ("s4", "ms3"):
        cats = categories_of(root, subset)
        for split in splits_of(subset):
            register_avs_dataset(f"avs_synth_{subset}_{split}", root, subset, split, cats)

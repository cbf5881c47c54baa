"""The evaluator of a registered split, chosen by its metadata (Detectron2's evaluator_type)."""

import os

from detectron2.data import MetadataCatalog

from .avs_evaluator import AVSEvaluator
from .avss_evaluator import AVSSEvaluator

__all__ = ["build_evaluator"]


def build_evaluator(cfg, dataset_name, output_folder=None):
    """AVSEvaluator for AVSBench-object-style splits ("avs"), AVSSEvaluator for
    AVSBench-semantic-style ones ("avss"). Trainer.build_evaluator's choice."""
    if MetadataCatalog.get(dataset_name).get("evaluator_type", "avs") == "avss":
        return AVSSEvaluator(
            dataset_name, distributed=True, score_padded_frames=cfg.TEST.AVSS.SCORE_PADDED_FRAMES
        )
    if not output_folder:
        # the "another clip's audio" probe saves its masks beside, never over, the real ones
        swap = cfg.TEST.AVS.SWAP_AUDIO_SEED
        name = dataset_name if swap < 0 else f"{dataset_name}_swapped_audio_seed{swap}"
        output_folder = os.path.join(cfg.OUTPUT_DIR, "inference", name)
    return AVSEvaluator(
        dataset_name,
        distributed=True,
        output_dir=output_folder,
        f_group_size=cfg.TEST.AVS.F_GROUP_SIZE,
        save_pred_masks=cfg.TEST.AVS.SAVE_PRED_MASKS,
    )

from .avs_evaluator import AVSEvaluator, frame_f_curve, frame_jaccard
from .avss_evaluator import AVSSEvaluator, frame_class_stats
from .baselines import BASELINES, evaluate_baseline
from .build import build_evaluator

__all__ = [
    "AVSEvaluator",
    "AVSSEvaluator",
    "BASELINES",
    "build_evaluator",
    "evaluate_baseline",
    "frame_class_stats",
    "frame_f_curve",
    "frame_jaccard",
]

from .avs_evaluator import AVSEvaluator, frame_f_curve, frame_jaccard
from .baselines import BASELINES, evaluate_baseline

__all__ = ["AVSEvaluator", "BASELINES", "evaluate_baseline", "frame_f_curve", "frame_jaccard"]

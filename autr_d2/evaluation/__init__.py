from .avs_evaluator import AVSEvaluator, frame_f_curve, frame_jaccard

__all__ = ["AVSEvaluator", "frame_f_curve", "frame_jaccard"]

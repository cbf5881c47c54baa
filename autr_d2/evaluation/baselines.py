"""Trivial AVS baselines, scored by the same AVSEvaluator as the model.

* ``all_background``: predicts nothing sounds. Its M_J is the share of silent frames (an empty
  ground truth scores 1 when nothing is predicted, a non-empty one scores 0).
* ``largest_object``: predicts the object with the most visible pixels in each frame, whatever it
  sounds like: what a purely visual-saliency model would do. Needs per-frame object maps, which
  AVS-Synth writes (``instance_maps/``); AVSBench has none.

Each baseline maps one dataset dict to the model's output format (``{"frames": [{"sem_seg":
[2,H,W]}]}``), so the evaluator cannot tell it from AuTR.
"""

import numpy as np
import torch
from detectron2.data import DatasetCatalog
from PIL import Image

from .avs_evaluator import AVSEvaluator

__all__ = ["BASELINES", "all_background", "largest_object", "evaluate_baseline"]


def _as_output(probs):
    """``[T,H,W]`` sounding probability -> the model's per-clip output dict."""
    probs = torch.as_tensor(probs, dtype=torch.float32)
    return {"frames": [{"sem_seg": torch.stack([1 - p, p])} for p in probs]}


def all_background(d):
    t = len(d["file_names"])
    return _as_output(np.zeros((t, d["height"], d["width"]), np.float32))


def largest_object(d):
    paths = d.get("instance_file_names")
    if not paths:
        raise ValueError(
            f"clip {d.get('clip_id')}: the largest-object baseline needs per-frame object maps "
            "(instance_maps/, written by datasets/prepare_avs_synth.py); this dataset has none"
        )
    probs = []
    for p in paths:
        with Image.open(p) as im:
            ids = np.asarray(im)
        if ids.shape != (d["height"], d["width"]):
            raise ValueError(f"{p}: object map is {ids.shape}, frame is {d['height']}x{d['width']}")
        counts = np.bincount(ids.ravel())
        counts[0] = 0  # background
        probs.append((ids == counts.argmax()) if counts.any() else np.zeros_like(ids, bool))
    return _as_output(np.stack(probs).astype(np.float32))


BASELINES = {"all_background": all_background, "largest_object": largest_object}


def evaluate_baseline(name, dataset_name, f_group_size=4):
    """Run baseline `name` over a registered split; returns the evaluator's ``{"avs": {...}}``."""
    if name not in BASELINES:
        raise KeyError(f"unknown baseline {name!r}; choose from {sorted(BASELINES)}")
    fn = BASELINES[name]
    evaluator = AVSEvaluator(dataset_name, distributed=False, f_group_size=f_group_size)
    evaluator.reset()
    for d in DatasetCatalog.get(dataset_name):
        evaluator.process([d], [fn(d)])
    return evaluator.evaluate()

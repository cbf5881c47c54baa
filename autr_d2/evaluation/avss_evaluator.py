"""AVSBench-semantic's official metrics (mIoU and F over 71 classes) as a DatasetEvaluator.

The arithmetic is that of AVSBench ``avs_scripts/avss/utils/compute_color_metrics.py``
(``_batch_miou_fscore``) and ``avss/test.py``:

* per frame, with P = the predicted class map (argmax of the scores) and G = the label map, and
  per class c: I_c = |P=c and G=c|, U_c = |P=c| + |G=c| - I_c,
  IoU_c = I_c / (U_c + 2.220446049250313e-16), precision I_c / |P=c|, recall I_c / |G=c|,
  F_c = (1 + 0.3) * precision * recall / (0.3 * precision + recall), NaN -> 0;
  a frame counts for class c when U_c > 0 (c is predicted or labelled in it);
* over the split, IoU_c = sum of the frames' IoU_c / number of frames counting for c (0 when none:
  a class absent from the split still counts in the mean), likewise F_c;
* mIoU and F = the means over all classes, background included (the official numbers);
  mIoU_without_background and F_without_background leave the background class out. (The
  official script's "noBg" drops the *last* class instead, a left-over of an older label order,
  AVSBench issue #23: these are named differently so that nobody takes one for the other.)

Frames are scored at the label maps' 224x224 (labels resized with nearest, as the official loader
does). The official script pads every clip to 10 frames and scores the padded ones too (an
all-background prediction of an all-background label: IoU and F 1 for background, which raises
mIoU). The headline mIoU and F are that official arithmetic (``score_padded_frames=True``,
TEST.AVSS.SCORE_PADDED_FRAMES, the default), so they compare with published numbers; the same
scores over the real frames only are reported next to them as ``mIoU_real_frames_only`` and
``F_real_frames_only`` (as COMBO-AVS reports), and both variants are always there.

Per-clip sums are kept, gathered and summed in dataset order, so distributed evaluation gives the
single-process numbers.
"""

from collections import OrderedDict

import numpy as np
from detectron2.data import MetadataCatalog
from detectron2.evaluation import DatasetEvaluator

from ..data.clip_mapper import read_color_label
from ..data.datasets.avss import AVSS_PADDED_FRAMES
from .avs_evaluator import gather_in_dataset_order

__all__ = ["AVSSEvaluator", "frame_class_stats", "class_means", "BETA2", "EPS"]

BETA2 = 0.3
EPS = 2.220446049250313e-16  # compute_color_metrics.py: added to the union


def frame_class_stats(pred, gt, num_classes):
    """One frame's per-class IoU and F, and which classes it counts for.

    Args:
        pred, gt: ``[H, W]`` integer class maps in ``[0, num_classes)``.
    Returns:
        (iou ``[C]``, f ``[C]``, counts ``[C]`` bool: predicted or labelled), float64.
    """
    pred, gt = np.asarray(pred).ravel(), np.asarray(gt).ravel()
    inter = np.bincount(gt[pred == gt], minlength=num_classes).astype(np.float64)
    area_pred = np.bincount(pred, minlength=num_classes).astype(np.float64)
    area_lab = np.bincount(gt, minlength=num_classes).astype(np.float64)
    union = area_pred + area_lab - inter
    iou = inter / (EPS + union)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision, recall = inter / area_pred, inter / area_lab
        f = (1 + BETA2) * precision * recall / (BETA2 * precision + recall)
    return iou, np.nan_to_num(f, nan=0.0), union > 0


def class_means(iou_sum, f_sum, count):
    """Split sums -> (per-class IoU, per-class F): sum / count, 0 where count is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (
            np.nan_to_num(iou_sum / count, nan=0.0),
            np.nan_to_num(f_sum / count, nan=0.0),
        )


class AVSSEvaluator(DatasetEvaluator):
    """mIoU and F (official, background included), without background, per class, per subset."""

    def __init__(self, dataset_name, distributed=True, score_padded_frames=True):
        """
        Args:
            dataset_name: a registered AVSS dataset (its dicts give the order of clips, its
                metadata the class names).
            distributed: gather per-clip sums from every rank before computing.
            score_padded_frames: the headline mIoU/F score the official script's padded frames
                too, as it does (TEST.AVSS.SCORE_PADDED_FRAMES, default); False: real frames
                only. Both variants are reported anyway, named.
        """
        self._dataset_name = dataset_name
        self._distributed = distributed
        self._score_padded = score_padded_frames

    def reset(self):
        self._clips = {}

    def process(self, inputs, outputs):
        for inp, out in zip(inputs, outputs):
            n_cls = inp["num_classes"]
            labels = inp["sem_seg_file_names"]
            rec = {
                "iou": np.zeros(n_cls),
                "f": np.zeros(n_cls),
                "count": np.zeros(n_cls),
                "frames": 0,
                "padded": max(AVSS_PADDED_FRAMES - len(inp["file_names"]), 0),
                "subset": inp.get("subset", ""),
            }
            # padded frames (INPUT.PAD_CLIPS) come after the clip's real frames: never scored
            for k, path in enumerate(labels):
                if path is None:
                    continue  # no label: not scored
                scores = out["frames"][k]["sem_seg"]
                if scores.shape[0] != n_cls:
                    raise ValueError(
                        f"clip {inp['clip_id']}: the model scores {scores.shape[0]} classes, the "
                        f"dataset has {n_cls} (label2idx.json): set MODEL.AUTR.NUM_CLASSES to "
                        f"{n_cls - 1}"
                    )
                pred = scores.argmax(0).cpu().numpy()
                gt = read_color_label(path, n_cls, size=pred.shape)
                iou, f, counts = frame_class_stats(pred, gt, n_cls)
                rec["iou"] += iou
                rec["f"] += f
                rec["count"] += counts
                rec["frames"] += 1
            self._clips[inp["clip_id"]] = rec

    def evaluate(self):
        ordered = gather_in_dataset_order(self._clips, self._dataset_name, self._distributed)
        if not ordered:  # another process, or nothing evaluated
            return {}
        classes = MetadataCatalog.get(self._dataset_name).stuff_classes
        iou, f, count = (sum(r[k] for r in ordered) for k in ("iou", "f", "count"))
        padded = sum(r["padded"] for r in ordered)
        pad = np.zeros(len(classes))
        pad[0] = padded  # a padded frame: background IoU 1, F 1, counted once
        real = class_means(iou, f, count)
        official = class_means(iou + pad, f + pad, count + pad)
        head_iou, head_f = official if self._score_padded else real

        res = OrderedDict()
        res["mIoU"] = 100 * float(head_iou.mean())
        res["F"] = 100 * float(head_f.mean())
        res["mIoU_without_background"] = 100 * float(head_iou[1:].mean())
        res["F_without_background"] = 100 * float(head_f[1:].mean())
        res["mIoU_real_frames_only"] = 100 * float(real[0].mean())
        res["F_real_frames_only"] = 100 * float(real[1].mean())
        res["mIoU_padded_frames_scored"] = 100 * float(official[0].mean())
        res["F_padded_frames_scored"] = 100 * float(official[1].mean())
        res["frames"] = sum(r["frames"] for r in ordered)
        res["padded_frames"] = padded
        res["padded_frames_in_headline"] = int(self._score_padded)
        res["clips"] = len(ordered)
        # a subset alone lacks most classes: mean over the classes it predicts or labels (the
        # official script's per-batch print), else the 0s of absent classes would dominate
        for subset in sorted({r["subset"] for r in ordered if r["subset"]}):
            rs = [r for r in ordered if r["subset"] == subset]
            s_iou, s_f, s_count = (sum(r[k] for r in rs) for k in ("iou", "f", "count"))
            seen = s_count > 0
            s_iou, s_f = class_means(s_iou, s_f, s_count)
            res[f"mIoU_present/{subset}"] = 100 * float(s_iou[seen].mean()) if seen.any() else 0.0
            res[f"F_present/{subset}"] = 100 * float(s_f[seen].mean()) if seen.any() else 0.0
        for name, v in zip(classes, head_iou):
            res[f"IoU-{name}"] = 100 * float(v)
        for name, v in zip(classes, head_f):
            res[f"F-{name}"] = 100 * float(v)
        return OrderedDict(avss=res)

"""AVSBench's official metrics as a Detectron2 DatasetEvaluator.

* M_J (official): per frame, P = prob > 0.5, J = |P and G| / (|P or G| + 1e-7); for an empty G,
  J is the fraction of pixels correctly predicted as background. The official test script averages
  J over the frames of a batch of 4 clips and then over batches, so M_J is the mean over groups of
  ``F_GROUP_SIZE`` clips (in dataset order) of the group's mean J; it equals the per-frame mean when
  the split is a multiple of the group size (the official test sets are), not otherwise.
* M_J_per_frame: the mean J over all scored frames (batch-independent).
* fg_pixels: the % of pixels predicted as sounding over all scored frames; on clips whose sound
  comes from off screen (nothing to segment) it is the false-positive rate (AVSBench-Robust's and
  Ref-AVS's "null" test).
* M_F (official): beta^2 = 0.3, 255 thresholds linspace(0, 1 - 1e-10), P = prob >= threshold,
  precision = TP / (|P| + 1e-20), recall = TP / (|G| + 1e-20), NaN -> 0; frames with empty G
  skipped; the F curve is averaged over the valid frames of a *group* of clips (the official test
  script: one batch of 4 clips) and its maximum taken; M_F = mean over groups (a group without a
  valid frame scores 0, as in the official code).
* M_F_per_frame: the same F curve, max taken per frame, mean over valid frames (batch-independent).
* Breakdowns: M_J per category, and for AVS-Synth (whose clips carry ``info.num_distractors``) M_J
  and M_F_per_frame per number of silent distractors.
* Object diagnostics, for AVS-Synth only (its per-frame object maps say which object is where and
  ``info.objects[k].on[t]`` which sounds): ``picks_sounding``, the % of frames with something
  sounding where the object the binary prediction covers most is a sounding one;
  ``J_when_picked``, the mean J of those frames; ``silent_pixels``, the % of predicted pixels that
  lie on silent objects. They separate "finds the wrong object" from "draws a rough mask".
* Attention diagnostics, AVS-Synth only, when the model returns its decoder's last cross-attention
  (``MODEL.AUTR.TEST.RETURN_ATTENTION True``: "attention" ``[T,N_q,h,w]`` and "sound_scores"
  ``[T,N_q]``), for the query with the highest sound score in frames with something sounding:
  ``attn_on_sounding`` / ``attn_on_silent``, the % of its attention on sounding / silent objects;
  ``attn_finds_sounding``, the % of frames where the object it attends most per pixel is a
  sounding one; ``attn_finds_when_missed``, the same over the frames whose mask picks a silent
  object or none. Whether the audio query looks at the right object, apart from what the mask
  head draws.

The evaluator keeps per-clip sums (a 255-float F curve and a few counters), never whole
predictions, so memory does not grow with the predictions' size; groups are formed by the clips'
order in the dataset after gathering, so distributed evaluation gives exactly the single-process
numbers.
"""

import itertools
import os
from collections import OrderedDict

import numpy as np
import torch
from detectron2.data import DatasetCatalog
from detectron2.evaluation import DatasetEvaluator
from detectron2.utils import comm
from PIL import Image

from ..data.clip_mapper import read_mask

__all__ = [
    "AVSEvaluator",
    "frame_jaccard",
    "frame_f_curve",
    "frame_object_stats",
    "frame_attention_stats",
    "THRESHOLDS",
    "BETA2",
]

BETA2 = 0.3
THRESHOLDS = torch.linspace(0, 1 - 1e-10, 255, dtype=torch.float64)


def frame_jaccard(prob, gt):
    """prob ``[H,W]`` in [0,1], gt ``[H,W]`` {0,1} -> AVSBench J of one frame."""
    pred = prob > 0.5
    g = gt.bool()
    if not g.any():
        return float((~pred).sum()) / (pred.numel() + 1e-7)
    inter = (pred & g).sum().item()
    union = (pred | g).sum().item()
    return inter / (union + 1e-7)


def frame_f_curve(prob, gt):
    """F-measure at the 255 thresholds ``[255]`` (float64); None when gt is empty (skipped)."""
    g = gt.bool().flatten()
    n_gt = int(g.sum())
    if n_gt == 0:
        return None
    p = prob.flatten().double()
    # idx[i] = how many thresholds pixel i reaches (prob >= thr), so it counts for k < idx[i].
    idx = torch.bucketize(p, THRESHOLDS, right=True)
    n_pred = torch.bincount(idx, minlength=256).flip(0).cumsum(0).flip(0)[1:].double()
    tp = torch.bincount(idx[g], minlength=256).flip(0).cumsum(0).flip(0)[1:].double()
    prec = tp / (n_pred + 1e-20)
    rec = tp / (n_gt + 1e-20)
    f = (1 + BETA2) * prec * rec / (BETA2 * prec + rec)
    return torch.nan_to_num(f, nan=0.0)


def frame_object_stats(pred, objects, sounding):
    """pred ``[H,W]`` bool, objects ``[H,W]`` int (0 = background, k = object k), sounding: the
    ids of the objects that sound in this frame -> (the object pred covers most is sounding,
    predicted pixels on silent objects, predicted pixels)."""
    covered = np.bincount(objects[pred].ravel(), minlength=1)
    covered[0] = 0  # background is not an object
    picked = bool(covered.max() > 0 and int(covered.argmax()) in sounding)
    silent = [k for k in range(1, len(covered)) if k not in sounding]
    return picked, int(covered[silent].sum()), int(pred.sum())


def frame_attention_stats(attn, objects, sounding):
    """attn ``[h,w]`` (one query's cross-attention, non-negative), objects ``[H,W]`` int (0 =
    background), sounding: the ids that sound -> (share of the attention on sounding objects, on
    silent ones, the object with the most attention per pixel is sounding). The object map is
    sampled at the centres of the attention's cells (nearest); an object no cell centre falls on
    takes no part."""
    h, w = attn.shape
    rows = ((np.arange(h) + 0.5) * objects.shape[0] / h).astype(np.int64)
    cols = ((np.arange(w) + 0.5) * objects.shape[1] / w).astype(np.int64)
    ids = objects[np.ix_(rows, cols)].ravel()
    weights = np.asarray(attn, np.float64).ravel()
    mass = np.bincount(ids, weights=weights)
    area = np.bincount(ids)
    total = max(weights.sum(), 1e-12)
    on = [k for k in range(1, len(mass)) if k in sounding]
    off = [k for k in range(1, len(mass)) if k not in sounding]
    density = np.where(area > 0, mass / np.maximum(area, 1), -1.0)
    density[0] = -1.0  # background is not an object
    found = bool(density.max() > 0 and int(density.argmax()) in sounding)
    return float(mass[on].sum() / total), float(mass[off].sum() / total), found


def gather_in_dataset_order(clips, dataset_name, distributed):
    """``{clip_id: record}`` of this process -> every process's records in the dataset's order,
    on the main process; ``[]`` on the others and when nothing was evaluated."""
    if distributed:
        comm.synchronize()
        parts = comm.gather(clips, dst=0)
        if not comm.is_main_process():
            return []
        clips = dict(itertools.chain.from_iterable(p.items() for p in parts))
    if not clips:
        return []
    order = [d["clip_id"] for d in DatasetCatalog.get(dataset_name)]
    return [clips[c] for c in order if c in clips]


class AVSEvaluator(DatasetEvaluator):
    """M_J and M_F (official grouping), their per-frame variants, per-category M_J, frames
    scored."""

    def __init__(
        self, dataset_name, distributed=True, output_dir=None, f_group_size=4, save_pred_masks=False
    ):
        """
        Args:
            dataset_name: a registered AVS dataset (its dicts give the order of clips).
            distributed: gather per-clip sums from every rank before computing.
            output_dir: where predicted masks go when ``save_pred_masks``.
            f_group_size: clips per M_F group (TEST.AVS.F_GROUP_SIZE; official: 4).
            save_pred_masks: write binary (prob > 0.5) masks as 0/255 PNGs in gt_masks' layout.
        """
        self._dataset_name = dataset_name
        self._distributed = distributed
        self._output_dir = output_dir
        self._group = f_group_size
        self._save = save_pred_masks
        self._cpu = torch.device("cpu")

    def reset(self):
        self._clips = {}

    def _pred_path(self, gt_path, clip_id, k):
        """Mirror gt_masks' layout when the frame has a ground-truth path."""
        if gt_path and "gt_masks" + os.sep in gt_path:
            rel = gt_path.split("gt_masks" + os.sep, 1)[-1]
        else:
            rel = os.path.join(clip_id, f"{clip_id}_{k + 1}.png")
        return os.path.join(self._output_dir, "pred_masks", rel)

    def process(self, inputs, outputs):
        for inp, out in zip(inputs, outputs):
            if inp.get("sem_seg_format") == "avss_rgb":
                raise ValueError(
                    f"{self._dataset_name} is an AVSBench-semantic split: it is scored by "
                    "AVSSEvaluator (autr_d2.evaluation.build_evaluator picks the evaluator from "
                    "the dataset's evaluator_type)"
                )
            clip_id = inp["clip_id"]
            gts = inp.get("sem_seg_file_names") or [None] * len(out["frames"])
            rec = {
                "j_sum": 0.0,
                "j_n": 0,
                "fg_px": 0,
                "px": 0,
                "f_sum": torch.zeros(255, dtype=torch.float64),
                "f_n": 0,
                "fmax_sum": 0.0,
                "category": inp.get("category", ""),
                # AVS-Synth clips say how many silent distractors they show
                "distractors": (inp.get("info") or {}).get("num_distractors"),
            }
            objects = (inp.get("info") or {}).get("objects")
            inst_paths = inp.get("instance_file_names") if objects else None
            if inst_paths:
                rec.update(pick_n=0, picked=0, j_picked_sum=0.0, silent_px=0, pred_px=0)
            attention = out.get("attention") if inst_paths and "sound_scores" in out else None
            if attention is not None:
                best = out["sound_scores"].argmax(1)  # [T]
                attention = attention[torch.arange(len(best)), best].float().to(self._cpu)
                rec.update(
                    attn_n=0, attn_on=0.0, attn_off=0.0, attn_found=0, missed_n=0, missed_found=0
                )
            for k, (frame_out, gt_path) in enumerate(zip(out["frames"], gts)):
                prob = frame_out["sem_seg"][1].to(self._cpu)
                if self._save and self._output_dir:
                    path = self._pred_path(gt_path, clip_id, k)
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    Image.fromarray(((prob > 0.5).numpy() * 255).astype(np.uint8)).save(path)
                if gt_path is None:
                    continue  # not annotated: not scored
                gt = torch.from_numpy(read_mask(gt_path))
                if gt.shape != prob.shape:
                    raise ValueError(
                        f"{gt_path}: mask is {tuple(gt.shape)}, prediction is "
                        f"{tuple(prob.shape)} (height/width of the dataset dict)"
                    )
                j = frame_jaccard(prob, gt)
                rec["j_sum"] += j
                rec["j_n"] += 1
                rec["fg_px"] += int((prob > 0.5).sum())
                rec["px"] += prob.numel()
                if inst_paths:
                    a = attention[k].numpy() if attention is not None else None
                    self._object_stats(rec, prob > 0.5, gt, inst_paths[k], objects, k, j, a)
                f = frame_f_curve(prob, gt)
                if f is not None:
                    rec["f_sum"] += f
                    rec["f_n"] += 1
                    rec["fmax_sum"] += float(f.max())
            self._clips[clip_id] = rec

    @staticmethod
    def _object_stats(rec, pred, gt, inst_path, objects, k, j, attn=None):
        ids = np.asarray(Image.open(inst_path))
        if ids.shape != tuple(pred.shape):
            raise ValueError(
                f"{inst_path}: object map is {ids.shape}, prediction is {tuple(pred.shape)}"
            )
        on = {i + 1 for i, o in enumerate(objects) if o["on"][k]}
        picked, silent, n_pred = frame_object_stats(pred.numpy(), ids, on)
        rec["silent_px"] += silent
        rec["pred_px"] += n_pred
        if gt.any():
            rec["pick_n"] += 1
            rec["picked"] += picked
            rec["j_picked_sum"] += j if picked else 0.0
            if attn is not None:
                a_on, a_off, found = frame_attention_stats(attn, ids, on)
                rec["attn_n"] += 1
                rec["attn_on"] += a_on
                rec["attn_off"] += a_off
                rec["attn_found"] += found
                if not picked:
                    rec["missed_n"] += 1
                    rec["missed_found"] += found

    def evaluate(self):
        ordered = gather_in_dataset_order(self._clips, self._dataset_name, self._distributed)
        if not ordered:  # another process, or nothing evaluated
            return {}
        j_n = sum(r["j_n"] for r in ordered)
        f_n = sum(r["f_n"] for r in ordered)
        group_f, group_j = [], []
        for i in range(0, len(ordered), self._group):
            group = ordered[i : i + self._group]
            n = sum(r["f_n"] for r in group)
            curve = sum(r["f_sum"] for r in group) / n if n else None
            group_f.append(float(curve.max()) if curve is not None else 0.0)
            n = sum(r["j_n"] for r in group)
            if n:
                group_j.append(sum(r["j_sum"] for r in group) / n)
        res = OrderedDict()
        res["M_J"] = 100 * float(np.mean(group_j)) if group_j else 0.0
        res["M_F"] = 100 * float(np.mean(group_f))
        res["M_J_per_frame"] = 100 * sum(r["j_sum"] for r in ordered) / max(j_n, 1)
        res["fg_pixels"] = (
            100 * sum(r["fg_px"] for r in ordered) / max(sum(r["px"] for r in ordered), 1)
        )
        res["M_F_per_frame"] = 100 * sum(r["fmax_sum"] for r in ordered) / max(f_n, 1)
        res["frames"] = j_n
        res["frames_F"] = f_n
        res["clips"] = len(ordered)
        res["F_group_size"] = self._group
        diag = [r for r in ordered if "pick_n" in r]
        if diag:
            picked = sum(r["picked"] for r in diag)
            res["picks_sounding"] = 100 * picked / max(sum(r["pick_n"] for r in diag), 1)
            res["J_when_picked"] = 100 * sum(r["j_picked_sum"] for r in diag) / max(picked, 1)
            pred_px = sum(r["pred_px"] for r in diag)
            res["silent_pixels"] = 100 * sum(r["silent_px"] for r in diag) / max(pred_px, 1)
        att = [r for r in ordered if "attn_n" in r]
        if att:
            n = max(sum(r["attn_n"] for r in att), 1)
            res["attn_on_sounding"] = 100 * sum(r["attn_on"] for r in att) / n
            res["attn_on_silent"] = 100 * sum(r["attn_off"] for r in att) / n
            res["attn_finds_sounding"] = 100 * sum(r["attn_found"] for r in att) / n
            missed = max(sum(r["missed_n"] for r in att), 1)
            res["attn_finds_when_missed"] = 100 * sum(r["missed_found"] for r in att) / missed
        cats = {}
        for r in ordered:
            s = cats.setdefault(r["category"], [0.0, 0])
            s[0] += r["j_sum"]
            s[1] += r["j_n"]
        for c, (s, n) in sorted(cats.items()):
            if c and n:
                res[f"M_J/{c}"] = 100 * s / n
        by_dist = {}
        for r in ordered:
            if r.get("distractors") is not None:
                by_dist.setdefault(r["distractors"], []).append(r)
        for k, rs in sorted(by_dist.items()):  # per-frame F: groups would mix distractor counts
            res[f"M_J/distractors={k}"] = (
                100 * sum(r["j_sum"] for r in rs) / max(sum(r["j_n"] for r in rs), 1)
            )
            res[f"M_F_per_frame/distractors={k}"] = (
                100 * sum(r["fmax_sum"] for r in rs) / max(sum(r["f_n"] for r in rs), 1)
            )
        return OrderedDict(avs=res)

"""The semantic task (AVSBench-semantic): which object sounds, and what it is.

With ``MODEL.AUTR.NUM_CLASSES`` C > 0 every query also predicts C + 1 class logits (C object
classes and "no object", softmax, as Mask2Former). A frame's ground truth is a map of class indices
(0 = background, c = object class c, i.e. class logit c - 1); its targets are one mask per class
present, the union of that class's sounding objects. Per-pixel scores follow D2's semantic
segmentation convention, ``[C+1, H, W]`` with channel c = class index c (0 = background), and
the prediction is their argmax.
"""

import torch
import torch.nn.functional as F

__all__ = ["class_loss", "semantic_scores", "semantic_targets"]


def semantic_targets(labels, size):
    """Class index maps -> per frame ``(classes, masks, full_masks)``.

    Args:
        labels: ``[N, H, W]`` integer class indices (0 = background).
        size: (h, w) of the predicted masks.
    Returns:
        list of N tuples: ``classes`` int64 ``[K]`` (class logit of each class present, = index
        - 1), ``masks`` ``[K, h, w]`` float (area-downsampled, for matching) and ``full_masks``
        ``[K, H, W]`` float {0,1} (for the mask losses).
    """
    out = []
    for g in labels:
        present = torch.unique(g)
        present = present[present > 0]
        full = (g[None] == present[:, None, None]).float()
        small = F.interpolate(full[None], size=size, mode="area")[0] if len(present) else None
        if small is None:
            small = full.new_zeros((0, *size))
        out.append((present.long() - 1, small, full))
    return out


def class_loss(logits, indices, target_classes, empty_weight):
    """Cross-entropy of every query's class: matched queries -> their target's class, the others
    -> "no object" (the last logit, weighted by ``empty_weight[-1]``).

    Args:
        logits: ``[N, Q, C+1]``.
        indices: per frame (query_idx, target_idx) from the matcher.
        target_classes: per frame int64 ``[K]`` class logits of the targets.
        empty_weight: ``[C+1]`` class weights.
    """
    n, q, c1 = logits.shape
    if n == 0:  # no annotated frame: keep the graph connected (DDP), contribute zero
        return logits.sum() * 0.0
    target = torch.full((n, q), c1 - 1, dtype=torch.int64, device=logits.device)
    for i, (qi, ti) in enumerate(indices):
        target[i, qi.to(logits.device)] = target_classes[i].to(logits.device)[ti]
    return F.cross_entropy(logits.transpose(1, 2), target, empty_weight)


def semantic_scores(class_logits, mask_logits, foreground=None):
    """Per-pixel class scores of a frame's queries.

    Class c's score is Mask2Former's ``S_c = sum_q softmax(class_q)[c] * sigmoid(mask_q)`` (the
    "no object" probability left out).

    * ``foreground`` given (``[N, h, w]`` in [0,1], AuTR's binary sounding probability from the
      sound scores): background = 1 - foreground and class c = foreground * S_c / max_c' S_c'.
      The argmax is then the best class wherever foreground > 0.5 and background elsewhere: the
      sound head says *where* something sounds, the class head *what* it is.
    * ``foreground`` None: background = max(0, 1 - max_c S_c), classes S_c (Mask2Former's map
      with a background that wins where no class reaches 0.5).

    Args:
        class_logits: ``[N, Q, C+1]``.
        mask_logits: ``[N, Q, h, w]``.
    Returns:
        ``[N, C+1, h, w]`` scores, channel 0 background, channel c class index c.
    """
    probs = class_logits.softmax(-1)[..., :-1]
    scores = torch.einsum("nqc,nqhw->nchw", probs, mask_logits.sigmoid())
    top = scores.amax(1, keepdim=True)
    if foreground is None:
        return torch.cat([(1 - top).clamp(min=0), scores], 1)
    fg = foreground[:, None]
    return torch.cat([1 - fg, fg * scores / top.clamp(min=1e-6)], 1)

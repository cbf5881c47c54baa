"""AuTR losses: sigmoid focal + dice on matched masks, binary focal on every sound score."""

import torch
import torch.nn.functional as F
from detectron2.utils.comm import get_world_size
from fvcore.nn import sigmoid_focal_loss
from torch import nn

from .semantic import class_loss, semantic_targets

__all__ = ["AVSCriterion", "dice_loss"]


def dice_loss(logits, targets):
    """logits/targets ``[M, P]`` -> ``[M]`` of 1 - dice (0 for a perfect prediction)."""
    p = logits.sigmoid()
    num = 2 * (p * targets).sum(-1)
    den = p.sum(-1) + targets.sum(-1)
    return 1 - (num + 1) / (den + 1)


class AVSCriterion(nn.Module):
    """Per frame: match queries to the frame's sounding masks, then

    * ``loss_mask``: sigmoid focal loss (mean over pixels) of each matched query's mask,
    * ``loss_dice``: dice loss of each matched query's mask,
    * ``loss_sound``: binary focal loss of every query's sound score (matched = 1, others = 0),

    averaged over matched masks (masks) and annotated frames (sound). Frames that are not annotated
    contribute nothing; annotated frames whose mask is empty (nothing sounds) contribute only the
    sound loss, which pushes all their scores down. Aux layers add ``loss_*_{i}``. Returns raw
    losses; the model applies ``weight_dict``.

    Semantic mode (``num_classes`` > 0, modeling/semantic.py): the ground truth holds class
    indices, a frame's targets are one mask per class present (matched with the class cost too),
    masks are averaged over all targets, and ``loss_class`` is the cross-entropy of every query's
    class ("no object" for unmatched queries, weighted ``no_object_weight``).
    """

    def __init__(
        self,
        matcher,
        weight_dict,
        alpha=0.25,
        gamma=2.0,
        sound_alpha=None,
        sound_gamma=None,
        num_classes=0,
        no_object_weight=0.1,
    ):
        """alpha/gamma: focal parameters of the mask loss; sound_alpha/sound_gamma those of the
        sound loss (default: the same; alpha -1 and gamma 0 give plain binary cross-entropy);
        num_classes: C object classes of the semantic mode (0 = binary)."""
        super().__init__()
        self.matcher = matcher
        self.weight_dict = weight_dict
        self.alpha, self.gamma = alpha, gamma
        self.sound_alpha = alpha if sound_alpha is None else sound_alpha
        self.sound_gamma = gamma if sound_gamma is None else sound_gamma
        self.num_classes = num_classes
        if num_classes:
            empty_weight = torch.ones(num_classes + 1)
            empty_weight[-1] = no_object_weight
            self.register_buffer("empty_weight", empty_weight)

    def _targets(self, gt_masks, size):
        """``[N, H, W]`` {0,1} -> per frame ``[K, h, w]`` (K = 1 if anything sounds, else 0)."""
        small = F.interpolate(gt_masks[:, None].float(), size=size, mode="area")[:, 0]
        return [
            small[n : n + 1] if gt_masks[n].any() else small[n:n][:0]
            for n in range(gt_masks.shape[0])
        ]

    def _layer_losses(self, sound, masks, gt_masks, annotated, num_masks, classes=None, sem=None):
        sound, masks = sound[annotated], masks[annotated]
        gt = gt_masks[annotated]
        if sem is not None:  # semantic: sem = semantic_targets of the annotated frames
            classes = classes[annotated]
            tgt_classes = [c for c, _, _ in sem]
            indices = self.matcher(sound, masks, [m for _, m, _ in sem], classes, tgt_classes)
        else:
            targets = self._targets(gt, masks.shape[-2:])
            indices = self.matcher(sound, masks, targets)

        sound_target = torch.zeros_like(sound)
        src_n, src_q, tgt_full = [], [], []
        for n, (qi, ti) in enumerate(indices):
            sound_target[n, qi] = 1.0
            src_n += [n] * len(qi)
            src_q += qi.tolist()
            if sem is not None:
                tgt_full += list(sem[n][2][ti])  # the mask of each matched class
                continue
            tgt_full += [gt[n].float()] * len(qi)  # one target per frame (the union mask)
        n_frames = max(sound.shape[0], 1)
        loss_sound = (
            sigmoid_focal_loss(
                sound, sound_target, self.sound_alpha, self.sound_gamma, reduction="sum"
            )
            / n_frames
        )
        extra = {}
        if sem is not None:
            extra["loss_class"] = class_loss(classes, indices, tgt_classes, self.empty_weight)
        if not src_n:  # no frame with a mask: keep the graph connected (DDP), contribute zero
            zero = masks.sum() * 0.0
            return {"loss_sound": loss_sound, "loss_mask": zero, "loss_dice": zero, **extra}
        pred = masks[src_n, src_q][:, None]  # [M, 1, h, w]
        tgt = torch.stack(tgt_full)  # [M, H, W]
        pred = F.interpolate(pred, size=tgt.shape[-2:], mode="bilinear", align_corners=False)
        pred, tgt = pred.flatten(1), tgt.flatten(1)
        loss_mask = (
            sigmoid_focal_loss(pred, tgt, self.alpha, self.gamma, reduction="none").mean(1).sum()
            / num_masks
        )
        loss_dice = dice_loss(pred, tgt).sum() / num_masks
        return {"loss_sound": loss_sound, "loss_mask": loss_mask, "loss_dice": loss_dice, **extra}

    def forward(self, outputs, gt_masks, annotated):
        """
        Args:
            outputs: {"sound": ``[N,Q]``, "masks": ``[N,Q,h,w]``, "aux": [same dicts per layer]}
                (+ "classes" ``[N,Q,C+1]`` in the semantic mode)
            gt_masks: ``[N, H, W]`` {0,1} (semantic mode: class indices); annotated: ``[N]`` bool.
        """
        num_masks = (gt_masks.flatten(1).any(1) & annotated).sum().float()
        sem = None
        if self.num_classes:  # the targets of every layer (the masks' size does not change)
            sem = semantic_targets(gt_masks[annotated], outputs["masks"].shape[-2:])
            num_masks = num_masks.new_tensor(float(sum(len(c) for c, _, _ in sem)))
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(num_masks)
        num_masks = torch.clamp(num_masks / get_world_size(), min=1).item()
        losses = self._layer_losses(
            outputs["sound"],
            outputs["masks"],
            gt_masks,
            annotated,
            num_masks,
            outputs.get("classes"),
            sem,
        )
        for i, aux in enumerate(outputs.get("aux", [])):
            for k, v in self._layer_losses(
                aux["sound"], aux["masks"], gt_masks, annotated, num_masks, aux.get("classes"), sem
            ).items():
                losses[f"{k}_{i}"] = v
        return losses

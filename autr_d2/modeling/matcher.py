"""Hungarian matching of a frame's queries to its ground-truth sounding masks."""

import torch
from torch import nn

__all__ = ["HungarianMatcher", "pairwise_dice_cost", "pairwise_focal_cost"]


def pairwise_dice_cost(logits, targets):
    """logits ``[Q, P]``, targets ``[K, P]`` in [0,1] -> ``[Q, K]`` of 1 - dice."""
    p = logits.sigmoid()
    num = 2 * p @ targets.T
    den = p.sum(-1)[:, None] + targets.sum(-1)[None, :]
    return 1 - (num + 1) / (den + 1)


def pairwise_focal_cost(logits, targets, alpha=0.25, gamma=2.0):
    """Mean sigmoid focal loss of every (query, target) pair: ``[Q, P] x [K, P] -> [Q, K]``."""
    p = logits.sigmoid()
    bce_pos = nn.functional.binary_cross_entropy_with_logits(
        logits, torch.ones_like(logits), reduction="none"
    )
    bce_neg = nn.functional.binary_cross_entropy_with_logits(
        logits, torch.zeros_like(logits), reduction="none"
    )
    pos = alpha * (1 - p) ** gamma * bce_pos
    neg = (1 - alpha) * p**gamma * bce_neg
    return (pos @ targets.T + neg @ (1 - targets).T) / logits.shape[1]


class HungarianMatcher(nn.Module):
    """Per frame, the assignment of queries to targets minimising
    ``cost_sound * (-sigmoid(score)) + cost_mask * focal + cost_dice * dice``, plus
    ``cost_class * (-softmax(class)[target class])`` in the semantic mode (class logits given).

    Costs are computed in float32 with autocast off and solved on the CPU with
    ``scipy.optimize.linear_sum_assignment``.
    """

    def __init__(
        self, cost_sound=2.0, cost_mask=5.0, cost_dice=5.0, alpha=0.25, gamma=2.0, cost_class=2.0
    ):
        super().__init__()
        self.cost_sound, self.cost_mask, self.cost_dice = cost_sound, cost_mask, cost_dice
        self.alpha, self.gamma = alpha, gamma
        self.cost_class = cost_class

    @torch.no_grad()
    def forward(self, sound_logits, mask_logits, targets, class_logits=None, target_classes=None):
        """
        Args:
            sound_logits: ``[N, Q]``.
            mask_logits: ``[N, Q, h, w]``.
            targets: list of N tensors ``[K_n, h, w]`` (K_n may be 0).
            class_logits: ``[N, Q, C+1]`` (semantic mode) or None.
            target_classes: with class_logits, list of N int64 ``[K_n]`` (the targets' classes).
        Returns:
            list of N (query_idx, target_idx) int64 tensor pairs.
        """
        from scipy.optimize import linear_sum_assignment  # lazy: training only, slow to import

        out = []
        with torch.autocast(device_type=mask_logits.device.type, enabled=False):
            for n, tgt in enumerate(targets):
                if tgt.shape[0] == 0:
                    empty = torch.empty(0, dtype=torch.int64)
                    out.append((empty, empty))
                    continue
                logits = mask_logits[n].float().flatten(1)
                t = tgt.float().flatten(1)
                cost = (
                    self.cost_mask * pairwise_focal_cost(logits, t, self.alpha, self.gamma)
                    + self.cost_dice * pairwise_dice_cost(logits, t)
                    - self.cost_sound * sound_logits[n].float().sigmoid()[:, None]
                )
                if class_logits is not None:
                    prob = class_logits[n].float().softmax(-1)
                    cost = cost - self.cost_class * prob[:, target_classes[n].to(prob.device)]
                qi, ti = linear_sum_assignment(cost.cpu().numpy())
                out.append(
                    (torch.as_tensor(qi, dtype=torch.int64), torch.as_tensor(ti, dtype=torch.int64))
                )
        return out

    def __repr__(self):
        return (
            f"HungarianMatcher(cost_sound={self.cost_sound}, cost_mask={self.cost_mask}, "
            f"cost_dice={self.cost_dice})"
        )

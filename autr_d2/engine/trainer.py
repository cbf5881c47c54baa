"""Trainer(DefaultTrainer): AVS loaders, evaluator, AdamW param groups, poly schedule."""

import itertools
import logging
import os

import torch
from detectron2.data import build_detection_test_loader, build_detection_train_loader
from detectron2.engine import DefaultTrainer
from detectron2.solver import build_lr_scheduler as d2_build_lr_scheduler
from detectron2.solver.lr_scheduler import LRMultiplier, WarmupParamScheduler
from fvcore.common.param_scheduler import PolynomialDecayParamScheduler
from torch import nn

from ..data import AVSClipDatasetMapper
from ..evaluation import AVSEvaluator

__all__ = ["Trainer", "build_optimizer_params"]

_NORMS = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.SyncBatchNorm,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.LocalResponseNorm,
    nn.InstanceNorm2d,
)


def build_optimizer_params(
    model, base_lr, weight_decay, weight_decay_norm, weight_decay_embed, backbone_multiplier
):
    """One param group per trainable parameter: backbone LR multiplier; no weight decay on norms
    (WEIGHT_DECAY_NORM) and embeddings (WEIGHT_DECAY_EMBED); biases keep the base decay."""
    params, memo = [], set()
    for module_name, module in model.named_modules():
        for _name, p in module.named_parameters(recurse=False):
            if not p.requires_grad or p in memo:
                continue
            memo.add(p)
            lr, wd = base_lr, weight_decay
            if module_name.startswith("backbone"):
                lr *= backbone_multiplier
            if isinstance(module, _NORMS):
                wd = weight_decay_norm
            elif isinstance(module, nn.Embedding):
                wd = weight_decay_embed
            params.append({"params": [p], "lr": lr, "weight_decay": wd})
    return params


class Trainer(DefaultTrainer):
    @classmethod
    def build_train_loader(cls, cfg):
        return build_detection_train_loader(cfg, mapper=AVSClipDatasetMapper(cfg, True))

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        return build_detection_test_loader(
            cfg, dataset_name, mapper=AVSClipDatasetMapper(cfg, False)
        )

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_folder=None):
        output_folder = output_folder or os.path.join(cfg.OUTPUT_DIR, "inference", dataset_name)
        return AVSEvaluator(
            dataset_name,
            distributed=True,
            output_dir=output_folder,
            f_group_size=cfg.TEST.AVS.F_GROUP_SIZE,
            save_pred_masks=cfg.TEST.AVS.SAVE_PRED_MASKS,
        )

    @classmethod
    def build_optimizer(cls, cfg, model):
        s = cfg.SOLVER
        params = build_optimizer_params(
            model,
            s.BASE_LR,
            s.WEIGHT_DECAY,
            s.WEIGHT_DECAY_NORM,
            s.WEIGHT_DECAY_EMBED,
            s.BACKBONE_MULTIPLIER,
        )
        if s.OPTIMIZER == "ADAMW":
            opt_cls, kwargs = torch.optim.AdamW, {}
        elif s.OPTIMIZER == "SGD":
            opt_cls, kwargs = torch.optim.SGD, {"momentum": s.MOMENTUM, "nesterov": s.NESTEROV}
        else:
            raise ValueError(f"SOLVER.OPTIMIZER must be ADAMW or SGD, got {s.OPTIMIZER!r}")
        clip = s.CLIP_GRADIENTS
        if not (clip.ENABLED and clip.CLIP_TYPE == "full_model"):
            from detectron2.solver.build import maybe_add_gradient_clipping

            return maybe_add_gradient_clipping(cfg, opt_cls(params, s.BASE_LR, **kwargs))

        class FullModelClipping(opt_cls):
            """Clips the global gradient norm of all parameters before each step."""

            def step(self, closure=None):
                all_params = itertools.chain(*[g["params"] for g in self.param_groups])
                torch.nn.utils.clip_grad_norm_(all_params, clip.CLIP_VALUE, clip.NORM_TYPE)
                return super().step(closure=closure)

        return FullModelClipping(params, s.BASE_LR, **kwargs)

    @classmethod
    def build_lr_scheduler(cls, cfg, optimizer):
        s = cfg.SOLVER
        if s.LR_SCHEDULER_NAME != "WarmupPolyLR":
            return d2_build_lr_scheduler(cfg, optimizer)
        sched = PolynomialDecayParamScheduler(1.0, s.POLY_LR_POWER)
        sched = WarmupParamScheduler(
            sched, s.WARMUP_FACTOR, min(s.WARMUP_ITERS / max(s.MAX_ITER, 1), 1.0), s.WARMUP_METHOD
        )
        return LRMultiplier(optimizer, multiplier=sched, max_iter=s.MAX_ITER)

    @classmethod
    def test(cls, cfg, model, evaluators=None):
        logging.getLogger(__name__).info(f"evaluating on {cfg.DATASETS.TEST}")
        return super().test(cfg, model, evaluators)

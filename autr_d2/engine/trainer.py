"""Trainer(DefaultTrainer): AVS loaders, evaluator, AdamW param groups, poly schedule, a guard
against non-finite losses, and a metrics.json that stays one unbroken log across --resume."""

import itertools
import json
import logging
import os
import time

import numpy as np
import torch
from detectron2.data import (
    DatasetCatalog,
    build_detection_test_loader,
    build_detection_train_loader,
)
from detectron2.engine import AMPTrainer, DefaultTrainer, SimpleTrainer, hooks
from detectron2.solver import build_lr_scheduler as d2_build_lr_scheduler
from detectron2.solver.lr_scheduler import LRMultiplier, WarmupParamScheduler
from detectron2.utils import comm
from fvcore.common.param_scheduler import PolynomialDecayParamScheduler
from torch import nn

from ..checkpoint import AuTRCheckpointer, load_pretrained_components
from ..data import AVSClipDatasetMapper
from ..evaluation import build_evaluator
from ..utils.precision import autocast, resolve_dtype
from .defaults import record_outputs

__all__ = ["Trainer", "build_optimizer_params", "NonFiniteLossError"]
logger = logging.getLogger(__name__)


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN/inf; raised before the optimizer step, so weights stay finite."""


class _NonFiniteGuard:
    """Checks every loss term after backward, before the optimizer step, on all ranks at once
    (so DDP processes stop or skip together instead of hanging in the next all-reduce)."""

    stop_on_nonfinite = True

    def _write_metrics(self, loss_dict, data_time, prefix=""):
        bad = sorted(k for k, v in loss_dict.items() if not torch.isfinite(v).all())
        flag = torch.tensor([float(len(bad))], device=next(iter(loss_dict.values())).device)
        if comm.get_world_size() > 1:
            torch.distributed.all_reduce(flag)
        if flag.item() == 0:
            return super()._write_metrics(loss_dict, data_time, prefix)
        terms = ", ".join(f"{k}={loss_dict[k].item():.4g}" for k in bad) or "on another rank"
        msg = f"non-finite loss at iteration {self.iter}: {terms}"
        if self.stop_on_nonfinite:
            raise NonFiniteLossError(msg)
        logger.warning(f"{msg}; step skipped (SOLVER.STOP_ON_NONFINITE_LOSS False)")
        scaler = getattr(self, "grad_scaler", None)
        if not (scaler is not None and scaler.is_enabled()):  # a GradScaler skips it by itself
            self.optimizer.zero_grad(set_to_none=True)  # no gradient: the step leaves weights


class _GuardedSimpleTrainer(_NonFiniteGuard, SimpleTrainer):
    pass


class _GuardedAMPTrainer(_NonFiniteGuard, AMPTrainer):
    """AMP on any device: autocast in ``amp_dtype`` (bf16 on CPUs; fp16 or bf16 on GPUs), a
    gradient scaler only for fp16 (D2 0.6's AMPTrainer is CUDA-only and fp16-only)."""

    amp_device, amp_dtype = "cuda", torch.float16

    def run_step(self):
        assert self.model.training, "[AMPTrainer] model was changed to eval mode!"
        start = time.perf_counter()
        data = next(self._data_loader_iter)
        data_time = time.perf_counter() - start
        with autocast(self.amp_device, self.amp_dtype):  # float32 ("auto", no native bf16): off
            loss_dict = self.model(data)
        losses = sum(loss_dict.values())
        self.optimizer.zero_grad()
        self.grad_scaler.scale(losses).backward()
        self._write_metrics(loss_dict, data_time)
        self.grad_scaler.step(self.optimizer)
        self.grad_scaler.update()


def _truncate_metrics(path, start_iter):
    """Keep the lines of metrics.json written before `start_iter` (a killed run may have logged
    iterations after its last checkpoint, or a half-written last line), so the resumed run
    continues one unbroken, strictly increasing log."""
    if not os.path.isfile(path):
        return
    keep_bytes = 0
    with open(path, "rb") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                break  # a line cut by a kill: it and anything after it are dropped
            if rec.get("iteration", -1) >= start_iter or not line.endswith(b"\n"):
                break
            keep_bytes += len(line)
    # in place: the JSONWriter already holds the file open in append mode
    with open(path, "r+b") as f:
        f.truncate(keep_bytes)


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


def swap_audio(dicts, seed):
    """Every clip gets the audio of another clip (a random derangement, fixed by `seed`): the
    "does it listen?" probe (TEST.AVS.SWAP_AUDIO_SEED)."""
    n = len(dicts)
    if n < 2:
        raise ValueError("TEST.AVS.SWAP_AUDIO_SEED needs at least 2 clips in the split")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    perm = np.roll(perm, 1)[np.argsort(perm)]  # i -> the clip after i in a random cycle: no i -> i
    return [dict(d, audio_file=dicts[j]["audio_file"]) for d, j in zip(dicts, perm)]


class Trainer(DefaultTrainer):
    def __init__(self, cfg):
        super().__init__(cfg)
        # Same object, guarded step: re-creating it would start a second data-loader iterator.
        t = self._trainer
        t.__class__ = _GuardedAMPTrainer if isinstance(t, AMPTrainer) else _GuardedSimpleTrainer
        t.stop_on_nonfinite = cfg.SOLVER.STOP_ON_NONFINITE_LOSS
        if isinstance(t, AMPTrainer):
            t.amp_device = torch.device(cfg.MODEL.DEVICE).type
            t.amp_dtype = resolve_dtype(cfg.SOLVER.AMP.PRECISION, cfg.MODEL.DEVICE)
            # a scaler only where fp16 needs one (bf16 has fp32's range)
            t.grad_scaler = torch.amp.GradScaler(t.amp_device, enabled=t.amp_dtype == torch.float16)
            if t.amp_dtype == torch.float32:
                logger.info(
                    f"mixed precision: off (SOLVER.AMP.PRECISION {cfg.SOLVER.AMP.PRECISION}: "
                    "this CPU has no native bf16, so training runs in float32)"
                )
            else:
                logger.info(
                    f"mixed precision: autocast {str(t.amp_dtype).split('.')[-1]} on "
                    f"{t.amp_device}"
                    f"{' with a gradient scaler' if t.grad_scaler.is_enabled() else ''}"
                )
        # Same object (the checkpoint hook holds it): safe .pkl loading, readable errors.
        self.checkpointer.__class__ = AuTRCheckpointer

    def build_hooks(self):
        ret = super().build_hooks()
        for i, h in enumerate(ret):
            if isinstance(h, hooks.PeriodicWriter):  # D2 hard-codes 20 iterations
                ret[i] = hooks.PeriodicWriter(
                    self.build_writers(), period=self.cfg.SOLVER.LOG_PERIOD
                )
        # D2 saves a checkpoint before the writers log that iteration: a kill between the two
        # leaves model_000k.pth without iteration k's metrics.json line, and --resume (which
        # starts at k + 1) can never write it. Checkpointing last means a checkpoint exists only
        # once its iteration (and an evaluation at it) is logged; a kill before it resumes
        # from the previous checkpoint and redoes the iterations since.
        ret.sort(key=lambda h: isinstance(h, hooks.PeriodicCheckpointer))  # stable: order kept
        # the manifest of OUTPUT_DIR follows the run (every LOG_PERIOD iterations and after
        # each checkpoint), so --overwrite later finds what it wrote even if it was killed
        periods = (self.cfg.SOLVER.LOG_PERIOD, self.cfg.SOLVER.CHECKPOINT_PERIOD)

        def record(trainer):
            if any(p > 0 and (trainer.iter + 1) % p == 0 for p in periods):
                record_outputs()

        ret.append(hooks.CallbackHook(after_step=record, after_train=lambda _: record_outputs()))
        return ret

    def resume_or_load(self, resume=True):
        if not (resume and self.checkpointer.has_checkpoint()):
            # a fresh start: the config's pretrained backbone / VGGish files first, then
            # MODEL.WEIGHTS (which wins where both set a weight)
            load_pretrained_components(self.model, self.cfg)
        super().resume_or_load(resume)
        if resume and comm.is_main_process():
            _truncate_metrics(os.path.join(self.cfg.OUTPUT_DIR, "metrics.json"), self.start_iter)

    def train(self):
        try:
            return super().train()
        except NonFiniteLossError as e:
            last = (
                self.checkpointer.get_checkpoint_file()
                if self.checkpointer.has_checkpoint()
                else ""
            )
            raise NonFiniteLossError(
                f"{e}. Training stopped; the last good checkpoint is kept "
                f"({last or 'none was saved yet'}). Fix the cause (e.g. lower SOLVER.BASE_LR, "
                "check the data) and continue with --resume."
            ) from None

    @classmethod
    def build_train_loader(cls, cfg):
        return build_detection_train_loader(cfg, mapper=AVSClipDatasetMapper(cfg, True))

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        mapper = AVSClipDatasetMapper(cfg, False)
        if cfg.TEST.AVS.SWAP_AUDIO_SEED < 0:
            return build_detection_test_loader(cfg, dataset_name, mapper=mapper)
        dicts = swap_audio(DatasetCatalog.get(dataset_name), cfg.TEST.AVS.SWAP_AUDIO_SEED)
        return build_detection_test_loader(dicts, mapper=mapper)

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_folder=None):
        """AVSEvaluator (S4/MS3 layouts) or AVSSEvaluator (semantic), by the split's metadata."""
        return build_evaluator(cfg, dataset_name, output_folder)

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

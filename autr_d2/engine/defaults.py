"""Config set-up and output-folder safety shared by tools/train_net.py, demo and visualize."""

import logging
import os

import torch
from detectron2.config import get_cfg

from ..checkpoint import CheckpointError
from ..config import add_autr_config
from ..data.audio import AudioError
from ..data.clip_mapper import ClipDataError
from ..data.datasets.avsbench import DatasetLayoutError
from ..utils.outputs import OutputDirError
from ..utils.precision import cpu_has_fast_bf16, resolve_dtype
from ..utils.safe_pickle import UnsafePickleError

__all__ = [
    "ConfigError",
    "OutputDirExistsError",
    "USER_ERRORS",
    "check_output_dir",
    "evaluate_weights",
    "setup_cfg",
]


class OutputDirExistsError(FileExistsError):
    pass


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key."""


# What a tool reports as one sentence ("error: ...") instead of a traceback: every one of these
# names the file or key and the problem.
USER_ERRORS = (
    ConfigError,
    OutputDirExistsError,
    OutputDirError,
    CheckpointError,
    UnsafePickleError,
    AudioError,
    ClipDataError,
    DatasetLayoutError,
)


def setup_cfg(config_file, opts=(), freeze=True):
    """get_cfg + add_autr_config + yaml + command-line opts; checks what cannot work."""
    cfg = get_cfg()
    add_autr_config(cfg)
    cfg.merge_from_file(config_file)
    cfg.merge_from_list(list(opts))
    if cfg.MODEL.DEVICE.startswith("cuda") and not torch.cuda.is_available():
        logging.getLogger(__name__).warning("CUDA not available: MODEL.DEVICE set to cpu")
        cfg.MODEL.DEVICE = "cpu"
    for key, name in (
        ("SOLVER.AMP.PRECISION", cfg.SOLVER.AMP.PRECISION),
        ("MODEL.PRECISION", cfg.MODEL.PRECISION),
    ):
        try:
            dtype = resolve_dtype(name, cfg.MODEL.DEVICE)
        except ValueError as e:
            raise ConfigError(f"{key}: {e}") from None
        used = cfg.SOLVER.AMP.ENABLED if key.startswith("SOLVER") else dtype != torch.float32
        if used and dtype == torch.bfloat16 and cfg.MODEL.DEVICE == "cpu":
            if not cpu_has_fast_bf16():
                logging.getLogger(__name__).warning(
                    f"{key} bfloat16: this CPU has no native bf16 (AVX-512 BF16 / AMX) as torch "
                    "reports it, so bf16 may run emulated and slower than float32"
                )
    if cfg.SOLVER.IMS_PER_BATCH < 1:
        raise ConfigError(
            f"SOLVER.IMS_PER_BATCH is {cfg.SOLVER.IMS_PER_BATCH}: it is the number of clips per "
            "training step (over all processes) and must be at least 1"
        )
    if freeze:
        cfg.freeze()
    return cfg


def check_output_dir(output_dir, resume=False, eval_only=False, overwrite=False):
    """Refuse to train into a folder holding an earlier run's results unless the user asked
    (--resume continues it, --overwrite replaces it, --eval-only only adds an inference folder)."""
    if resume or eval_only or overwrite or not os.path.isdir(output_dir):
        return
    owned = [
        f
        for f in os.listdir(output_dir)
        if f.endswith(".pth") or f in ("metrics.json", "last_checkpoint")
    ]
    if owned:
        raise OutputDirExistsError(
            f"{output_dir} already holds results ({', '.join(sorted(owned)[:4])}); pass --resume "
            "to continue that run, --overwrite to replace it, or set OUTPUT_DIR elsewhere"
        )


def evaluate_weights(config_file, weights, dataset_names, opts=()):
    """Evaluate a checkpoint in this process on registered splits -> ``{dataset: {metric: v}}``
    (the evaluator's "avs" or, for semantic splits, "avss" dict), as ``train_net.py --eval-only``
    would."""
    from ..checkpoint import build_checkpointer
    from .trainer import Trainer

    cfg = setup_cfg(
        config_file,
        [*opts, "MODEL.WEIGHTS", weights, "DATASETS.TEST", tuple(dataset_names)],
    )
    model = Trainer.build_model(cfg)
    build_checkpointer(cfg, model).load(weights)
    results = Trainer.test(cfg, model)
    if len(dataset_names) == 1:  # DefaultTrainer.test unwraps a single dataset's results
        results = {dataset_names[0]: results}
    return {name: dict(next(iter(results[name].values()))) for name in dataset_names}

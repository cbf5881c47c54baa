"""Config set-up and output-folder safety shared by tools/train_net.py, demo and visualize."""

import logging
import os
import re

import torch
import yaml
from detectron2.config import get_cfg

from ..checkpoint import CheckpointError
from ..config import add_autr_config
from ..data.audio import AudioError
from ..data.clip_mapper import ClipDataError
from ..data.datasets.avsbench import DatasetLayoutError
from ..utils.outputs import (
    OutputDirError,
    OutputRecorder,
    marker_tool,
    refuse_unrecorded,
    replace_recorded_outputs,
    write_marker,
)
from ..utils.precision import cpu_has_fast_bf16, resolve_dtype
from ..utils.safe_pickle import UnsafePickleError

__all__ = [
    "ConfigError",
    "OutputDirExistsError",
    "USER_ERRORS",
    "check_launch",
    "check_output_dir",
    "evaluate_weights",
    "record_outputs",
    "setup_cfg",
    "user_message",
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


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def user_message(e):
    """A user error as one sentence: without terminal colour codes, and for an error that a
    DataLoader worker re-raised ("Caught X in DataLoader worker process 0. Original Traceback
    ..."), the worker's own message without the traceback."""
    text = _ANSI.sub("", str(e)).strip()
    if "Original Traceback" in text:
        last = [line for line in text.splitlines() if line.strip()][-1]
        text = last.split(": ", 1)[1] if ": " in last else last
    return text


_TYPE_MISMATCH = re.compile(
    r"Type mismatch \(<class '([\w.]+)'> vs\. <class '([\w.]+)'>\).*for config key: (\S+)", re.S
)


def _yacs_error(config_file, e):
    """yacs' merge errors as a sentence naming the key (its message dumps whole sections)."""
    m = _TYPE_MISMATCH.search(str(e))
    if not m:
        return f"{config_file}: {str(e).splitlines()[0][:300]}"
    want, got = (x.rsplit(".", 1)[-1] for x in m.groups()[:2])
    key = m.group(3)
    if want == "CfgNode" and got == "NoneType":
        return (
            f"{config_file}: {key} is an empty section (a line '{key.rsplit('.', 1)[-1]}:' with "
            "nothing under it); give its keys or remove the line"
        )
    return f"{config_file}: {key} must be a {want}, not a {got}"  # e.g. "must be a int"


def setup_cfg(config_file, opts=(), freeze=True):
    """get_cfg + add_autr_config + yaml + command-line opts; checks what cannot work."""
    cfg = get_cfg()
    add_autr_config(cfg)
    if not os.path.isfile(config_file):
        raise ConfigError(f"{config_file}: config file not found")
    try:
        # allow_unsafe=False: a Python tag in a downloaded config (or its _BASE_) must not run;
        # Detectron2's default retries such a file with yaml.unsafe_load
        cfg.merge_from_file(config_file, allow_unsafe=False)
    except yaml.constructor.ConstructorError as e:
        what = str(e).splitlines()[0][:200]
        raise ConfigError(
            f"{config_file} (or a _BASE_ it names): not a plain YAML config ({what}); Python "
            "tags such as !!python/object are refused because loading them runs code"
        ) from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{config_file} (or a _BASE_ it names): not valid YAML ({e})") from None
    except KeyError as e:  # yacs: "Non-existent config key: ..."
        raise ConfigError(f"{config_file}: {e.args[0] if e.args else e}") from None
    except FileNotFoundError as e:  # a _BASE_ that is not there
        raise ConfigError(
            f"{config_file}: the _BASE_ config {e.filename} does not exist (_BASE_ paths are "
            "relative to the file that names them)"
        ) from None
    except (ValueError, AssertionError) as e:
        raise ConfigError(_yacs_error(config_file, e)) from None
    try:
        cfg.merge_from_list(list(opts))
    except (KeyError, ValueError, AssertionError) as e:
        raise ConfigError(f"command-line options: {e.args[0] if e.args else e}") from None
    if cfg.MODEL.DEVICE.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"MODEL.DEVICE is {cfg.MODEL.DEVICE} (the AVSBench configs' default) but CUDA is not "
            f"usable here ({_why_no_cuda()}); to run on the CPU on purpose add MODEL.DEVICE cpu "
            "(a full AVSBench schedule takes days there)"
        )
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
    try:  # combinations the model would refuse after the whole config is logged: now
        from ..meta_arch import check_config

        check_config(cfg)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if cfg.SOLVER.IMS_PER_BATCH < 1:
        raise ConfigError(
            f"SOLVER.IMS_PER_BATCH is {cfg.SOLVER.IMS_PER_BATCH}: it is the number of clips per "
            "training step (over all processes) and must be at least 1"
        )
    if freeze:
        cfg.freeze()
    return cfg


def _why_no_cuda():
    if not torch.backends.cuda.is_built():
        return "this torch build has no CUDA: install a CUDA wheel, INSTALL.md"
    if torch.cuda.device_count() == 0:
        return (
            f"torch {torch.__version__} is built for CUDA {torch.version.cuda} but finds no GPU: "
            "no GPU, or an NVIDIA driver too old for that CUDA version (nvidia-smi)"
        )
    return "torch.cuda.is_available() is False"


def check_launch(cfg, num_gpus, num_machines=1, training=True):
    """What a ``train_net.py`` run can do with `cfg`, checked before any process starts (and
    before the config is logged): the global batch must split evenly over the processes
    (``--num-gpus`` x ``--num-machines``), and what only training needs must be there."""
    if training:
        from ..meta_arch import check_config

        try:
            check_config(cfg, training=True)
        except ValueError as e:
            raise ConfigError(str(e)) from None
    world = max(1, num_gpus) * max(1, num_machines)
    if cfg.SOLVER.IMS_PER_BATCH % world:
        raise ConfigError(
            f"SOLVER.IMS_PER_BATCH {cfg.SOLVER.IMS_PER_BATCH} (clips per step over all "
            f"processes) does not split over {world} processes (--num-gpus {num_gpus} x "
            f"--num-machines {num_machines}); make it a multiple of {world}"
        )
    if num_gpus > 1 and cfg.MODEL.DEVICE == "cpu" and torch.cuda.is_available():
        logging.getLogger(__name__).warning(
            f"--num-gpus {num_gpus} with MODEL.DEVICE cpu: {num_gpus} CPU processes while this "
            "machine has CUDA; add MODEL.DEVICE cuda to train on its GPUs"
        )


TRAIN_TOOL = "tools/train_net.py"
# The names Detectron2 gives what a run writes into OUTPUT_DIR (checkpoints, logs, the config
# record, the evaluations under inference/), matched component by component (utils/outputs.py
# `matches`). A run records the files under these names that it created or rewrote (an
# OutputRecorder); --overwrite removes exactly those, and a run refuses to start where a file it did
# not record holds one of these names (it would write over it).
TRAIN_OUTPUTS = (
    "model_[0-9][0-9][0-9][0-9][0-9][0-9][0-9].pth",  # PeriodicCheckpointer's model_{:07d}
    "model_final.pth",
    "last_checkpoint",
    "metrics.json",
    "events.out.tfevents.*",
    "log.txt",
    "log.txt.rank*",
    "config.yaml",
    "inference/config.yaml",
    "inference/log.txt",
    "inference/log.txt.rank*",
    "inference/*/pred_masks/**",
)
# the logs Detectron2 appends to: one that only grew since it was recorded is still the run's
TRAIN_LOGS = (
    "metrics.json",
    "events.out.tfevents.*",
    "log.txt",
    "log.txt.rank*",
    "inference/log.txt",
    "inference/log.txt.rank*",
)
_recorder = None  # this process's OutputRecorder of OUTPUT_DIR (main process only)


def check_output_dir(output_dir, resume=False, eval_only=False, overwrite=False, inputs=()):
    """Make `output_dir` ready for a run and start recording what the run writes there.

    A folder that holds a run is refused unless the user asked: --resume continues it;
    --overwrite first removes the files that train_net.py recorded writing there and that are as
    it left them (only in a folder it marked as its own and that holds none of `inputs`, e.g. the
    MODEL.WEIGHTS to start from; see utils/outputs.py), so no stale checkpoint, metrics line or
    score of the old run survives next to the new one. A new run (not --resume) also refuses a
    file it did not record under a name it writes (a ``config.yaml`` of the user's). --eval-only
    writes only OUTPUT_DIR/inference. Call on the main process only; call
    :func:`record_outputs` periodically and at the end."""
    global _recorder
    _recorder = None
    entries = sorted(os.listdir(output_dir)) if os.path.isdir(output_dir) else []
    marked = marker_tool(output_dir) == TRAIN_TOOL if entries else False
    if eval_only:
        if marked or not entries:  # a folder of train_net's (or a new one): its files recorded
            os.makedirs(output_dir, exist_ok=True)
            write_marker(output_dir, TRAIN_TOOL)
            _recorder = OutputRecorder(output_dir, TRAIN_OUTPUTS, TRAIN_LOGS)
        return

    def result(f):  # a run that failed before logging leaves an empty metrics.json: no result
        if f == "metrics.json":
            return os.path.getsize(os.path.join(output_dir, f)) > 0
        return f.endswith(".pth") or f == "last_checkpoint"

    results = [f for f in entries if result(f)]
    if results and not (resume or overwrite):
        raise OutputDirExistsError(
            f"{output_dir} already holds results ({', '.join(results[:4])}); pass --resume to "
            "continue that run, --overwrite to replace it, or set OUTPUT_DIR elsewhere"
        )
    try:
        # a run that crashed before its first checkpoint leaves logs and config.yaml: its own
        if overwrite and not resume and (results or marked):
            replace_recorded_outputs(output_dir, TRAIN_TOOL, TRAIN_OUTPUTS, inputs)
        elif entries and not resume:
            refuse_unrecorded(output_dir, TRAIN_TOOL, TRAIN_OUTPUTS, "a new run")
    except OutputDirError as e:
        raise OutputDirExistsError(f"--overwrite: {e}" if overwrite else str(e)) from None
    os.makedirs(output_dir, exist_ok=True)
    write_marker(output_dir, TRAIN_TOOL)
    _recorder = OutputRecorder(output_dir, TRAIN_OUTPUTS, TRAIN_LOGS)


# what a finished (or interrupted) training that a tool reuses must share with the one it asks for
REUSE_KEYS = ("SOLVER.MAX_ITER", "INPUT.SIZE_TRAIN", "SEED", "MODEL.AUDIO.WEIGHTS",
              "MODEL.TIMM.WEIGHTS")  # fmt: skip


def check_reusable(output_dir, cfg):
    """Raise ConfigError when ``output_dir`` holds a training made with other :data:`REUSE_KEYS`
    than ``cfg``, as the config.yaml Detectron2 wrote there says. run_demo and run_study reuse
    the training in their folders; without this, another recipe's model (an older default,
    another --iters, --seed or encoder) would be reported under this one's settings."""
    saved = os.path.join(output_dir, "config.yaml")
    if not os.path.isfile(saved):
        return
    try:
        with open(saved) as f:
            have = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{saved}: cannot read the earlier training's settings ({e})") from None
    differ = []
    for key in REUSE_KEYS:
        there, here = have, cfg
        for part in key.split("."):
            there = there.get(part) if isinstance(there, dict) else None
            here = here[part]
        if there != here:
            differ.append(f"{key} {there!r} there, {here!r} now")
    if differ:
        raise ConfigError(
            f"{output_dir} holds a training with other settings ({'; '.join(differ)}): pass "
            "another output folder, or remove that one to train afresh"
        )


def record_outputs():
    """Record in OUTPUT_DIR's manifest what this run has written there so far (a hook calls it
    every LOG_PERIOD iterations, train_net.py at the end; a no-op on other processes)."""
    if _recorder is not None:
        _recorder.record()


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

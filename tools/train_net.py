#!/usr/bin/env python
"""Train or evaluate AuTR with Detectron2 (single process, multi-GPU or multi-machine via launch).

python tools/train_net.py --config-file configs/avs_synth/s4_autr_R18.yaml
python tools/train_net.py --config-file ... --resume            # continue the last checkpoint
python tools/train_net.py --config-file ... --eval-only MODEL.WEIGHTS path/model_final.pth
python tools/train_net.py --config-file ... --num-gpus 2        # DDP (gloo on a CPU-only host)
"""

import os
import signal
import sys

import detectron2.utils.comm as comm
import torch
from detectron2.engine import default_argument_parser, default_setup, launch
from detectron2.evaluation import verify_results
from detectron2.utils.logger import setup_logger

import autr_d2  # noqa: F401  (registers datasets and the model)
from autr_d2.checkpoint import build_checkpointer
from autr_d2.engine import (
    USER_ERRORS,
    Trainer,
    check_launch,
    check_output_dir,
    record_outputs,
    setup_cfg,
    user_message,
)


def setup(args):
    cfg = setup_cfg(args.config_file, args.opts, freeze=False)
    if comm.is_main_process():
        m = cfg.MODEL
        inputs = (m.WEIGHTS, m.TIMM.WEIGHTS, m.AUDIO.WEIGHTS)  # --overwrite never removes these
        check_output_dir(cfg.OUTPUT_DIR, args.resume, args.eval_only, args.overwrite, inputs)
    comm.synchronize()  # no rank writes its log into OUTPUT_DIR while --overwrite clears it
    cfg.freeze()
    # default_setup writes config.yaml and log.txt into OUTPUT_DIR; an evaluation keeps its own in
    # OUTPUT_DIR/inference, so the training run's config.yaml (the record of how it was trained,
    # which run_study reads) is never replaced by an --eval-only call
    record = cfg
    if args.eval_only:
        record = cfg.clone()
        record.defrost()
        record.OUTPUT_DIR = os.path.join(cfg.OUTPUT_DIR, "inference")
    default_setup(record, args)
    if args.eval_only and comm.is_main_process():  # the config as used, with its OUTPUT_DIR
        with open(os.path.join(record.OUTPUT_DIR, "config.yaml"), "w") as f:
            f.write(cfg.dump())
    setup_logger(output=record.OUTPUT_DIR, distributed_rank=comm.get_rank(), name="autr_d2")
    return cfg


def _distributed():
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def _stop(signum, frame):
    raise SystemExit(128 + signum)  # the cleanup below runs (a plain SIGTERM would skip it)


def main(args):
    signal.signal(signal.SIGTERM, _stop)  # a scheduler's or launch's SIGTERM: record, then exit
    try:
        result = run(args)
        if _distributed():  # no rank tears the group down while another still uses it
            comm.synchronize()
        return result
    finally:
        record_outputs()  # what this run wrote into OUTPUT_DIR, for a later --overwrite
        # Shut the process group down before the interpreter exits: a gloo group left to the
        # interpreter's teardown sometimes aborts a worker ("terminate called without an active
        # exception") after the results are written.
        if _distributed():
            torch.distributed.destroy_process_group()


def run(args):
    cfg = setup(args)
    if args.eval_only:
        model = Trainer.build_model(cfg)
        checkpointer = build_checkpointer(cfg, model, cfg.OUTPUT_DIR)
        if not cfg.MODEL.WEIGHTS and not (args.resume and checkpointer.has_checkpoint()):
            if not args.allow_untrained:
                raise SystemExit(
                    "error: --eval-only needs the trained weights: MODEL.WEIGHTS path/to/"
                    "model_final.pth (or --resume with an OUTPUT_DIR that holds a run); "
                    "--allow-untrained scores a randomly initialised model on purpose"
                )
        checkpointer.resume_or_load(cfg.MODEL.WEIGHTS, resume=args.resume)
        res = Trainer.test(cfg, model)
        if comm.is_main_process():
            verify_results(cfg, res)
        return res
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=args.resume)
    return trainer.train()


def get_parser():
    parser = default_argument_parser()
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run in OUTPUT_DIR: first removes the files train_net.py recorded "
        "writing there (checkpoints, last_checkpoint, metrics.json, logs, config.yaml, "
        "inference/), only in a folder it made; files you added there stay",
    )
    parser.add_argument(
        "--allow-untrained",
        action="store_true",
        help="with --eval-only: score a model without MODEL.WEIGHTS (random weights) on purpose",
    )
    return parser


def invoke_main():
    args = get_parser().parse_args()
    print("Command Line Args:", args)
    try:
        # what cannot work is said before any process starts (and before the config is logged)
        cfg = setup_cfg(args.config_file, args.opts)
        check_launch(cfg, args.num_gpus, args.num_machines, training=not args.eval_only)
        launch(
            main,
            args.num_gpus,
            num_machines=args.num_machines,
            machine_rank=args.machine_rank,
            dist_url=args.dist_url,
            args=(args,),
        )
    except USER_ERRORS as e:  # bad input or config: a sentence, not a traceback
        raise SystemExit(f"error: {user_message(e)}") from None


if __name__ == "__main__":
    sys.exit(invoke_main())

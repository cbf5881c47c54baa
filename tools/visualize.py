#!/usr/bin/env python
"""Pictures of AuTR's predictions on clips of a registered split.

With a model (MODEL.WEIGHTS), per clip: ``<clip>_strip.png`` (frames | ground truth | prediction
with the sound score), ``<clip>_attention.png`` (the audio queries' cross-attention, one row per
query) and ``<clip>_overlay.gif``. Without a model, ``--pred-dir`` shows masks that the evaluator
saved (TEST.AVS.SAVE_PRED_MASKS) instead. On an AVSBench-semantic split (a semantic model,
MODEL.AUTR.NUM_CLASSES > 0) the strip names every class in the dataset's colours, with a legend,
at the 224x224 the official metric uses.

python tools/visualize.py --config-file configs/avs_synth/s4_autr_R18.yaml \
    --dataset avs_synth_s4_test --num-clips 4 --output vis/ MODEL.WEIGHTS output/.../model_final.pth
python tools/visualize.py --dataset avs_synth_s4_test --output vis/ \
    --pred-dir output/.../inference/avs_synth_s4_test/pred_masks
"""

import argparse
import os
import sys

import numpy as np
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.data import detection_utils as utils
from detectron2.utils.logger import setup_logger
from PIL import Image

import autr_d2  # noqa: F401  (registers datasets and the model)
from autr_d2.data import AVSClipDatasetMapper
from autr_d2.data.audio import load_log_mel
from autr_d2.data.clip_mapper import read_color_label, read_mask
from autr_d2.engine import USER_ERRORS, setup_cfg, user_message
from autr_d2.utils.outputs import OutputFolder
from autr_d2.utils.visualizer import (
    attention_grid,
    clip_strip,
    overlay_labels,
    overlay_mask,
    save_gif,
    semantic_strip,
)

TOOL = "tools/visualize.py"
KINDS = ("strip.png", "attention.png", "overlay.gif")  # per clip: <clip>_<kind>


def positive_int(text):
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config-file", default="", help="model config (needed with MODEL.WEIGHTS)")
    p.add_argument("--dataset", required=True, help="a registered split, e.g. avs_synth_s4_test")
    p.add_argument("--clips", nargs="*", default=[], help="clip ids (default: the first ones)")
    p.add_argument(
        "--num-clips", type=positive_int, default=4, help="how many clips when --clips is empty"
    )
    p.add_argument("--pred-dir", default="", help="saved pred_masks folder instead of a model")
    p.add_argument("--output", required=True, help="folder for the pictures")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the pictures of an earlier run in --output (nothing else is removed)",
    )
    p.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides: KEY VALUE ...")
    return p


def choose_clips(dicts, clips, num):
    if not clips:
        return dicts[:num]
    by_id = {d["clip_id"]: d for d in dicts}
    missing = [c for c in clips if c not in by_id]
    if missing:
        raise SystemExit(f"clips not in the split: {missing}")
    return [by_id[c] for c in clips]


def read_saved_masks(pred_dir, d):
    """Masks written by AVSEvaluator(save_pred_masks=True), which mirrors gt_masks' layout."""
    out = []
    for k, gt in enumerate(d["sem_seg_file_names"]):
        if gt and f"gt_masks{os.sep}" in gt:
            path = os.path.join(pred_dir, gt.split(f"gt_masks{os.sep}", 1)[-1])
        else:
            path = os.path.join(pred_dir, d["clip_id"], f"{d['clip_id']}_{k + 1}.png")
        if not os.path.isfile(path):
            raise SystemExit(f"{path}: no saved prediction for clip {d['clip_id']} frame {k + 1}")
        out.append(read_mask(path).astype(bool))
    return np.stack(out)


def check_dataset(name):
    if name not in DatasetCatalog.list():
        avs = sorted(n for n in DatasetCatalog.list() if n.startswith(("avsbench_", "avs_synth_")))
        raise SystemExit(
            f"error: no dataset named {name!r}; the registered AVS datasets are: "
            f"{', '.join(avs)} (their files live under $DETECTRON2_DATASETS)"
        )


def _save(folder, name, save):
    """Write the new file `name` in the OutputFolder with ``save(path)``; returns its path."""
    path = folder.new_file(name)
    save(path)
    folder.done(name)
    return path


def draw_semantic_clip(predictor, d, folder):
    """An AVSBench-semantic clip through the model, as the evaluator sees it (the mapper pads it
    to T, frames and labels at the dataset's 224x224): strip, attention and overlay GIF.
    ``d``: the dataset dict plus "classes" and "colors" (the metadata's stuff_classes/colors)."""
    classes, colors = d["classes"], d["colors"]
    size = (d["height"], d["width"])
    frames = np.stack(
        [
            np.asarray(Image.open(f).convert("RGB").resize(size[::-1], Image.BILINEAR))
            for f in d["file_names"]
        ]
    )
    n = len(frames)
    gts = [read_color_label(m, len(classes), size) if m else None for m in d["sem_seg_file_names"]]
    clip = AVSClipDatasetMapper(predictor.cfg, False)(d)
    with torch.no_grad():
        out = predictor.model([clip])[0]
    preds = [f["sem_seg"].argmax(0).cpu().numpy() for f in out["frames"][:n]]
    scores = out["sound_scores"][:n].cpu().numpy()
    cid = d["clip_id"].replace("/", "_")
    strip = semantic_strip(frames, preds, gts, classes, colors)
    attn = attention_grid(frames, out["attention"][:n].cpu().numpy(), scores)
    gif = [overlay_labels(f, p, classes, colors) for f, p in zip(frames, preds)]
    return [
        _save(folder, f"{cid}_strip.png", Image.fromarray(strip).save),
        _save(folder, f"{cid}_attention.png", Image.fromarray(attn).save),
        _save(folder, f"{cid}_overlay.gif", lambda p: save_gif(gif, p)),
    ]


def draw_clip(predictor, d, folder, pred_dir):
    """One clip of a binary split: strip, attention (with a model) and overlay GIF."""
    frames = np.stack([utils.read_image(f, format="RGB") for f in d["file_names"]])
    gts = [read_mask(m).astype(bool) if m else None for m in d["sem_seg_file_names"]]
    cid = d["clip_id"].replace("/", "_")  # a file name, also for a CSV name with a "/"
    written = []
    if predictor is None:
        preds, scores = read_saved_masks(pred_dir, d), None
    else:
        out = predictor(list(frames), load_log_mel(d["audio_file"], len(frames)))
        preds = np.stack([(f["sem_seg"][1] > 0.5).numpy() for f in out["frames"]])
        scores = out["sound_scores"].max(1).values.numpy()
        attn = attention_grid(frames, out["attention"].numpy(), out["sound_scores"].numpy())
        written.append(_save(folder, f"{cid}_attention.png", Image.fromarray(attn).save))
    strip = clip_strip(frames, preds, gts, scores)
    written.append(_save(folder, f"{cid}_strip.png", Image.fromarray(strip).save))
    gif = [
        overlay_mask(f, m, text=None if scores is None else f"sound {s:.2f}")
        for f, m, s in zip(frames, preds, scores if scores is not None else [0] * len(preds))
    ]
    written.append(_save(folder, f"{cid}_overlay.gif", lambda p: save_gif(gif, p)))
    return written


def main(args):
    if not args.pred_dir and not args.config_file:
        raise SystemExit("give --config-file (and MODEL.WEIGHTS) or --pred-dir")
    check_dataset(args.dataset)
    meta = MetadataCatalog.get(args.dataset)
    semantic = meta.get("evaluator_type", "avs") == "avss"
    if semantic and args.pred_dir:
        raise SystemExit(
            f"error: {args.dataset} is an AVSBench-semantic split: its pictures come from a "
            "semantic model (--config-file and MODEL.WEIGHTS), not from --pred-dir"
        )
    predictor = None
    try:
        chosen = choose_clips(DatasetCatalog.get(args.dataset), args.clips, args.num_clips)
        if not args.pred_dir:
            from autr_d2.predictor import AuTRPredictor

            cfg = setup_cfg(args.config_file, args.opts, freeze=False)
            cfg.MODEL.AUTR.TEST.RETURN_ATTENTION = True
            cfg.freeze()
            predictor = AuTRPredictor(cfg)
        names = [f"{d['clip_id'].replace('/', '_')}_{kind}" for d in chosen for kind in KINDS]
        # last, so that a wrong dataset, clip or checkpoint leaves no folder behind; only the
        # files it records writing are ever removed (--overwrite), never a name that matches
        folder = OutputFolder.open(args.output, TOOL, args.overwrite, [args.pred_dir], names)
    except USER_ERRORS as e:
        raise SystemExit(f"error: {user_message(e)}") from None
    for note in folder.notes:
        print(note)
    written = []
    try:
        for d in chosen:
            if semantic:
                d = dict(d, classes=meta.stuff_classes, colors=meta.stuff_colors)
                written += draw_semantic_clip(predictor, d, folder)
            else:
                written += draw_clip(predictor, d, folder, args.pred_dir)
    except BaseException as e:
        folder.abandon()  # nothing half-drawn is left behind (nor a folder it made)
        if isinstance(e, USER_ERRORS):
            raise SystemExit(f"error: {user_message(e)}") from None
        raise
    folder.finish()
    print(f"wrote {len(written)} files to {args.output}")
    return written


if __name__ == "__main__":
    setup_logger(name="autr_d2")
    main(get_parser().parse_args())
    sys.exit(0)

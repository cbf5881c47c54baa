#!/usr/bin/env python
"""Run a trained AuTR on your own video: which objects make the sound?

Input: a video file with an audio track (anything FFmpeg reads: .mp4, .mkv, .webm, ...), or a folder
of frames plus a wav. Output folder: ``overlay.mp4`` (the prediction drawn on every frame, with the
original sound), ``masks/<frame>.png`` (0/255, one per video frame) and ``summary.json``.

python tools/demo.py --config-file configs/avs_synth/s4_autr_R18.yaml --input clip.mp4 \
    --output demo_out/ MODEL.WEIGHTS output/avs_synth_s4_autr_R18/model_final.pth
python tools/demo.py --config-file ... --frames frames_dir/ --audio clip.wav --frames-fps 1 \
    --output demo_out/ MODEL.WEIGHTS ...
"""

import argparse
import json
import os
import shutil
import sys
import time

import numpy as np
from detectron2.utils.logger import setup_logger
from PIL import Image
from tqdm import tqdm

import autr_d2  # noqa: F401  (registers the model)
from autr_d2.engine import setup_cfg
from autr_d2.predictor import AuTRPredictor
from autr_d2.utils.video_io import VideoReadError, read_frames_folder, read_video, write_video
from autr_d2.utils.visualizer import overlay_mask


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config-file", required=True)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="a video file with sound")
    src.add_argument("--frames", help="a folder of frames (use with --audio)")
    p.add_argument("--audio", default="", help="the wav that goes with --frames")
    p.add_argument("--frames-fps", type=float, default=1.0, help="rate of --frames (AVSBench: 1)")
    p.add_argument("--fps", type=int, default=5, help="frames processed per second (others reuse)")
    p.add_argument("--output", required=True, help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides: KEY VALUE ...")
    return p


def prepare_output(path, overwrite):
    if os.path.exists(path) and os.listdir(path):
        if not overwrite:
            raise SystemExit(f"{path} is not empty; pass --overwrite to replace it")
        shutil.rmtree(path)
    os.makedirs(os.path.join(path, "masks"), exist_ok=True)


def main(args):
    try:
        if args.input:
            video = read_video(args.input)
        else:
            video = read_frames_folder(args.frames, args.audio, args.frames_fps)
    except VideoReadError as e:
        raise SystemExit(f"error: {e}") from None
    prepare_output(args.output, args.overwrite)
    cfg = setup_cfg(args.config_file, args.opts)
    predictor = AuTRPredictor(cfg)
    t0 = time.perf_counter()
    pred = predictor.predict_video(video, fps=args.fps)
    elapsed = time.perf_counter() - t0
    for m in pred.messages:
        print(m)

    overlays = []
    for i, frame in enumerate(tqdm(video.frames, desc="writing", unit="frame")):
        mask, score, silent = pred.for_frame(i)
        Image.fromarray(mask.astype(np.uint8) * 255).save(
            os.path.join(args.output, "masks", f"{i:06d}.png")
        )
        text = "silent" if silent else f"sound {score:.2f}"
        overlays.append(overlay_mask(frame, mask, text=text))
    write_video(
        os.path.join(args.output, "overlay.mp4"),
        overlays,
        video.fps,
        video.audio,
        video.sample_rate,
    )
    summary = {
        "source": video.source,
        "frames": len(video.frames),
        "fps": video.fps,
        "duration_s": video.duration,
        "has_audio": video.audio is not None,
        "processed_frames": len(pred.frame_indices),
        "silent_processed_frames": int(pred.silent.sum()),
        "frames_with_sounding_object": int(sum(m.any() for m in pred.masks)),
        "model_seconds": round(elapsed, 3),
        "messages": pred.messages,
    }
    with open(os.path.join(args.output, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(
        f"{summary['processed_frames']} frames segmented in {elapsed:.1f} s; wrote "
        f"{args.output}/overlay.mp4, {len(video.frames)} masks in {args.output}/masks/"
    )
    return summary


if __name__ == "__main__":
    setup_logger(name="autr_d2")
    main(get_parser().parse_args())
    sys.exit(0)

#!/usr/bin/env python
"""Speed and memory of tools/demo.py on phone-like videos: real-time factor, time per stage and
peak RSS, as JSON lines.

python tools/benchmark_demo.py --seconds 10 60 --size 640x360 1920x1080 3840x2160
python tools/benchmark_demo.py --seconds 10 --size 640x360 --config-file CFG MODEL.WEIGHTS W.pth

Each video is written once into a scratch folder: 30 fps H.264 at a phone's bitrate (CRF 18) of a
textured scene panning 4 px per frame with sensor-like grain (a Tux Paint photo when `make media`
installed them, else a procedural texture) and a moving square, with 48 kHz stereo AAC carrying a
tone whose pitch changes every second, so every segmented frame goes through the model.
tools/demo.py then runs on it in a fresh process, and its summary.json gives the real-time factor
(seconds of video per second of wall time, every stage included), the seconds per stage (decoding
for the model, the model with its log-mel, drawing the overlays and mask PNGs, decoding for the
overlay, blending and encoding) and the peak resident memory (ru_maxrss). Without MODEL.WEIGHTS a
randomly initialised model of the config is saved in the scratch folder and used (the demo refuses
to run without weights; an untrained model costs the same). Only the scratch folder is removed.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction

import av
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "configs", "avs_synth", "paper", "s4_autr_effl0.yaml")
PHOTO = "/usr/share/tuxpaint/templates/sheep.jpg"  # tuxpaint-data (make media)


def _scene(width, height, rng):
    """A textured picture 1.5x the frame's width to pan over: a photo, else smooth noise."""
    import cv2

    w, h = width * 3 // 2, height
    if os.path.isfile(PHOTO):
        img = cv2.cvtColor(cv2.imread(PHOTO), cv2.COLOR_BGR2RGB)
        return cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)
    noise = rng.random((h // 8 + 1, w // 8 + 1, 3)).astype(np.float32) * 255
    return cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.uint8)


def synthetic_video(path, seconds, width, height, fps=30, sr=48000):
    """Write `seconds` of phone-like video frame by frame (memory stays small whatever the
    length): a panning textured scene with grain and a moving square, H.264 CRF 18, AAC tones."""
    rng = np.random.default_rng(0)
    scene = _scene(width, height, rng)
    grain = [rng.integers(-5, 6, (height, width, 1), dtype=np.int16) for _ in range(4)]
    side = max(8, height // 4)
    t_audio = np.arange(sr) / sr
    with av.open(path, "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.options = {"preset": "veryfast", "crf": "18"}
        ast = out.add_stream("aac", rate=sr, layout="stereo")
        for s in range(seconds):
            tone = (0.3 * np.sin(2 * np.pi * 220 * (1 + s % 4) * t_audio)).astype(np.float32)
            af = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
            af.sample_rate, af.pts, af.time_base = sr, s * sr, Fraction(1, sr)
            out.mux(ast.encode(af))
            for i in range(fps):
                n = s * fps + i
                x0 = (n * 4) % (scene.shape[1] - width)
                img = scene[:, x0 : x0 + width].astype(np.int16) + grain[n % len(grain)]
                img = img.clip(0, 255).astype(np.uint8)
                x = int(n * 4 % max(1, width - side))
                img[height // 3 : height // 3 + side, x : x + side] = (255, 40, 40)
                vf = av.VideoFrame.from_ndarray(img, format="rgb24")
                vf.pts = n
                out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
        out.mux(ast.encode(None))


def run_demo(video, out, args):
    cmd = [
        sys.executable,
        os.path.join(ROOT, "tools", "demo.py"),
        "--config-file",
        args.config_file,
    ]
    cmd += ["--input", video, "--output", out, "--fps", str(args.fps), "--quiet"]
    cmd += ["--preset", args.preset, *args.opts]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if res.returncode != 0:
        raise SystemExit(f"error: tools/demo.py failed on {video}:\n{res.stderr[-3000:]}")
    with open(os.path.join(out, "summary.json")) as f:
        return json.load(f)


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=int, nargs="+", default=[10, 60], help="video lengths")
    p.add_argument("--size", nargs="+", default=["640x360"], help="WIDTHxHEIGHT, one or more")
    p.add_argument("--video-fps", type=int, default=30)
    p.add_argument("--fps", type=int, default=5, help="the demo's processed frames per second")
    p.add_argument("--config-file", default=CONFIG)
    p.add_argument("--scratch", default=None, help="folder for the videos (default: a temp dir)")
    p.add_argument("--preset", default="ultrafast", help="the demo's x264 preset")
    p.add_argument(
        "opts",
        nargs=argparse.REMAINDER,
        help="config overrides: KEY VALUE ... (default config: make demo's INPUT.SIZE_TEST 128)",
    )
    return p


def untrained_weights(config_file, opts, path):
    """Save a randomly initialised model of the config as a checkpoint at `path`."""
    import torch
    from detectron2.modeling import build_model

    import autr_d2  # noqa: F401  (registers the model)
    from autr_d2.engine import setup_cfg

    torch.save({"model": build_model(setup_cfg(config_file, opts)).state_dict()}, path)


def main(args):
    scratch = tempfile.mkdtemp(prefix="autr_bench_", dir=args.scratch)
    results = []
    try:
        if args.config_file == CONFIG and "INPUT.SIZE_TEST" not in args.opts:
            args.opts = [*args.opts, "INPUT.SIZE_TEST", "128"]  # the model make demo trains
        if "MODEL.WEIGHTS" not in args.opts:
            weights = os.path.join(scratch, "untrained.pth")
            untrained_weights(args.config_file, args.opts, weights)
            args.opts = [*args.opts, "MODEL.WEIGHTS", weights]
        for size in args.size:
            w, h = (int(v) for v in size.lower().split("x"))
            for seconds in args.seconds:
                video = os.path.join(scratch, f"{w}x{h}_{seconds}s.mp4")
                t0 = time.perf_counter()
                synthetic_video(video, seconds, w, h, args.video_fps)
                made = time.perf_counter() - t0
                mbit = os.path.getsize(video) * 8 / seconds / 1e6
                s = run_demo(video, os.path.join(scratch, "out"), args)
                shutil.rmtree(os.path.join(scratch, "out"))
                os.remove(video)
                row = {
                    "size": f"{w}x{h}",
                    "seconds": seconds,
                    "video_fps": args.video_fps,
                    "mbit_per_s": round(mbit, 1),
                    "processing_fps": s["processing_fps"],
                    "frames": s["frames"],
                    "realtime_factor": s["realtime_factor"],
                    "frames_per_second": s["frames_per_second"],
                    "precision": s["precision"],
                    "peak_rss_mb": s["peak_rss_mb"],
                    "demo_seconds": s["seconds"],
                    "stage_seconds": s["stage_seconds"],
                    "generate_seconds": round(made, 1),
                }
                print(json.dumps(row), flush=True)
                results.append(row)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return results


if __name__ == "__main__":
    main(get_parser().parse_args())

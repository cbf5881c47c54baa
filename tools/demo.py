#!/usr/bin/env python
"""Run a trained AuTR on your own video: which objects make the sound?

Input: a video file with an audio track (anything FFmpeg reads: .mp4, .mkv, .webm, ...), or a folder
of frames plus a wav. Output folder: ``overlay.mp4`` (the prediction drawn on every frame, with the
original sound), ``masks/<frame>.png`` (0/255, one per video frame) and ``summary.json``. A
semantic model (MODEL.AUTR.NUM_CLASSES > 0) also writes ``labels/<frame>.png`` (every pixel's
class in the AVSBench-semantic colour code) and ``legend.png``, and names the classes it draws.

python tools/demo.py --config-file configs/avs_synth/s4_autr_R18.yaml --input clip.mp4 \
    --output demo_out/ MODEL.WEIGHTS output/avs_synth_s4_autr_R18/model_final.pth
python tools/demo.py --config-file ... --frames frames_dir/ --audio clip.wav --frames-fps 1 \
    --output demo_out/ MODEL.WEIGHTS ...

The video is streamed: one window of T seconds is decoded (at the model's input size), predicted,
and its frames are decoded again at full size, drawn and encoded, so memory does not grow with the
video's length.
"""

import argparse
import gc
import io
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from detectron2.data import MetadataCatalog
from detectron2.utils.logger import setup_logger
from PIL import Image

import autr_d2  # noqa: F401  (registers the model)
from autr_d2.data.audio import AudioError
from autr_d2.data.palette import AVSS_CLASSES, avss_palette
from autr_d2.engine import USER_ERRORS, setup_cfg
from autr_d2.predictor import AuTRPredictor, StreamSummary
from autr_d2.utils.audio_timeline import SILENT, SOUND
from autr_d2.utils.outputs import prepare_output_dir
from autr_d2.utils.video_io import VideoReadError, open_frames_folder, open_video
from autr_d2.utils.video_writer import OverlayWriter
from autr_d2.utils.visualizer import class_legend, overlay_labels, overlay_mask

TOOL = "tools/demo.py"
OWNED = ["masks", "overlay.mp4", "summary.json"]  # everything this tool writes in --output
SEMANTIC_OWNED = ["labels", "legend.png"]  # and with a semantic model


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value > 0:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"must be {what} greater than 0, got {text!r}")
        return value

    return parse


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config-file", required=True)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="a video file with sound")
    src.add_argument("--frames", help="a folder of frames (use with --audio)")
    p.add_argument("--audio", default="", help="the wav that goes with --frames")
    p.add_argument(
        "--frames-fps", type=_positive(float), default=1.0, help="rate of --frames (AVSBench: 1)"
    )
    p.add_argument(
        "--fps", type=_positive(int), default=5, help="frames processed per second (others reuse)"
    )
    p.add_argument("--output", required=True, help="output folder (only this tool's files in it)")
    p.add_argument(
        "--overwrite", action="store_true", help="replace an earlier output of this tool there"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides: KEY VALUE ...")
    return p


class _Drawer:
    """Draws the overlay of a frame with ``overlay_mask`` (Detectron2's Visualizer).

    The Visualizer costs ~0.3 s per 1080p frame. A mask shown on several frames is therefore drawn
    once on black and once on white, which gives its colour layer and its transparency, and each
    frame is then blended with them (the same picture up to rounding, at a fraction of the cost).
    Each picture leaves a matplotlib figure behind in reference cycles (~250 MB at 1080p): they are
    collected after every picture where the process froze its long-lived objects (``main`` does,
    so a collection costs nothing), else once per window (``run``).
    """

    def __init__(self, paint=None):
        """paint(frame, mask or label map, text) -> picture; default ``overlay_mask``."""
        self.key, self.black, self.span = None, None, None
        self.paint = paint or (lambda frame, mask, text: overlay_mask(frame, mask, text=text))

    def _picture(self, frame, mask, text):
        out = self.paint(frame, mask, text)
        if gc.get_freeze_count():
            gc.collect()
        return out

    def draw(self, frame, key, mask, text, reused):
        if not reused:
            return self._picture(frame, mask, text)
        if key != self.key:
            black = self._picture(np.zeros_like(frame), mask, text)
            white = self._picture(np.full_like(frame, 255), mask, text)
            # out = black + (1 - alpha) * frame, with 1 - alpha = (white - black) / 255
            span = white.astype(np.int16) - black  # rounding can make it -1: clip
            self.key, self.black = key, black.astype(np.uint16)
            self.span = np.clip(span, 0, 255).astype(np.uint16)
        out = self.span * frame  # uint16: at most 255 * 255
        out += 127
        out //= 255
        out += self.black
        return out.astype(np.uint8)


class _Outputs:
    """Writes masks/<frame>.png and overlay.mp4 frame by frame, behind the predictions.

    Video frame i shows the prediction of the last processed frame at or before i (the first one
    before it). ``add`` takes a window's processed frames; ``write(limit)`` writes every video frame
    whose index is below `limit` (None: all the rest), decoding the video a second time.
    """

    def __init__(self, source, folder, classes=None, colors=None):
        """classes, colors: a semantic model's class names and RGB colours (None: binary)."""
        self.folder = folder
        self.writer = OverlayWriter(os.path.join(folder, "overlay.mp4"), source)
        self.frames, self.next = source.frames(), None
        self.entries = []  # [frame index, prob [S,S], score, status, labels] still to be shown
        self.drawer, self.cache = _Drawer(), (None, None, None)
        self.classes, self.colors, self.seen = classes, colors, set()
        self.label_cache = (None, None, None)
        if classes is not None:
            self.drawer = _Drawer(lambda f, lab, t: overlay_labels(f, lab, classes, colors, t))

    def add(self, win):
        for k, i in enumerate(win.frame_indices):
            labels = None if win.labels is None else win.labels[k]
            entry = (i, win.probs[k], float(win.sound_scores[k]), win.status[k], labels)
            self.entries.append(entry)

    def _labels(self, entry, h, w):
        """Full-size class map (nearest) and its colour PNG bytes, kept like the mask."""
        if self.label_cache[0] != (entry[0], h, w):
            lab = np.asarray(Image.fromarray(entry[4]).resize((w, h), Image.NEAREST))
            buf = io.BytesIO()
            Image.fromarray(self.colors_array[lab]).save(buf, format="PNG")
            self.seen |= set(np.unique(lab).tolist())
            self.label_cache = ((entry[0], h, w), lab, buf.getvalue())
        return self.label_cache[1], self.label_cache[2]

    @property
    def colors_array(self):
        return np.asarray(self.colors, np.uint8)

    def _mask(self, entry, h, w):
        """Full-size mask and its PNG bytes, kept while frames show this entry."""
        if self.cache[0] != (entry[0], h, w):
            p = torch.from_numpy(entry[1])[None, None]
            m = F.interpolate(p, size=(h, w), mode="bilinear", align_corners=False)[0, 0] > 0.5
            m = m.numpy()
            buf = io.BytesIO()
            Image.fromarray(m.astype(np.uint8) * 255).save(buf, format="PNG")
            self.cache = ((entry[0], h, w), m, buf.getvalue())
        return self.cache[1], self.cache[2]

    def write(self, limit=None):
        while self.entries:
            ref = self.next or next(self.frames, None)
            self.next = ref
            if ref is None or (limit is not None and ref.index >= limit):
                return
            self.next = None
            while len(self.entries) > 1 and self.entries[1][0] <= ref.index:
                self.entries.pop(0)
            e = self.entries[0]
            reused = len(self.entries) == 1 or self.entries[1][0] - e[0] >= 2
            rgb = ref.image()
            mask, png = self._mask(e, *rgb.shape[:2])
            with open(os.path.join(self.folder, "masks", f"{ref.index:06d}.png"), "wb") as f:
                f.write(png)
            if self.classes is not None:
                mask, png = self._labels(e, *rgb.shape[:2])  # drawn instead of the mask
                with open(os.path.join(self.folder, "labels", f"{ref.index:06d}.png"), "wb") as f:
                    f.write(png)
            text = f"sound {e[2]:.2f}" if e[3] == SOUND else e[3]
            self.writer.write(self.drawer.draw(rgb, e[0], mask, text, reused), ref.time)

    def close(self):
        self.writer.close()


def class_names(cfg, num_classes):
    """A semantic model's class names and colours: its datasets' (metadata stuff_classes), else
    AVSBench-semantic's for 70 classes, else "class <k>"; colours in the AVSS colour code."""
    for name in (*cfg.DATASETS.TEST, *cfg.DATASETS.TRAIN):
        classes = MetadataCatalog.get(name).get("stuff_classes", None)
        if classes is not None and len(classes) == num_classes + 1:
            break
    else:
        classes = AVSS_CLASSES if num_classes + 1 == len(AVSS_CLASSES) else None
        classes = classes or ["background", *[f"class {k}" for k in range(1, num_classes + 1)]]
    return list(classes), [tuple(int(v) for v in c) for c in avss_palette(num_classes + 1)]


def run(predictor, source, folder, fps=5, progress=True):
    """Predict `source` window by window and write the demo's outputs into `folder` (which holds
    an empty ``masks/``, and ``labels/`` for a semantic model). Returns the summary dict written
    to summary.json."""
    t0 = time.perf_counter()
    summary = StreamSummary()
    n_cls = getattr(predictor.model, "num_classes", 0)
    classes, colors = class_names(predictor.cfg, n_cls) if n_cls else (None, None)
    out = _Outputs(source, folder, classes, colors)
    for win in predictor.predict_windows(source, fps=fps, progress=progress, summary=summary):
        out.add(win)
        if out.entries:
            out.write(limit=out.entries[-1][0])
        gc.collect()  # the Visualizer's matplotlib figures are reference cycles: free them now
    out.write()
    out.close()
    if classes is not None:
        shown = sorted(out.seen | {0})
        Image.fromarray(class_legend(classes, colors, shown)).save(f"{folder}/legend.png")
    elapsed = time.perf_counter() - t0
    counts = summary.status_counts
    result = {
        "source": source.source,
        "frames": summary.frames,
        "fps": summary.fps,
        "duration_s": round(summary.duration_s, 3),
        "has_audio": summary.has_audio,
        "processed_frames": summary.processed_frames,
        "silent_processed_frames": summary.processed_frames - counts[SOUND],
        "frames_with_sounding_object": summary.frames_with_sounding_object,
        "model_seconds": round(summary.model_seconds, 3),
        "messages": summary.messages,
        "processing_fps": summary.processing_fps,
        "frame_times": summary.frame_times,
        "no_audio_processed_frames": counts["no audio"],
        "silent_audio_processed_frames": counts[SILENT],
        "no_audio_seconds": summary.no_audio_seconds,
        "silent_seconds": summary.silent_seconds,
        "audio": {
            "codec": source.audio_codec,
            "channels": source.channels,
            "sample_rate": source.sample_rate,
            "overlay": out.writer.audio_note,
        },
        "audio_mismatch": source.audio_mismatch,
        "orientation": source.orientation,
        "seconds": round(elapsed, 3),
        "frames_per_second": round(summary.frames / max(elapsed, 1e-9), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if classes is not None:
        result["classes_shown"] = [classes[c] for c in sorted(out.seen) if c]
    with open(os.path.join(folder, "summary.json"), "w") as f:
        json.dump(result, f, indent=1)
    return result


def main(args):
    inputs = [args.input or args.frames, args.audio]
    try:
        # headers only: bad inputs are named before anything is written
        if args.input:
            source = open_video(args.input)
        else:
            source = open_frames_folder(args.frames, args.audio, args.frames_fps)
        predictor = AuTRPredictor(setup_cfg(args.config_file, args.opts))
        # checked before any decoding, so a long video is not decoded for an unwritable folder;
        # last, so a bad input or checkpoint leaves no folder behind
        prepare_output_dir(args.output, TOOL, OWNED + SEMANTIC_OWNED, args.overwrite, inputs)
    except (VideoReadError, *USER_ERRORS) as e:
        raise SystemExit(f"error: {e}") from None
    os.makedirs(os.path.join(args.output, "masks"))
    if getattr(predictor.model, "num_classes", 0):
        os.makedirs(os.path.join(args.output, "labels"))
    gc.collect()
    gc.freeze()  # modules and model live to the end: later collections only scan new objects
    try:
        summary = run(predictor, source, args.output, args.fps, progress=not args.quiet)
    except (VideoReadError, AudioError) as e:
        raise SystemExit(f"error: {e}") from None
    for m in summary["messages"]:
        print(m)
    print(
        f"{summary['processed_frames']} frames segmented, {summary['frames']} written in "
        f"{summary['seconds']:.1f} s ({summary['frames_per_second']:.1f} frames/s, peak memory "
        f"{summary['peak_rss_mb']:.0f} MB); wrote {args.output}/overlay.mp4 (audio "
        f"{summary['audio']['overlay']}), {summary['frames']} masks in {args.output}/masks/"
    )
    return summary


if __name__ == "__main__":
    setup_logger(name="autr_d2")
    main(get_parser().parse_args())
    sys.exit(0)

#!/usr/bin/env python
"""Run a trained AuTR on your own video: which objects make the sound?

Input: a video file with an audio track (anything FFmpeg reads: .mp4, .mkv, .webm, ...), or a folder
of frames plus a wav. Output folder: ``overlay.mp4`` (the prediction drawn on every frame, with the
original sound), ``masks/<frame>.png`` (0/255 at the video's size, one per frame the model
segments; ``--mask-every-frame``: one per video frame), ``masks/index.csv`` (which mask every video
frame shows) and ``summary.json`` (counts, the audio's status per second, time per stage). A
semantic model (MODEL.AUTR.NUM_CLASSES > 0) also writes ``labels/<frame>.png`` (every pixel's class
in the AVSBench-semantic colour code) and ``legend.png``, and names the classes it draws.

python tools/demo.py --config-file configs/avs_synth/paper/s4_autr_effl0.yaml --input clip.mp4 \
    --output demo_out/ MODEL.WEIGHTS output/autr_demo/train/model_final.pth INPUT.SIZE_TEST 128
python tools/demo.py --config-file ... --frames frames_dir/ --audio clip.wav --frames-fps 1 \
    --output demo_out/ MODEL.WEIGHTS ...

The video is streamed: one window of T seconds is decoded (scaled straight to the model's input by
libswscale), predicted, and its frames are decoded again and written with the prediction blended
into their own Y'CbCr planes, so memory does not grow with the video's length. The model runs in
bf16 where the CPU has it natively and in float32 elsewhere (MODEL.PRECISION auto; set it to
override). Exit status: 0 done, 1 an error (one sentence), 3 the input ended before the length its
container promises (the outputs cover what was read), 130 interrupted (Ctrl-C: the partial
``overlay.partial.mp4`` plays up to where it stopped, none is kept before the first frame; a rerun
replaces it without --overwrite).
"""

import argparse
import collections
import csv
import json
import os
import resource
import sys
import time

import cv2
import numpy as np
import torch
from detectron2.data import MetadataCatalog
from detectron2.utils.logger import setup_logger

import autr_d2  # noqa: F401  (registers the model)
from autr_d2.data.audio import AudioError
from autr_d2.data.palette import AVSS_CLASSES, avss_palette
from autr_d2.engine import USER_ERRORS, setup_cfg, user_message
from autr_d2.predictor import AuTRPredictor, StreamSummary
from autr_d2.utils.audio_timeline import SILENT, SOUND
from autr_d2.utils.outputs import INTERRUPTED, OutputDirError, OutputFolder
from autr_d2.utils.overlay import Overlay, upsample_labels, upsample_mask
from autr_d2.utils.video_io import VideoReadError, open_frames_folder, open_video
from autr_d2.utils.video_writer import OverlayWriter
from autr_d2.utils.visualizer import class_legend

TOOL = "tools/demo.py"
# what it writes (names it needs free; it removes only the files its manifest records)
OWNED = [
    "overlay.mp4",
    "overlay.partial.mp4",
    "summary.json",
    "legend.png",
    "masks/" + "[0-9]" * 6 + ".png",
    "masks/index.csv",
    "labels/" + "[0-9]" * 6 + ".png",
]
EXIT_TRUNCATED, EXIT_INTERRUPTED = 3, 130
SHARED_PASS_MAX_MB = 1200  # decoded frames kept between the model and the overlay, at most
PRED_COLOR = (255, 64, 64)  # autr_d2.utils.visualizer.PRED_COLOR in 0-255


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
        "--fps", type=_positive(int), default=5, help="frames segmented per second (others reuse)"
    )
    p.add_argument("--output", required=True, help="output folder (only this tool's files in it)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier output of this tool there (only the files it wrote are removed)",
    )
    p.add_argument(
        "--mask-every-frame",
        action="store_true",
        help="write masks/<frame>.png for every video frame, not only the segmented ones",
    )
    p.add_argument(
        "--preset",
        default="ultrafast",
        help="x264 speed preset of overlay.mp4 (ultrafast ... veryslow: slower presets make "
        "smaller files; at 1080p ultrafast keeps the demo at the video's speed on 2 cores)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides: KEY VALUE ...")
    return p


class _SharedPass:
    """One decoding pass shared by the model, which reads up to a window ahead, and the overlay,
    which follows: the frames in between are kept decoded, so every frame is decoded once.

    It stands in for the source (every attribute but ``frames`` is the source's): the predictor
    iterates :meth:`frames`; :meth:`follower` gives the overlay's iterator, which stops when it
    has caught up and goes on after the predictor has decoded more.
    """

    def __init__(self, source):
        self._source, self._kept = source, collections.deque()

    def __getattr__(self, name):
        return getattr(self._source, name)

    @staticmethod
    def fits(source, max_mb=SHARED_PASS_MAX_MB, seconds=7):
        """True when `seconds` of decoded 4:2:0 frames fit in `max_mb` (1080p30: ~650 MB)."""
        return source.width * source.height * 1.5 * source.rate * seconds <= max_mb * 2**20

    def frames(self):
        for ref in self._source.frames():
            self._kept.append(ref)
            yield ref

    def follower(self):
        kept = self._kept

        class _Follow:
            def __iter__(self):
                return self

            def __next__(self):
                if not kept:
                    raise StopIteration
                return kept.popleft()

        return _Follow()


class _Stages:
    """Seconds spent per stage of the demo (summary.json's ``stage_seconds``)."""

    def __init__(self):
        self.seconds = {}

    def add(self, name, seconds):
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def timed(self, name, fn, *args):
        tic = time.perf_counter()
        out = fn(*args)
        self.add(name, time.perf_counter() - tic)
        return out


def _png(array, bilevel=False):
    """PNG bytes of a grey (``[H, W]``) or RGB image, through OpenCV (fast, level-1 deflate)."""
    if array.ndim == 3:
        array = array[..., ::-1]  # OpenCV writes BGR
    params = [cv2.IMWRITE_PNG_COMPRESSION, 1]
    if bilevel:
        params += [cv2.IMWRITE_PNG_BILEVEL, 1]
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(array), params)
    assert ok, "PNG encoding failed"
    return buf.tobytes()


class _Outputs:
    """Writes overlay.mp4 and the masks frame by frame, behind the predictions.

    Video frame i shows the prediction of the last segmented frame at or before i (the first one
    before it). ``add`` takes a window's segmented frames; ``write(limit)`` writes every video
    frame whose index is below `limit` (None: all the rest), decoding the video a second time. Each
    prediction is drawn once (:class:`~autr_d2.utils.overlay.Overlay`) and blended into the
    frames that show it; its mask is written once, as the PNG of the frame the model segmented.
    """

    VIDEO = "overlay.partial.mp4"  # renamed to overlay.mp4 when complete

    def __init__(self, source, folder, stages, classes=None, colors=None, every_frame=False,
                 preset="ultrafast"):  # fmt: skip
        """classes, colors: a semantic model's class names and RGB colours (None: binary)."""
        self.source, self.folder, self.stages = source, folder, stages
        self.writer = OverlayWriter(folder.new_file(self.VIDEO), source, preset=preset)
        shared = isinstance(source, _SharedPass)
        self.frames, self.next = (source.follower() if shared else source.frames()), None
        self.entries = []  # [frame index, prob [S,S], score, status, labels] still to be shown
        self.classes, self.colors, self.seen = classes, colors, set()
        self.every_frame = every_frame
        self.current = (None, None, None)  # (entry index, Overlay, mask file)
        self.index_rel = "masks/index.csv"
        self.index = open(folder.new_file(self.index_rel), "w", newline="")
        self.rows = csv.writer(self.index)
        self.rows.writerow(["frame", "time_s", "mask", "segmented_frame", "status"])
        self.mask_files = 0
        folder.makedirs("masks")
        if classes is not None:
            folder.makedirs("labels")

    def add(self, win):
        for k, i in enumerate(win.frame_indices):
            labels = None if win.labels is None else win.labels[k]
            entry = (i, win.probs[k], float(win.sound_scores[k]), win.status[k], labels)
            self.entries.append(entry)

    def _overlay(self, e):
        """The entry's Overlay at the video's size; its mask (and labels) written once."""
        if self.current[0] == e[0]:
            return self.current
        h, w = self.source.height, self.source.width
        color = self.source.color
        text = f"sound {e[2]:.2f}" if e[3] == SOUND else e[3]
        if self.classes is None:
            mask = upsample_mask(e[1], h, w)
            ov = Overlay.for_mask(mask, text, PRED_COLOR, 0.5, color.matrix, color.full_range)
        else:
            labels = upsample_labels(e[4], h, w)
            ov = Overlay.for_labels(
                labels, self.classes, self.colors, text, 0.6, color.matrix, color.full_range
            )
            self.seen |= set(np.unique(labels).tolist())
            rgb = np.asarray(self.colors, np.uint8)[labels]
            self.folder.write_bytes(f"labels/{e[0]:06d}.png", _png(rgb))
        name = f"masks/{e[0]:06d}.png"
        self.png = _png(ov.mask.astype(np.uint8) * 255, bilevel=True)
        self.folder.write_bytes(name, self.png)
        self.mask_files += 1
        self.current = (e[0], ov, name)
        return self.current

    def write(self, limit=None):
        while self.entries:
            ref = self.next or self.stages.timed("decode_for_overlay", next, self.frames, None)
            self.next = ref
            if ref is None or (limit is not None and ref.index >= limit):
                return
            self.next = None
            while len(self.entries) > 1 and self.entries[1][0] <= ref.index:
                self.entries.pop(0)
            e = self.entries[0]
            _, overlay, name = self.stages.timed("draw", self._overlay, e)
            if self.every_frame and ref.index != e[0]:
                name = f"masks/{ref.index:06d}.png"
                self.stages.timed("draw", self.folder.write_bytes, name, self.png)
                self.mask_files += 1
            self.rows.writerow([ref.index, f"{ref.time:.4f}", name[len("masks/") :], e[0], e[3]])
            planes = self.stages.timed("decode_for_overlay", ref.planes)
            self.stages.timed("blend_and_encode", self.writer.write_planes, planes, ref.time,
                              overlay)  # fmt: skip

    def close(self, complete=True):
        """Finish the video (it plays up to the last frame written) and the index; a complete
        run's video gets its final name. Returns the video's name (None: a run interrupted
        before its first frame, whose video, with no picture, is not kept)."""
        self.stages.timed("blend_and_encode", self.writer.close)
        self.index.close()
        self.folder.done(self.index_rel)
        if not complete and self.writer.frames_written == 0:
            self.folder.discard(self.VIDEO)
            return None
        self.folder.done(self.VIDEO)
        if complete:
            self.folder.rename(self.VIDEO, "overlay.mp4")
            return "overlay.mp4"
        return self.VIDEO


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


def run(predictor, source, folder, fps=5, progress=True, every_frame=False, preset="ultrafast"):
    """Predict `source` window by window and write the demo's outputs into `folder` (an
    :class:`~autr_d2.utils.outputs.OutputFolder`, or a path: a new folder is opened there).
    Returns the summary dict written to summary.json; on Ctrl-C the outputs are finished up to
    where it stopped (``"interrupted": true``) and KeyboardInterrupt is raised again."""
    if isinstance(folder, str):
        folder = OutputFolder.open(folder, TOOL, owned=OWNED)
    shared = _SharedPass.fits(source)
    if shared:
        source = _SharedPass(source)
    t0 = time.perf_counter()
    summary, stages = StreamSummary(), _Stages()
    n_cls = getattr(predictor.model, "num_classes", 0)
    classes, colors = class_names(predictor.cfg, n_cls) if n_cls else (None, None)
    out = _Outputs(source, folder, stages, classes, colors, every_frame, preset)
    interrupted = False
    try:
        windows = predictor.predict_windows(source, fps=fps, progress=progress, summary=summary)
        while True:
            tic = time.perf_counter()
            win = next(windows, None)
            stages.add("decode_and_model", time.perf_counter() - tic)
            if win is None:
                break
            out.add(win)
            if out.entries:
                out.write(limit=out.entries[-1][0])
        out.write()
    except KeyboardInterrupt:
        interrupted = True
    video = out.close(complete=not interrupted)
    if classes is not None:
        shown = sorted(out.seen | {0})
        legend = class_legend(classes, colors, shown)
        folder.write_bytes("legend.png", _png(legend))
    elapsed = time.perf_counter() - t0
    counts = summary.status_counts
    stages.seconds["model"] = summary.model_seconds
    # what is left is decoding (none yet when Ctrl-C came during the first window)
    decode_and_model = stages.seconds.pop("decode_and_model", summary.model_seconds)
    stages.seconds["decode_for_model"] = max(decode_and_model - summary.model_seconds, 0.0)
    written = out.writer.frames_written
    result = {
        "source": source.source,
        "frames": summary.frames if not interrupted else written,
        "fps": summary.fps,
        "duration_s": round(summary.duration_s, 3),
        "has_audio": summary.has_audio,
        "processed_frames": summary.processed_frames,
        "silent_processed_frames": summary.processed_frames - counts[SOUND],
        "frames_with_sounding_object": summary.frames_with_sounding_object,
        "model_seconds": round(summary.model_seconds, 3),
        "precision": str(getattr(predictor.model, "precision", "float32")).replace("torch.", ""),
        "torch_threads": torch.get_num_threads(),
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
            "layout": getattr(source, "audio_layout", None),
            "sample_rate": source.sample_rate,
            "overlay": out.writer.audio_note,
        },
        "audio_mismatch": source.audio_mismatch,
        "orientation": source.orientation,
        "video": video,
        "frames_written": written,
        "mask_files": out.mask_files,
        "masks": "every video frame" if every_frame else "the segmented frames",
        "decoded": "once (frames kept for the overlay)" if shared else "twice (frames too large)",
        "truncated": summary.truncated,
        "interrupted": interrupted,
        "seconds": round(elapsed, 3),
        "frames_per_second": round(written / max(elapsed, 1e-9), 3),
        "realtime_factor": round(summary.duration_s / max(elapsed, 1e-9), 3),
        "stage_seconds": {k: round(v, 3) for k, v in sorted(stages.seconds.items())},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if classes is not None:
        result["classes_shown"] = [classes[c] for c in sorted(out.seen) if c]
    folder.write_bytes("summary.json", json.dumps(result, indent=1).encode())
    folder.finish(INTERRUPTED if interrupted else "complete")
    if interrupted:
        raise KeyboardInterrupt(result)
    return result


def torch_threads():
    """The model's share of the cores: half of them (x264's and the decoder's threads run beside
    it; with all cores the three oversubscribe and the model runs 2x slower on 2 cores), or what
    OMP_NUM_THREADS / torch.set_num_threads chose."""
    if not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    return torch.get_num_threads()


def main(args):
    inputs = [args.input or args.frames, args.audio]
    opts = list(args.opts)
    if "MODEL.PRECISION" not in opts[::2]:
        opts += ["MODEL.PRECISION", "auto"]  # bf16 where the CPU has it natively, else float32
    try:
        # headers only: bad inputs are named before anything is written
        if args.input:
            source = open_video(args.input)
        else:
            source = open_frames_folder(args.frames, args.audio, args.frames_fps)
        predictor = AuTRPredictor(setup_cfg(args.config_file, opts))
        # checked before any decoding, so a long video is not decoded for an unwritable folder;
        # last, so a bad input or checkpoint leaves no folder behind
        folder = OutputFolder.open(args.output, TOOL, args.overwrite, inputs, OWNED)
    except (VideoReadError, *USER_ERRORS) as e:
        raise SystemExit(f"error: {user_message(e)}") from None
    for note in folder.notes:
        print(note)
    torch_threads()
    try:
        summary = run(
            predictor, source, folder, args.fps, not args.quiet, args.mask_every_frame, args.preset
        )
    except (VideoReadError, AudioError, OutputDirError) as e:
        folder.abandon()
        raise SystemExit(f"error: {user_message(e)}") from None
    except KeyboardInterrupt as e:
        s = e.args[0] if e.args and isinstance(e.args[0], dict) else None
        if s and s["video"] is None:
            print(
                f"\ninterrupted before the first frame was written: {args.output} holds no "
                "video; the next run into this folder starts there (no --overwrite needed)",
                file=sys.stderr,
            )
            sys.exit(EXIT_INTERRUPTED)
        where = f" after {s['frames_written']} frames" if s else ""
        print(
            f"\ninterrupted{where}: {args.output}/{_Outputs.VIDEO} plays up to there; the next "
            "run into this folder replaces it (no --overwrite needed)",
            file=sys.stderr,
        )
        sys.exit(EXIT_INTERRUPTED)
    for m in summary["messages"]:
        print(m)
    print(
        f"{summary['processed_frames']} frames segmented, {summary['frames_written']} written in "
        f"{summary['seconds']:.1f} s ({summary['frames_per_second']:.1f} frames/s, "
        f"{summary['realtime_factor']:.2f}x real time, {summary['precision']}, peak memory "
        f"{summary['peak_rss_mb']:.0f} MB); wrote {args.output}/overlay.mp4 (audio "
        f"{summary['audio']['overlay']}), {summary['mask_files']} masks in {args.output}/masks/"
    )
    if summary["truncated"]:
        sys.exit(EXIT_TRUNCATED)
    return summary


if __name__ == "__main__":
    setup_logger(name="autr_d2")
    try:
        main(get_parser().parse_args())
    except KeyboardInterrupt:  # before the run started (loading the model)
        print("\ninterrupted before anything was written", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(0)

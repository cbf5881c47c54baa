"""AuTRPredictor: a trained AuTR on raw frames + sound, like Detectron2's DefaultPredictor.

A clip is T frames one second apart, each paired with the second of audio that starts at it (the
AVSBench convention: frame k of a 5 s clip goes with audio second k). Everything runs on the
video's clock (presentation timestamps, see :mod:`autr_d2.utils.video_io`), so variable frame
rates and audio that starts late or ends early pair correctly:

* frames are taken at ``fps`` targets per second: for each target time ``k / fps`` the frame nearest
  to it (VFR video is sampled by time, not by index);
* the targets are cut into windows of T seconds; within a window the targets ``j, j + fps,
  j + 2 fps, ...`` form one clip, so every processed frame gets its own prediction;
* a processed frame at time t gets the audio ``[t, t + 1)`` (its own second): its log-mel example is
  computed from exactly that second (0 where no audio sample lies), at VGGish's 16 kHz;
* a frame's second that is less than half covered by audio samples is "no audio", one quieter than
  ``SILENCE_DBFS`` is "silent" (:mod:`autr_d2.utils.audio_timeline`): either gets an empty mask,
  since nothing can be heard.

``predict_windows`` streams: it decodes one window at a time (frames resized to the model's input
as they are decoded) and reads the audio only as far as that window needs, so memory is flat in
the video's length. ``predict_video`` collects all windows with masks at the frames' size.
"""

import collections
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from detectron2.data import transforms as T
from detectron2.modeling import build_model
from tqdm import tqdm

from .checkpoint import CheckpointError, build_checkpointer
from .data.audio import SAMPLE_RATE, waveform_to_log_mel
from .utils.audio_timeline import NO_AUDIO, SILENCE_DBFS, SILENT, SOUND, AudioTimeline
from .utils.video_io import MemoryVideo, Video

__all__ = [
    "AuTRPredictor",
    "StreamSummary",
    "VideoPrediction",
    "WindowPrediction",
]
logger = logging.getLogger(__name__)

# a video that ends this much before the length its container promises was cut short
TRUNCATED_S = 0.5


def _ranges(seconds):
    """[0, 1, 2, 5] -> "0-2, 5"."""
    out, i = [], 0
    while i < len(seconds):
        j = i
        while j + 1 < len(seconds) and seconds[j + 1] == seconds[j] + 1:
            j += 1
        out.append(f"{seconds[i]}" if i == j else f"{seconds[i]}-{seconds[j]}")
        i = j + 1
    return ", ".join(out)


@dataclass
class WindowPrediction:
    """The processed frames of one T-second window, in video order."""

    start: float  # the window is [start, start + T) seconds
    frame_indices: list  # indices into the video's frames
    times: list  # their times in seconds
    probs: np.ndarray  # [N, S, S] float32 sounding-object probability at the model's input size
    sound_scores: np.ndarray  # [N] the kept query's sound score (0 where no sound)
    status: list  # [N] "sound" | "silent" | "no audio" (the last two: mask left empty)
    # [N, S, S] uint8 class indices (0 = background) of a semantic model (MODEL.AUTR.NUM_CLASSES
    # > 0), else None; probs is then P(sounding) = 1 - the background score
    labels: np.ndarray = None

    def masks(self, height, width):
        """[N, height, width] bool: probabilities upsampled bilinearly, then > 0.5."""
        if not len(self.frame_indices):
            return np.zeros((0, height, width), bool)
        p = F.interpolate(
            torch.from_numpy(self.probs)[:, None],
            size=(height, width),
            mode="bilinear",
            align_corners=False,
        )[:, 0]
        return (p > 0.5).numpy()


@dataclass
class StreamSummary:
    """What a streamed prediction saw: filled window by window, messages added at the end."""

    source: str = ""
    frames: int = 0  # video frames decoded
    fps: float = 0.0  # the video's nominal frame rate
    duration_s: float = 0.0
    has_audio: bool = False
    processing_fps: int = 0
    frame_times: str = "pts"  # "pts", or "index/fps" where frames carry no timestamps
    processed_frames: int = 0
    status_counts: dict = field(default_factory=lambda: {SOUND: 0, SILENT: 0, NO_AUDIO: 0})
    frames_with_sounding_object: int = 0
    no_audio_seconds: list = field(default_factory=list)  # whole seconds of the video
    silent_seconds: list = field(default_factory=list)
    model_seconds: float = 0.0
    messages: list = field(default_factory=list)
    # {"read_s", "promised_s"} when the file ends before the length its container promises
    truncated: dict = None

    def finish(self, source):
        src = self.source
        msgs = list(source.messages)
        if self.truncated:
            msgs.append(
                f"{src}: the file ends after {self.truncated['read_s']:.1f} s of the "
                f"{self.truncated['promised_s']:.1f} s its container promises (cut short or "
                "damaged); only those seconds were processed"
            )
        no_audio, silent = self.no_audio_seconds, self.silent_seconds
        if not self.has_audio:
            msgs.append(f"{src}: no audio track, so nothing can be sounding; masks are empty")
        elif not self.status_counts[SOUND] and self.status_counts[SILENT]:
            msgs.append(
                f"{src}: the audio track is silent (RMS < {SILENCE_DBFS:.0f} dBFS "
                "wherever it plays); nothing is sounding, masks are empty"
            )
        elif not self.status_counts[SOUND]:
            msgs.append(
                f"{src}: the audio track covers none of the video's seconds; masks are empty"
            )
        if self.has_audio and self.status_counts[SOUND]:
            if no_audio:
                msgs.append(
                    f"{src}: seconds {_ranges(no_audio)} have no audio (the track starts "
                    "late, ends early or has gaps); treated as silence, masks empty"
                )
            if silent:
                msgs.append(
                    f"{src}: seconds {_ranges(silent)} are silent (RMS < "
                    f"{SILENCE_DBFS:.0f} dBFS); masks empty"
                )
        self.messages = msgs


@dataclass
class VideoPrediction:
    frame_indices: list  # indices (into the video's frames) that were processed
    masks: np.ndarray  # [N, H, W] bool, one per processed frame
    sound_scores: np.ndarray  # [N] the kept query's sound score (0 where silent)
    silent: np.ndarray  # [N] bool: the frame's second had no sound (mask left empty)
    messages: list = field(default_factory=list)
    times: list = field(default_factory=list)  # [N] seconds
    status: list = field(default_factory=list)  # [N] "sound" | "silent" | "no audio"

    def for_frame(self, i):
        """(mask, sound score, silent) shown on video frame i: those of the last processed frame
        at or before i."""
        k = max(int(np.searchsorted(self.frame_indices, i, side="right")) - 1, 0)
        return self.masks[k], float(self.sound_scores[k]), bool(self.silent[k])


def _nearest_frames(frames, rate, state):
    """Yield ``(k, FrameRef)``: for each target time ``k / rate`` before the video's end the frame
    nearest to it (the earlier one on a tie). Sets ``state["seen"]`` (latest frame time read),
    ``state["frames"]`` and, once the frames are exhausted, ``state["end"]``: the last frame's
    time plus a frame's duration (the median of the last intervals: containers that store
    milliseconds round 1/30 s to 33 or 34 ms)."""
    k, prev, n = 0, None, 0
    steps = collections.deque(maxlen=9)
    for ref in frames:
        n += 1
        state["seen"], state["frames"] = ref.time, n
        while k / rate <= ref.time:
            tau = k / rate
            yield k, (ref if prev is None or ref.time - tau < tau - prev.time else prev)
            k += 1
        if prev is not None:
            steps.append(ref.time - prev.time)
        prev = ref
    if prev is None:
        return
    step = float(np.median(steps)) if steps else 1.0 / rate
    state["end"] = prev.time + step
    # a target within a quarter frame of the end is rounding, not a time the video shows
    state["tolerance"] = step / 4
    while k / rate < state["end"] - state["tolerance"]:
        yield k, prev
        k += 1


class AuTRPredictor:
    """Build the model from `cfg`, load ``MODEL.WEIGHTS``, predict in eval mode without grad.

    ``predictor(frames, log_mel)`` runs one clip: T RGB uint8 frames ``[H,W,3]`` and log-mel
    ``[T,1,96,64]``; returns the model's output dict at the frames' size.

    The checkpoint must set every parameter (MODEL.ALLOW_PARTIAL_WEIGHTS relaxes it); without
    MODEL.WEIGHTS it is an error unless ``allow_untrained`` (tests, smoke runs).
    """

    def __init__(self, cfg, allow_untrained=False):
        self.cfg = cfg.clone()
        self.model = build_model(self.cfg)
        self.model.eval()
        if cfg.MODEL.WEIGHTS:
            build_checkpointer(self.cfg, self.model).load(cfg.MODEL.WEIGHTS)
        elif allow_untrained:
            logger.warning("MODEL.WEIGHTS is empty: predicting with an untrained model")
        else:
            raise CheckpointError(
                "MODEL.WEIGHTS is empty: give the trained checkpoint (MODEL.WEIGHTS "
                "path/model_final.pth); an untrained model would segment at random"
            )
        self.num_frames = cfg.INPUT.SAMPLING_FRAME_NUM
        self.size = cfg.INPUT.SIZE_TEST
        self.aug = T.Resize((self.size, self.size))
        self.input_format = cfg.INPUT.FORMAT

    @torch.no_grad()
    def __call__(self, frames, log_mel):
        if len(frames) != self.num_frames:
            raise ValueError(f"got {len(frames)} frames; the model takes {self.num_frames}")
        h, w = frames[0].shape[:2]
        tfm = self.aug.get_transform(frames[0])
        ims = [tfm.apply_image(f if self.input_format == "RGB" else f[..., ::-1]) for f in frames]
        clip = {
            "frames": torch.as_tensor(np.ascontiguousarray(np.stack(ims).transpose(0, 3, 1, 2))),
            "audio": torch.as_tensor(log_mel, dtype=torch.float32),
            "height": h,
            "width": w,
        }
        return self.model([clip])[0]

    def _windows(self, source, rate, state):
        """Yield ``(w, [(k, frame index, time, image [S,S,3])])`` per window of T seconds, once the
        video is known to reach one second past the window's frames and its end (or has ended),
        so every second is judged against the video's true extent. Frames are resized to the
        model's input as soon as they are chosen (one full-size frame at a time in memory)."""
        t, size, done, cur, w, last = self.num_frames, self.num_frames * rate, [], [], 0, (None,)
        for k, ref in _nearest_frames(source.frames(), rate, state):
            if k // size != w:
                done.append((w, cur, max(max(c[2] for c in cur) + 1.0, (w + 1) * t)))
                cur, w = [], k // size
            if last[0] != ref.index:  # scaled straight to the model's size (libswscale)
                last = (ref.index, ref.resized(self.size, self.size))
            cur.append((k, ref.index, ref.time, last[1]))
            while done and state["seen"] >= done[0][2]:
                yield done.pop(0)[:2]
        for item in done + ([(w, cur, None)] if cur else []):
            yield item[:2]

    def _predict_window(self, w, chosen, rate, audio, until, after, summary, name):
        """One window: its clips through the model; frames with index <= `after` were emitted by
        the previous window and are skipped."""
        t, s = self.num_frames, self.cfg.INPUT.SIZE_TEST
        frames = {}  # frame index -> (time, image), in order
        for _, i, tm, im in chosen:
            frames.setdefault(i, (tm, im))
        new = [i for i in frames if i > after]
        status = {}
        if audio is not None:
            audio.ensure(max(max(tm for tm, _ in frames.values()) + 1.0, (w + 1) * t))
            for i, (tm, _) in frames.items():
                status[i] = audio.status(tm, until)
            for sec in range(w * t, (w + 1) * t):
                if sec >= until:  # no second that the video does not reach
                    break
                st = audio.status(float(sec), until)
                if st != SOUND:
                    (summary.no_audio_seconds if st == NO_AUDIO else summary.silent_seconds).append(
                        sec
                    )
        mels = {}

        def mel(i):  # the log-mel example of frame i's own second [1, 1, 96, 64]
            if i not in mels:
                wave = audio.resampled(frames[i][0], SAMPLE_RATE)  # VGGish's rate, once
                mels[i] = waveform_to_log_mel(wave, SAMPLE_RATE, 1, name)
            return mels[i]

        by_k = {k: i for k, i, _, _ in chosen}
        probs, scores, labels = {}, {}, {}
        for j in range(rate):
            ks = [w * t * rate + j + m * rate for m in range(t)]
            members = [by_k[k] for k in ks if k in by_k]
            wanted = {i for i in members if i in new and i not in probs and status.get(i) == SOUND}
            if not wanted:
                continue
            padded = members + [members[-1]] * (t - len(members))  # as AVSBench pads: repeat
            out = self([frames[i][1] for i in padded], torch.cat([mel(i) for i in padded]))
            best = out["sound_scores"].max(1).values
            for m, i in enumerate(members):
                if i in wanted and i not in probs:
                    sem = out["frames"][m]["sem_seg"].float().cpu()
                    if sem.shape[0] > 2:  # semantic: channel 0 background, the argmax names it
                        lab = sem.argmax(0)[None, None].float()
                        lab = F.interpolate(lab, size=(s, s), mode="nearest")[0, 0]
                        labels[i] = lab.numpy().astype(np.uint8)
                    p = 1 - sem[0] if sem.shape[0] > 2 else sem[1]
                    if tuple(p.shape) != (s, s):
                        p = F.interpolate(
                            p[None, None], size=(s, s), mode="bilinear", align_corners=False
                        )[0, 0]
                    probs[i], scores[i] = p.numpy(), float(best[m])
        zero = np.zeros((s, s), np.float32)
        no_class = np.zeros((s, s), np.uint8)
        win = WindowPrediction(
            float(w * t),
            new,
            [frames[i][0] for i in new],
            np.stack([probs.get(i, zero) for i in new]) if new else np.zeros((0, s, s), np.float32),
            np.array([scores.get(i, 0.0) for i in new], np.float32),
            [status.get(i, NO_AUDIO) for i in new],
            np.array([labels.get(i, no_class) for i in new], np.uint8).reshape(-1, s, s)
            if getattr(self.model, "num_classes", 0)
            else None,
        )
        summary.processed_frames += len(new)
        for st in win.status:
            summary.status_counts[st] += 1
        summary.frames_with_sounding_object += int((win.probs > 0.5).any((1, 2)).sum())
        return win

    def predict_windows(self, source, fps=5, progress=True, summary=None):
        """Segment the sounding objects of a video, streaming one T-second window at a time.

        Args:
            source: a source from :mod:`autr_d2.utils.video_io` (``open_video``,
                ``open_frames_folder``, ``MemoryVideo``) or a ``Video`` in memory.
            fps: targets per second (an integer >= 1, capped by the video's nominal rate); the
                other frames show the last processed frame's mask.
            summary: a :class:`StreamSummary` to fill (counts, no-audio/silent seconds, messages).
        Yields:
            WindowPrediction per window, in time order.
        """
        if isinstance(source, Video):
            source = MemoryVideo(source)
        if int(fps) < 1:
            raise ValueError(f"fps must be a whole number >= 1, got {fps}")
        rate = max(1, min(int(fps), int(round(source.rate))))
        summary = summary if summary is not None else StreamSummary()
        summary.source, summary.fps, summary.processing_fps = source.source, source.rate, rate
        summary.has_audio = bool(source.sample_rate)
        audio = None
        if summary.has_audio:
            names = getattr(source, "audio_names", None)
            audio = AudioTimeline(source.audio_blocks(), source.sample_rate, names)
        state, after = {}, -1
        promised = getattr(source, "promised_s", None)
        # seconds of video, so the bar knows its total from the container and shows an ETA
        # from the first window on
        bar = tqdm(
            total=round(promised, 1) if promised else None,
            desc="AuTR",
            unit="s",
            disable=not progress,
            bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt} s of video [{elapsed}<{remaining}]",
        )
        try:
            for w, chosen in self._windows(source, rate, state):
                # the video's end (less rounding), once known; else it reaches past this window
                until = state.get("end", float("inf")) - state.get("tolerance", 0.0)
                tic = time.perf_counter()
                win = self._predict_window(
                    w, chosen, rate, audio, until, after, summary, source.source
                )
                summary.model_seconds += time.perf_counter() - tic
                if win.frame_indices:
                    after = win.frame_indices[-1]
                if audio is not None:
                    audio.forget_before(min(chosen[-1][2], (w + 1) * self.num_frames))
                yield win
                done = min((w + 1) * self.num_frames, until)
                bar.update(max(0.0, min(done, bar.total or done) - bar.n))
        finally:
            bar.close()
        if "end" not in state:
            raise ValueError(f"{source.source}: holds no frames")
        summary.frames, summary.duration_s = state["frames"], state["end"]
        summary.frame_times = source.time_source
        if promised and state["end"] < promised - TRUNCATED_S:
            read = max(state["end"], audio.drain() if audio is not None else 0.0)
            if read < promised - TRUNCATED_S:
                summary.truncated = {"read_s": round(read, 3), "promised_s": round(promised, 3)}
        summary.finish(source)

    def predict_video(self, video, fps=5, progress=True):
        """Segment a whole video and keep every processed frame's mask at the frames' size (a
        short clip: for long videos iterate :meth:`predict_windows` instead).

        Args:
            video: a :class:`~autr_d2.utils.video_io.Video` or a source (see predict_windows).
            fps: processed frames per second, see :meth:`predict_windows`.
        Returns:
            VideoPrediction; ``.messages`` says what had no sound and why.
        """
        source = MemoryVideo(video) if isinstance(video, Video) else video
        summary, wins = StreamSummary(), []
        for win in self.predict_windows(source, fps, progress, summary):
            wins.append((win, win.masks(source.height, source.width)))
        status = [st for win, _ in wins for st in win.status]
        return VideoPrediction(
            [i for win, _ in wins for i in win.frame_indices],
            np.concatenate([m for _, m in wins]),
            np.concatenate([win.sound_scores for win, _ in wins]),
            np.array([st != SOUND for st in status], bool),
            summary.messages,
            [x for win, _ in wins for x in win.times],
            status,
        )

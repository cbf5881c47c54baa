"""Reading video with sound through PyAV (FFmpeg ships inside the wheel), streaming.

Times are presentation timestamps in seconds on the *video's* clock: 0 is the video stream's start,
a frame's time is its own pts (``index / fps`` only where a frame has none) and audio samples sit at
their own pts on the same clock, so audio that starts late or ends early keeps its place.
Frames come as players show them: a display matrix (a phone's portrait video) is applied when
decoding (``orientation`` says what it did), and ``width`` / ``height`` are the sizes shown.

A *source* is what the demo reads; each method starts a fresh pass over the input, so memory stays
flat in the video's length (nothing is decoded until it is iterated):

* ``source.frames()``: :class:`FrameRef` (index, time; decoders of the frame as RGB at full size,
  as RGB at the model's size through libswscale, and as the Y, U, V planes the overlay is blended
  into, each shown upright);
* ``source.audio_blocks()``: ``(start time, samples [C, N] float32)``, all channels, in order;
* ``source.source`` (name for messages), ``width``, ``height``, ``rate`` (nominal frames/second),
  ``sample_rate`` / ``channels`` / ``audio_names`` (None / 0 / None without audio), ``time_base``
  (for writing), ``time_source`` ("pts" or "index/fps", final once ``frames()`` has run),
  ``messages`` (all notes), ``orientation`` (display-matrix note or None), ``audio_mismatch``
  (frames+wav note or None), ``promised_s`` (how long the container says the video lasts, or
  None), ``color`` (:class:`Colorimetry` of the planes).

:func:`open_video` (a file), :func:`open_frames_folder` (frames + a wav) and :class:`MemoryVideo`
(a :class:`Video` already in memory) make sources; ``read_video`` / ``read_frames_folder`` read a
whole short clip. Writing is :mod:`autr_d2.utils.video_writer`.
"""

import glob
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import av
import numpy as np
import soundfile as sf
from PIL import Image

__all__ = [
    "Colorimetry",
    "FrameRef",
    "MemoryVideo",
    "Video",
    "VideoReadError",
    "open_frames_folder",
    "open_video",
    "read_frames_folder",
    "read_video",
]

_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp")
MISMATCH_S = 0.5  # frames+wav lengths that differ by more than this are reported


class VideoReadError(ValueError):
    """A video, frame folder or audio file cannot be used; the message names it."""


@dataclass(frozen=True)
class Colorimetry:
    """How a source's Y'CbCr planes encode colour: the matrix ("bt601", "bt709", "bt2020"), the
    range, and FFmpeg's tags (``colorspace``, ``color_range``, ``color_primaries``,
    ``color_trc``: enum values, 2 / 0 = unspecified) for the encoder to copy."""

    matrix: str = "bt601"
    full_range: bool = False
    tags: tuple = ()  # ((name, value), ...)


_MATRIX_OF = {1: "bt709", 4: "bt601", 5: "bt601", 6: "bt601", 7: "bt601", 9: "bt2020", 10: "bt2020"}


def _colorimetry(frame):
    """A decoded frame's colorimetry; an unspecified matrix is guessed as players guess it (BT.709
    from 720 lines up, else BT.601)."""
    space = int(getattr(frame, "colorspace", 2) or 2)
    rng = int(getattr(frame, "color_range", 0) or 0)
    matrix = _MATRIX_OF.get(space, "bt709" if frame.height >= 720 else "bt601")
    full = rng == 2 or frame.format.name.startswith("yuvj")
    tags = tuple(
        (k, int(getattr(frame, k, 0) or 0))
        for k in ("colorspace", "color_range", "color_primaries", "color_trc")
    )
    return Colorimetry(matrix, full, tags)


def _transformed(x, transform):
    """A plane or image as shown: (transpose, flip rows, flip columns) applied (a view)."""
    if not transform:
        return x
    transpose, flip_rows, flip_cols = transform
    x = x.swapaxes(0, 1) if transpose else x
    return x[:: -1 if flip_rows else 1, :: -1 if flip_cols else 1]


def _plane_views(frame):
    """[Y, U, V] uint8 views of a decoded frame's planes (converted to 8-bit 4:2:0 first if it is
    stored otherwise)."""
    if frame.format.name not in ("yuv420p", "yuvj420p"):
        frame = frame.reformat(format="yuv420p")
    return [
        np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : p.width]
        for p in frame.planes
    ]


def _resize_rgb(rgb, width, height):
    """RGB uint8 resized as Detectron2's ResizeTransform does it (PIL bilinear)."""
    if rgb.shape[:2] == (height, width):
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.BILINEAR))


def _planes_from_rgb(rgb):
    """RGB uint8 -> [Y, U, V] through libswscale (BT.601, limited range)."""
    return _plane_views(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24"))


@dataclass(frozen=True)
class FrameRef:
    """One video frame, decoded on demand (nothing is converted until asked)."""

    index: int  # position in the video, 0-based
    time: float  # presentation time in seconds from the video's start
    image: Callable[[], np.ndarray]  # decodes the frame: [H, W, 3] uint8 RGB, full resolution
    _resized: Callable = None  # (width, height) -> [height, width, 3] uint8 RGB
    _planes: Callable = None  # () -> [Y [H, W], U, V [ceil(H/2), ceil(W/2)]] uint8

    def resized(self, width, height):
        """The frame as RGB ``[height, width, 3]`` uint8 (a video file: scaled by libswscale
        straight from its planes, never converted at full size)."""
        if self._resized is not None:
            return self._resized(width, height)
        return _resize_rgb(self.image(), width, height)

    def planes(self):
        """The frame's Y'CbCr 4:2:0 planes as shown ``[Y [H, W], U, V [ceil(H/2), ceil(W/2)]]``
        (views: copy before changing them), in the source's ``color`` encoding."""
        if self._planes is not None:
            return self._planes()
        return _planes_from_rgb(self.image())


@dataclass
class Video:
    """A whole short clip in memory (library use and tests; the demo streams a source instead)."""

    frames: list  # N x [H,W,3] uint8 RGB
    fps: float
    audio: np.ndarray | None  # [C, S] float32 in [-1, 1], or None: no audio track
    sample_rate: int | None
    source: str
    frame_times: list | None = None  # seconds per frame; None: index / fps
    audio_start: float = 0.0  # time of audio sample 0 on the video's clock

    @property
    def duration(self):
        if self.frame_times and len(self.frame_times) > 1:
            return self.frame_times[-1] + (self.frame_times[-1] - self.frame_times[-2])
        return len(self.frames) / self.fps


def _to_float(frame):
    """A decoded audio frame -> [C, N] float32 in [-1, 1], whatever its sample format."""
    x = frame.to_ndarray()
    if not frame.format.is_planar:
        x = x.reshape(-1, len(frame.layout.channels)).T
    if x.dtype == np.uint8:
        return (x.astype(np.float32) - 128) / 128
    if np.issubdtype(x.dtype, np.integer):
        return x.astype(np.float32) / float(np.iinfo(x.dtype).max + 1)
    return x.astype(np.float32)


# (transpose, flip rows, flip columns) -> what it does to the stored frame
_ORIENTATIONS = {
    (True, False, True): "turned 90 degrees clockwise",
    (True, True, False): "turned 90 degrees counter-clockwise",
    (False, True, True): "turned 180 degrees",
    (False, False, True): "mirrored left to right",
    (False, True, False): "mirrored top to bottom",
    (True, False, False): "transposed (mirrored and turned)",
    (True, True, True): "anti-transposed (mirrored and turned)",
}


def _display_transform(frame):
    """How a decoded frame must be shown, from its display matrix (phones store portrait video as
    landscape frames plus this matrix; players apply it): (transpose, flip rows, flip columns), or
    None for "as stored" (no matrix, the identity, or an angle that is not a multiple of 90)."""
    try:
        sd = frame.side_data.get(av.sidedata.sidedata.Type.DISPLAYMATRIX)
        m = None if sd is None else np.frombuffer(bytes(sd), np.int32)
    except (AttributeError, KeyError, ValueError):
        return None
    if m is None or m.size != 9:
        return None
    # a stored pixel (x, y), y down, is shown at (a x + c y, b x + d y): FFmpeg's layout
    a, b, c, d = (int(np.sign(v)) for v in (m[0], m[1], m[3], m[4]))
    if a and d and not (b or c):
        transform = (False, d < 0, a < 0)
    elif b and c and not (a or d):
        transform = (True, b < 0, c < 0)
    else:
        return None
    return transform if any(transform) else None


def _rgb(frame, transform=None):
    return np.ascontiguousarray(_transformed(frame.to_ndarray(format="rgb24"), transform))


def _rgb_resized(frame, width, height, transform=None):
    """libswscale's bilinear scaling (its filter widens when it shrinks, as PIL's does) of the
    stored frame straight to the size that is shown as ``width`` x ``height``."""
    w, h = (height, width) if transform and transform[0] else (width, height)
    x = frame.reformat(width=w, height=h, format="rgb24", interpolation="BILINEAR").to_ndarray()
    return np.ascontiguousarray(_transformed(x, transform))


def _planes(frame, transform=None):
    return [_transformed(p, transform) for p in _plane_views(frame)]


class _VideoFile:
    """A video file read through PyAV; see the module docstring for the source interface."""

    def __init__(self, path):
        if not os.path.isfile(path):
            raise VideoReadError(f"{path}: no such video file")
        self.source, self.messages, self.audio_mismatch = path, [], None
        try:
            container = av.open(path)
        except Exception as e:
            raise VideoReadError(f"{path}: cannot open as a video ({type(e).__name__}: {e})") from e
        with container:
            if not container.streams.video:
                raise VideoReadError(f"{path}: has no video stream")
            vs = container.streams.video[0]
            rate = vs.average_rate or vs.guessed_rate
            self.rate = float(rate) if rate else 25.0
            self.width, self.height = vs.codec_context.width, vs.codec_context.height
            self.time_base = vs.time_base or Fraction(1, 90000)
            # zero of the clock: the first frame's time (else the stream's or container's start)
            if vs.start_time is not None:
                self.zero = float(vs.start_time * vs.time_base)
            else:
                self.zero = container.start_time / 1e6 if container.start_time else 0.0
            first = self._first_frame(container, vs)
            self.transform = None if first is None else _display_transform(first)
            self.color = Colorimetry() if first is None else _colorimetry(first)
            if first is not None and first.time is not None:
                self.zero = float(first.time)
            if self.transform and self.transform[0]:  # sizes as shown: a portrait phone video
                self.width, self.height = self.height, self.width
            self.promised_s = self._promised(container, vs)
            a = container.streams.audio[0] if container.streams.audio else None
            self.sample_rate = a.codec_context.sample_rate if a else None
            self.channels = a.codec_context.channels if a else 0
            self.audio_codec = a.codec_context.name if a else None
            self.audio_layout = a.codec_context.layout.name if a else None
            self.audio_names = [c.name for c in a.codec_context.layout.channels] if a else None
        self.time_source = "pts"
        self.orientation = None  # what was done to show the frames upright, or None
        if self.transform:
            self.orientation = _ORIENTATIONS[self.transform] + ", as its display matrix says"
            self.messages.append(f"{path}: frames {self.orientation}")

    def _first_frame(self, container, vs):
        """The first decoded frame (None when none decodes: frames() says why)."""
        try:
            return next(container.decode(vs), None)
        except av.error.FFmpegError:
            return None

    def _promised(self, container, vs):
        """How long the header says the video lasts, on this clock (None if it does not say)."""
        if vs.duration is not None and vs.time_base:
            start = vs.start_time if vs.start_time is not None else 0
            return float((start + vs.duration) * vs.time_base) - self.zero
        if container.duration:
            return (container.duration + (container.start_time or 0)) / 1e6 - self.zero
        return None

    def _open(self):
        try:
            return av.open(self.source)
        except Exception as e:
            raise VideoReadError(f"{self.source}: cannot reopen ({type(e).__name__}: {e})") from e

    def frames(self):
        missing, last, index = 0, None, -1
        tr = self.transform
        with self._open() as c:
            vs = c.streams.video[0]
            vs.thread_type = "AUTO"
            try:
                for index, f in enumerate(c.decode(vs)):
                    t = None if f.time is None else f.time - self.zero
                    if t is None or (last is not None and t <= last):
                        # no usable pts: place it one nominal frame after the previous
                        missing += 1
                        t = 0.0 if last is None else last + 1.0 / self.rate
                    last = t
                    yield FrameRef(
                        index,
                        t,
                        lambda f=f: _rgb(f, tr),
                        lambda w, h, f=f: _rgb_resized(f, w, h, tr),
                        lambda f=f: _planes(f, tr),
                    )
            except av.error.FFmpegError as e:
                raise VideoReadError(
                    f"{self.source}: decoding failed after {index + 1} frames "
                    f"({type(e).__name__}: {e})"
                ) from e
        if index < 0:
            raise VideoReadError(f"{self.source}: the video stream holds no frames")
        n = index + 1
        if not missing:
            self.time_source = "pts"
        elif missing == n:
            self.time_source = "index/fps"
        else:
            self.time_source = f"pts ({missing} of {n} frames without one: previous + 1/fps)"

    def audio_blocks(self):
        if not self.sample_rate:
            return
        nxt = None
        with self._open() as c:
            a = c.streams.audio[0]
            try:
                for f in c.decode(a):
                    x = _to_float(f)
                    t = f.time - self.zero if f.time is not None else nxt or 0.0
                    nxt = t + x.shape[1] / f.sample_rate
                    yield t, x
            except av.error.FFmpegError as e:
                raise VideoReadError(
                    f"{self.source}: decoding its audio failed ({type(e).__name__}: {e})"
                ) from e

    def audio_packets(self):
        """(stream, packets) of the audio track as stored, timestamps unchanged; the caller
        closes the container (``stream.container``)."""
        c = self._open()
        a = c.streams.audio[0]
        return a, (p for p in c.demux(a) if p.dts is not None)


def open_video(path):
    """A video file as a source (the header is read now, frames and audio when iterated).

    Raises:
        VideoReadError: the file is missing, not a video, or has no video stream.
    """
    return _VideoFile(path)


def _frame_index(name):
    nums = re.findall(r"\d+", os.path.basename(name))
    return (int(nums[-1]) if nums else -1, name)


class _FramesFolder:
    """A folder of frames shown at `fps` (sorted by the last number in their names, as AVSBench's
    ``name_1.png`` ... ``name_5.png``) and a wav played with them from time 0."""

    def __init__(self, folder, wav_path, fps=1.0):
        if not os.path.isdir(folder):
            raise VideoReadError(f"{folder}: not a folder of frames")
        if not fps or fps <= 0:
            raise VideoReadError(f"{folder}: the frame rate must be positive, got {fps}")
        files = [f for f in glob.glob(os.path.join(folder, "*")) if f.lower().endswith(_IMAGE_EXT)]
        self.files = sorted(files, key=_frame_index)
        if not self.files:
            raise VideoReadError(f"{folder}: holds no {'/'.join(_IMAGE_EXT)} frames")
        for f in self.files:  # headers only: sizes are checked before anything is decoded
            try:
                with Image.open(f) as im:
                    size = im.size
            except Exception as e:
                raise VideoReadError(f"{f}: cannot read frame ({type(e).__name__}: {e})") from e
            if f == self.files[0]:
                self.width, self.height = size
            elif size != (self.width, self.height):
                raise VideoReadError(
                    f"{f}: size {size[1]}x{size[0]} differs from {self.files[0]} "
                    f"({self.height}x{self.width})"
                )
        self.source, self.rate, self.wav = folder, float(fps), wav_path or None
        self.time_base = Fraction(1) / Fraction(fps).limit_denominator(1001)
        self.time_source, self.messages = "index/fps", []
        self.orientation = self.audio_mismatch = None
        self.sample_rate, self.channels, self.audio_codec, self.audio_layout = None, 0, None, None
        self.audio_names, self.promised_s, self.color = None, None, Colorimetry()
        if self.wav:
            try:
                info = sf.info(self.wav)
            except Exception as e:
                raise VideoReadError(
                    f"{self.wav}: cannot read audio ({type(e).__name__}: {e})"
                ) from e
            if info.frames:
                self.sample_rate, self.channels = info.samplerate, info.channels
                self.audio_codec = info.subtype
                self._check_lengths(info.frames / info.samplerate)

    def _check_lengths(self, audio_s):
        video_s = len(self.files) / self.rate
        if abs(audio_s - video_s) <= MISMATCH_S:
            return
        head = (
            f"{self.source}: {len(self.files)} frames at {self.rate:g} fps last {video_s:g} s "
            f"but {self.wav} lasts {audio_s:.2f} s; "
        )
        if audio_s > video_s:
            tail = (
                f"the frames are paired with its first {video_s:g} s and the last "
                f"{audio_s - video_s:.2f} s of sound goes with no frame"
            )
        else:
            tail = (
                f"frames after {audio_s:.2f} s have no audio and get empty masks (the "
                "sound is not stretched)"
            )
        self.audio_mismatch = head + tail
        self.messages.append(self.audio_mismatch)

    def frames(self):
        for i, f in enumerate(self.files):
            yield FrameRef(i, i / self.rate, lambda f=f: self._read(f))

    def _read(self, path):
        try:
            with Image.open(path) as im:
                x = np.asarray(im.convert("RGB"))
        except Exception as e:
            raise VideoReadError(f"{path}: cannot read frame ({type(e).__name__}: {e})") from e
        if x.shape[:2] != (self.height, self.width):
            raise VideoReadError(f"{path}: size changed while reading")
        return x

    def audio_blocks(self):
        if not self.sample_rate:
            return
        pos = 0
        for block in sf.blocks(
            self.wav, blocksize=self.sample_rate, dtype="float32", always_2d=True
        ):
            yield pos / self.sample_rate, np.ascontiguousarray(block.T)
            pos += len(block)


def open_frames_folder(folder, wav_path, fps=1.0):
    """A folder of frames + a wav as a source; a length mismatch is said in ``.messages``.

    Raises:
        VideoReadError: no frames, unreadable or differently sized frames, unreadable wav.
    """
    return _FramesFolder(folder, wav_path, fps)


class MemoryVideo:
    """A :class:`Video` in memory as a source."""

    def __init__(self, video):
        self.video, self.source, self.messages = video, video.source, []
        self.orientation = self.audio_mismatch = None
        self.rate = float(video.fps)
        self.height, self.width = video.frames[0].shape[:2]
        self.time_base = Fraction(1) / Fraction(video.fps).limit_denominator(1001)
        self.time_source = "index/fps"
        if video.frame_times is not None:  # any times: a fine clock for writing them
            self.time_base, self.time_source = Fraction(1, 90000), "pts"
        has = video.audio is not None and video.audio.size > 0
        self.sample_rate = video.sample_rate if has else None
        self.channels = video.audio.shape[0] if has else 0
        self.audio_codec, self.audio_layout, self.audio_names = None, None, None
        self.promised_s, self.color = None, Colorimetry()

    def frames(self):
        times = self.video.frame_times
        for i, f in enumerate(self.video.frames):
            yield FrameRef(
                i, float(times[i]) if times is not None else i / self.rate, lambda f=f: f
            )

    def audio_blocks(self):
        if self.sample_rate:
            yield float(self.video.audio_start), np.asarray(self.video.audio, np.float32)


def read_video(path):
    """Decode a whole (short) video file into a :class:`Video`: frames with their times, and the
    audio from its first sample's time on (gaps filled with silence)."""
    src = open_video(path)
    refs = list(src.frames())
    frames, times = [r.image() for r in refs], [r.time for r in refs]
    blocks = list(src.audio_blocks())
    audio, start = None, 0.0
    if blocks:
        sr, start = src.sample_rate, blocks[0][0]
        n = max(round((t - start) * sr) + x.shape[1] for t, x in blocks)
        audio = np.zeros((blocks[0][1].shape[0], n), np.float32)
        for t, x in blocks:
            i = round((t - start) * sr)
            audio[:, i : i + x.shape[1]] = x
    return Video(frames, src.rate, audio, src.sample_rate if blocks else None, path, times, start)


def read_frames_folder(folder, wav_path, fps=1.0):
    """A folder of frames + a wav, all in memory (see :func:`open_frames_folder`)."""
    src = open_frames_folder(folder, wav_path, fps)
    frames = [r.image() for r in src.frames()]
    blocks = [x for _, x in src.audio_blocks()]
    audio = np.concatenate(blocks, axis=1) if blocks else None
    return Video(frames, float(fps), audio, src.sample_rate, folder)

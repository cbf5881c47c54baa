"""Writing video with sound through PyAV: the demo's overlay and whole-clip writes.

:class:`OverlayWriter` writes H.264 frames as they come and a source's audio beside them (sources
and times as in :mod:`autr_d2.utils.video_io`): a video's audio stream is copied packet for packet
(every channel, its own start time) when mp4 takes its codec; other audio is encoded as AAC with
its own channels. Frames arrive either as RGB or, from the demo, as the source's own Y'CbCr 4:2:0
planes with an :class:`~autr_d2.utils.overlay.Overlay` blended in: those are encoded as they are,
tagged with the source's colorimetry, so no frame is converted to RGB and back.
:func:`write_video` writes a short clip held in memory.
"""

from fractions import Fraction

import av
import numpy as np

from .video_io import MemoryVideo, Video

__all__ = ["OverlayWriter", "write_video"]

# audio codecs that players accept in an mp4 as they are; anything else is re-encoded as AAC
_MP4_AUDIO_COPY = {"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"}
_AAC_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def _even(x):
    return x + x % 2


class OverlayWriter:
    """Write frames as H.264 (yuv420p, even size) as they come, with the source's audio beside them.

    ``write(rgb [H,W,3] uint8, time s)`` or ``write_planes([Y, U, V], time s, overlay)`` adds a
    frame at its time; ``close()`` finishes the file. The audio of a video file is copied packet
    for packet (all channels, its own start time) when mp4 takes its codec, else encoded as AAC
    with its channels; a wav is encoded as AAC. ``audio_note`` says which.

    Args:
        path: the mp4 to write.
        source: a source of :mod:`autr_d2.utils.video_io` (size, rate, time base, audio, colour).
        crf, preset: x264's quality (lower: better, larger) and speed preset.
        threads: encoder threads (0: x264's own choice for the machine's cores).
    """

    def __init__(self, path, source, crf=20, preset="veryfast", threads=0):
        self.source, self.out = source, av.open(path, "w")
        self.tb = Fraction(source.time_base)
        self.vs = self.out.add_stream("libx264", rate=Fraction(source.rate).limit_denominator(1001))
        self.vs.width, self.vs.height = _even(source.width), _even(source.height)
        self.vs.pix_fmt, self.vs.codec_context.time_base = "yuv420p", self.tb
        self.vs.options = {"crf": str(crf), "preset": preset}
        self.vs.codec_context.thread_count = threads
        self.color = dict(getattr(getattr(source, "color", None), "tags", ()) or ())
        for key, value in self.color.items():  # the planes pass through: keep their meaning
            setattr(self.vs.codec_context, key, value)
        self._last_pts, self._audio, self._pending, self._done = None, None, None, True
        self.frames_written = 0
        self.audio_note = "none"
        if source.sample_rate:
            self._open_audio()

    def _open_audio(self):
        src = self.source
        if src.audio_codec in _MP4_AUDIO_COPY and hasattr(src, "audio_packets"):
            stream, packets = src.audio_packets()
            try:
                self._astream = self.out.add_stream_from_template(stream)
            except ValueError:
                stream.container.close()
            else:
                self._in, self._packets = stream.container, packets
                self._shift = round(src.zero / stream.time_base) if stream.time_base else 0
                self._audio, self._done = "copy", False
                self.audio_note = f"copied ({src.audio_codec}, {src.audio_layout})"
                return
        rate = src.sample_rate if src.sample_rate in av.Codec("aac", "w").audio_rates else 48000
        layout = _AAC_LAYOUTS.get(src.channels, "stereo")
        self._astream = self.out.add_stream("aac", rate=rate, layout=layout)
        self._blocks, self._audio, self._done = src.audio_blocks(), "encode", False
        self._down = src.channels > 8  # beyond 7.1: the mean of all channels, twice
        self.audio_note = f"encoded (aac, {layout}" + (", downmixed" if self._down else "") + ")"

    def _next_audio(self):
        """Return the next audio packet/frame and its time, or None at the end."""
        if self._audio == "copy":
            p = next(self._packets, None)
            if p is None:
                return None
            p.pts = None if p.pts is None else p.pts - self._shift
            p.dts -= self._shift
            p.stream = self._astream
            return float((p.pts if p.pts is not None else p.dts) * p.time_base), p
        item = next(self._blocks, None)
        if item is None:
            return None
        t, x = item
        if self._down:
            x = np.repeat(x.mean(0, keepdims=True), 2, axis=0)
        sr = self.source.sample_rate
        af = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(np.clip(x, -1, 1), np.float32),
            format="fltp",
            layout=self._astream.codec_context.layout.name,
        )
        af.sample_rate, af.time_base, af.pts = sr, Fraction(1, sr), round(t * sr)
        return t, af

    def _audio_until(self, t):
        """Mux audio up to time `t` (None: all of it), keeping the file interleaved."""
        while not self._done:
            if self._pending is None:
                self._pending = self._next_audio()
                if self._pending is None:
                    self._done = True
                    if self._audio == "copy":
                        self._in.close()
                    else:
                        self.out.mux(self._astream.encode(None))
                    return
            at, item = self._pending
            if t is not None and at > t:
                return
            self.out.mux(item if self._audio == "copy" else self._astream.encode(item))
            self._pending = None

    def write(self, rgb, time):
        h, w = rgb.shape[:2]
        if (h, w) != (self.vs.height, self.vs.width):
            rgb = np.pad(rgb, ((0, self.vs.height - h), (0, self.vs.width - w), (0, 0)), "edge")
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        self._encode(vf, time)

    def write_planes(self, planes, time, overlay=None):
        """Encode a frame given as Y'CbCr 4:2:0 planes ``[Y [H, W], U, V]`` (the source's size
        and colorimetry, e.g. ``FrameRef.planes()``), with `overlay` blended in (an
        :class:`~autr_d2.utils.overlay.Overlay` or None). The planes are not changed."""
        vf = av.VideoFrame(self.vs.width, self.vs.height, "yuv420p")
        dst = [
            np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : p.width]
            for p in vf.planes
        ]
        for d, src in zip(dst, planes):
            h, w = src.shape
            d[:h, :w] = src
            if h < d.shape[0]:  # an odd size: the last row / column repeated
                d[h:, :w] = d[h - 1 : h, :w]
            if w < d.shape[1]:
                d[:, w:] = d[:, w - 1 : w]
        if overlay is not None:
            overlay.apply(dst)
        for key, value in self.color.items():
            setattr(vf, key, value)
        self._encode(vf, time)

    def _encode(self, vf, time):
        pts = round(time / self.tb)
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        vf.pts, vf.time_base = pts, self.tb
        self._audio_until(time + 1.0)
        self.out.mux(self.vs.encode(vf))
        self.frames_written += 1

    def close(self):
        self.out.mux(self.vs.encode(None))
        self._audio_until(None)
        self.out.close()


def write_video(path, frames, fps, audio=None, sample_rate=None):
    """Write RGB frames ``[H,W,3]`` as H.264 with optional AAC audio ``[C,N]`` float32 (every
    channel kept, up to 8), starting at time 0. Odd sizes are padded by one pixel."""
    has = audio is not None and np.asarray(audio).size > 0
    video = Video(
        list(frames),
        fps,
        np.asarray(audio, np.float32) if has else None,
        sample_rate if has else None,
        path,
    )
    src = MemoryVideo(video)
    writer = OverlayWriter(path, src)
    for ref in src.frames():
        writer.write(ref.image(), ref.time)
    writer.close()

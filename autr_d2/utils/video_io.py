"""Reading and writing video with sound through PyAV (FFmpeg ships inside the wheel).

``read_video`` -> :class:`Video` (RGB frames, fps, audio ``[C,N]`` float32 at its own rate, or None
when the file has no audio track); ``write_video`` writes H.264 + AAC so the overlay keeps the
original sound; ``read_frames_folder`` reads the other demo input, a folder of frames + a wav.
"""

import glob
import os
import re
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
import soundfile as sf
from PIL import Image

__all__ = ["Video", "VideoReadError", "read_video", "read_frames_folder", "write_video"]

_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp")


class VideoReadError(ValueError):
    """A video, frame folder or audio file cannot be used; the message names it."""


@dataclass
class Video:
    frames: list  # T x [H,W,3] uint8 RGB
    fps: float
    audio: np.ndarray | None  # [C, N] float32 in [-1, 1], or None: no audio track
    sample_rate: int | None
    source: str

    @property
    def duration(self):
        return len(self.frames) / self.fps


def read_video(path):
    """Decode every frame (RGB) and the first audio track of a video file, in one pass."""
    if not os.path.isfile(path):
        raise VideoReadError(f"{path}: no such video file")
    try:
        container = av.open(path)
    except Exception as e:
        raise VideoReadError(f"{path}: cannot open as a video ({type(e).__name__}: {e})") from e
    with container:
        if not container.streams.video:
            raise VideoReadError(f"{path}: has no video stream")
        vstream = container.streams.video[0]
        astream = container.streams.audio[0] if container.streams.audio else None
        rate = vstream.average_rate or vstream.guessed_rate
        sr = astream.codec_context.sample_rate if astream else None
        # planar float [channels, samples] whatever the codec's own sample format
        to_fltp = None
        frames, chunks = [], []
        streams = [vstream] + ([astream] if astream else [])
        try:
            for frame in container.decode(*streams):
                if isinstance(frame, av.VideoFrame):
                    frames.append(frame.to_ndarray(format="rgb24"))
                    continue
                if frame.format.name == "fltp":
                    chunks.append(frame.to_ndarray().astype(np.float32))
                    continue
                if to_fltp is None:
                    to_fltp = av.AudioResampler(format="fltp", layout=frame.layout, rate=sr)
                frame.pts = None
                chunks += [f.to_ndarray().astype(np.float32) for f in to_fltp.resample(frame)]
        except Exception as e:
            raise VideoReadError(f"{path}: decoding failed ({type(e).__name__}: {e})") from e
    if not frames:
        raise VideoReadError(f"{path}: the video stream holds no frames")
    audio = np.concatenate(chunks, axis=1) if chunks else None
    return Video(frames, float(rate) if rate else 25.0, audio, sr if chunks else None, path)


def _frame_index(name):
    nums = re.findall(r"\d+", os.path.basename(name))
    return (int(nums[-1]) if nums else -1, name)


def read_frames_folder(folder, wav_path, fps=1.0):
    """A folder of frames (sorted by the last number in their names, as AVSBench's ``name_1.png``
    ... ``name_5.png``) shown at `fps`, and a wav file played with them."""
    if not os.path.isdir(folder):
        raise VideoReadError(f"{folder}: not a folder of frames")
    files = sorted(
        (f for f in glob.glob(os.path.join(folder, "*")) if f.lower().endswith(_IMAGE_EXT)),
        key=_frame_index,
    )
    if not files:
        raise VideoReadError(f"{folder}: holds no {'/'.join(_IMAGE_EXT)} frames")
    frames = []
    for f in files:
        try:
            with Image.open(f) as im:
                frames.append(np.asarray(im.convert("RGB")))
        except Exception as e:
            raise VideoReadError(f"{f}: cannot read frame ({type(e).__name__}: {e})") from e
        if frames[-1].shape != frames[0].shape:
            raise VideoReadError(f"{f}: size {frames[-1].shape[:2]} differs from {files[0]}")
    audio, sr = None, None
    if wav_path:
        try:
            data, sr = sf.read(wav_path, dtype="float32", always_2d=True)
        except Exception as e:
            raise VideoReadError(f"{wav_path}: cannot read audio ({type(e).__name__}: {e})") from e
        audio = data.T if len(data) else None
    return Video(frames, float(fps), audio, sr, folder)


def write_video(path, frames, fps, audio=None, sample_rate=None):
    """Write RGB frames as H.264 (yuv420p, so every player shows it) with optional AAC audio
    ``[C,N]`` float32. Odd frame sizes are padded by one pixel (H.264 needs even sizes)."""
    h, w = frames[0].shape[:2]
    h2, w2 = h + h % 2, w + w % 2
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(path, "w") as out:
        vs = out.add_stream("libx264", rate=rate)
        vs.width, vs.height, vs.pix_fmt = w2, h2, "yuv420p"
        vs.options = {"crf": "20", "preset": "veryfast"}
        astream = None
        if audio is not None and audio.size:
            audio = np.ascontiguousarray(np.clip(audio, -1, 1), dtype=np.float32)
            layout = "mono" if audio.shape[0] == 1 else "stereo"
            audio = audio[:2]
            astream = out.add_stream("aac", rate=sample_rate, layout=layout)
        for f in frames:
            if (h2, w2) != (h, w):
                f = np.pad(f, ((0, h2 - h), (0, w2 - w), (0, 0)), mode="edge")
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
        if astream is not None:
            step = 1024
            for start in range(0, audio.shape[1], step):
                af = av.AudioFrame.from_ndarray(
                    audio[:, start : start + step], format="fltp", layout=layout
                )
                af.sample_rate = sample_rate
                af.pts = start
                af.time_base = Fraction(1, sample_rate)
                out.mux(astream.encode(af))
            out.mux(astream.encode(None))

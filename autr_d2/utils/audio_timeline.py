"""Audio on a video's clock, read a few seconds at a time: each second's status and its mono mix.

:class:`AudioTimeline` places a source's audio blocks (every channel) at their own start times (see
:mod:`autr_d2.utils.video_io`), so audio that starts late, ends early or has gaps lines up with
the frames. :meth:`AudioTimeline.status` says whether a second is sounding, silent or has no audio
(less than ``MIN_COVERAGE`` of it covered by samples), and :meth:`AudioTimeline.resampled` gives
the mono second the model hears.

How many channels become one (:func:`downmix`), as broadcast practice does rather than a plain
mean (which hides a centre-channel voice among five quiet channels and cancels a phase-inverted
stereo pair to nothing):

* the channels are weighted as ITU-R BS.775 folds 5.1 down (front left/right 1/2, centre 0.707,
  surrounds 0.354, LFE left out), then brought to the level of the loudest channel, so a sound
  carried by one channel reaches the model as it would as a mono file;
* where the weighted sum is much quieter than its channels (one channel phase-inverted, L = -R, as
  miswired recorders make), the loudest channel is taken instead.

A second is *silent* when its loudest channel is above ``SILENCE_DBFS`` for less than
``MIN_SOUND_S`` (in 10 ms frames): a codec's tail after a cut to digital silence (Opus and AAC
spill 10-110 ms of ringing into the next second) is not a sound.
"""

from fractions import Fraction

import numpy as np

__all__ = [
    "AudioTimeline",
    "MIN_COVERAGE",
    "MIN_SOUND_S",
    "NO_AUDIO",
    "SILENCE_DBFS",
    "SILENT",
    "SOUND",
    "downmix",
    "sounding_seconds",
]

SILENCE_DBFS = -60.0  # a 10 ms frame quieter than this (RMS, loudest channel) is silence
MIN_SOUND_S = 0.15  # a second with less sound than this is silent (codec tails are shorter)
MIN_COVERAGE = 0.5  # a second less than half covered by audio samples has "no audio"
SOUND, SILENT, NO_AUDIO = "sound", "silent", "no audio"
_FRAME_S = 0.01

# BS.775 fold-down weights into one channel, by FFmpeg channel name; unknown names: 0.354
_WEIGHTS = {"FL": 0.5, "FR": 0.5, "FC": 0.707, "FLC": 0.5, "FRC": 0.5, "LFE": 0.0, "LFE2": 0.0}
_SURROUND = 0.354
_CANCELLED = 0.5  # weighted sum below half its uncorrelated level: phase cancellation


def _rms(x, axis=-1):
    return np.sqrt(np.mean(np.square(x, dtype=np.float64), axis=axis))


def downmix(x, names=None):
    """``[C, N]`` float32 -> ``[N]`` float32: one channel as described in the module docstring.

    Args:
        x: samples, one row per channel (a 1-D array is returned as it is).
        names: FFmpeg channel names (``FL``, ``FR``, ``FC``, ``LFE``, ``BL``, ...) or None (the
            default layout for the channel count: mono, stereo, 5.1, ...).
    """
    x = np.asarray(x, np.float32)
    if x.ndim == 1 or x.shape[0] == 1:
        return x.reshape(-1)
    if names is None or len(names) != x.shape[0]:
        names = _default_names(x.shape[0])
    w = np.array([_WEIGHTS.get(n, _SURROUND) for n in names], np.float32)
    if not w.any():
        w[:] = 1.0
    level = _rms(x, 1)
    loudest = int(np.argmax(level))
    if level[loudest] == 0:
        return np.zeros(x.shape[1], np.float32)
    mono = w @ x
    got, expected = _rms(mono), float(np.sqrt(np.sum((w * level) ** 2)))
    if got < _CANCELLED * expected:
        return x[loudest].copy()
    return (mono * (level[loudest] / got)).astype(np.float32)


def _default_names(channels):
    import av

    try:
        return [c.name for c in av.AudioLayout(channels).channels]
    except (ValueError, TypeError):
        return ["FL", "FR", *["BC"] * (channels - 2)]


def sounding_seconds(x, sample_rate):
    """How long ``[C, N]`` (or ``[N]``) samples are above ``SILENCE_DBFS`` on their loudest
    channel, counted in 10 ms frames."""
    x = np.asarray(x, np.float32)
    x = x[None] if x.ndim == 1 else x
    n = max(1, round(_FRAME_S * sample_rate))
    frames = x.shape[1] // n
    if frames == 0:
        loud = _rms(x, 1).max() if x.shape[1] else 0.0
        return x.shape[1] / sample_rate if 20 * np.log10(max(loud, 1e-12)) >= SILENCE_DBFS else 0
    level = _rms(x[:, : frames * n].reshape(x.shape[0], frames, n), 2).max(0)
    return float((20 * np.log10(np.maximum(level, 1e-12)) >= SILENCE_DBFS).sum() * n / sample_rate)


class AudioTimeline:
    """Audio on the video's clock: blocks are placed at their own start times, read ahead only as
    far as asked and forgotten behind, so it holds a few seconds whatever the length.

    Args:
        blocks: iterator of ``(start time s, samples [C, N] float32)`` in time order.
        sample_rate: samples per second.
        names: the channels' FFmpeg names (None: the default layout for their count).
    """

    def __init__(self, blocks, sample_rate, names=None):
        self.blocks, self.sr, self.names = iter(blocks), int(sample_rate), names
        self.chunks = []  # (index of the first sample on the clock, [C, n] float32)
        self.clock = float("-inf")  # end time of the audio read so far
        self.channels = None
        self.done = False

    def ensure(self, t):
        """Read audio until it reaches time `t` or ends."""
        while not self.done and self.clock < t:
            item = next(self.blocks, None)
            if item is None:
                self.done = True
                break
            t0, x = item
            x = np.asarray(x, np.float32)
            x = x[None] if x.ndim == 1 else x
            if self.channels is None:
                self.channels = x.shape[0]
            i0 = round(t0 * self.sr)
            self.chunks.append((i0, x))
            self.clock = max(self.clock, (i0 + x.shape[1]) / self.sr)

    def drain(self):
        """Read the rest of the audio (forgetting it); returns the time where it ends."""
        while not self.done:
            self.ensure(self.clock + 10.0)
            self.chunks = self.chunks[-1:]
        return self.clock

    def segment(self, t0, seconds=1.0):
        """The audio from `t0` on: samples ``[C, n]`` float32 (0 where none) and covered ``[n]``
        bool, ``n = round(seconds * sample_rate)``."""
        a, n = round(t0 * self.sr), round(seconds * self.sr)
        out, covered = np.zeros((self.channels or 1, n), np.float32), np.zeros(n, bool)
        for i0, x in self.chunks:
            lo, hi = max(a, i0), min(a + n, i0 + x.shape[1])
            if lo < hi:
                out[:, lo - a : hi - a] = x[:, lo - i0 : hi - i0]
                covered[lo - a : hi - a] = True
        return out, covered

    def mono(self, t0, seconds=1.0):
        """:meth:`segment` mixed to one channel (:func:`downmix`) -> ``[n]``."""
        return downmix(self.segment(t0, seconds)[0], self.names)

    def resampled(self, t0, rate, seconds=1.0, margin=0.05):
        """:meth:`mono` at another sample rate (polyphase filter, with `margin` seconds of context
        on each side so the cut has no edge effects) -> ``[round(seconds * rate)]``."""
        if rate == self.sr:
            return self.mono(t0, seconds)
        x = self.mono(t0 - margin, seconds + 2 * margin)
        from scipy.signal import resample_poly  # lazy: scipy.signal costs a second at import

        ratio = Fraction(rate, self.sr)
        y = resample_poly(x, ratio.numerator, ratio.denominator).astype(np.float32)
        a = round(margin * rate)
        return y[a : a + round(seconds * rate)]

    def forget_before(self, t):
        i = round(t * self.sr)
        self.chunks = [(i0, x) for i0, x in self.chunks if i0 + x.shape[1] > i]

    def status(self, t0, until):
        """SOUND / SILENT / NO_AUDIO of the second ``[t0, t0 + 1)``, judged on its part before
        `until` (the video's end, where it ends within that second)."""
        seg, covered = self.segment(t0)
        span = round((min(t0 + 1.0, until) - t0) * self.sr)
        if span <= 0 or covered[:span].sum() < MIN_COVERAGE * span:
            return NO_AUDIO
        part = seg[:, :span][:, covered[:span]]
        heard = sounding_seconds(part, self.sr)
        # a second the video cuts short needs less: half of what is there
        return SOUND if heard >= min(MIN_SOUND_S, part.shape[1] / self.sr / 2) else SILENT

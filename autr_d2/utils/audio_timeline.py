"""Audio on a video's clock, read a few seconds at a time, and each second's status.

:class:`AudioTimeline` places a source's audio blocks at their own start times (see
:mod:`autr_d2.utils.video_io`), so audio that starts late, ends early or has gaps lines up with
the frames; :meth:`AudioTimeline.status` says whether a second is sounding, silent (quieter than
``SILENCE_DBFS``) or has no audio (less than ``MIN_COVERAGE`` of it covered by samples).
"""

from fractions import Fraction

import numpy as np

__all__ = ["AudioTimeline", "SILENCE_DBFS", "MIN_COVERAGE", "SOUND", "SILENT", "NO_AUDIO"]

SILENCE_DBFS = -60.0  # RMS of a second of audio below this is treated as silence
MIN_COVERAGE = 0.5  # a second less than half covered by audio samples has "no audio"
SOUND, SILENT, NO_AUDIO = "sound", "silent", "no audio"


def _dbfs(x):
    return 20 * np.log10(max(float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0, 1e-12))


class AudioTimeline:
    """Mono audio on the video's clock: blocks are placed at their own start times, read ahead only
    as far as asked and forgotten behind, so it holds a few seconds whatever the length.

    Args:
        blocks: iterator of ``(start time s, samples [C, N] float32)`` in time order.
        sample_rate: samples per second.
    """

    def __init__(self, blocks, sample_rate):
        self.blocks, self.sr = iter(blocks), int(sample_rate)
        self.chunks = []  # (index of the first sample on the clock, mono [n] float32)
        self.clock = float("-inf")  # end time of the audio read so far
        self.done = False

    def ensure(self, t):
        """Read audio until it reaches time `t` or ends."""
        while not self.done and self.clock < t:
            item = next(self.blocks, None)
            if item is None:
                self.done = True
                break
            t0, x = item
            mono = np.asarray(x, np.float32)
            mono = mono.mean(0) if mono.ndim == 2 else mono
            i0 = round(t0 * self.sr)
            self.chunks.append((i0, mono))
            self.clock = max(self.clock, (i0 + len(mono)) / self.sr)

    def segment(self, t0, seconds=1.0):
        """The audio from `t0` on: samples ``[n]`` float32 (0 where none) and covered ``[n]`` bool,
        ``n = round(seconds * sample_rate)``."""
        a, n = round(t0 * self.sr), round(seconds * self.sr)
        out, covered = np.zeros(n, np.float32), np.zeros(n, bool)
        for i0, x in self.chunks:
            lo, hi = max(a, i0), min(a + n, i0 + len(x))
            if lo < hi:
                out[lo - a : hi - a] = x[lo - i0 : hi - i0]
                covered[lo - a : hi - a] = True
        return out, covered

    def resampled(self, t0, rate, seconds=1.0, margin=0.05):
        """:meth:`segment` at another sample rate (polyphase filter, with `margin` seconds of
        context on each side so the cut has no edge effects) -> ``[round(seconds * rate)]``."""
        if rate == self.sr:
            return self.segment(t0, seconds)[0]
        x = self.segment(t0 - margin, seconds + 2 * margin)[0]
        from scipy.signal import resample_poly  # lazy: scipy.signal costs a second at import

        ratio = Fraction(rate, self.sr)
        y = resample_poly(x, ratio.numerator, ratio.denominator).astype(np.float32)
        a = round(margin * rate)
        return y[a : a + round(seconds * rate)]

    def forget_before(self, t):
        i = round(t * self.sr)
        self.chunks = [(i0, x) for i0, x in self.chunks if i0 + len(x) > i]

    def status(self, t0, until):
        """SOUND / SILENT / NO_AUDIO of the second ``[t0, t0 + 1)``, judged on its part before
        `until` (the video's end, where it ends within that second)."""
        seg, covered = self.segment(t0)
        span = round((min(t0 + 1.0, until) - t0) * self.sr)
        if span <= 0 or covered[:span].sum() < MIN_COVERAGE * span:
            return NO_AUDIO
        return SILENT if _dbfs(seg[covered]) < SILENCE_DBFS else SOUND

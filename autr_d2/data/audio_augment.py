"""What the real world does to a recording, for the audio encoder's pretraining (audiomentations).

AudioSet's VGGish has heard millions of clips through every phone, room and microphone; the
offline bank has a few recordings per category, each made once. :func:`build_augmentation` gives
the pretraining two chains of `audiomentations <https://github.com/iver56/audiomentations>`_
transforms, both on 16 kHz mono float32:

* per source, before sources are mixed (another performance of the same sound): pitch shift
  (+-2 semitones) and time stretch (0.85-1.15x), both with Signalsmith Stretch;
* per mixture (the channel it reaches the microphone through): a telephone's band (300-3400 Hz)
  or a cheap microphone's low-pass (3-8 kHz), a real room's reverberation (the impulse
  responses of ``room_impulse_responses``), coloured noise at 0-40 dB SNR, and a gain.

The other half of the real world, several sources at once at random gains, is the pretraining's
own mixing (``tools/pretrain_audio.py``), which labels every source it mixes in.
"""

import os
import warnings

import numpy as np

__all__ = ["IMPULSE_RESPONSES", "Augmentation", "build_augmentation", "room_impulse_responses"]

# Real rooms recorded as impulse responses, shipped offline by csoundqt-examples (make media):
# a big hall (RT60 3.4 s), a stairwell (1.3 s) and the Csound manual's "dish" (1.1 s)
_CSQ = "/usr/share/csoundqt/Examples/SourceMaterials"
IMPULSE_RESPONSES = tuple(
    f"{_CSQ}/{n}" for n in ("impulse_big_hall.wav", "Stairwell.wav", "dish.wav")
)


def room_impulse_responses():
    """The real impulse responses installed here (none without ``make media``)."""
    return [p for p in IMPULSE_RESPONSES if os.path.isfile(p)]


class Augmentation:
    """``source(x)`` and ``channel(x)``: the two chains on ``[N]`` float32 samples at
    ``sample_rate``; each returns ``[N]`` float32 (the same length, finite)."""

    def __init__(self, source, channel, sample_rate):
        self._source, self._channel, self.sample_rate = source, channel, sample_rate

    def _run(self, chain, x):
        x = np.ascontiguousarray(x, np.float32)
        with warnings.catch_warnings():  # "IR ... had to be resampled": once per file, cached
            warnings.simplefilter("ignore", UserWarning)
            y = chain(samples=x, sample_rate=self.sample_rate)
        y = np.nan_to_num(np.asarray(y, np.float32)[: len(x)], nan=0.0, posinf=0.0, neginf=0.0)
        return np.pad(y, (0, len(x) - len(y)))

    def source(self, x):
        return self._run(self._source, x)

    def channel(self, x):
        return self._run(self._channel, x)


def build_augmentation(sample_rate=16000, impulse_responses=None, strength=1.0):
    """The pretraining's augmentation; `strength` scales every transform's probability (0: none;
    at most 1 each).

    Args:
        impulse_responses: paths of room impulse responses (default: the installed real ones).
    Seeded through NumPy's global generator (audiomentations draws from it).
    """
    import audiomentations as am  # imports librosa: a second, only when augmenting

    irs = room_impulse_responses() if impulse_responses is None else list(impulse_responses)
    p = float(np.clip(strength, 0.0, 3.0))
    source = am.Compose(
        [
            am.PitchShift(-2.0, 2.0, method="signalsmith_stretch", p=min(1.0, 0.3 * p)),
            am.TimeStretch(0.85, 1.15, leave_length_unchanged=True, p=min(1.0, 0.3 * p)),
        ]
    )
    band = am.OneOf(
        [  # telephone: 300-3400 Hz (centre 1850 Hz, bandwidth 1.68x it); cheap microphones
            am.BandPassFilter(1600.0, 2100.0, 1.5, 1.8, p=1.0),
            am.LowPassFilter(3000.0, 8000.0, p=1.0),
        ],
        p=min(1.0, 0.3 * p),
    )
    channel = [band]
    if irs:
        channel.append(
            am.ApplyImpulseResponse(irs, p=min(1.0, 0.25 * p), leave_length_unchanged=True)
        )
    channel += [
        am.AddColorNoise(0.0, 40.0, p=min(1.0, 0.5 * p)),
        am.Gain(-12.0, 0.0, p=min(1.0, p)),
    ]
    return Augmentation(source, am.Compose(channel), sample_rate)

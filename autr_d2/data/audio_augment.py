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

AuTR's training uses the same chains on each clip's sound (``INPUT.AUDIO_AUGMENT``, through
:func:`augmented_log_mel`) without the time stretch, which would move a sound against its frames.
"""

import os
import warnings

import numpy as np

__all__ = [
    "IMPULSE_RESPONSES",
    "Augmentation",
    "augmented_log_mel",
    "build_augmentation",
    "room_impulse_responses",
]

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


def build_augmentation(sample_rate=16000, impulse_responses=None, strength=1.0, time_stretch=True):
    """The pretraining's augmentation; `strength` scales every transform's probability (0: none;
    at most 1 each).

    Args:
        impulse_responses: paths of room impulse responses (default: the installed real ones).
        time_stretch: include the time stretch (False where the sound must stay in step with
            video frames).
    Seeded through Python's and NumPy's global generators (audiomentations draws from both;
    Detectron2's ``seed_all_rng`` seeds them in every data-loader worker).
    """
    import audiomentations as am  # imports librosa: a second, only when augmenting

    irs = room_impulse_responses() if impulse_responses is None else list(impulse_responses)
    p = float(np.clip(strength, 0.0, 3.0))
    source = [am.PitchShift(-2.0, 2.0, method="signalsmith_stretch", p=min(1.0, 0.3 * p))]
    if time_stretch:
        source.append(am.TimeStretch(0.85, 1.15, leave_length_unchanged=True, p=min(1.0, 0.3 * p)))
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
    return Augmentation(am.Compose(source), am.Compose(channel), sample_rate)


def augmented_log_mel(path, num_frames, augmentation):
    """A clip's sound file through `augmentation` (source chain, then channel chain, at its
    sample rate, 16 kHz), as VGGish log-mel ``[num_frames, 1, 96, 64]`` float32.

    The file is read and mixed to mono as :func:`~autr_d2.data.audio.load_log_mel` does and
    resampled to 16 kHz first; AudioError names a file that cannot be read.
    """
    from .audio import read_wav, resample, waveform_to_log_mel

    x, rate = read_wav(path)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if not np.all(np.isfinite(x)):
        return waveform_to_log_mel(x, rate, num_frames, source=path)  # its error names the file
    sr = augmentation.sample_rate
    x = augmentation.channel(augmentation.source(resample(x, rate, sr)))
    return waveform_to_log_mel(x, sr, num_frames, source=path)

"""Audio front end: a clip's sound as VGGish log-mel examples ``[T, 1, 96, 64]``.

* ``.pkl`` (AVSBench's ``audio_log_mel``): a pickled torch tensor ``[T, 1, 96, 64]``, used as is.
  It is unpickled through a restricted unpickler (``utils/safe_pickle.py``): a file that names
  anything but a tensor or array is refused, so a downloaded dataset cannot run code.
* ``.wav`` (any rate, mono or stereo, int or float PCM): torchvggish's front end (mono mix,
  resample to 16 kHz, 25 ms / 10 ms STFT, 64 mel bands, non-overlapping 0.96 s examples), then
  padded by repeating the last example (as AVSBench's preprocessing does) or cut to T.
"""

import hashlib
import os

import numpy as np
import soundfile as sf
import torch
from torchvggish import vggish_input, vggish_params

from ..utils.safe_pickle import UnsafePickleError, safe_load

__all__ = [
    "AudioError",
    "EXAMPLE_SAMPLES",
    "batched_log_mel",
    "fit_examples",
    "load_log_mel",
    "read_wav",
    "resample",
    "waveform_to_log_mel",
]

EXAMPLE_SHAPE = (1, vggish_params.NUM_FRAMES, vggish_params.NUM_BANDS)  # (1, 96, 64)
SAMPLE_RATE = vggish_params.SAMPLE_RATE  # 16 kHz


# Samples one 0.96 s example spans at 16 kHz: 96 STFT frames of 400 samples, hop 160.
EXAMPLE_SAMPLES = (vggish_params.NUM_FRAMES - 1) * 160 + 400  # 15600


class AudioError(ValueError):
    """An audio file is unreadable or has the wrong content; the message names the file."""


def fit_examples(examples, num_frames, source="audio"):
    """Pad (repeating the last example) or cut ``[N,1,96,64]`` to ``[num_frames,1,96,64]``."""
    if examples.shape[0] == 0:
        raise AudioError(f"{source}: shorter than one VGGish example (0.96 s); no audio to use")
    if examples.shape[0] < num_frames:
        pad = examples[-1:].expand(num_frames - examples.shape[0], *examples.shape[1:])
        examples = torch.cat([examples, pad], dim=0)
    return examples[:num_frames].contiguous()


def read_wav(path):
    """Read any PCM/float wav (or other libsndfile format) as float32 ``[N]`` or ``[N, C]``."""
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=False)
    except Exception as e:  # soundfile raises several types (LibsndfileError, RuntimeError)
        raise AudioError(f"{path}: cannot read audio ({e})") from e
    if data.size == 0:
        raise AudioError(f"{path}: contains no samples")
    return data, rate


def resample(x, rate, target=SAMPLE_RATE):
    """float samples ``[N]`` at `rate` -> float32 at `target` (scipy's polyphase filter)."""
    if int(rate) == int(target):
        return np.asarray(x, np.float32)
    from fractions import Fraction

    from scipy.signal import resample_poly  # lazy: scipy.signal costs a second at import

    r = Fraction(int(target), int(rate))
    return resample_poly(x, r.numerator, r.denominator).astype(np.float32)


def waveform_to_log_mel(samples, sample_rate, num_frames, source="waveform"):
    """float waveform ``[N]`` or ``[N, C]`` at any rate -> log-mel ``[num_frames, 1, 96, 64]``."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)  # torchvggish mixes channels the same way
    if not np.all(np.isfinite(samples)):
        raise AudioError(f"{source}: contains NaN or inf samples")
    examples = vggish_input.waveform_to_examples(samples, sample_rate, return_tensor=False)
    examples = torch.from_numpy(np.ascontiguousarray(examples, dtype=np.float32))[:, None]
    return fit_examples(examples, num_frames, source)


_MEL = {}


def batched_log_mel(waves):
    """torchvggish's log-mel front end, batched in torch (the same arithmetic: 400-sample periodic
    Hann frames, hop 160, 512-point |rfft|, its 64-band mel matrix 125-7500 Hz, log(x + 0.01),
    non-overlapping 96-frame examples), for waveforms already at 16 kHz.

    waves ``[B, N]`` float -> ``[B, N_ex, 96, 64]`` float32 (N_ex = whole examples in N samples).
    Used where many examples are made on the fly (tools/pretrain_audio.py).
    """
    from torchvggish import mel_features

    if "matrix" not in _MEL:
        _MEL["window"] = torch.from_numpy(mel_features.periodic_hann(400)).float()
        _MEL["matrix"] = torch.from_numpy(
            mel_features.spectrogram_to_mel_matrix(
                num_mel_bins=vggish_params.NUM_MEL_BINS,
                num_spectrogram_bins=257,
                audio_sample_rate=SAMPLE_RATE,
                lower_edge_hertz=vggish_params.MEL_MIN_HZ,
                upper_edge_hertz=vggish_params.MEL_MAX_HZ,
            )
        ).float()
    waves = torch.as_tensor(waves, dtype=torch.float32)
    frames = waves.unfold(-1, 400, 160) * _MEL["window"]  # [B, F, 400]
    spec = torch.fft.rfft(frames, n=512).abs()  # [B, F, 257]
    log_mel = torch.log(spec @ _MEL["matrix"] + vggish_params.LOG_OFFSET)  # [B, F, 64]
    n_ex = log_mel.shape[1] // vggish_params.NUM_FRAMES
    return log_mel[:, : n_ex * vggish_params.NUM_FRAMES].reshape(
        waves.shape[0], n_ex, vggish_params.NUM_FRAMES, vggish_params.NUM_BANDS
    )


def _load_pkl(path, num_frames):
    try:
        mel = safe_load(path)
    except UnsafePickleError:
        raise
    except Exception as e:
        raise AudioError(f"{path}: cannot unpickle log-mel ({type(e).__name__}: {e})") from e
    if not isinstance(mel, torch.Tensor):
        mel = torch.as_tensor(np.asarray(mel))
    mel = mel.detach().float()
    if mel.dim() != 4 or tuple(mel.shape[1:]) != EXAMPLE_SHAPE:
        raise AudioError(
            f"{path}: log-mel has shape {tuple(mel.shape)}, expected "
            f"[{num_frames}, {', '.join(map(str, EXAMPLE_SHAPE))}]"
        )
    return fit_examples(mel, num_frames, path)


def _cache_path(cache_dir, path, num_frames):
    st = os.stat(path)
    key = f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}|{num_frames}"
    return os.path.join(cache_dir, hashlib.sha1(key.encode()).hexdigest() + ".pt")


def load_log_mel(path, num_frames=5, cache_dir=""):
    """Log-mel examples of one clip, ``[num_frames, 1, 96, 64]`` float32.

    Args:
        path: a ``.pkl`` (used as is) or an audio file (converted with the VGGish front end).
        num_frames: T, one example per frame (one audio second each).
        cache_dir: when set, wav conversions are cached there (keyed by path, size and mtime).
    """
    if not os.path.isfile(path):
        raise AudioError(f"{path}: audio file not found")
    if path.endswith(".pkl"):
        return _load_pkl(path, num_frames)
    cached = _cache_path(cache_dir, path, num_frames) if cache_dir else None
    if cached and os.path.isfile(cached):
        return torch.load(cached, weights_only=True)
    data, rate = read_wav(path)
    mel = waveform_to_log_mel(data, rate, num_frames, source=path)
    if cached:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = f"{cached}.{os.getpid()}.tmp"
        torch.save(mel, tmp)
        os.replace(tmp, cached)  # atomic: concurrent workers never read half a file
    return mel

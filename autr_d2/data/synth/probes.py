"""AVS-Synth probe splits: the AuTR paper's open questions as controlled test sweeps.

Each probe is a test split of the S4 or MS3 tree (same layout, same loader and evaluator):

* ``test_snr{20,10,5,0,-5}`` (S4): the S4 ``test`` clips, the same clips one for one, with a real
  background noise mixed in at that signal-to-noise ratio (dB, over the clip's 5 s). The noises are
  recordings used nowhere else: FluidR3's sampled seashore (rain/wind-like), applause (crowd) and
  helicopter (traffic-like) sound effects; coloured noise for the procedural media.
* ``test_tel8k`` (S4): the ``test`` clips with telephone-quality audio (resampled to 8 kHz and
  back: nothing above 4 kHz).
* ``test_newsound`` (S4): the ``test`` clips, the same frames and masks, each sounding object heard
  through a **held-out** recording of its category (where the category has one): a new recording
  on pictures seen in training, which ``test_unseen`` (new recordings *and* new cut-outs and
  backgrounds) cannot separate from the visual side.
* ``test_samecat_one`` / ``test_samecat_both`` (S4): two objects of the same category on screen
  (another image of it where the bank has one); one sounds and the other is a silent copy, or both
  sound (both are the target). Only loudness or motion could tell copies apart; AVS-Synth gives
  neither, so "one" measures what the model does when the sound cannot say which.
* ``test_offscreen`` (S4): the sound's source is not on screen (its category is absent from the
  picture): nothing should be segmented; the evaluator's ``fg_pixels`` is the false-positive rate.
* ``test_switch{1,2,never}`` (MS3): two or three sounding objects of which exactly one sounds at a
  time, the sounding one changing every second, every 2 s, or never.

Clip i of a probe depends only on (seed, subset, probe, i), like every AVS-Synth split.
"""

import numpy as np

from .bank import SAMPLE_RATE
from .composition import T_FRAMES, clip_rng, compose_clip, make_object, pick, render_clip

__all__ = ["PROBES", "SNRS", "compose_probe", "mix_at_snr", "band_limit"]

SNRS = (20, 10, 5, 0, -5)
PROBES = {
    "s4": tuple(f"test_snr{s}" for s in SNRS)
    + ("test_tel8k", "test_samecat_one", "test_samecat_both", "test_offscreen", "test_newsound"),
    "ms3": ("test_switch1", "test_switch2", "test_switchnever"),
}
_NOISE_PROGRAMS = {122: "seashore", 126: "applause", 125: "helicopter"}  # GM sound effects


def _power(x):
    return float(np.mean(np.square(x, dtype=np.float64)))


def mix_at_snr(signal, noise, snr_db):
    """signal + noise scaled so that 10 log10(P_signal / P_noise) = snr_db, then peak-normalised
    to 0.9 as AVS-Synth's clips are (which keeps the ratio). -> (mix, the measured SNR in dB)."""
    scale = np.sqrt(_power(signal) / max(_power(noise), 1e-20) / 10 ** (snr_db / 10))
    noise = (noise * scale).astype(np.float32)
    measured = 10 * np.log10(_power(signal) / max(_power(noise), 1e-20))
    mix = signal + noise
    return (mix * 0.9 / max(np.abs(mix).max(), 1e-6)).astype(np.float32), float(measured)


def band_limit(audio, rate=8000):
    """Telephone quality: resampled to `rate` and back to 16 kHz (polyphase, anti-aliased)."""
    from scipy.signal import resample_poly  # lazy: scipy.signal costs a second at import

    g = np.gcd(rate, SAMPLE_RATE)
    low = resample_poly(audio, rate // g, SAMPLE_RATE // g)
    back = resample_poly(low, SAMPLE_RATE // g, rate // g)[: len(audio)]
    return np.clip(back, -1, 1).astype(np.float32)


def _noises(bank_kind, rng, seconds=6.0):
    """[(name, waveform)] of background noises used nowhere else in AVS-Synth."""
    n = int(seconds * SAMPLE_RATE)
    if bank_kind == "real":
        from .bank import render_gm

        out = []
        for prog, name in _NOISE_PROGRAMS.items():
            clips = render_gm(prog, rng, 1, seconds=seconds)
            if clips:
                x = np.tile(clips[0], n // len(clips[0]) + 1)[:n]
                out.append((name, x.astype(np.float32)))
        if out:
            return out
    white = rng.normal(0, 1, n)
    spectrum = np.fft.rfft(white)
    f = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
    return [
        (name, (np.fft.irfft(spectrum / f**power, n) / n).astype(np.float32))
        for name, power in (("pink", 0.5), ("brown", 1.0))
    ]


def _rng(seed, subset, split, index):
    key = [seed, 3 if subset == "ms3" else 4, 1000 + PROBES[subset].index(split), index]
    return np.random.default_rng(key)


def _other_image_object(cat, pool, rng, first):
    """A second object of `first`'s category: another image when the category has one."""
    for _ in range(8):
        obj = make_object(cat, pool, rng, sounding=False)
        if obj["rgba"].shape != first["rgba"].shape or len(cat.images) == 1:
            return obj
    return obj


def compose_probe(bank, subset, split, index, seed=0, cfg=None):
    """Clip `index` of probe `split` -> Clip (see the module docstring)."""
    rng = _rng(seed, subset, split, index)
    if split.startswith("test_snr") or split == "test_tel8k":
        # the S4 test clip itself, with its audio degraded
        clip = compose_clip(bank, subset, "test", clip_rng(seed, subset, "test", index), cfg)
        if split == "test_tel8k":
            clip.audio = band_limit(clip.audio)
            clip.info["audio"] = "telephone: resampled to 8 kHz and back"
            return clip
        snr = float(split[len("test_snr") :])
        noises = _noises(bank.kind, rng)
        name, noise = noises[int(rng.integers(len(noises)))]
        start = int(rng.integers(0, len(noise) - len(clip.audio) + 1))
        clip.audio, measured = mix_at_snr(clip.audio, noise[start : start + len(clip.audio)], snr)
        clip.info.update(noise=name, snr_db=measured)
        return clip

    if split == "test_newsound":
        test_rng = clip_rng(seed, subset, "test", index)  # the test clip's own stream
        clip = compose_clip(bank, subset, "test", test_rng, cfg, heldout_sounds=rng)
        clip.info["audio"] = "held-out recordings of the test clip's categories"
        return clip

    cats, names, pool = bank.categories, sorted(bank.categories), "train"
    t = T_FRAMES
    if split in ("test_samecat_one", "test_samecat_both"):
        ci = names[int(rng.integers(len(names)))]
        first = make_object(cats[ci], pool, rng, True, np.ones(t, bool))
        second = _other_image_object(cats[ci], pool, rng, first)
        if split == "test_samecat_both":
            sound, _, src = pick(cats[ci].sounds, pool, rng)
            second.update(sounding=True, sound=sound, sound_source=src, on=np.ones(t, bool))
        others = [n for n in names if n != ci]
        dist = make_object(cats[others[int(rng.integers(len(others)))]], pool, rng, False)
        objs = [first, second, dist]
        return render_clip(objs, bank, pool, rng, sum(not o["sounding"] for o in objs))
    if split == "test_offscreen":
        k = min(len(names), int(rng.integers(2, 4)) + 1)
        chosen = [names[i] for i in rng.choice(len(names), size=k, replace=False)]
        heard = make_object(cats[chosen[0]], pool, rng, True, np.ones(t, bool))
        heard["on_screen"] = False
        seen = [make_object(cats[c], pool, rng, False) for c in chosen[1:]]
        return render_clip([heard, *seen], bank, pool, rng, len(seen))
    if split.startswith("test_switch"):
        period = {"test_switch1": 1, "test_switch2": 2, "test_switchnever": t}[split]
        n_sound = min(int(rng.integers(2, 4)), len(names) - 1)
        chosen = [names[i] for i in rng.choice(len(names), size=n_sound + 1, replace=False)]
        order = rng.permutation(n_sound)
        objs = []
        for j, c in enumerate(chosen[:n_sound]):
            # second s is object order[(s // period) % n]'s: it changes every `period` seconds
            on = np.array([order[(s // period) % n_sound] == j for s in range(t)])
            objs.append(make_object(cats[c], pool, rng, bool(on.any()), on))
        objs = [o for o in objs if o["sounding"]] + [o for o in objs if not o["sounding"]]
        objs.append(make_object(cats[chosen[-1]], pool, rng, False))
        return render_clip(objs, bank, pool, rng, sum(not o["sounding"] for o in objs))
    raise ValueError(f"unknown AVS-Synth probe split {split!r}; probes: {PROBES}")

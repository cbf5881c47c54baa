"""The asset bank of AVS-Synth: object cut-outs with exact alpha, their sounds, backgrounds.

Two sources with one interface (:class:`AssetBank`):

* ``real``: the catalog's Debian media (``catalog.py``, installed by ``make media``): Tux Paint
  photo cut-outs and photo backgrounds, real recordings from nineteen packages, FluidR3
  General-MIDI instruments rendered with ``tinysoundfont``, Tux Paint's recorded speech;
* ``procedural``: drawn shapes and synthesised tones (``procedural.py``), so the generator and the
  tests run where those packages are absent. Never used for reported numbers.

Every asset carries a ``pool``: "train" (pretraining, and compositions for train/val/test) or
"unseen" (held out: only ``test_unseen`` and, for open-set categories, ``test_openset`` use it;
never heard in pretraining). Recordings are split by *source* (a recording; a recording
session: the clips a game cut from one session, or a package's numbered takes of one sound; a GM
program; a speaker), deduplicated by the SHA-1 of their 16 kHz samples first, so one recording
can never be on both sides. Each category holds out about a fifth of its sources, at least 2
where it has 5 or more, preferring grade-A recordings (documented real ones); a category with
one source holds out none (``manifest()`` says how many each has). Cut-outs: one held out per
category that has two or more.

Decoding the whole catalog takes ten seconds or more on 2 cores, so the decoded bank is cached
(``$AUTR_D2_CACHE``, default ``~/.cache/autr_d2``), keyed by the catalog, the seed and this
module's ``CACHE_VERSION``.
"""

import functools
import glob
import hashlib
import io
import json
import logging
import os
from dataclasses import dataclass, field

import numpy as np
import soundfile as sf
from PIL import Image

from ..audio import resample
from .catalog import CATEGORIES, PACKAGES, SOUNDFONT_LICENCE
from .containers import rcc_entries, read_cat, read_rcc

__all__ = [
    "AssetBank",
    "Category",
    "SAMPLE_RATE",
    "build_asset_bank",
    "real_media_available",
    "split_sources",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
STAMPS = "/usr/share/tuxpaint/stamps"
TEMPLATES = "/usr/share/tuxpaint/templates"
SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
MIN_RMS = 1e-3  # quieter clips are silent placeholders (giraffe, iguana, nandou, wombat)
MAX_SECONDS = 20.0  # longer recordings keep their first 20 s
SPEECH_PER_SPEAKER = 40  # Tux Paint has ~800 clips of some speakers: a seeded sample of them
GM_MELODIES = 8
CACHE_VERSION = 1


@dataclass
class Category:
    name: str
    role: str = "visual"  # "visual", "openset" or "audio" (catalog.py)
    audioset: str = ""
    images: list = field(default_factory=list)  # [(rgba uint8 [H,W,4], pool, source)]
    sounds: list = field(default_factory=list)  # [(float32 [N] at 16 kHz, pool, source)]


@dataclass
class AssetBank:
    """What the generator composes clips from and the audio encoder pretrains on."""

    kind: str  # "real" or "procedural"
    categories: dict  # name -> Category: the visual categories seen in training
    openset: dict  # name -> Category: visual, never seen in segmentation training
    backgrounds: list  # [(rgb uint8 [H,W,3], pool, source)]
    audio_only: dict = field(default_factory=dict)  # name -> Category: heard, never seen

    def all_categories(self, strict=False):
        """Every category with sounds, by name; ``strict`` leaves out the open-set ones."""
        out = {**self.categories, **self.audio_only}
        if not strict:
            out.update(self.openset)
        return dict(sorted(out.items()))

    def summary(self):
        def count(cats, attr):
            return sum(len(getattr(c, attr)) for c in cats.values())

        every = {**self.categories, **self.openset, **self.audio_only}
        return (
            f"{self.kind} media: {len(self.categories)} categories + {len(self.openset)} "
            f"open-set + {len(self.audio_only)} audio-only, {count(every, 'images')} images, "
            f"{count(every, 'sounds')} sounds, {len(self.backgrounds)} backgrounds"
        )

    def manifest(self):
        """Per category: role, AudioSet name, and every sound's source, pool and licence, and the
        sources per pool (what a study reports as the bank)."""
        out = {}
        for name, cat in sorted({**self.categories, **self.openset, **self.audio_only}.items()):
            pools = {"train": set(), "unseen": set()}
            for _, pool, src in cat.sounds:
                pools[pool].add(source_of(src))
            out[name] = {
                "role": cat.role,
                "audioset": cat.audioset,
                "train_sources": len(pools["train"]),
                "heldout_sources": len(pools["unseen"]),
                "images": {p: sum(i[1] == p for i in cat.images) for p in ("train", "unseen")},
                "sounds": [
                    {
                        "source": src,
                        "pool": pool,
                        "seconds": round(len(x) / SAMPLE_RATE, 2),
                        "licence": licence_of(src),
                    }  # fmt: skip
                    for x, pool, src in cat.sounds
                ],
            }
        return out


# "package:path" of every catalog recording cut from a recording session -> "family:<name>"
_FAMILY = {
    f"{r.package}:{r.path}": f"family:{r.family}"
    for spec in CATEGORIES.values()
    for r in spec.recordings
    if r.family
}


def source_of(src):
    """The source a sound belongs to, for splitting: a recording's own name, its recording
    session ("family:megaglest_sheep": MegaGlest's sheep1 .. sheep10; "family:s3d_carhorn":
    Scorched3D's carhorn1 .. carhorn6), a GM program ("gm:40"), a speaker ("speech:fr")."""
    if src.startswith(("gm:", "speech:")):
        return ":".join(src.split(":")[:2])
    return _FAMILY.get(src, src)


def licence_of(src):
    if src.startswith("gm:"):
        return SOUNDFONT_LICENCE
    if src.startswith("speech:"):
        return PACKAGES["tux"].licence
    package = PACKAGES.get(src.split(":", 1)[0])
    return package.licence if package else "generated here (procedural media)"


def real_media_available():
    """True when every media package of the catalog is installed (``make media``)."""
    roots = {p.root for p in PACKAGES.values()} | {STAMPS, TEMPLATES, SOUNDFONT}
    return all(os.path.exists(p) for p in roots)


# ------------------------------------------------------------------------------ decoding
def _load_cutout(path):
    """RGBA cut-out cropped to its alpha bounding box."""
    im = np.asarray(Image.open(path).convert("RGBA"))
    ys, xs = np.nonzero(im[..., 3] > 127)
    if len(ys) == 0:
        raise ValueError(f"{path}: empty alpha mask")
    return np.ascontiguousarray(im[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


def _read_bytes(rec):
    """The audio file of a catalog Recording, as (bytes or path, name for messages)."""
    pkg = PACKAGES[rec.package]
    if "::" in rec.path:
        archive, entry = rec.path.split("::", 1)
        path = os.path.join(pkg.root, archive)
        if archive.endswith(".cat"):
            return io.BytesIO(read_cat(path, int(entry))[1]), f"{path}::{entry}"
        full = [k for k in rcc_entries(path) if k.endswith("/" + entry)]
        if len(full) != 1:
            raise ValueError(f"{path}: {len(full)} entries end with {entry}")
        return io.BytesIO(read_rcc(path, full[0])), f"{path}::{entry}"
    path = os.path.join(pkg.root, rec.path)
    return path, path


def _decode(data, name):
    """Any audio file -> (float32 [N, C], rate): soundfile, else PyAV."""
    try:
        return sf.read(data, dtype="float32", always_2d=True)
    except Exception:
        if hasattr(data, "seek"):
            data.seek(0)
        import av

        with av.open(data) as c:
            frames = [f.to_ndarray() for f in c.decode(audio=0)]
            rate = c.streams.audio[0].rate
        x = np.concatenate(frames, axis=-1).astype(np.float32)
        if x.ndim == 1:
            x = x[None]
        return x.T, rate


def normalise(x, rate):
    """Mono float32 at 16 kHz, leading/trailing silence trimmed, at most MAX_SECONDS,
    peak-normalised; None if silent."""
    x = np.asarray(x, np.float32)
    x = resample(x.mean(axis=1) if x.ndim == 2 else x, rate, SAMPLE_RATE)
    if x.size == 0 or np.sqrt(np.mean(x**2) + 1e-12) < MIN_RMS:
        return None
    loud = np.nonzero(np.abs(x) > 0.02 * np.abs(x).max())[0]
    x = x[loud[0] : loud[-1] + 1][: int(MAX_SECONDS * SAMPLE_RATE)]
    return (x / (np.abs(x).max() + 1e-9)).astype(np.float32)


def content_hash(x):
    """SHA-1 of the 16 kHz samples quantised to int16: equal recordings, equal hash."""
    return hashlib.sha1(np.round(np.asarray(x) * 32767).astype(np.int16).tobytes()).hexdigest()


@functools.lru_cache(maxsize=1)
def _soundfont_synth():
    """One synthesiser with FluidR3 loaded (148 MB): loading it per program cost seconds."""
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=SAMPLE_RATE, gain=-3)
    return synth, synth.sfload(SOUNDFONT)


def render_gm(program, rng, n_clips, seconds=4.0):
    """Short melodies (or drum patterns) of one GM program, 16 kHz mono float32."""
    synth, sfid = _soundfont_synth()
    is_drums = program == "drums"
    synth.program_select(
        0, sfid, 128 if is_drums else 0, 0 if is_drums else program, is_drums=is_drums
    )
    clips = []
    for _ in range(n_clips):
        pieces, t = [], 0.0
        base = int(rng.integers(48, 72))
        while t < seconds:
            dur = float(rng.choice([0.25, 0.5, 0.5, 1.0]))
            if is_drums:
                key = int(rng.choice([35, 36, 38, 40, 42, 46, 49, 51]))
            else:
                key = base + int(rng.choice([0, 2, 4, 5, 7, 9, 12]))
            synth.noteon(0, key, int(rng.integers(70, 120)))
            n = int(dur * SAMPLE_RATE)
            pieces.append(np.frombuffer(synth.generate(n), dtype=np.float32).reshape(-1, 2))
            synth.noteoff(0, key)
            t += dur
        synth.notes_off()
        x = np.concatenate(pieces).mean(axis=1)
        if np.abs(x).max() > 1e-4:
            clips.append((x / np.abs(x).max()).astype(np.float32))
    return clips


def _speech(langs, rng):
    """Tux Paint's recorded stamp descriptions of each language (one speaker each): a seeded
    sample of SPEECH_PER_SPEAKER clips per speaker -> {speaker: [(wave, source)]}."""
    out = {}
    for lang in langs:
        files = sorted(glob.glob(f"{STAMPS}/**/*_desc_{lang}.ogg", recursive=True))
        picked = sorted(rng.permutation(len(files))[:SPEECH_PER_SPEAKER].tolist())
        clips = []
        for i in picked:
            x = normalise(*sf.read(files[i], dtype="float32", always_2d=True))
            if x is not None:
                clips.append((x, f"speech:{lang}:{os.path.relpath(files[i], STAMPS)}"))
        if clips:
            out[lang] = clips
    return out


# ------------------------------------------------------------------------------ splitting
def split_sources(sources, grades, rng):
    """Which sources are held out: about a fifth, at least 2 where there are 5 or more, 1 of 2
    to 4 (holding out 2 of 4 would halve what training hears), none of 1; grade-A sources first
    (a held-out test should be a documented recording).

    Args:
        sources: distinct source names (sorted by the caller, so the split depends on the seed
            and the catalog only).
        grades: {source: "A" or "B"}.
    Returns:
        the set of held-out sources.
    """
    n = len(sources)
    k = 0 if n < 2 else 1 if n < 5 else max(2, round(0.2 * n))
    order = [sources[i] for i in rng.permutation(n)]
    order.sort(key=lambda s: grades.get(s, "A") != "A")  # stable: A first, seeded within
    return set(order[:k])


def _split_pool(items, rng):
    """Hold one item out ("unseen") when there are at least two; the rest train."""
    order = rng.permutation(len(items))
    pools = ["train"] * len(items)
    if len(items) >= 2:
        pools[order[0]] = "unseen"
    return pools


def _category_rng(seed, name):
    return np.random.default_rng([seed, int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)])


def _build_category(name, spec, seed, seen):
    """One catalog category: decoded sounds split by source, cut-outs split."""
    rng = _category_rng(seed, name)
    cat = Category(name, role=spec.role, audioset=spec.audioset)
    images = [_load_cutout(f"{STAMPS}/{p}.png") for p in spec.stamps]
    for im, pool, src in zip(images, _split_pool(images, rng), spec.stamps):
        cat.images.append((im, pool, src))
    sounds, grades = {}, {}  # source -> [(wave, name)]
    for rec in spec.recordings:
        data, where = _read_bytes(rec)
        x = normalise(*_decode(data, where))
        if x is None:
            logger.info(f"skipping silent recording {where}")
            continue
        h = content_hash(x)
        if h in seen:  # the same recording in two places (ram = mountaingoat, ...)
            logger.info(f"skipping duplicate recording {where} (= {seen[h]})")
            continue
        seen[h] = where
        name_i = f"{rec.package}:{rec.path}"
        src = source_of(name_i)  # a recording session's clips are one source
        sounds.setdefault(src, []).append((x, name_i))
        grades[src] = rec.grade
    for prog in spec.gm:  # each program one source: all its melodies on one side
        sounds[f"gm:{prog}"] = [(x, f"gm:{prog}:{i}") for i, x in
                                enumerate(render_gm(prog, rng, GM_MELODIES))]  # fmt: skip
    for lang, clips in _speech(spec.speech, rng).items():
        sounds[f"speech:{lang}"] = clips
    held = split_sources(sorted(sounds), grades, rng)
    for src in sorted(sounds):
        for x, name_i in sounds[src]:
            cat.sounds.append((x, "unseen" if src in held else "train", name_i))
    if not cat.sounds or (spec.role != "audio" and not cat.images):
        raise RuntimeError(f"AVS-Synth category {name!r} has no usable image or sound")
    return cat


def _build_real(seed):
    seen = {}
    groups = {"visual": {}, "openset": {}, "audio": {}}
    for name, spec in CATEGORIES.items():
        groups[spec.role][name] = _build_category(name, spec, seed, seen)
    rng = np.random.default_rng(seed)
    backgrounds = []
    paths = sorted(glob.glob(f"{TEMPLATES}/*.jpg")) + sorted(glob.glob(f"{TEMPLATES}/*.png"))
    held = set(rng.choice(len(paths), size=min(4, len(paths) // 4), replace=False).tolist())
    for i, p in enumerate(paths):
        im = Image.open(p).convert("RGB")
        im.thumbnail((512, 512))
        backgrounds.append((np.asarray(im), "unseen" if i in held else "train", p))
    return AssetBank("real", groups["visual"], groups["openset"], backgrounds, groups["audio"])


# ------------------------------------------------------------------------------ cache
def _cache_path(seed):
    key = json.dumps(
        {"v": CACHE_VERSION, "seed": seed, "catalog": repr(sorted(CATEGORIES.items()))},
        sort_keys=True,
    )
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    root = os.environ.get("AUTR_D2_CACHE", os.path.expanduser("~/.cache/autr_d2"))
    return os.path.join(root, f"media_bank_{digest}.npz")


def _save(bank, path):
    arrays, index = {}, []
    for group in ("categories", "openset", "audio_only"):
        for name, cat in getattr(bank, group).items():
            entry = {"group": group, "name": name, "role": cat.role, "audioset": cat.audioset}
            for kind in ("images", "sounds"):
                entry[kind] = []
                for k, (x, pool, src) in enumerate(getattr(cat, kind)):
                    key = f"{kind}/{name}/{k}"
                    arrays[key] = np.round(x * 32767).astype(np.int16) if kind == "sounds" else x
                    entry[kind].append((key, pool, src))
            index.append(entry)
    bgs = []
    for k, (x, pool, src) in enumerate(bank.backgrounds):
        arrays[f"bg/{k}"] = x
        bgs.append((f"bg/{k}", pool, src))
    arrays["index"] = np.frombuffer(json.dumps({"cats": index, "bgs": bgs}).encode(), np.uint8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def _load(path):
    with np.load(path) as z:
        index = json.loads(z["index"].tobytes().decode())
        groups = {"categories": {}, "openset": {}, "audio_only": {}}
        for e in index["cats"]:
            cat = Category(e["name"], role=e["role"], audioset=e["audioset"])
            cat.images = [(z[k], pool, src) for k, pool, src in e["images"]]
            cat.sounds = [(z[k].astype(np.float32) / 32767, pool, src) for k, pool, src in
                          e["sounds"]]  # fmt: skip
            groups[e["group"]][e["name"]] = cat
        bgs = [(z[k], pool, src) for k, pool, src in index["bgs"]]
    return AssetBank("real", groups["categories"], groups["openset"], bgs, groups["audio_only"])


def build_asset_bank(media="auto", seed=0, cache=True):
    """media: "real" (the Debian packages, error if missing), "procedural", or "auto"."""
    if media == "auto":
        media = "real" if real_media_available() else "procedural"
    if media == "procedural":
        from .procedural import build_procedural

        return build_procedural(seed)
    if media != "real":
        raise ValueError(f"media must be real, procedural or auto, got {media!r}")
    if not real_media_available():
        raise FileNotFoundError(
            "real media missing: run `make media` (Debian packages "
            f"{', '.join(sorted({p.debian for p in PACKAGES.values()}))}, tuxpaint-data, "
            "fluid-soundfont-gm)"
        )
    path = _cache_path(seed)
    if cache and os.path.isfile(path):
        try:
            return _load(path)
        except (OSError, ValueError, KeyError) as e:
            logger.warning(f"{path}: unreadable cache ({e}), decoding the media again")
    bank = _build_real(seed)
    if cache:
        try:
            _save(bank, path)
        except OSError as e:
            logger.warning(f"cannot cache the decoded media bank at {path} ({e.strerror})")
    return bank

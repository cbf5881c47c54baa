"""The asset bank of AVS-Synth: object cut-outs with exact alpha, their sounds, backgrounds.

Two sources with one interface (`AssetBank`):

* ``real``: Debian packages (installed by ``make media``): Tux Paint photo cut-outs and their own
  recorded sounds (``tuxpaint-stamps-default``), Tux Paint photo backgrounds (``tuxpaint-data``)
  and FluidR3 General-MIDI instruments rendered with ``tinysoundfont`` (``fluid-soundfont-gm``).
* ``procedural``: drawn shapes and synthesised tone patterns, so the generator and the tests run
  where those packages are absent. Never used for reported numbers.

Every asset carries a ``pool``: "train" (compositions for train/val/test) or "unseen" (held out of
training: used only by ``test_unseen``). Open-set categories never appear in train/val/test.
"""

import functools
import glob
import hashlib
import logging
import os
from dataclasses import dataclass, field

import numpy as np
import soundfile as sf
from PIL import Image, ImageDraw

__all__ = ["AssetBank", "build_asset_bank", "real_media_available", "SAMPLE_RATE"]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
STAMPS = "/usr/share/tuxpaint/stamps"
TEMPLATES = "/usr/share/tuxpaint/templates"
SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
MIN_RMS = 1e-3  # quieter clips are silent placeholders (giraffe, iguana, nandou, wombat)

# category -> (stamp images, stamp sounds, GM programs (or "drums")), paths relative to STAMPS.
_A, _B = "animals/mammals", "animals/birds"
REAL_CATEGORIES = {
    "dog": (
        [f"{_A}/dogs/dog", f"{_A}/dogs/dingo", f"{_A}/dogs/fox"],
        [f"{_A}/dogs/dog", f"{_A}/dogs/fox"],
        [],
    ),
    "cow": (
        [f"{_A}/bovines/{n}" for n in ("cow", "cow_white", "bull", "bison", "yak")],
        [f"{_A}/bovines/{n}" for n in ("cow", "cow_white", "bull", "bison")],
        [],
    ),
    "horse": (
        [f"{_A}/equines/{n}" for n in ("horse", "donkey", "donkey_eating", "zebra")],
        [f"{_A}/equines/{n}" for n in ("horse", "donkey", "zebra")],
        [],
    ),
    "sheep": (
        [f"{_A}/bovines/{n}" for n in ("sheep", "sheep_lamb", "ram", "goat", "mountaingoat")],
        [f"{_A}/bovines/{n}" for n in ("sheep", "sheep_lamb", "ram", "goat", "mountaingoat")],
        [],
    ),
    "pig": (
        [f"{_A}/{n}" for n in ("pig", "pig_golden", "pig_golden2")],
        [f"{_A}/{n}" for n in ("pig", "pig_golden", "pig_golden2")],
        [],
    ),
    "chicken": (
        [f"{_B}/{n}" for n in ("hen", "rooster", "chicken_profile", "turkey")],
        [f"{_B}/{n}" for n in ("hen", "rooster", "turkey")],
        [],
    ),
    "duck": (
        [f"{_B}/{n}" for n in ("duck", "drake", "gander")],
        [f"{_B}/{n}" for n in ("duck", "drake", "gander")],
        [],
    ),
    "songbird": (
        [f"{_B}/{n}" for n in ("blackbird", "lark", "cuckoo", "crow", "seagull")],
        [f"{_B}/{n}" for n in ("blackbird", "lark", "cuckoo", "crow", "seagull")],
        [],
    ),
    "big_cat": (
        [f"{_A}/cats/{n}" for n in ("lion", "lion-2", "tiger", "tiger_sumatran")],
        [f"{_A}/cats/{n}" for n in ("lion", "tiger")],
        [],
    ),
    "violin": (["hobbies/music/string/violin"], ["hobbies/music/string/violin"], [40, 41]),
    "cello": (["hobbies/music/string/cello"], ["hobbies/music/string/cello"], [42, 43]),
    "guitar": (
        [f"hobbies/music/string/{n}" for n in ("guitar_classical", "guitar_electric", "guitar2")],
        [],
        [24, 25, 26, 27, 29],
    ),
    "trumpet": (["hobbies/music/brass/trumpet"], [], [56, 59]),
    "drums": (
        [f"hobbies/music/percussion/{n}" for n in ("drumkit", "drum_tomtom_floor", "cymbal_crash")],
        [f"hobbies/music/percussion/{n}" for n in ("drumkit", "drum_tomtom_floor", "cymbal_crash")],
        ["drums"],
    ),
    "tools": (
        [f"household/tools/{n}" for n in ("saw", "hammer", "mallet_metal")],
        [f"household/tools/{n}" for n in ("saw", "hammer", "mallet_metal")],
        [],
    ),
}
# Never seen in training: test_openset only.
REAL_OPENSET = {
    "elephant": ([f"{_A}/elephant"], [f"{_A}/elephant"], []),
    "ape": (
        [f"{_A}/apes/chimp", f"{_A}/apes/gorilla"],
        [f"{_A}/apes/chimp", f"{_A}/apes/gorilla"],
        [],
    ),
    "bassoon": (["hobbies/music/wind/bassoon"], ["hobbies/music/wind/bassoon"], [70]),
    "frog": (["animals/amphibians/frog"], ["animals/amphibians/frog"], []),
}

PROC_CATEGORIES = ["circle", "square", "triangle", "diamond", "ring", "cross", "star", "bar"]
PROC_OPENSET = ["hexagon", "arrow"]


@dataclass
class Category:
    name: str
    images: list = field(default_factory=list)  # [(rgba uint8 [H,W,4], pool, source)]
    sounds: list = field(default_factory=list)  # [(float32 [N] at 16 kHz, pool, source)]


@dataclass
class AssetBank:
    """What the generator composes clips from."""

    kind: str  # "real" or "procedural"
    categories: dict  # name -> Category (seen in training)
    openset: dict  # name -> Category (never seen in training)
    backgrounds: list  # [(rgb uint8 [H,W,3], pool, source)]

    def summary(self):
        def count(cats, attr):
            return sum(len(getattr(c, attr)) for c in cats.values())

        return (
            f"{self.kind} media: {len(self.categories)} categories + {len(self.openset)} "
            f"open-set, {count(self.categories, 'images') + count(self.openset, 'images')} "
            f"images, {count(self.categories, 'sounds') + count(self.openset, 'sounds')} "
            f"sounds, {len(self.backgrounds)} backgrounds"
        )


def real_media_available():
    return all(os.path.exists(p) for p in (STAMPS, TEMPLATES, SOUNDFONT))


# ------------------------------------------------------------------------------ real media
def _load_cutout(path):
    """RGBA cut-out cropped to its alpha bounding box."""
    im = np.asarray(Image.open(path).convert("RGBA"))
    ys, xs = np.nonzero(im[..., 3] > 127)
    if len(ys) == 0:
        raise ValueError(f"{path}: empty alpha mask")
    return np.ascontiguousarray(im[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


def _load_sound(path):
    """Mono float32 at 16 kHz, leading/trailing silence trimmed, peak-normalised; None if silent."""
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    x = data.mean(axis=1)
    if rate != SAMPLE_RATE:
        g = np.gcd(int(rate), SAMPLE_RATE)
        from scipy.signal import resample_poly  # lazy: scipy.signal costs a second at import

        x = resample_poly(x, SAMPLE_RATE // g, int(rate) // g).astype(np.float32)
    if np.sqrt(np.mean(x**2) + 1e-12) < MIN_RMS:
        return None
    loud = np.nonzero(np.abs(x) > 0.02 * np.abs(x).max())[0]
    x = x[loud[0] : loud[-1] + 1]
    return (x / (np.abs(x).max() + 1e-9)).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _soundfont_synth():
    """One synthesiser with FluidR3 loaded (148 MB): loading it per program cost seconds."""
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=SAMPLE_RATE, gain=-3)
    return synth, synth.sfload(SOUNDFONT)


def _render_gm(program, rng, n_clips, seconds=4.0):
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


def _split_pool(items, rng):
    """Hold one item out ("unseen") when there are at least two; the rest train."""
    order = rng.permutation(len(items))
    pools = ["train"] * len(items)
    if len(items) >= 2:
        pools[order[0]] = "unseen"
    return pools


def _build_real(seed):
    rng = np.random.default_rng(seed)
    seen_hashes = set()

    def make(table, openset):
        cats = {}
        for name, (imgs, snds, programs) in table.items():
            cat = Category(name)
            images = [_load_cutout(f"{STAMPS}/{p}.png") for p in imgs]
            for im, pool, src in zip(images, _split_pool(images, rng), imgs):
                cat.images.append((im, "train" if openset else pool, src))
            recordings = []
            for p in snds:
                x = _load_sound(f"{STAMPS}/{p}.ogg")
                if x is None:
                    logger.info(f"skipping silent clip {p}.ogg")
                    continue
                h = hashlib.sha1(np.round(x, 4).tobytes()).hexdigest()
                if h in seen_hashes:  # byte-equal duplicates (ram = mountaingoat, ...)
                    logger.info(f"skipping duplicate clip {p}.ogg")
                    continue
                seen_hashes.add(h)
                recordings.append((x, p))
            for (x, src), pool in zip(recordings, _split_pool(recordings, rng)):
                cat.sounds.append((x, "train" if openset else pool, src))
            for prog in programs:
                # Renders are unlimited: new melodies for the unseen pool.
                for i, x in enumerate(_render_gm(prog, rng, 8)):
                    pool = "unseen" if (i >= 6 and not openset) else "train"
                    cat.sounds.append((x, pool, f"GM:{prog}"))
            if not cat.images or not cat.sounds:
                raise RuntimeError(f"AVS-Synth category {name!r} has no usable image or sound")
            cats[name] = cat
        return cats

    categories = make(REAL_CATEGORIES, False)
    openset = make(REAL_OPENSET, True)
    backgrounds = []
    paths = sorted(glob.glob(f"{TEMPLATES}/*.jpg")) + sorted(glob.glob(f"{TEMPLATES}/*.png"))
    held = set(rng.choice(len(paths), size=min(4, len(paths) // 4), replace=False).tolist())
    for i, p in enumerate(paths):
        im = Image.open(p).convert("RGB")
        im.thumbnail((512, 512))
        backgrounds.append((np.asarray(im), "unseen" if i in held else "train", p))
    return AssetBank("real", categories, openset, backgrounds)


# ------------------------------------------------------------------------------ procedural media
def _shape_polygon(name, s):
    c, r = s / 2, s / 2 - 1
    ang = np.linspace(0, 2 * np.pi, 7)[:-1]
    if name == "triangle":
        return [(c, 1), (s - 1, s - 1), (1, s - 1)]
    if name == "diamond":
        return [(c, 1), (s - 1, c), (c, s - 1), (1, c)]
    if name == "hexagon":
        return [(c + r * np.cos(a), c + r * np.sin(a)) for a in ang]
    if name == "star":
        pts = []
        for k in range(10):
            rr = r if k % 2 == 0 else r * 0.45
            a = np.pi * k / 5 - np.pi / 2
            pts.append((c + rr * np.cos(a), c + rr * np.sin(a)))
        return pts
    if name == "arrow":
        return [
            (1, s * 0.35),
            (s * 0.6, s * 0.35),
            (s * 0.6, 1),
            (s - 1, c),
            (s * 0.6, s - 1),
            (s * 0.6, s * 0.65),
            (1, s * 0.65),
        ]
    return None


def _draw_shape(name, rng, size=96):
    im = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    color = tuple(int(v) for v in rng.integers(40, 255, 3)) + (255,)
    poly = _shape_polygon(name, size)
    if poly:
        d.polygon(poly, fill=color)
    elif name == "circle":
        d.ellipse([1, 1, size - 2, size - 2], fill=color)
    elif name == "ring":
        d.ellipse([1, 1, size - 2, size - 2], fill=color)
        d.ellipse([size * 0.3, size * 0.3, size * 0.7, size * 0.7], fill=(0, 0, 0, 0))
    elif name == "cross":
        d.rectangle([size * 0.35, 1, size * 0.65, size - 2], fill=color)
        d.rectangle([1, size * 0.35, size - 2, size * 0.65], fill=color)
    elif name == "bar":
        d.rectangle([1, size * 0.3, size - 2, size * 0.7], fill=color)
    else:  # square
        d.rectangle([1, 1, size - 2, size - 2], fill=color)
    return _crop_alpha(np.asarray(im))


def _crop_alpha(im):
    ys, xs = np.nonzero(im[..., 3] > 127)
    return np.ascontiguousarray(im[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


def _tone(index, rng, seconds=3.0):
    """A category-specific sound: base pitch and amplitude-modulation rate follow the index."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = 150.0 * 2 ** (index * 0.5) * rng.uniform(0.95, 1.05)
    am = 1.0 + index % 4 * 2.0
    x = np.sin(2 * np.pi * f0 * t) + 0.5 * np.sin(4 * np.pi * f0 * t)
    x *= 0.6 + 0.4 * np.sin(2 * np.pi * am * t)
    return (x / np.abs(x).max()).astype(np.float32)


def _build_procedural(seed):
    rng = np.random.default_rng(seed)

    def make(names, offset, openset):
        cats = {}
        for i, name in enumerate(names):
            cat = Category(name)
            for k in range(4):
                pool = "unseen" if (k == 3 and not openset) else "train"
                cat.images.append((_draw_shape(name, rng), pool, f"shape:{name}"))
                cat.sounds.append((_tone(i + offset, rng), pool, f"tone:{i + offset}"))
            cats[name] = cat
        return cats

    backgrounds = []
    for k in range(8):
        c0, c1 = rng.integers(0, 255, 3), rng.integers(0, 255, 3)
        ramp = np.linspace(0, 1, 320)[None, :, None]
        bg = (c0 * (1 - ramp) + c1 * ramp) * np.ones((240, 1, 1))
        bg = np.clip(bg + rng.normal(0, 12, bg.shape), 0, 255).astype(np.uint8)
        backgrounds.append((bg, "unseen" if k >= 6 else "train", f"gradient:{k}"))
    return AssetBank(
        "procedural",
        make(PROC_CATEGORIES, 0, False),
        make(PROC_OPENSET, len(PROC_CATEGORIES), True),
        backgrounds,
    )


def build_asset_bank(media="auto", seed=0):
    """media: "real" (the Debian packages, error if missing), "procedural", or "auto"."""
    if media == "auto":
        media = "real" if real_media_available() else "procedural"
    if media == "real":
        if not real_media_available():
            raise FileNotFoundError(
                f"real media missing ({STAMPS}, {TEMPLATES}, {SOUNDFONT}): run `make media` or "
                "install tuxpaint-stamps-default tuxpaint-data fluid-soundfont-gm"
            )
        return _build_real(seed)
    if media == "procedural":
        return _build_procedural(seed)
    raise ValueError(f"media must be real, procedural or auto, got {media!r}")

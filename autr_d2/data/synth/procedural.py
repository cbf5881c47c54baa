"""Procedural media: drawn shapes and synthesised tone patterns in place of the real media, so the
generator, the pretraining tool and the tests run where the Debian packages are absent. Never used
for reported numbers. Each shape is a category; its sound is a tone whose pitch and modulation
follow the category, with four variants (one held out)."""

import numpy as np
from PIL import Image, ImageDraw

from .bank import SAMPLE_RATE, AssetBank, Category

__all__ = ["PROC_CATEGORIES", "PROC_OPENSET", "PROC_AUDIO_ONLY", "build_procedural"]

PROC_CATEGORIES = ["circle", "square", "triangle", "diamond", "ring", "cross", "star", "bar"]
PROC_OPENSET = ["hexagon", "arrow"]
PROC_AUDIO_ONLY = ["buzz", "chirp"]  # heard in pretraining only, never drawn


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


def build_procedural(seed):
    rng = np.random.default_rng(seed)

    def make(names, offset, role):
        cats = {}
        for i, name in enumerate(names):
            cat = Category(name, role=role, audioset=f"tone {i + offset}")
            for k in range(4):
                pool = "unseen" if k == 3 else "train"
                if role != "audio":
                    cat.images.append((_draw_shape(name, rng), pool, f"shape:{name}"))
                cat.sounds.append((_tone(i + offset, rng), pool, f"tone:{i + offset}:{k}"))
            cats[name] = cat
        return cats

    backgrounds = []
    for k in range(8):
        c0, c1 = rng.integers(0, 255, 3), rng.integers(0, 255, 3)
        ramp = np.linspace(0, 1, 320)[None, :, None]
        bg = (c0 * (1 - ramp) + c1 * ramp) * np.ones((240, 1, 1))
        bg = np.clip(bg + rng.normal(0, 12, bg.shape), 0, 255).astype(np.uint8)
        backgrounds.append((bg, "unseen" if k >= 6 else "train", f"gradient:{k}"))
    n, m = len(PROC_CATEGORIES), len(PROC_OPENSET)
    return AssetBank(
        "procedural",
        make(PROC_CATEGORIES, 0, "visual"),
        make(PROC_OPENSET, n, "openset"),
        backgrounds,
        make(PROC_AUDIO_ONLY, n + m, "audio"),
    )

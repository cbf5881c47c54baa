"""AVS-Synth clips: objects on a real background, of which only the audio says which sound.

Every clip shows several salient objects on a real background; only the audio says which of them
sound. S4-like clips: one object sounds for all 5 s, 1-3 silent distractors of other categories.
MS3-like clips: 2-3 objects switch on/off per second, plus silent distractors; the mask of frame
t is the union of the visible parts of the objects sounding in second t (empty when none does).

Splits: train, val, test (new compositions of the training pool: its cut-outs, recordings and
backgrounds), test_unseen (recordings, cut-outs and backgrounds held out of training and of the
audio encoder's pretraining) and test_openset (categories never seen in segmentation training,
heard through their held-out recordings where they have any). Deterministic from a seed: clip i of
a split depends only on (seed, subset, split, i), which is what makes an interrupted run
resumable.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .bank import SAMPLE_RATE

__all__ = [
    "Clip",
    "SPLITS",
    "SynthConfig",
    "T_FRAMES",
    "clip_rng",
    "compose_clip",
    "make_object",
    "pick",
    "render_clip",
]

SPLITS = ("train", "val", "test", "test_unseen", "test_openset")
T_FRAMES, SIZE = 5, 224
_SUBSET_ID = {"s4": 4, "ms3": 3}


@dataclass
class SynthConfig:
    seed: int = 0
    media: str = "auto"  # real | procedural | auto
    min_distractors: int = 1
    max_distractors: int = 3
    # S4 train: "all" writes the masks of frames 2-5 too (the loader uses masks that exist);
    # "first" writes frame 1 only, exactly AVSBench's semi-supervised S4 protocol.
    s4_train_masks: str = "all"


@dataclass
class Clip:
    frames: np.ndarray  # [T, 224, 224, 3] uint8
    masks: np.ndarray  # [T, 224, 224] uint8 {0,1}
    instances: np.ndarray  # [T, 224, 224] uint8: 0 background, k = info["objects"][k - 1]
    audio: np.ndarray  # [5 * 16000] float32
    info: dict


def clip_rng(seed, subset, split, index):
    """The random stream of clip `index` of a split: nothing else decides its content."""
    return np.random.default_rng([seed, _SUBSET_ID[subset], SPLITS.index(split), index])


def pick(items, pool, rng):
    """An asset of the wanted pool; "unseen" falls back to "train" where nothing is held out."""
    chosen = [a for a in items if a[1] == pool] or [a for a in items if a[1] == "train"]
    return chosen[int(rng.integers(len(chosen)))]


def _resize_rgba(im, longest, flip):
    h, w = im.shape[:2]
    s = longest / max(h, w)
    out = Image.fromarray(im).resize((max(2, round(w * s)), max(2, round(h * s))), Image.BILINEAR)
    out = np.asarray(out)
    return out[:, ::-1] if flip else out


def _background(bank, pool, rng):
    bg = pick(bank.backgrounds, pool, rng)[0]
    h, w = bg.shape[:2]
    side = int(min(h, w) * rng.uniform(0.5, 1.0))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = Image.fromarray(bg[y : y + side, x : x + side]).resize((SIZE, SIZE), Image.BILINEAR)
    return np.asarray(crop, dtype=np.float32)


def _window(sound, n, rng):
    """n samples of a recording: a random window, looped with short gaps when it is too short."""
    if len(sound) < n:
        gap = np.zeros(int(0.1 * SAMPLE_RATE), np.float32)
        reps = int(np.ceil(n / (len(sound) + len(gap)))) + 1
        sound = np.tile(np.concatenate([sound, gap]), reps)
        start = int(rng.integers(0, len(sound) - n + 1))
    else:
        start = int(rng.integers(0, len(sound) - n + 1))
    return sound[start : start + n]


def _fade(x, ms=10):
    n = min(len(x) // 2, int(ms * SAMPLE_RATE / 1000))
    ramp = np.linspace(0, 1, n, dtype=np.float32)
    x = x.copy()
    x[:n] *= ramp
    x[-n:] *= ramp[::-1]
    return x


def _place_objects(objs, rng):
    """Left-to-right slots with jitter; each object gets a start position and a small velocity."""
    n = len(objs)
    order = rng.permutation(n)
    for slot, k in enumerate(order):
        h, w = objs[k]["rgba"].shape[:2]
        cx = (slot + 0.5) * SIZE / n + rng.uniform(-0.08, 0.08) * SIZE
        cy = rng.uniform(0.35, 0.65) * SIZE
        objs[k]["pos"] = np.array([cy - h / 2, cx - w / 2])
        objs[k]["vel"] = rng.uniform(-4, 4, size=2)


def make_object(cat, pool, rng, sounding, on=None, sound_pool=None):
    """One object of category `cat`: a cut-out of the pool at a random size and flip, and, when
    `sounding`, one of its recordings (of `sound_pool`, default `pool`) and its per-second "on"
    pattern."""
    longest = rng.uniform(0.35, 0.6) * SIZE
    rgba = _resize_rgba(pick(cat.images, pool, rng)[0], longest, bool(rng.integers(2)))
    obj = {
        "category": cat.name,
        "rgba": rgba,
        "sounding": sounding,
        "brightness": rng.uniform(0.8, 1.2),
    }
    if sounding:
        sound, _, src = pick(cat.sounds, sound_pool or pool, rng)
        obj["sound"], obj["sound_source"] = sound, src
        obj["on"] = on
    return obj


def compose_clip(bank, subset, split, rng, cfg=None, num_frames=T_FRAMES, heldout_sounds=None):
    """One clip: frames, per-frame masks of the sounding objects, ``num_frames`` seconds of audio
    (5, AVSBench's clips; 10 for AVSBench-semantic's v2-like clips), and its info.

    `heldout_sounds` (a Generator): each sounding object's recording is then replaced by one of its
    category's held-out recordings, drawn from that generator, after the split's own draws, so the
    frames and masks stay the split's own clip's."""
    cfg = cfg or SynthConfig()
    pool = "unseen" if split == "test_unseen" else "train"
    # open-set: never-segmented categories, heard through recordings the encoder never heard
    sound_pool = "unseen" if split in ("test_unseen", "test_openset") else "train"
    cats = bank.openset if split == "test_openset" else bank.categories
    names = sorted(cats)
    if subset == "s4":
        n_sound = 1
    else:
        n_sound = int(rng.integers(2, 4))
    n_sound = min(n_sound, len(names) - 1)
    n_dist = int(rng.integers(cfg.min_distractors, cfg.max_distractors + 1))
    n_dist = max(1, min(n_dist, len(names) - n_sound))
    if subset == "ms3":
        n_dist = min(n_dist, 2)
    chosen = rng.choice(len(names), size=n_sound + n_dist, replace=False)
    objs = []
    for j, ci in enumerate(chosen):
        cat, sounding = cats[names[ci]], j < n_sound
        # drawn after the object's image (the draws keep their order: same clips as before)
        objs.append(make_object(cat, pool, rng, sounding, on=None, sound_pool=sound_pool))
        if sounding and heldout_sounds is not None:
            sound, _, src = pick(cat.sounds, "unseen", heldout_sounds)
            objs[-1].update(sound=sound, sound_source=src)
        if sounding:
            if subset == "s4":
                on = np.ones(num_frames, bool)
            else:
                on = rng.random(num_frames) < 0.7
                if not on.any():
                    on[int(rng.integers(num_frames))] = True
            objs[-1]["on"] = on
    return render_clip(objs, bank, pool, rng, n_dist, num_frames)


def render_clip(objs, bank, pool, rng, num_distractors, num_frames=T_FRAMES):
    """Place, draw and mix planned objects -> Clip. An object with ``on_screen`` False is heard
    but not drawn (an off-screen source: it has no pixels, so no mask)."""
    _place_objects(objs, rng)

    bg = _background(bank, pool, rng)
    z_order = list(rng.permutation(len(objs)))
    frames = np.empty((num_frames, SIZE, SIZE, 3), np.uint8)
    masks = np.zeros((num_frames, SIZE, SIZE), np.uint8)
    owner = np.full((num_frames, SIZE, SIZE), -1, np.int16)  # top-most object per pixel
    for t in range(num_frames):
        canvas = bg.copy()
        for k in z_order:
            o = objs[k]
            if not o.get("on_screen", True):
                continue
            rgba = o["rgba"]
            y, x = np.round(o["pos"] + t * o["vel"]).astype(int)
            h, w = rgba.shape[:2]
            y0, x0, y1, x1 = max(y, 0), max(x, 0), min(y + h, SIZE), min(x + w, SIZE)
            if y1 <= y0 or x1 <= x0:
                continue
            patch = rgba[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32)
            a = patch[..., 3:] / 255.0
            region = canvas[y0:y1, x0:x1]
            region[:] = region * (1 - a) + np.clip(patch[..., :3] * o["brightness"], 0, 255) * a
            owner[t, y0:y1, x0:x1][patch[..., 3] > 127] = k
        frames[t] = canvas.astype(np.uint8)
        for k, o in enumerate(objs):
            if o["sounding"] and o["on"][t]:
                masks[t][owner[t] == k] = 1

    # Audio: each sounding object's recording in its "on" seconds, own gain, plus a noise floor.
    n = SAMPLE_RATE
    audio = np.zeros(num_frames * n, np.float32)
    for o in objs:
        if not o["sounding"]:
            continue
        gain = 10 ** (rng.uniform(-6, 0) / 20)
        track = _window(o["sound"], num_frames * n, rng) * gain
        for t in range(num_frames):
            if o["on"][t]:
                audio[t * n : (t + 1) * n] += _fade(track[t * n : (t + 1) * n])
    noise_db = rng.uniform(-50, -35)
    audio += rng.normal(0, 10 ** (noise_db / 20), audio.shape).astype(np.float32)
    audio *= 0.9 / max(np.abs(audio).max(), 1e-6)

    visible = {k: int((owner == k).sum()) for k in range(len(objs))}
    info = {
        "objects": [
            {
                "category": o["category"],
                "sounding": o["sounding"],
                "on": o["on"].tolist() if o["sounding"] else [False] * num_frames,
                "visible_pixels": visible[k],
                "source": o.get("sound_source", ""),
                **({} if o.get("on_screen", True) else {"on_screen": False}),
            }
            for k, o in enumerate(objs)
        ],
        "num_distractors": num_distractors,
        "sounding_categories": sorted({o["category"] for o in objs if o["sounding"]}),
    }
    return Clip(frames, masks, (owner + 1).astype(np.uint8), audio, info)

"""AVS-Synth: an offline audio-visual segmentation benchmark written in AVSBench's exact layout.

Every clip shows several salient objects on a real background; only the audio says which of them
sound. S4-like clips: one object sounds for all 5 s, 1-3 silent distractors of other categories.
MS3-like clips: 2-3 objects switch on/off per second, plus silent distractors; the mask of frame
t is the union of the visible parts of the objects sounding in second t (empty when none does).

Splits: train, val, test (new compositions of the training pool), test_unseen (recordings, cut-outs
and backgrounds held out of training) and test_openset (categories never seen in training).
Deterministic from a seed: clip i of a split depends only on (seed, subset, split, i), which is what
makes an interrupted run resumable.
"""

import csv
import json
import os
import pickle
from dataclasses import asdict, dataclass

import numpy as np
import soundfile as sf
from PIL import Image
from tqdm import tqdm

from ..utils.outputs import MARKER, OutputDirError, prepare_output_dir, write_marker
from .audio import waveform_to_log_mel
from .datasets.avsbench import clip_paths, csv_path, data_dir, instance_map_paths
from .synth_media import SAMPLE_RATE, build_asset_bank, real_media_available
from .synth_probes import PROBES, compose_probe

__all__ = [
    "SynthConfig",
    "generate_avs_synth",
    "ensure_avs_synth",
    "compose_clip",
    "DEFAULT_SIZES",
    "SPLITS",
    "splits_of",
]

SPLITS = ("train", "val", "test", "test_unseen", "test_openset")


def splits_of(subset):
    """The splits a tree of `subset` may hold: SPLITS and the probe splits (synth_probes.py)."""
    return SPLITS + PROBES[subset]


DEFAULT_SIZES = {
    "s4": {"train": 2000, "val": 200, "test": 500, "test_unseen": 500, "test_openset": 500},
    "ms3": {"train": 600, "val": 100, "test": 200, "test_unseen": 200, "test_openset": 200},
}
T_FRAMES, SIZE = 5, 224
TOOL = "datasets/prepare_avs_synth.py"
# in <root>.partial (kept in the finished tree): which tool generates it, with which settings
SETTINGS_RECORD = ".autr_d2_generation.json"
OWNED = ["Single-source", "Multi-sources", "stats.json", "contact_sheet_*.png", SETTINGS_RECORD]
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


def _rng(seed, subset, split, index):
    return np.random.default_rng([seed, _SUBSET_ID[subset], SPLITS.index(split), index])


def _pick(items, pool, rng):
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
    bg = _pick(bank.backgrounds, pool, rng)[0]
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


def make_object(cat, pool, rng, sounding, on=None):
    """One object of category `cat`: a cut-out of the pool at a random size and flip, and, when
    `sounding`, one of its recordings and its per-second "on" pattern."""
    longest = rng.uniform(0.35, 0.6) * SIZE
    rgba = _resize_rgba(_pick(cat.images, pool, rng)[0], longest, bool(rng.integers(2)))
    obj = {
        "category": cat.name,
        "rgba": rgba,
        "sounding": sounding,
        "brightness": rng.uniform(0.8, 1.2),
    }
    if sounding:
        sound, _, src = _pick(cat.sounds, pool, rng)
        obj["sound"], obj["sound_source"] = sound, src
        obj["on"] = on
    return obj


def compose_clip(bank, subset, split, rng, cfg=None, num_frames=T_FRAMES):
    """One clip: frames, per-frame masks of the sounding objects, ``num_frames`` seconds of audio
    (5, AVSBench's clips; 10 for AVSBench-semantic's v2-like clips), and its info."""
    cfg = cfg or SynthConfig()
    pool = "unseen" if split == "test_unseen" else "train"
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
        objs.append(make_object(cat, pool, rng, sounding, on=None))
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


# ------------------------------------------------------------------------------ writing
def _atomic(path, write):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp{os.path.splitext(path)[1]}"
    write(tmp)
    os.replace(tmp, path)  # a killed run leaves a .tmp file, never a truncated target


def _write_clip(clip, root, subset, split, name, category, all_masks=True):
    frames, masks, pkl, wav = clip_paths(root, subset, split, name, category, all_masks)
    masks = [m for m in masks if m]  # S4 train with all_masks=False: frame 1, as in AVSBench
    instances = instance_map_paths(root, subset, split, name, category)
    if all(os.path.isfile(p) for p in frames + masks + instances + [wav, pkl]):
        return  # written by an earlier (interrupted) run: same seed, same content
    for t, p in enumerate(instances):
        _atomic(p, lambda f, t=t: Image.fromarray(clip.instances[t]).save(f, compress_level=1))
    for t, p in enumerate(frames):
        _atomic(p, lambda f, t=t: Image.fromarray(clip.frames[t]).save(f, compress_level=1))
    for t, p in enumerate(masks):
        _atomic(p, lambda f, t=t: Image.fromarray(clip.masks[t] * 255).save(f, compress_level=1))
    pcm = np.round(clip.audio * 32767).astype(np.int16)
    _atomic(wav, lambda f: sf.write(f, pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV"))
    mel = waveform_to_log_mel(pcm.astype(np.float32) / 32768.0, SAMPLE_RATE, T_FRAMES, wav)

    def dump(f):
        with open(f, "wb") as fh:
            pickle.dump(mel, fh)

    _atomic(pkl, dump)


def _split_stats(infos):
    cats, n_obj, area, silent, frames = {}, [], [], 0, 0
    for info in infos:
        for c in info["sounding_categories"]:
            cats[c] = cats.get(c, 0) + 1
        n_obj.append(len(info["objects"]))
        area.extend(info["mask_area"])
        silent += sum(a == 0 for a in info["mask_area"])
        frames += len(info["mask_area"])
    return {
        "clips": len(infos),
        "clips_per_sounding_category": dict(sorted(cats.items())),
        "objects_per_clip_mean": float(np.mean(n_obj)) if n_obj else 0.0,
        "mask_area_mean": float(np.mean(area)) if area else 0.0,
        "silent_frame_share": silent / max(frames, 1),
    }


def _contact_sheet(root, subset, samples):
    """A few clips: frames on top, frames with the ground-truth mask tinted below."""
    rows = []
    for clip in samples:
        top = np.concatenate(list(clip.frames), axis=1)
        tint = clip.frames.astype(np.float32)
        tint[clip.masks == 1] = tint[clip.masks == 1] * 0.4 + np.array([255, 40, 40]) * 0.6
        rows += [top, np.concatenate(list(tint.astype(np.uint8)), axis=1)]
    Image.fromarray(np.concatenate(rows, axis=0)).save(f"{root}/contact_sheet_{subset}.png")


def start_tree(root, overwrite, tool, owned, settings):
    """Where a generator writes `root`: ``<root>.partial`` (kept, so an interrupted run resumes),
    renamed to `root` by :func:`finish_tree` when complete. An existing `root` is an error unless
    `overwrite`, and then only a tree that `tool` generated (it carries its marker) is removed,
    and only the `owned` entries in it. A ``.partial`` folder is resumed only when the same tool
    began it with the same `settings` (a JSON-able dict of everything that decides the clips);
    anything else there is an error, so two settings never mix in one dataset."""
    if os.path.exists(root):
        if not overwrite:
            raise FileExistsError(f"{root} exists; pass --overwrite to replace it")
        prepare_output_dir(root, tool, owned, overwrite=True)
        os.remove(os.path.join(root, MARKER))
        os.rmdir(root)
    work = root.rstrip("/") + ".partial"
    record = {"tool": tool, "settings": settings}
    if os.path.isdir(work) and os.listdir(work):
        try:
            with open(os.path.join(work, SETTINGS_RECORD)) as f:
                began = json.load(f)
        except (OSError, ValueError):
            raise OutputDirError(
                f"{work}: exists and is not an interrupted run of {tool} (no readable "
                f"{SETTINGS_RECORD}); move it away or generate elsewhere"
            ) from None
        if began != record:
            raise OutputDirError(
                f"{work}: an interrupted run with other settings ({began.get('settings')}; now "
                f"{settings}); rerun with those settings to resume it, or delete that folder"
            )
        return work
    os.makedirs(work, exist_ok=True)

    def write(path):
        with open(path, "w") as f:
            json.dump(record, f)

    _atomic(os.path.join(work, SETTINGS_RECORD), write)
    return work


def finish_tree(work, root, tool):
    """Mark the complete ``<root>.partial`` as `tool`'s tree and rename it to `root`."""
    write_marker(work, tool)
    os.replace(work, root)


def resolved_media(media):
    """The media a bank of `media` uses: "auto" becomes "real" or "procedural"."""
    if media == "auto":
        return "real" if real_media_available() else "procedural"
    return media


def generate_avs_synth(
    root, subsets=("s4", "ms3"), sizes=None, cfg=None, overwrite=False, progress=True
):
    """Write AVS-Synth under `root` in AVSBench's layout. Returns the per-split statistics.

    The data is written to ``<root>.partial`` and renamed when complete, so `root` either holds a
    whole dataset or nothing. Rerunning after an interruption resumes in ``<root>.partial``
    (clips are deterministic, finished ones are kept). An existing `root` is never replaced
    without ``overwrite=True``.
    """
    sizes = sizes or DEFAULT_SIZES
    cfg = cfg or SynthConfig()
    if cfg.s4_train_masks not in ("all", "first"):
        raise ValueError(f"s4_train_masks must be 'all' or 'first', got {cfg.s4_train_masks!r}")
    settings = {"generator": "avs_synth", **asdict(cfg), "media": resolved_media(cfg.media)}
    work = start_tree(root, overwrite, TOOL, OWNED, settings)
    bank = build_asset_bank(cfg.media, cfg.seed)
    print(bank.summary())
    stats = {"media": bank.kind, "seed": cfg.seed}
    dense = cfg.s4_train_masks == "all"
    stats["s4_train_masks"] = cfg.s4_train_masks
    for subset in subsets:
        rows, infos_all = [], []
        samples = []
        for split in splits_of(subset):
            n = sizes[subset].get(split, 0)
            infos = []
            it = range(n)
            if progress:
                it = tqdm(it, desc=f"AVS-Synth {subset} {split}", unit="clip")
            for i in it:
                if split in PROBES[subset]:
                    clip = compose_probe(bank, subset, split, i, cfg.seed, cfg)
                else:
                    clip = compose_clip(bank, subset, split, _rng(cfg.seed, subset, split, i), cfg)
                name = f"{subset}_{split}_{i:05d}"
                category = clip.info["sounding_categories"][0]
                _write_clip(clip, work, subset, split, name, category, dense)
                clip.info.update(
                    clip_id=name,
                    split=split,
                    mask_area=clip.masks.reshape(T_FRAMES, -1).mean(1).tolist(),
                )
                infos.append(clip.info)
                rows.append((name, category, split))
                if split == "test" and len(samples) < 4:
                    samples.append(clip)
            if n:
                stats[f"{subset}_{split}"] = _split_stats(infos)
            infos_all += infos
        if not rows:
            continue
        with open(f"{data_dir(work, subset)}/clip_info.jsonl", "w") as f:
            for info in infos_all:
                f.write(json.dumps(info) + "\n")
        if subset == "s4":
            header, body = (
                ["name", "start", "category", "split"],
                [(n, 0, c, s) for n, c, s in rows],
            )
        else:
            header, body = ["video_id", "split"], [(n, s) for n, _, s in rows]
        with open(csv_path(work, subset), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(body)
        if samples:
            _contact_sheet(work, subset, samples)
    with open(f"{work}/stats.json", "w") as f:
        json.dump(stats, f, indent=1)
    finish_tree(work, root, TOOL)
    return stats


def ensure_avs_synth(root, sizes, cfg=None):
    """Reuse a finished AVS-Synth at `root` (it has stats.json), else generate it with `sizes`
    (``{subset: {split: n}}``; missing splits get 0). Used by tools/run_demo.py and run_study.py.

    A finished tree is reused whatever its clip counts, but one that lacks a split `sizes` asks
    for (an older run's sizes) is an error naming the splits, rather than a study that fails later.
    """
    stats_path = os.path.join(root, "stats.json")
    if os.path.isfile(stats_path):
        with open(stats_path) as f:
            stats = json.load(f)
        missing = [
            f"{sub}_{split}"
            for sub, splits in sizes.items()
            for split, n in splits.items()
            if n and not stats.get(f"{sub}_{split}", {}).get("clips", 0)
        ]
        if missing:
            raise ValueError(
                f"{root} holds an AVS-Synth generated without {', '.join(missing)}: remove it "
                f"or point to another datasets folder"
            )
        print(f"reusing {root}")
        return
    subsets = tuple(s for s in ("s4", "ms3") if any(sizes.get(s, {}).values()))
    generate_avs_synth(root, subsets, sizes, cfg)


def categories_of(root, subset):
    """Sounding categories listed in a generated tree (used for metadata)."""
    path = f"{data_dir(root, subset)}/clip_info.jsonl"
    if not os.path.isfile(path):
        return []
    with open(path) as f:
        return sorted({c for line in f for c in json.loads(line)["sounding_categories"]})

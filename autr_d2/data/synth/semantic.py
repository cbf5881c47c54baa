"""AVS-Synth semantic: AVS-Synth's clips written in AVSBench-semantic's exact layout.

The same generator (``synth.compose_clip``) knows every object's category and when it sounds, so
a frame's label map holds the class of each sounding object where it is visible (silent objects
and seconds are background), colour-coded with AVSBench's palette. Subsets as in AVSBench-semantic:
``v1s`` (5 frames, one object sounds throughout, like S4), ``v1m`` (5 frames, several objects
switching on and off, like MS3) and ``v2`` (10 frames, alternately one and several sources).
``label2idx.json`` lists background and the generator's training categories, so the AVSS loader
(``data/datasets/avss.py``), mapper and evaluator run on it offline.
"""

import csv
import json
import os

import numpy as np
import soundfile as sf
from PIL import Image
from tqdm import tqdm

from ..datasets.avss import AVSS_CLIP_FRAMES, AVSS_SUBSETS
from ..palette import labels_to_colors
from .bank import SAMPLE_RATE, build_asset_bank
from .composition import SynthConfig, compose_clip
from .tree import (
    SETTINGS_RECORD,
    _atomic,
    finish_tree,
    generation_settings,
    start_tree,
    write_json,
)

__all__ = ["SEMANTIC_SIZES", "SEMANTIC_SPLITS", "generate_avs_synth_semantic", "semantic_labels"]

SEMANTIC_SPLITS = ("train", "val", "test")
SEMANTIC_SIZES = {
    "v1s": {"train": 600, "val": 60, "test": 150},
    "v1m": {"train": 200, "val": 20, "test": 50},
    "v2": {"train": 400, "val": 40, "test": 100},
}
TOOL = "datasets/prepare_avs_synth.py --semantic"
OWNED = [*AVSS_SUBSETS, "metadata.csv", "label2idx.json", "clip_info.jsonl", "stats.json"]
OWNED += ["contact_sheet.png", SETTINGS_RECORD]
_STREAM = 7  # keeps these clips' random streams apart from the binary AVS-Synth's


def semantic_labels(clip, class_index):
    """A clip's ``[T, H, W]`` uint8 label maps: ``class_index[category]`` where a sounding object
    is visible in a second it sounds, 0 elsewhere."""
    labels = np.zeros(clip.instances.shape, np.uint8)
    for k, obj in enumerate(clip.info["objects"], start=1):
        if not obj["sounding"]:
            continue
        for t, on in enumerate(obj["on"]):
            if on:
                labels[t][clip.instances[t] == k] = class_index[obj["category"]]
    return labels


def _clip_kind(label, index):
    """compose_clip's subset for a clip: S4-like single source or MS3-like multi source."""
    if label == "v1s":
        return "s4"
    if label == "v1m":
        return "ms3"
    return "s4" if index % 2 == 0 else "ms3"


def _uid(label, split, index):
    """(vid, uid) in AVSBench-semantic's naming: uid = vid_<start ms>_<end ms>, v1m: uid = vid."""
    vid = f"synth{label}{split}{index:05d}"
    if label == "v1m":
        return vid, vid
    return vid, f"{vid}_0_{AVSS_CLIP_FRAMES[label] * 1000}"


def _write_clip(clip, labels, out, clip_dir, num_classes, labelled):
    """frames/{t}.jpg, labels_rgb/{t}.png for the `labelled` frames, audio.wav (in `clip_dir`
    of the generator's OutputFolder `out`)."""
    frames = [os.path.join(clip_dir, "frames", f"{t}.jpg") for t in range(len(clip.frames))]
    pngs = [os.path.join(clip_dir, "labels_rgb", f"{t}.png") for t in labelled]
    wav = os.path.join(clip_dir, "audio.wav")
    if all(os.path.isfile(p) for p in frames + pngs + [wav]):
        return  # written by an earlier (interrupted) run: same seed, same content
    for t, p in enumerate(frames):
        _atomic(p, lambda f, t=t: Image.fromarray(clip.frames[t]).save(f, quality=92), out)
    for t, p in zip(labelled, pngs):
        rgb = labels_to_colors(labels[t], num_classes)
        _atomic(p, lambda f, rgb=rgb: Image.fromarray(rgb).save(f, compress_level=1), out)
    pcm = np.round(clip.audio * 32767).astype(np.int16)
    _atomic(wav, lambda f: sf.write(f, pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV"), out)


def _contact_sheet(out, samples, num_classes):
    """Frames on top, their colour labels blended over them below, one pair of rows per clip."""
    rows = []
    for clip, labels in samples:
        colors = labels_to_colors(labels, num_classes).astype(np.float32)
        shown = np.where(labels[..., None] > 0, 0.4 * clip.frames + 0.6 * colors, clip.frames)
        rows += [np.concatenate(list(clip.frames), 1), np.concatenate(list(shown), 1)]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
    sheet = Image.fromarray(np.concatenate(rows, 0).astype(np.uint8))
    _atomic(os.path.join(out.path, "contact_sheet.png"), sheet.save, out)


def generate_avs_synth_semantic(root, sizes=None, cfg=None, overwrite=False, progress=True):
    """Write AVS-Synth semantic under `root` in AVSBench-semantic's layout; returns statistics.

    Args:
        sizes: ``{label: {split: clips}}`` (missing entries: 0); default SEMANTIC_SIZES.
        cfg: SynthConfig (seed, media, distractors; ``s4_train_masks`` "first" labels only
            frame 0 of v1s training clips, AVSBench-semantic's protocol, "all" every frame).
    Like the binary generator it writes ``<root>.partial`` and renames it when complete, resumes
    an interrupted run, and replaces an existing `root` only with ``overwrite``.
    """
    sizes = SEMANTIC_SIZES if sizes is None else sizes
    cfg = cfg or SynthConfig()
    out = start_tree(root, overwrite, TOOL, OWNED, generation_settings(cfg, "semantic"))
    work = out.path
    bank = build_asset_bank(cfg.media, cfg.seed)
    classes = ["background", *sorted(bank.categories)]
    class_index = {c: i for i, c in enumerate(classes)}
    rows, infos, samples = [], [], []
    stats = {"media": bank.kind, "seed": cfg.seed, "classes": len(classes)}
    stats["v1s_train_labels"] = cfg.s4_train_masks
    for label in AVSS_SUBSETS:
        t = AVSS_CLIP_FRAMES[label]
        for split in SEMANTIC_SPLITS:
            n = sizes.get(label, {}).get(split, 0)
            it = tqdm(range(n), desc=f"AVS-Synth semantic {label} {split}", disable=not progress)
            freq = {}
            for i in it:
                rng = np.random.default_rng(
                    [cfg.seed, _STREAM, AVSS_SUBSETS.index(label), SEMANTIC_SPLITS.index(split), i]
                )
                clip = compose_clip(bank, _clip_kind(label, i), split, rng, cfg, num_frames=t)
                labels = semantic_labels(clip, class_index)
                first = label == "v1s" and split == "train" and cfg.s4_train_masks == "first"
                vid, uid = _uid(label, split, i)
                clip_dir = os.path.join(work, label, uid)
                _write_clip(clip, labels, out, clip_dir, len(classes), [0] if first else range(t))
                sounding = clip.info["sounding_categories"]
                rows.append((vid, uid, 0, 0, "_".join(sounding), split, label))
                infos.append({"uid": uid, "label": label, "split": split, **clip.info})
                for c in sounding:
                    freq[c] = freq.get(c, 0) + 1
                if split == "test" and len(samples) < 3 and (label == "v2" or not samples):
                    samples.append((clip, labels))
            if n:
                stats[f"{label}_{split}"] = {
                    "clips": n,
                    "clips_per_class": dict(sorted(freq.items())),
                }

    def table(path):
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["vid", "uid", "s_min", "s_sec", "a_obj", "split", "label"])
            w.writerows(rows)

    def lines(path):
        with open(path, "w") as f:
            f.writelines(json.dumps(info) + "\n" for info in infos)

    _atomic(os.path.join(work, "metadata.csv"), table, out)
    # 1-based, as released
    write_json(out, "label2idx.json", {c: i + 1 for i, c in enumerate(classes)})
    _atomic(os.path.join(work, "clip_info.jsonl"), lines, out)
    write_json(out, "stats.json", stats)
    if samples:
        _contact_sheet(out, samples, len(classes))
    finish_tree(out, root)
    return stats

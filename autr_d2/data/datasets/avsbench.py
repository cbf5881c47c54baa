"""AVSBench-object (S4 single-source, MS3 multi-source) in its official on-disk layout.

The same loader serves the offline benchmark AVS-Synth, which is written in exactly this layout
(`register_all_avs_synth`). One dataset dict per clip (DESIGN.md §5.2):
``file_names`` (T frame paths), ``sem_seg_file_names`` (T mask paths, None where not annotated),
``audio_file`` (.pkl log-mel if present, else the .wav), ``audio_wav`` (the .wav; may be absent),
``category``, ``clip_id``, ``split``, ``height``, ``width``, ``subset`` ("s4" or "ms3").
"""

import csv
import json
import os

from detectron2.data import DatasetCatalog, MetadataCatalog

__all__ = [
    "AVSBENCH_S4_CATEGORIES",
    "load_avs_clips",
    "clip_paths",
    "instance_map_paths",
    "register_avs_dataset",
    "register_all_avsbench",
    "DatasetLayoutError",
]

# The 23 S4 categories, as in AVSBench's preprocess_s4.py.
AVSBENCH_S4_CATEGORIES = [
    "baby_laughter",
    "female_singing",
    "male_speech",
    "dog_barking",
    "cat_meowing",
    "lions_roaring",
    "horse_clip-clop",
    "coyote_howling",
    "mynah_bird_singing",
    "playing_acoustic_guitar",
    "playing_tabla",
    "playing_violin",
    "playing_piano",
    "playing_ukulele",
    "playing_glockenspiel",
    "helicopter",
    "race_car",
    "driving_buses",
    "ambulance_siren",
    "typing_on_computer_keyboard",
    "chainsawing_trees",
    "cap_gun_shooting",
    "lawn_mowing",
]
NUM_FRAMES = 5
FRAME_SIZE = 224  # AVSBench stores every frame resized to 224x224
HELP = "see datasets/README.md for the expected layout"

# Relative locations inside the dataset root, per subset.
_LAYOUT = {
    "s4": {
        "csv": "Single-source/s4_meta_data.csv",
        "data": "Single-source/s4_data",
    },
    "ms3": {
        "csv": "Multi-sources/ms3_meta_data.csv",
        "data": "Multi-sources/ms3_data",
    },
}


class DatasetLayoutError(FileNotFoundError):
    """A dataset file or folder is missing or malformed; the message names it."""


def _read_csv(path):
    if not os.path.isfile(path):
        raise DatasetLayoutError(f"{path}: metadata CSV not found ({HELP})")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return rows


def data_dir(root, subset):
    """``<root>/Single-source/s4_data`` or ``<root>/Multi-sources/ms3_data``."""
    return os.path.join(root, _LAYOUT[subset]["data"])


def csv_path(root, subset):
    return os.path.join(root, _LAYOUT[subset]["csv"])


def clip_paths(root, subset, split, name, category=None, all_masks=False):
    """Frame, mask, .pkl and .wav paths of one clip, following AVSBench's naming quirks.

    Returns ``(frames, masks, pkl, wav)``; ``masks`` holds None where AVSBench has no mask (S4
    train frames 2-5) unless ``all_masks``, which names where such masks would be. The generator
    writes with this function and the loader reads with it.
    """
    d = data_dir(root, subset)
    ks = range(1, NUM_FRAMES + 1)
    if subset == "s4":
        stem = f"{split}/{category}/{name}"
        frames = [f"{d}/visual_frames/{stem}/{name}_{k}.png" for k in ks]
        masks = [f"{d}/gt_masks/{stem}/{name}_{k}.png" for k in ks]
        # S4 train clips carry a mask for frame 1 only.
        if split == "train" and not all_masks:
            masks = [masks[0]] + [None] * (NUM_FRAMES - 1)
    else:
        stem = f"{split}/{name}"
        # MS3 frames have no split level and an ".mp4_" infix.
        frames = [f"{d}/visual_frames/{name}/{name}.mp4_{k}.png" for k in ks]
        masks = [f"{d}/gt_masks/{stem}/{name}_{k}.png" for k in ks]
    return frames, masks, f"{d}/audio_log_mel/{stem}.pkl", f"{d}/audio_wav/{stem}.wav"


def instance_map_paths(root, subset, split, name, category=None):
    """AVS-Synth only: per-frame object-id maps (0 = background, k = object k of clip_info).

    They let the evaluator score baselines that need objects (e.g. "the largest object"); AVSBench
    has no such files.
    """
    stem = f"{split}/{category}/{name}" if subset == "s4" else f"{split}/{name}"
    d = data_dir(root, subset)
    return [f"{d}/instance_maps/{stem}/{name}_{k}.png" for k in range(1, NUM_FRAMES + 1)]


def load_avs_clips(root, subset, split, check_files=True):
    """Read one split of an AVSBench-layout dataset.

    Args:
        root: the dataset folder (``.../avsbench_data`` or ``.../avs_synth``).
        subset: "s4" or "ms3".
        split: a value of the CSV's split column ("train", "val", "test", ...).
        check_files: verify up front that every listed file exists (cheap: one stat per file),
            so a broken tree fails at start-up instead of an hour into training.
    Returns:
        list[dict], one per clip, in CSV order.
    """
    if subset not in _LAYOUT:
        raise ValueError(f"subset must be one of {sorted(_LAYOUT)}, got {subset!r}")
    csv_file = csv_path(root, subset)
    rows = _read_csv(csv_file)
    # Optional per-clip extras (AVS-Synth writes them; AVSBench has none).
    extras_path = os.path.join(data_dir(root, subset), "clip_info.jsonl")
    extras = {}
    if os.path.isfile(extras_path):
        with open(extras_path) as f:
            extras = {d["clip_id"]: d for d in map(json.loads, f)}

    dicts = []
    for line_no, row in enumerate(rows, start=2):
        if row.get("split") != split:
            continue
        if subset == "s4":
            name, cat = row["name"], row["category"]
        else:
            name, cat = row["video_id"], row.get("category", "") or "multi"
        frames, masks, pkl, wav = clip_paths(root, subset, split, name, cat, all_masks=True)
        if subset == "s4" and split == "train":
            # AVSBench annotates frame 1 only; masks of frames 2-5 are used where a dataset has
            # them (AVS-Synth written with --s4-train-masks all).
            masks = [masks[0]] + [m if os.path.isfile(m) else None for m in masks[1:]]
        audio = pkl if os.path.isfile(pkl) else wav
        if check_files:
            for path in frames + [m for m in masks if m] + [audio]:
                if not os.path.isfile(path):
                    raise DatasetLayoutError(
                        f"{csv_file} line {line_no} (clip {name!r}, split {split!r}) points to a "
                        f"missing file: {path} ({HELP})"
                    )
        record = {
            "file_names": frames,
            "sem_seg_file_names": masks,
            "audio_file": audio,
            # the sound itself (train-time audio augmentation reads it; it checks that it exists)
            "audio_wav": wav,
            "category": cat,
            "clip_id": name,
            "split": split,
            "subset": subset,
            "height": FRAME_SIZE,
            "width": FRAME_SIZE,
        }
        if name in extras:
            record["info"] = extras[name]
            inst = instance_map_paths(root, subset, split, name, cat)
            if os.path.isfile(inst[0]):
                record["instance_file_names"] = inst
        dicts.append(record)
    if not dicts:
        raise DatasetLayoutError(f"{csv_file}: no clip has split {split!r} ({HELP})")
    return dicts


def train_categories(dataset_names):
    """Sorted clip categories of registered datasets (the labels of MODEL.AUDIO.CATEGORY_WEIGHT).

    Read from the dataset dicts, not the metadata, so a tree generated after registration counts.
    """
    return sorted({d["category"] for n in dataset_names for d in DatasetCatalog.get(n)})


def register_avs_dataset(name, root, subset, split, categories):
    """Register one split under `name` (no-op when already registered, e.g. on re-import)."""
    if name in DatasetCatalog.list():
        return
    DatasetCatalog.register(name, lambda r=root, s=subset, sp=split: load_avs_clips(r, s, sp))
    MetadataCatalog.get(name).set(
        dataset_root=root,
        subset=subset,
        split=split,
        categories=list(categories),
        stuff_classes=["background", "sounding"],
        stuff_colors=[(0, 0, 0), (255, 64, 64)],
        ignore_label=255,
        evaluator_type="avs",
    )


def register_all_avsbench(datasets_root):
    """avsbench_s4_{train,val,test} and avsbench_ms3_{train,val,test} under <root>/avsbench_data."""
    root = os.path.join(datasets_root, "avsbench_data")
    for split in ("train", "val", "test"):
        register_avs_dataset(f"avsbench_s4_{split}", root, "s4", split, AVSBENCH_S4_CATEGORIES)
        register_avs_dataset(f"avsbench_ms3_{split}", root, "ms3", split, ["multi"])

"""AVSBench-semantic (AVSS) in its official on-disk layout, and AVS-Synth's semantic variant.

Layout (AVSBench ``avs_scripts/avss/config.py`` and ``color_dataloader.py::V2Dataset``)::

    <root>/metadata.csv                      vid,uid,s_min,s_sec,a_obj,split,label
    <root>/label2idx.json                    class name -> id; class index = position of the key
    <root>/<label>/<uid>/frames/{0..T-1}.jpg label in {v1s, v1m, v2}; T = 5 (v1s, v1m) or 10 (v2)
    <root>/<label>/<uid>/labels_rgb/{k}.png  colour-coded classes (data/palette.py)
    <root>/<label>/<uid>/audio.wav

One dataset dict per clip (DESIGN.md §5.2): ``file_names`` (T frame paths), ``sem_seg_file_names``
(T label paths, None where a frame has no label: v1s train labels frame 0 only), ``audio_file``,
``clip_id`` (``<label>/<uid>``), ``subset`` and ``category`` (the label), ``split``, ``height`` =
``width`` = 224 (the official metric is computed on 224x224 label maps), ``sem_seg_format``
"avss_rgb" and ``num_classes`` (label2idx's entries, background included), which tell the mapper
and the evaluator how to decode the labels.
"""

import csv
import json
import os

from detectron2.data import DatasetCatalog, MetadataCatalog

from ..palette import AVSS_CLASSES, avss_palette
from .avsbench import DatasetLayoutError

__all__ = [
    "AVSS_CLIP_FRAMES",
    "AVSS_PADDED_FRAMES",
    "AVSS_SUBSETS",
    "load_avss_clips",
    "read_label2idx",
    "register_all_avss",
    "register_avss_dataset",
]

AVSS_SUBSETS = ("v1s", "v1m", "v2")
# Frames per clip of each subset ("5 for v1, 10 for new v2", color_dataloader.py).
AVSS_CLIP_FRAMES = {"v1s": 5, "v1m": 5, "v2": 10}
# The official loader pads every clip to 10 frames (vid_temporal_mask_flag).
AVSS_PADDED_FRAMES = 10
EVAL_SIZE = 224  # val/test frames and labels are resized to 224x224 (color_dataloader.resize_img)
HELP = "see datasets/README.md for the AVSBench-semantic layout"


def read_label2idx(root):
    """The class names of ``<root>/label2idx.json`` in the file's key order (index 0 must be
    "background"). Only the order counts: AVSBench never reads the ids (get_v2_pallete)."""
    path = os.path.join(root, "label2idx.json")
    if not os.path.isfile(path):
        raise DatasetLayoutError(f"{path}: class list not found ({HELP})")
    try:
        with open(path) as f:
            table = json.load(f)
    except (OSError, ValueError) as e:
        raise DatasetLayoutError(f"{path}: not readable as JSON ({e})") from e
    if not isinstance(table, dict) or len(table) < 2:
        raise DatasetLayoutError(
            f"{path}: expected a JSON object mapping at least 2 class names to ids"
        )
    names = list(table)
    if names[0] != "background":
        raise DatasetLayoutError(
            f"{path}: the first class must be 'background' (class index 0, black in the "
            f"colour labels), got {names[0]!r}"
        )
    return names


def _label_paths(clip_dir, n):
    return [os.path.join(clip_dir, "labels_rgb", f"{k}.png") for k in range(n)]


def load_avss_clips(root, subsets, split, check_files=True):
    """Read one split of an AVSS-layout dataset.

    Args:
        root: the dataset folder (holds metadata.csv and label2idx.json).
        subsets: labels to keep, any of "v1s", "v1m", "v2" (the official benchmark: all three,
            in CSV order).
        split: a value of the CSV's split column.
        check_files: verify up front that every frame, label and wav exists.
    Returns:
        list[dict], one per clip, in CSV order.
    """
    bad = [s for s in subsets if s not in AVSS_SUBSETS]
    if bad:
        raise ValueError(f"AVSS subsets must be among {AVSS_SUBSETS}, got {bad}")
    num_classes = len(read_label2idx(root))
    csv_file = os.path.join(root, "metadata.csv")
    if not os.path.isfile(csv_file):
        raise DatasetLayoutError(f"{csv_file}: metadata CSV not found ({HELP})")
    with open(csv_file, newline="") as f:
        reader = csv.DictReader(f)
        missing = {"uid", "split", "label"} - set(reader.fieldnames or ())
        if missing:
            raise DatasetLayoutError(
                f"{csv_file}: no column {', '.join(sorted(missing))} (expected the header "
                "vid,uid,s_min,s_sec,a_obj,split,label)"
            )
        rows = list(reader)
    dicts = []
    for line_no, row in enumerate(rows, start=2):
        label = row["label"]
        if row["split"] != split:
            continue
        if label not in AVSS_CLIP_FRAMES:
            raise DatasetLayoutError(
                f"{csv_file} line {line_no}: label {label!r} is not one of {AVSS_SUBSETS}"
            )
        if label not in subsets:
            continue
        uid = row["uid"]
        clip_dir = os.path.join(root, label, uid)
        t = AVSS_CLIP_FRAMES[label]
        frames = [os.path.join(clip_dir, "frames", f"{k}.jpg") for k in range(t)]
        labels = _label_paths(clip_dir, t)
        # v1s train clips are labelled on frame 0 only (the official gt_temporal_mask_flag);
        # labels of other frames are used where a dataset has them. Every other clip is labelled
        # on every frame (the official loader asserts it for val/test).
        required = labels[:1] if (label == "v1s" and split == "train") else labels
        labels = [p if p in required or os.path.isfile(p) else None for p in labels]
        audio = os.path.join(clip_dir, "audio.wav")
        if check_files:
            for path in frames + required + [audio]:
                if not os.path.isfile(path):
                    raise DatasetLayoutError(
                        f"{csv_file} line {line_no} (clip {label}/{uid}, split {split!r}) points "
                        f"to a missing file: {path} ({HELP})"
                    )
        dicts.append(
            {
                "file_names": frames,
                "sem_seg_file_names": labels,
                "audio_file": audio,
                "clip_id": f"{label}/{uid}",
                "category": label,
                "subset": label,
                "split": split,
                "height": EVAL_SIZE,
                "width": EVAL_SIZE,
                "sem_seg_format": "avss_rgb",
                "num_classes": num_classes,
                "sounding_objects": row.get("a_obj", ""),
            }
        )
    if not dicts:
        raise DatasetLayoutError(
            f"{csv_file}: no clip has split {split!r} and label in {tuple(subsets)} ({HELP})"
        )
    return dicts


def _describe(name, root, classes):
    """Set the class names and colours of `name` (registration, or the first load of a tree
    written after registration); a class list that changed is an error naming the file."""
    meta = MetadataCatalog.get(name)
    known = meta.get("stuff_classes", None)
    if known is not None and list(known) != list(classes):
        raise DatasetLayoutError(
            f"{os.path.join(root, 'label2idx.json')}: lists {len(classes)} classes "
            f"({', '.join(classes[:4])}, ...) but {name} was registered with {len(known)} "
            f"({', '.join(known[:4])}, ...)"
        )
    if known is None:
        meta.set(
            stuff_classes=list(classes),
            stuff_colors=[tuple(int(v) for v in c) for c in avss_palette(len(classes))],
        )


def _load(name, root, subsets, split):
    dicts = load_avss_clips(root, subsets, split)
    _describe(name, root, read_label2idx(root))
    return dicts


def register_avss_dataset(name, root, subsets, split, classes=None):
    """Register one split of an AVSS-layout tree under `name` (no-op when already registered).

    `classes`: the names to describe it with before the tree is read (None: label2idx.json's,
    when it exists; else they are set on the first load).
    """
    if name in DatasetCatalog.list():
        return
    subsets = tuple(subsets)
    DatasetCatalog.register(name, lambda: _load(name, root, subsets, split))
    MetadataCatalog.get(name).set(
        dataset_root=root,
        subsets=list(subsets),
        split=split,
        ignore_label=255,  # AVSS labels have no ignored pixel; D2 tools expect the key
        evaluator_type="avss",
    )
    if classes is None and os.path.isfile(os.path.join(root, "label2idx.json")):
        try:
            classes = read_label2idx(root)
        except DatasetLayoutError:
            classes = None  # reported when the split is loaded
    if classes is not None:
        _describe(name, root, classes)


def register_all_avss(datasets_root):
    """``avsbench_semantic_{v1s,v1m,v2,all}_{train,val,test}`` under
    <root>/avsbench_semantic and ``avs_synth_semantic_*`` (the same names) under
    <root>/avs_synth_semantic; "all" is the official benchmark (the three subsets together)."""
    trees = {
        "avsbench_semantic": AVSS_CLASSES,  # checked against label2idx.json when it is read
        "avs_synth_semantic": None,  # its own label2idx.json (datasets/prepare_avs_synth.py)
    }
    for folder, classes in trees.items():
        root = os.path.join(datasets_root, folder)
        for split in ("train", "val", "test"):
            for subset in (*AVSS_SUBSETS, "all"):
                subsets = AVSS_SUBSETS if subset == "all" else (subset,)
                register_avss_dataset(f"{folder}_{subset}_{split}", root, subsets, split, classes)

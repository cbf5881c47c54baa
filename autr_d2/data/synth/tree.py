"""AVS-Synth on disk: the generator's tree, in AVSBench's exact layout (datasets/README.md).

:func:`generate_avs_synth` composes every clip of every split (``composition.py``, the probe
splits ``probes.py``) and writes it where AVSBench keeps its files, so the same loader, mapper and
evaluator run on it; it also writes ``clip_info.jsonl`` (objects, which sound when), per-frame
instance maps, ``stats.json``, ``bank.json`` (every category's sources, pools and licences) and
contact sheets. It writes into ``<root>.partial``, renamed when complete: an interrupted run
resumes there (clips are deterministic), and an existing tree is replaced only with
``overwrite``, removing only the files the generator recorded writing.
"""

import csv
import json
import os
import pickle
from dataclasses import asdict

import numpy as np
import soundfile as sf
from PIL import Image
from tqdm import tqdm

from ...utils.outputs import (
    MANIFEST,
    MARKER,
    OutputDirError,
    OutputFolder,
    another_run_alive,
)
from ..audio import waveform_to_log_mel
from ..datasets.avsbench import clip_paths, csv_path, data_dir, instance_map_paths
from .bank import SAMPLE_RATE, build_asset_bank, real_media_available
from .composition import SPLITS, T_FRAMES, SynthConfig, clip_rng, compose_clip
from .probes import PROBES, compose_probe

__all__ = [
    "DEFAULT_SIZES",
    "add_splits",
    "SETTINGS_RECORD",
    "categories_of",
    "ensure_avs_synth",
    "finish_tree",
    "generate_avs_synth",
    "resolved_media",
    "splits_of",
    "start_tree",
]


def splits_of(subset):
    """The splits a tree of `subset` may hold: SPLITS and the probe splits (probes.py)."""
    return SPLITS + PROBES[subset]


DEFAULT_SIZES = {
    "s4": {"train": 2000, "val": 200, "test": 500, "test_unseen": 500, "test_openset": 500},
    "ms3": {"train": 600, "val": 100, "test": 200, "test_unseen": 200, "test_openset": 200},
}
TOOL = "datasets/prepare_avs_synth.py"
# in <root>.partial (kept in the finished tree): which tool generates it, with which settings
SETTINGS_RECORD = ".autr_d2_generation.json"
OWNED = ["Single-source", "Multi-sources", "stats.json", "bank.json", "contact_sheet_*.png"]
OWNED += [SETTINGS_RECORD]


def _atomic(path, write, folder):
    """Write `path` through a temporary file and record it in the generator's manifest."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp{os.path.splitext(path)[1]}"
    write(tmp)
    os.replace(tmp, path)  # a killed run leaves a .tmp file, never a truncated target
    folder.record(os.path.relpath(path, folder.path))


def _write_clip(clip, folder, subset, split, name, category, all_masks=True):
    root = folder.path
    frames, masks, pkl, wav = clip_paths(root, subset, split, name, category, all_masks)
    masks = [m for m in masks if m]  # S4 train with all_masks=False: frame 1, as in AVSBench
    instances = instance_map_paths(root, subset, split, name, category)
    if all(os.path.isfile(p) for p in frames + masks + instances + [wav, pkl]):
        return  # written by an earlier (interrupted) run: same seed, same content

    def png(x):
        return lambda f: Image.fromarray(x).save(f, compress_level=1)

    for t, p in enumerate(instances):
        _atomic(p, png(clip.instances[t]), folder)
    for t, p in enumerate(frames):
        _atomic(p, png(clip.frames[t]), folder)
    for t, p in enumerate(masks):
        _atomic(p, png(clip.masks[t] * 255), folder)
    pcm = np.round(clip.audio * 32767).astype(np.int16)
    _atomic(wav, lambda f: sf.write(f, pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV"), folder)
    mel = waveform_to_log_mel(pcm.astype(np.float32) / 32768.0, SAMPLE_RATE, T_FRAMES, wav)

    def dump(f):
        with open(f, "wb") as fh:
            pickle.dump(mel, fh)

    _atomic(pkl, dump, folder)


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


def _contact_sheet(folder, subset, samples):
    """A few clips: frames on top, frames with the ground-truth mask tinted below."""
    rows = []
    for clip in samples:
        top = np.concatenate(list(clip.frames), axis=1)
        tint = clip.frames.astype(np.float32)
        tint[clip.masks == 1] = tint[clip.masks == 1] * 0.4 + np.array([255, 40, 40]) * 0.6
        rows += [top, np.concatenate(list(tint.astype(np.uint8)), axis=1)]
    sheet = Image.fromarray(np.concatenate(rows, axis=0))
    _atomic(f"{folder.path}/contact_sheet_{subset}.png", sheet.save, folder)


def start_tree(root, overwrite, tool, owned, settings):
    """Where a generator writes `root`: ``<root>.partial`` (kept, so an interrupted run resumes),
    renamed to `root` by :func:`finish_tree` when complete; returns it as an
    :class:`~autr_d2.utils.outputs.OutputFolder` that records every file written. An existing
    `root` is an error unless `overwrite`, and then only a tree that `tool` generated (it carries
    its marker and manifest) is replaced, removing only the files it recorded (a folder that then
    still holds a file of the user's is an error naming it). A ``.partial`` folder is resumed only
    when the same tool began it with the same `settings` (a JSON-able dict of everything that
    decides the clips); anything else there is an error, so two settings never mix in one
    dataset. `owned`: the names the generator writes at the tree's top (a clash is refused)."""
    if os.path.exists(root):
        if not overwrite:
            raise FileExistsError(f"{root} exists; pass --overwrite to replace it")
        old = OutputFolder.open(root, tool, overwrite=True, owned=owned)
        old.finish()
        left = sorted(set(os.listdir(root)) - {MARKER, MANIFEST})
        if left:
            raise OutputDirError(
                f"{root}: after removing the files {tool} wrote, it still holds "
                f"{', '.join(left[:5])}, which are not its own; move them and rerun"
            )
        for name in (MARKER, MANIFEST):
            if os.path.exists(os.path.join(root, name)):
                os.remove(os.path.join(root, name))
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
        return OutputFolder.attach(work, tool)
    os.makedirs(work, exist_ok=True)
    folder = OutputFolder.attach(work, tool)

    def write(path):
        with open(path, "w") as f:
            json.dump(record, f)

    _atomic(os.path.join(work, SETTINGS_RECORD), write, folder)
    return folder


def write_json(folder, name, data):
    """A JSON file at the tree's top (stats.json, bank.json), recorded."""

    def write(path):
        with open(path, "w") as f:
            json.dump(data, f, indent=1)

    _atomic(os.path.join(folder.path, name), write, folder)


def finish_tree(folder, root):
    """Mark the complete ``<root>.partial`` as the tool's tree and rename it to `root`."""
    folder.finish()
    os.replace(folder.path, root)


def resolved_media(media):
    """The media a bank of `media` uses: "auto" becomes "real" or "procedural"."""
    if media == "auto":
        return "real" if real_media_available() else "procedural"
    return media


def _write_split(bank, folder, subset, split, n, cfg, dense, progress, samples=None):
    """Compose and write the `n` clips of one split; returns their clip_info records. Clips
    already on disk (an interrupted run) are composed again but not rewritten: same content."""
    infos = []
    it = range(n)
    if progress:
        it = tqdm(it, desc=f"AVS-Synth {subset} {split}", unit="clip")
    for i in it:
        if split in PROBES[subset]:
            clip = compose_probe(bank, subset, split, i, cfg.seed, cfg)
        else:
            clip = compose_clip(bank, subset, split, clip_rng(cfg.seed, subset, split, i), cfg)
        name = f"{subset}_{split}_{i:05d}"
        category = clip.info["sounding_categories"][0]
        _write_clip(clip, folder, subset, split, name, category, dense)
        clip.info.update(
            clip_id=name,
            split=split,
            mask_area=clip.masks.reshape(T_FRAMES, -1).mean(1).tolist(),
        )
        infos.append(clip.info)
        if samples is not None and split == "test" and len(samples) < 4:
            samples.append(clip)
    return infos


def _write_index(folder, subset, infos):
    """clip_info.jsonl and AVSBench's metadata csv of `subset`, one row per clip in `infos`."""
    work = folder.path

    def lines(path):
        with open(path, "w") as f:
            f.writelines(json.dumps(info) + "\n" for info in infos)

    _atomic(f"{data_dir(work, subset)}/clip_info.jsonl", lines, folder)
    names = [(i["clip_id"], i["sounding_categories"][0], i["split"]) for i in infos]
    if subset == "s4":
        header, body = ["name", "start", "category", "split"], [(n, 0, c, s) for n, c, s in names]
    else:
        header, body = ["video_id", "split"], [(n, s) for n, _, s in names]

    def table(path):
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(body)

    _atomic(csv_path(work, subset), table, folder)


def generation_settings(cfg, generator="avs_synth"):
    """Everything that decides a generated tree's clips (checked; recorded in the tree)."""
    if cfg.s4_train_masks not in ("all", "first"):
        raise ValueError(f"s4_train_masks must be 'all' or 'first', got {cfg.s4_train_masks!r}")
    return {"generator": generator, **asdict(cfg), "media": resolved_media(cfg.media)}


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
    folder = start_tree(root, overwrite, TOOL, OWNED, generation_settings(cfg))
    bank = build_asset_bank(cfg.media, cfg.seed)
    print(bank.summary())
    write_json(folder, "bank.json", bank.manifest())
    stats = {"media": bank.kind, "seed": cfg.seed}
    dense = cfg.s4_train_masks == "all"
    stats["s4_train_masks"] = cfg.s4_train_masks
    for subset in subsets:
        infos_all, samples = [], []
        for split in splits_of(subset):
            n = sizes[subset].get(split, 0)
            infos = _write_split(bank, folder, subset, split, n, cfg, dense, progress, samples)
            if n:
                stats[f"{subset}_{split}"] = _split_stats(infos)
            infos_all += infos
        if not infos_all:
            continue
        _write_index(folder, subset, infos_all)
        if samples:
            _contact_sheet(folder, subset, samples)
    write_json(folder, "stats.json", stats)
    finish_tree(folder, root)
    return stats


ADDABLE = ("test_unseen", "test_openset")  # with the probes: what add_splits may add


def add_splits(root, sizes, cfg=None, progress=True):
    """Add test-only splits (a probe added since the tree was generated, e.g. ``test_newsound``)
    to the finished tree at `root`, in place: the clips a fresh generation with the same
    settings would write, the tree's clip_info.jsonl, metadata csv and stats.json extended (and
    nothing else: the contact sheets show ``test``, which cannot be added). `sizes`:
    ``{subset: {split: n}}`` of the splits to add. Nothing of the tree is removed; an
    interrupted addition is finished by running it again (finished clips are kept).

    Raises:
        OutputDirError: `root` is not a finished tree of this generator, another run is writing
            there, it was generated with other settings, the media installed now make another
            bank than the tree's, or its index files were edited since.
        ValueError: a split to add is not a probe, ``test_unseen`` or ``test_openset``, or the
            tree has no clip of its subset.
    """
    cfg = cfg or SynthConfig()
    for subset, splits in sizes.items():
        for split in splits:
            if split not in PROBES[subset] + ADDABLE:
                raise ValueError(
                    f"{subset}_{split}: only probe splits, test_unseen and test_openset can be "
                    "added to a finished tree"
                )
    try:
        with open(os.path.join(root, SETTINGS_RECORD)) as f:
            began = json.load(f)
        with open(os.path.join(root, "stats.json")) as f:
            stats = json.load(f)
        with open(os.path.join(root, "bank.json")) as f:
            bank_record = json.load(f)
        with open(os.path.join(root, MARKER)) as f:
            marker = json.load(f)
    except (OSError, ValueError) as e:
        raise OutputDirError(f"{root}: not a finished AVS-Synth tree of {TOOL} ({e})") from None
    if began != {"tool": TOOL, "settings": generation_settings(cfg)}:
        raise OutputDirError(
            f"{root}: generated with other settings ({began.get('settings')}), so a split "
            "added now would not match it; generate a new tree"
        )
    if marker.get("state") == "running" and another_run_alive(marker):
        raise OutputDirError(
            f"{root}: another run (process {marker.get('pid')}) is adding to it; wait for it"
        )
    tree = OutputFolder(root, TOOL)
    index = {s: [f"{data_dir(root, s)}/clip_info.jsonl", csv_path(root, s)] for s in sizes}
    for subset, paths in index.items():
        if not os.path.isfile(paths[0]):
            raise ValueError(
                f"{root} holds an AVS-Synth generated without {subset}: remove it or point to "
                "another datasets folder"
            )
    paths = [p for paths in index.values() for p in paths] + [f"{root}/stats.json"]
    rels = [os.path.relpath(p, root).replace(os.sep, "/") for p in paths]
    changed = tree.not_as_recorded(rels)
    if changed:
        raise OutputDirError(
            f"{root}/{changed[0]}: missing or changed since the tree was generated (or not "
            "recorded as the generator's), so it is not rewritten; generate a new tree"
        )
    bank = build_asset_bank(cfg.media, cfg.seed)
    if json.loads(json.dumps(bank.manifest())) != bank_record:
        raise OutputDirError(
            f"{root}: the media installed now make another sound and picture bank than the "
            "tree's bank.json, so a split added now would not match it; generate a new tree"
        )
    folder = OutputFolder.attach(root, TOOL)
    try:
        dense = cfg.s4_train_masks == "all"
        for subset, splits in sizes.items():
            with open(index[subset][0]) as f:
                infos = [json.loads(line) for line in f]
            for split in splits:
                print(f"adding {subset}_{split} ({splits[split]} clips) to {root}")
                new = _write_split(bank, folder, subset, split, splits[split], cfg, dense, progress)
                infos = [i for i in infos if i["split"] != split] + new
                stats[f"{subset}_{split}"] = _split_stats(new)
            order = {sp: k for k, sp in enumerate(splits_of(subset))}
            infos.sort(key=lambda i: order.get(i["split"], len(order)))  # stable
            _write_index(folder, subset, infos)
        head = {k: v for k, v in stats.items() if not isinstance(v, dict)}
        per_split = [f"{s}_{sp}" for s in ("s4", "ms3") for sp in splits_of(s)]
        write_json(folder, "stats.json", {**head, **{k: stats[k] for k in per_split if k in stats}})
    finally:  # stats.json is written last: the splits are there once it lists them
        folder.finish()


def ensure_avs_synth(root, sizes, cfg=None):
    """Reuse a finished AVS-Synth at `root` (it has stats.json), else generate it with `sizes`
    (``{subset: {split: n}}``; missing splits get 0). Used by tools/run_demo.py and run_study.py.

    A finished tree is reused whatever its clip counts. A test or probe split it lacks (a probe
    added since) is added to it in place (:func:`add_splits`); a missing training or validation
    split is an error naming the splits, rather than a study that fails later.
    """
    stats_path = os.path.join(root, "stats.json")
    if os.path.isfile(stats_path):
        with open(stats_path) as f:
            stats = json.load(f)
        missing = {
            f"{sub}_{split}": split
            for sub, splits in sizes.items()
            for split, n in splits.items()
            if n and not stats.get(f"{sub}_{split}", {}).get("clips", 0)
        }
        if any(split in ("train", "val") for split in missing.values()):
            raise ValueError(
                f"{root} holds an AVS-Synth generated without {', '.join(missing)}: remove it "
                f"or point to another datasets folder"
            )
        if missing:  # a probe added since: its clips added to the tree, nothing else changes
            add = {}
            for name, split in missing.items():
                subset = name.split("_", 1)[0]
                add.setdefault(subset, {})[split] = sizes[subset][split]
            add_splits(root, add, cfg)
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

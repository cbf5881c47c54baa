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

from ...utils.outputs import MANIFEST, MARKER, OutputDirError, OutputFolder
from ..audio import waveform_to_log_mel
from ..datasets.avsbench import clip_paths, csv_path, data_dir, instance_map_paths
from .bank import SAMPLE_RATE, build_asset_bank, real_media_available
from .composition import SPLITS, T_FRAMES, SynthConfig, clip_rng, compose_clip
from .probes import PROBES, compose_probe

__all__ = [
    "DEFAULT_SIZES",
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
    folder = start_tree(root, overwrite, TOOL, OWNED, settings)
    work = folder.path
    bank = build_asset_bank(cfg.media, cfg.seed)
    print(bank.summary())
    write_json(folder, "bank.json", bank.manifest())
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
                    rng = clip_rng(cfg.seed, subset, split, i)
                    clip = compose_clip(bank, subset, split, rng, cfg)
                name = f"{subset}_{split}_{i:05d}"
                category = clip.info["sounding_categories"][0]
                _write_clip(clip, folder, subset, split, name, category, dense)
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

        def lines(path, infos=infos_all):
            with open(path, "w") as f:
                f.writelines(json.dumps(info) + "\n" for info in infos)

        _atomic(f"{data_dir(work, subset)}/clip_info.jsonl", lines, folder)
        if subset == "s4":
            header, body = (
                ["name", "start", "category", "split"],
                [(n, 0, c, s) for n, c, s in rows],
            )
        else:
            header, body = ["video_id", "split"], [(n, s) for n, _, s in rows]

        def table(path, header=header, body=body):
            with open(path, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(header)
                w.writerows(body)

        _atomic(csv_path(work, subset), table, folder)
        if samples:
            _contact_sheet(folder, subset, samples)
    write_json(folder, "stats.json", stats)
    finish_tree(folder, root)
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

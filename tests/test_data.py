"""AVSBench layout loader, clip mapper, audio front end, AVS-Synth generator."""

import os
import pickle
import random
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch
from detectron2.data import DatasetCatalog
from detectron2.data import transforms as T
from PIL import Image

from autr_d2.data import AudioError, AVSClipDatasetMapper, ClipDataError, load_log_mel
from autr_d2.data.datasets import DatasetLayoutError, load_avs_clips
from autr_d2.data.synth import SynthConfig, build_asset_bank, compose_clip, generate_avs_synth
from autr_d2.data.synth import clip_rng as _rng

from .conftest import tiny_cfg


# ----------------------------------------------------------------------------- loader
def test_s4_loader_layout_and_first_frame_masks(synth_root):
    train = load_avs_clips(synth_root, "s4", "train")
    test = load_avs_clips(synth_root, "s4", "test")
    assert len(train) == 6 and len(test) == 4
    d = train[0]
    name, cat = d["clip_id"], d["category"]
    base = f"{synth_root}/Single-source/s4_data"
    assert d["file_names"][2] == f"{base}/visual_frames/train/{cat}/{name}/{name}_3.png"
    # S4 train: a mask for frame 1 only
    assert d["sem_seg_file_names"][0] == f"{base}/gt_masks/train/{cat}/{name}/{name}_1.png"
    assert d["sem_seg_file_names"][1:] == [None] * 4
    assert d["audio_file"] == f"{base}/audio_log_mel/train/{cat}/{name}.pkl"
    assert all(m is not None for m in test[0]["sem_seg_file_names"])


def test_s4_train_masks_of_later_frames_are_used_when_written(tmp_path):
    """AVS-Synth's default writes all 5 S4 train masks; the loader uses whichever exist."""
    root = str(tmp_path / "avs_synth")
    sizes = {"s4": {"train": 2}}
    generate_avs_synth(root, ("s4",), sizes, SynthConfig(media="procedural"), progress=False)
    d = load_avs_clips(root, "s4", "train")[0]
    assert all(m and os.path.isfile(m) for m in d["sem_seg_file_names"])
    os.remove(d["sem_seg_file_names"][3])
    d = load_avs_clips(root, "s4", "train")[0]
    assert d["sem_seg_file_names"][3] is None and d["sem_seg_file_names"][4] is not None


def test_ms3_loader_naming_quirks(synth_root):
    clips = load_avs_clips(synth_root, "ms3", "train")
    name = clips[0]["clip_id"]
    base = f"{synth_root}/Multi-sources/ms3_data"
    # no split level and a ".mp4_" infix for frames; split level for masks and audio
    assert clips[0]["file_names"][0] == f"{base}/visual_frames/{name}/{name}.mp4_1.png"
    assert clips[0]["sem_seg_file_names"][4] == f"{base}/gt_masks/train/{name}/{name}_5.png"
    assert clips[0]["audio_file"] == f"{base}/audio_log_mel/train/{name}.pkl"


def test_loader_names_missing_file_and_points_to_readme(synth_root, tmp_path):
    root = str(tmp_path / "copy")
    shutil.copytree(synth_root, root)
    d = load_avs_clips(root, "s4", "test")[1]
    os.remove(d["file_names"][3].replace(synth_root, root))
    with pytest.raises(DatasetLayoutError) as e:
        load_avs_clips(root, "s4", "test")
    msg = str(e.value)
    assert d["clip_id"] in msg and f"{d['clip_id']}_4.png" in msg and "datasets/README.md" in msg
    assert "line" in msg


def test_loader_missing_root_and_empty_split(synth_root, tmp_path):
    with pytest.raises(DatasetLayoutError, match="s4_meta_data.csv.*README"):
        load_avs_clips(str(tmp_path / "nowhere"), "s4", "train")
    with pytest.raises(DatasetLayoutError, match="no clip has split 'val'"):
        load_avs_clips(synth_root, "ms3", "val")


def test_registered_names_exist():
    from detectron2.data import DatasetCatalog, MetadataCatalog

    names = DatasetCatalog.list()
    for s in ("train", "val", "test"):
        assert f"avsbench_s4_{s}" in names and f"avsbench_ms3_{s}" in names
    for s in ("train", "test", "test_unseen", "test_openset"):
        assert f"avs_synth_s4_{s}" in names and f"avs_synth_ms3_{s}" in names
    meta = MetadataCatalog.get("avsbench_s4_test")
    assert meta.evaluator_type == "avs" and len(meta.categories) == 23


# ----------------------------------------------------------------------------- audio
def _tone(seconds, rate, channels=1, freq=440.0):
    t = np.arange(int(seconds * rate)) / rate
    x = 0.5 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    return np.stack([x] * channels, 1) if channels > 1 else x


def test_wav_front_end_shape_and_padding(tmp_path):
    p = str(tmp_path / "two_seconds.wav")
    sf.write(p, _tone(2.0, 16000), 16000, subtype="PCM_16")
    mel = load_log_mel(p, 5)
    assert mel.shape == (5, 1, 96, 64) and mel.dtype == torch.float32
    # 2 s give 2 examples; the rest repeat the last one (AVSBench's padding)
    assert torch.equal(mel[1], mel[2]) and torch.equal(mel[1], mel[4])
    # a 440 Hz tone: the loudest mel band is the same in every frame and below 1 kHz
    band = mel[0, 0].mean(0).argmax().item()
    assert 5 < band < 30


def test_wav_stereo_44k_float_matches_mono_16k(tmp_path):
    mono, stereo = str(tmp_path / "m.wav"), str(tmp_path / "s.wav")
    sf.write(mono, _tone(5.0, 16000), 16000, subtype="FLOAT")
    sf.write(stereo, _tone(5.0, 44100, channels=2), 44100, subtype="FLOAT")
    a, b = load_log_mel(mono, 5), load_log_mel(stereo, 5)
    assert a.shape == b.shape == (5, 1, 96, 64)
    assert (a - b).abs().mean() < 0.1  # same sound after resampling and channel mixing


def test_long_audio_is_cut_and_cache_is_used(tmp_path):
    p = str(tmp_path / "long.wav")
    sf.write(p, _tone(8.0, 16000), 16000)
    cache = str(tmp_path / "cache")
    mel = load_log_mel(p, 5, cache_dir=cache)
    assert mel.shape[0] == 5 and len(os.listdir(cache)) == 1
    assert torch.equal(load_log_mel(p, 5, cache_dir=cache), mel)


def test_pkl_used_as_is_and_wrong_shape_rejected(tmp_path):
    good, bad = str(tmp_path / "good.pkl"), str(tmp_path / "bad.pkl")
    x = torch.randn(5, 1, 96, 64, requires_grad=True)  # AVSBench stores it with grad
    pickle.dump(x, open(good, "wb"))
    assert torch.equal(load_log_mel(good, 5), x.detach())
    pickle.dump(torch.randn(5, 96, 64), open(bad, "wb"))
    with pytest.raises(AudioError, match="bad.pkl.*shape"):
        load_log_mel(bad, 5)


def test_corrupt_and_empty_wav_errors(tmp_path):
    corrupt, empty = str(tmp_path / "corrupt.wav"), str(tmp_path / "empty.wav")
    open(corrupt, "wb").write(b"RIFF\x00\x00garbage")
    open(empty, "wb").write(b"")
    with pytest.raises(AudioError, match="corrupt.wav"):
        load_log_mel(corrupt, 5)
    with pytest.raises(AudioError, match="empty.wav"):
        load_log_mel(empty, 5)


# ----------------------------------------------------------------------------- mapper
def _write_clip(tmp_path, frame_size=(40, 48), mask_size=None):
    """Identical frames whose red channel marks the mask, so alignment can be checked."""
    h, w = frame_size
    rng = np.random.default_rng(0)
    mask = np.zeros((h, w), np.uint8)
    mask[5:25, 8:20] = 1
    img = rng.integers(0, 100, (h, w, 3)).astype(np.uint8)
    img[..., 0] = mask * 255
    frames, masks = [], []
    for k in range(5):
        f, m = str(tmp_path / f"f{k}.png"), str(tmp_path / f"m{k}.png")
        Image.fromarray(img).save(f)
        mm = mask if mask_size is None else np.zeros(mask_size, np.uint8)
        Image.fromarray(mm * 255).save(m)
        frames.append(f)
        masks.append(m)
    audio = str(tmp_path / "a.wav")
    sf.write(audio, _tone(5.0, 16000), 16000)
    return {
        "file_names": frames,
        "sem_seg_file_names": masks,
        "audio_file": audio,
        "clip_id": "c0",
        "height": h,
        "width": w,
    }


def test_mapper_applies_one_augmentation_to_the_whole_clip(tmp_path):
    d = _write_clip(tmp_path)
    augs = [T.ResizeScale(0.6, 1.6, 32, 32), T.FixedSizeCrop((32, 32)), T.RandomFlip(prob=1.0)]
    mapper = AVSClipDatasetMapper(True, augmentations=augs, image_format="RGB", num_frames=5)
    for _ in range(5):
        out = mapper(d)
        f, m = out["frames"], out["masks"]
        assert f.shape == (5, 3, 32, 32) and f.dtype == torch.uint8
        assert m.shape == (5, 32, 32) and out["audio"].shape == (5, 1, 96, 64)
        assert out["annotated"].all()
        for t in range(1, 5):  # the same geometric transform on every frame and mask
            assert torch.equal(f[t], f[0]) and torch.equal(m[t], m[0])
        # the mask stays aligned with the frame's red marker
        red = f[0, 0] > 128
        assert (red == m[0].bool()).float().mean() > 0.95
        assert set(m.unique().tolist()) <= {0, 1}


def test_color_jitter_changes_the_pixels_of_a_clip_alike_and_never_its_masks(tmp_path):
    d = _write_clip(tmp_path)
    plain = AVSClipDatasetMapper(tiny_cfg("INPUT.RANDOM_FLIP", "none"), is_train=True)(d)
    mapper = AVSClipDatasetMapper(
        tiny_cfg("INPUT.RANDOM_FLIP", "none", "INPUT.COLOR_JITTER", 0.4), is_train=True
    )
    changed = 0
    for _ in range(5):
        out = mapper(d)
        assert out["frames"].dtype == torch.uint8 and out["frames"].shape == plain["frames"].shape
        assert torch.equal(out["masks"], plain["masks"])
        for t in range(1, 5):  # the clip's frames are identical, so they stay identical
            assert torch.equal(out["frames"][t], out["frames"][0])
        changed += not torch.equal(out["frames"], plain["frames"])
    assert changed >= 4
    with pytest.raises(ValueError, match="INPUT.COLOR_JITTER needs INPUT.FORMAT 'RGB'"):
        AVSClipDatasetMapper(tiny_cfg("INPUT.COLOR_JITTER", 0.4, "INPUT.FORMAT", "BGR"), True)
    with pytest.raises(ValueError, match=r"INPUT.COLOR_JITTER must be in \[0, 1\)"):
        AVSClipDatasetMapper(tiny_cfg("INPUT.COLOR_JITTER", 1.5), True)


def test_mapper_marks_unannotated_frames(tmp_path):
    d = _write_clip(tmp_path)
    d["sem_seg_file_names"] = d["sem_seg_file_names"][:1] + [None] * 4
    mapper = AVSClipDatasetMapper(
        True, augmentations=[T.Resize((32, 32))], image_format="RGB", num_frames=5
    )
    out = mapper(d)
    assert out["annotated"].tolist() == [True, False, False, False, False]
    assert out["masks"][1:].sum() == 0


def test_mapper_adds_category_id_for_the_audio_category_loss(tmp_path):
    d = dict(_write_clip(tmp_path), category="dog")
    kw = dict(augmentations=[T.Resize((32, 32))], image_format="RGB", num_frames=5)
    assert "category_id" not in AVSClipDatasetMapper(True, **kw)(d)
    mapper = AVSClipDatasetMapper(True, categories=["car", "dog"], **kw)
    assert mapper(d)["category_id"] == 1
    assert mapper(dict(d, category="cello"))["category_id"] == -1  # not a training category


def test_audio_augmentation_changes_the_training_sound_and_keeps_its_timing(tmp_path):
    """INPUT.AUDIO_AUGMENT: each training clip's sound goes through the real-world chains (a new
    draw every time it is read), the log-mel keeps its shape and stays finite, the sound stays in
    step with the frames (no time stretch), and test clips are never augmented."""
    d = _write_clip(tmp_path)
    t = np.arange(5 * 44100) / 44100  # 44.1 kHz stereo: resampled before augmenting
    x = np.where(t < 2.0, 0.5 * np.sin(2 * np.pi * 440 * t), 0.0).astype(np.float32)
    sf.write(d["audio_file"], np.stack([x, x], 1), 44100)
    plain = load_log_mel(d["audio_file"], 5)
    band = int(plain[0, 0].mean(0).argmax())
    cfg = tiny_cfg("INPUT.AUDIO_AUGMENT", 3.0)  # every transform at probability 1 but the pitch
    assert AVSClipDatasetMapper.from_config(cfg, is_train=False)["audio_augmentation"] is None
    assert AVSClipDatasetMapper.from_config(tiny_cfg(), is_train=True)["audio_augmentation"] is None
    mapper = AVSClipDatasetMapper(cfg, is_train=True)
    random.seed(0), np.random.seed(0)
    outs = [mapper(d)["audio"] for _ in range(3)]
    for a in outs:
        assert a.shape == (5, 1, 96, 64) and a.dtype == torch.float32 and a.isfinite().all()
        assert (a - plain).abs().mean() > 0.1  # another channel than the recording's
        # the tone plays in the first two seconds only: its bands stay louder there than after
        # (reverberation and noise aside); a time stretch would move it
        tone = a[:, 0, :, band - 4 : band + 5].amax(-1).mean(-1)  # [5]
        assert tone[:2].min() > tone[3:].max() + 1.0, tone
    assert not torch.equal(outs[0], outs[1])  # a new draw at every read
    # the same draws from the same seeds (Detectron2's seed_all_rng seeds every worker's)
    random.seed(0), np.random.seed(0)
    assert torch.equal(mapper(d)["audio"], outs[0])
    # no time stretch: it would move the sound against the frames
    names = [type(a).__name__ for a in mapper.audio_augmentation._source.transforms]
    assert names == ["PitchShift"]


def test_audio_augmentation_needs_the_sound_file_not_precomputed_log_mel(tmp_path):
    d = _write_clip(tmp_path)
    pkl = str(tmp_path / "a.pkl")
    torch.save(torch.zeros(5, 1, 96, 64), pkl)
    mapper = AVSClipDatasetMapper(tiny_cfg("INPUT.AUDIO_AUGMENT", 1.0), is_train=True)
    # AVSBench: log-mel in audio_file, the wav beside it in audio_wav -> the wav is augmented
    assert mapper(dict(d, audio_file=pkl, audio_wav=d["audio_file"]))["audio"].shape[0] == 5
    with pytest.raises(ClipDataError, match=r"c0: INPUT.AUDIO_AUGMENT needs the sound file.*a.pkl"):
        mapper(dict(d, audio_file=pkl, audio_wav=""))


def test_category_labels_come_from_the_training_set():
    for name, cats in (("test_cats_3", ["dog", "car", "dog", "cow"]), ("test_cats_1", ["multi"])):
        if name not in DatasetCatalog.list():
            DatasetCatalog.register(name, lambda c=cats: [{"category": x} for x in c])
    on = ("MODEL.AUDIO.CATEGORY_WEIGHT", 1.0, "MODEL.AUDIO.NUM_CATEGORIES", 3)
    labels = AVSClipDatasetMapper.from_config(tiny_cfg(*on, "DATASETS.TRAIN", ("test_cats_3",)))
    assert labels["categories"] == ["car", "cow", "dog"]
    assert AVSClipDatasetMapper.from_config(tiny_cfg(*on), is_train=False)["categories"] == ()
    for train, n in (("test_cats_3", 2), ("test_cats_1", 3)):  # too many; MS3's single one
        cfg = tiny_cfg(*on[:3], n, "DATASETS.TRAIN", (train,))
        with pytest.raises(ValueError, match=f"{train}.*has"):
            AVSClipDatasetMapper.from_config(cfg)


def test_mapper_errors_name_the_file(tmp_path):
    mapper = AVSClipDatasetMapper(
        True, augmentations=[T.Resize((32, 32))], image_format="RGB", num_frames=5
    )
    d = _write_clip(
        tmp_path / "a" if (tmp_path / "a").mkdir() is None else tmp_path, mask_size=(20, 20)
    )
    with pytest.raises(ClipDataError, match="m0.png.*does not match"):
        mapper(d)
    d = _write_clip(tmp_path / "b" if (tmp_path / "b").mkdir() is None else tmp_path)
    open(d["file_names"][2], "wb").write(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(ClipDataError, match="f2.png.*cannot read frame"):
        mapper(d)
    d = _write_clip(tmp_path / "c" if (tmp_path / "c").mkdir() is None else tmp_path)
    os.remove(d["file_names"][4])
    with pytest.raises(ClipDataError, match="f4.png"):
        mapper(d)


def test_mask_values_are_thresholded_at_128(tmp_path):
    from autr_d2.data.clip_mapper import read_mask

    p = str(tmp_path / "m.png")
    Image.fromarray(np.array([[0, 127, 128, 200, 255]], np.uint8)).save(p)
    assert read_mask(p).tolist() == [[0, 0, 1, 1, 1]]


# ----------------------------------------------------------------------------- generator
def test_generator_is_deterministic_and_s4_invariant():
    bank = build_asset_bank("procedural", seed=0)
    for i in range(10):
        a = compose_clip(bank, "s4", "train", _rng(0, "s4", "train", i))
        b = compose_clip(bank, "s4", "train", _rng(0, "s4", "train", i))
        assert np.array_equal(a.frames, b.frames) and np.array_equal(a.audio, b.audio)
        objs = a.info["objects"]
        sounding = [o for o in objs if o["sounding"]]
        silent = [o for o in objs if not o["sounding"]]
        assert len(sounding) == 1 and len(silent) >= 1
        assert all(o["category"] != sounding[0]["category"] for o in silent)
        assert a.masks.shape == (5, 224, 224) and a.masks.any()
        assert a.audio.shape == (80000,) and np.abs(a.audio).max() <= 0.9 + 1e-6


def test_generator_ms3_masks_follow_on_off():
    bank = build_asset_bank("procedural", seed=0)
    clip = compose_clip(bank, "ms3", "train", _rng(0, "ms3", "train", 1))
    on = np.array([o["on"] for o in clip.info["objects"] if o["sounding"]])
    assert on.shape[0] >= 2
    for t in range(5):
        assert clip.masks[t].any() == on[:, t].any()


def test_generator_refuses_overwrite_and_splits_are_disjoint(synth_root):
    with pytest.raises(FileExistsError, match="--overwrite"):
        generate_avs_synth(
            synth_root,
            ("s4",),
            {"s4": {"train": 1}},
            SynthConfig(media="procedural"),
            progress=False,
        )
    train_cats = {d["category"] for d in load_avs_clips(synth_root, "s4", "train")}
    open_cats = {d["category"] for d in load_avs_clips(synth_root, "s4", "test_openset")}
    assert open_cats and not (open_cats & train_cats)
    assert os.path.isfile(f"{synth_root}/stats.json")
    assert os.path.isfile(f"{synth_root}/contact_sheet_s4.png")


def test_ensure_avs_synth_reuses_a_tree_only_with_every_split_asked_for(tmp_path, capsys):
    from autr_d2.data.synth import ensure_avs_synth

    root, cfg = str(tmp_path / "avs_synth"), SynthConfig(media="procedural")
    ensure_avs_synth(root, {"s4": {"train": 2}}, cfg)
    ensure_avs_synth(root, {"s4": {"train": 5, "val": 0}}, cfg)  # other counts; 0 = not wanted
    assert "reusing" in capsys.readouterr().out
    assert len(load_avs_clips(root, "s4", "train")) == 2
    with pytest.raises(ValueError, match="without s4_val, ms3_train: remove it"):
        ensure_avs_synth(root, {"s4": {"train": 2, "val": 1}, "ms3": {"train": 1}}, cfg)


def test_a_probe_added_to_a_finished_tree_is_what_a_fresh_generation_writes(tmp_path, capsys):
    """A study tree made before a probe existed gets the probe's clips in place (the study's
    trained runs stay valid), identical to a tree generated with the probe from the start."""
    from autr_d2.data.synth import add_splits, ensure_avs_synth
    from autr_d2.utils.outputs import OutputDirError

    cfg = SynthConfig(media="procedural")
    old, fresh = str(tmp_path / "old" / "avs_synth"), str(tmp_path / "fresh" / "avs_synth")
    sizes = {"s4": {"train": 1, "test": 2, "test_tel8k": 1}}
    ensure_avs_synth(old, sizes, cfg)
    before = {f: os.path.getmtime(f"{old}/{f}") for f in ("bank.json", "contact_sheet_s4.png")}
    sizes["s4"]["test_newsound"] = 2
    ensure_avs_synth(old, sizes, cfg)  # the new probe: added, nothing else rewritten
    assert "adding s4_test_newsound (2 clips)" in capsys.readouterr().out
    generate_avs_synth(fresh, ("s4",), sizes, cfg, progress=False)
    assert before == {f: os.path.getmtime(f"{old}/{f}") for f in before}

    def files(root):
        return sorted(
            os.path.relpath(os.path.join(d, f), root)
            for d, _, names in os.walk(root)
            for f in names
            if not f.startswith(".autr_d2")
        )

    assert files(old) == files(fresh)
    for rel in files(fresh):  # clips, clip_info.jsonl, the csv, stats.json
        if rel.endswith(".pkl"):  # the same log-mel (pickle's bytes may differ)
            assert np.array_equal(load_log_mel(f"{old}/{rel}"), load_log_mel(f"{fresh}/{rel}"))
            continue
        with open(f"{old}/{rel}", "rb") as a, open(f"{fresh}/{rel}", "rb") as b:
            assert a.read() == b.read(), rel
    assert len(load_avs_clips(old, "s4", "test_newsound")) == 2
    # what a finished tree cannot be given: training data, or clips of other settings
    with pytest.raises(ValueError, match="only probe splits, test_unseen and test_openset"):
        add_splits(old, {"s4": {"val": 1}}, cfg)
    with pytest.raises(OutputDirError, match="other settings"):
        add_splits(old, {"s4": {"test_offscreen": 1}}, SynthConfig(media="procedural", seed=1))
    with pytest.raises(ValueError, match="generated without ms3"):
        add_splits(old, {"ms3": {"test_switch1": 1}}, cfg)
    csv = f"{old}/Single-source/s4_meta_data.csv"
    with open(csv, "a") as f:
        f.write("my_clip,0,dog,test\n")  # the user's own row: not rewritten
    with pytest.raises(OutputDirError, match="s4_meta_data.csv: missing or changed since"):
        add_splits(old, {"s4": {"test_offscreen": 1}}, cfg)
    assert open(csv).read().endswith("my_clip,0,dog,test\n")
    os.rename(csv, csv + ".moved")  # a missing index file: named in a sentence, not a traceback
    with pytest.raises(OutputDirError, match="s4_meta_data.csv: missing"):
        add_splits(old, {"s4": {"test_offscreen": 1}}, cfg)

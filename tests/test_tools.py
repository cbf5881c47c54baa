"""The user-facing tools end to end on a tiny generated tree: train -> visualize -> demo on an mp4;
the trivial baselines; the predictor's sliding windows."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from detectron2.data import DatasetCatalog
from PIL import Image

from autr_d2.data.audio import read_wav
from autr_d2.data.datasets.avsbench import clip_paths, load_avs_clips
from autr_d2.utils.outputs import MANIFEST, MARKER
from autr_d2.utils.video_io import read_video
from autr_d2.utils.video_writer import write_video

from .conftest import object_map_clip, tiny_cfg
from .test_train import ROOT, TINY, train_net

CONFIG = os.path.join(ROOT, "configs", "avs_synth", "s4_autr_R18.yaml")


def run_tool(synth_root, tool, *args, check=True):
    env = dict(os.environ, DETECTRON2_DATASETS=os.path.dirname(synth_root))
    cmd = [sys.executable, os.path.join(ROOT, "tools", tool), *args]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if check:
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


@pytest.fixture(scope="module")
def trained(synth_root, tmp_path_factory):
    """A tiny model trained 2 iterations by tools/train_net.py (checkpointed, then reloaded)."""
    out = tmp_path_factory.mktemp("trained")
    train_net(synth_root, out, max_iter=2)
    return str(out / "model_final.pth")


def s4_test_clips(synth_root):
    return load_avs_clips(synth_root, "s4", "test")


def clip_video(synth_root, path, audio="clip", n_clips=1):
    """Write S4 test clips of the tiny tree as an mp4 (1 frame/s) with their sound."""
    frames, sound = [], []
    for d in s4_test_clips(synth_root)[:n_clips]:
        frames += [np.asarray(Image.open(f).convert("RGB")) for f in d["file_names"]]
        wav = clip_paths(synth_root, "s4", "test", d["clip_id"], d["category"])[3]
        sound.append(read_wav(wav)[0])
    sound = np.concatenate(sound)[None]
    if audio == "silent":
        sound = np.zeros_like(sound)
    write_video(path, frames, 1.0, None if audio == "none" else sound, 16000)
    return len(frames)


def test_visualize_strips_attention_and_gif(synth_root, trained, tmp_path):
    out = tmp_path / "vis"
    run_tool(
        synth_root,
        "visualize.py",
        *("--config-file", CONFIG, "--dataset", "avs_synth_s4_test", "--num-clips", "2"),
        *("--output", str(out), "MODEL.WEIGHTS", trained, *TINY),
    )
    names = sorted(os.listdir(out))
    # its own folder: 6 pictures, the marker and the record of what it wrote
    assert names[:2] == [MANIFEST, MARKER] and len(names[2:]) == 6
    clip = s4_test_clips(synth_root)[0]["clip_id"]
    strip = np.asarray(Image.open(out / f"{clip}_strip.png"))
    # 3 rows (frames, ground truth, prediction) of 224-px frames, 5 columns, 2-px gaps
    assert strip.shape == (3 * 224 + 2 * 2, 5 * 224 + 4 * 2, 3)
    attn = np.asarray(Image.open(out / f"{clip}_attention.png"))
    n_q = tiny_cfg().MODEL.AUTR.NUM_QUERIES  # the S4 config's
    assert attn.shape[0] == n_q * 224 + (n_q - 1) * 2  # one row per query
    with Image.open(out / f"{clip}_overlay.gif") as gif:
        assert gif.n_frames == 5

    # the folder now holds pictures: a second run must not overwrite them silently
    again = run_tool(
        synth_root,
        "visualize.py",
        *("--dataset", "avs_synth_s4_test", "--pred-dir", str(tmp_path), "--output", str(out)),
        check=False,
    )
    assert again.returncode != 0 and "--overwrite" in again.stderr


def test_visualize_saved_predictions(synth_root, trained, tmp_path):
    """eval-only with TEST.AVS.SAVE_PRED_MASKS writes masks that visualize --pred-dir reads."""
    ev = tmp_path / "eval"
    train_net(
        synth_root,
        ev,
        "--eval-only",
        *("MODEL.WEIGHTS", trained, "TEST.AVS.SAVE_PRED_MASKS", "True"),
    )
    pred_dir = ev / "inference" / "avs_synth_s4_test" / "pred_masks"
    pngs = [f for _, _, fs in os.walk(pred_dir) for f in fs if f.endswith(".png")]
    assert len(pngs) == 5 * len(s4_test_clips(synth_root))
    out = tmp_path / "vis"
    run_tool(
        synth_root,
        "visualize.py",
        *("--dataset", "avs_synth_s4_test", "--pred-dir", str(pred_dir), "--output", str(out)),
    )
    assert len([f for f in os.listdir(out) if f.endswith("_strip.png")]) == 4


def test_demo_on_mp4_with_sound(synth_root, trained, tmp_path):
    video = str(tmp_path / "in.mp4")
    n = clip_video(synth_root, video, n_clips=2)  # 10 s: two 5 s windows
    out = tmp_path / "demo"
    res = run_tool(
        synth_root,
        "demo.py",
        *("--config-file", CONFIG, "--input", video, "--output", str(out)),
        *("MODEL.WEIGHTS", trained, *TINY),
    )
    assert "overlay.mp4" in res.stdout
    masks = sorted(p for p in os.listdir(out / "masks") if p.endswith(".png"))
    assert len(masks) == n
    m = np.asarray(Image.open(out / "masks" / masks[0]))
    assert m.shape == (224, 224) and set(np.unique(m)) <= {0, 255}
    overlay = read_video(str(out / "overlay.mp4"))
    assert len(overlay.frames) == n and overlay.audio is not None  # keeps the original sound
    assert overlay.audio.shape[1] >= 10 * 16000
    summary = json.loads((out / "summary.json").read_text())
    assert summary["processed_frames"] == n and summary["has_audio"]
    assert summary["frame_times"] == "pts" and summary["no_audio_seconds"] == []
    assert summary["audio"]["overlay"].startswith("copied")  # the original stream, unchanged

    # the output folder is not clobbered without --overwrite
    again = run_tool(
        synth_root,
        "demo.py",
        *("--config-file", CONFIG, "--input", video, "--output", str(out)),
        *("MODEL.WEIGHTS", trained, *TINY),
        check=False,
    )
    assert again.returncode != 0 and "--overwrite" in again.stderr


@pytest.mark.parametrize("audio", ["none", "silent"])
def test_demo_without_sound_gives_message_and_empty_masks(synth_root, trained, tmp_path, audio):
    video = str(tmp_path / "in.mp4")
    n = clip_video(synth_root, video, audio=audio)
    out = tmp_path / "demo"
    res = run_tool(
        synth_root,
        "demo.py",
        *("--config-file", CONFIG, "--input", video, "--output", str(out)),
        *("MODEL.WEIGHTS", trained, *TINY),
    )
    assert ("no audio track" if audio == "none" else "silent") in res.stdout
    pngs = sorted(p for p in os.listdir(out / "masks") if p.endswith(".png"))
    masks = [np.asarray(Image.open(out / "masks" / f)) for f in pngs]
    assert len(masks) == n and not any(m.any() for m in masks)
    assert (out / "overlay.mp4").is_file()


def test_demo_frames_folder_and_wav(synth_root, trained, tmp_path):
    d = s4_test_clips(synth_root)[0]
    wav = clip_paths(synth_root, "s4", "test", d["clip_id"], d["category"])[3]
    folder = os.path.dirname(d["file_names"][0])
    out = tmp_path / "demo"
    run_tool(
        synth_root,
        "demo.py",
        *("--config-file", CONFIG, "--frames", folder, "--audio", wav, "--output", str(out)),
        *("MODEL.WEIGHTS", trained, *TINY),
    )
    assert len([p for p in os.listdir(out / "masks") if p.endswith(".png")]) == 5
    summary = json.loads((out / "summary.json").read_text())
    assert summary["audio_mismatch"] is None and summary["frame_times"] == "index/fps"


def test_demo_bad_video_names_the_file(synth_root, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    res = run_tool(
        synth_root,
        "demo.py",
        *("--config-file", CONFIG, "--input", str(bad), "--output", str(tmp_path / "o")),
        check=False,
    )
    assert res.returncode != 0 and "broken.mp4" in res.stderr and "cannot open" in res.stderr


def test_predict_video_covers_every_frame_once_with_its_second(monkeypatch):
    """Sliding windows: 7.5 s at 10 fps processed at 2 fps -> 15 frames, each predicted exactly
    once, in clips of T frames one second apart; example k of every clip the model receives is the
    log-mel of frame k's own second [t, t + 1) (a tone of 200 * (s + 1) Hz in second s)."""
    import torch

    from autr_d2.data.audio import waveform_to_log_mel
    from autr_d2.predictor import AuTRPredictor
    from autr_d2.utils.video_io import Video

    cfg = tiny_cfg()
    predictor = AuTRPredictor(cfg, allow_untrained=True)
    sr = 16000
    tone = np.concatenate(
        [np.sin(2 * np.pi * 200 * (s + 1) * np.arange(sr) / sr) for s in range(8)]
    )[: int(7.5 * sr)].astype(np.float32)
    frames = [np.full((48, 40, 3), i, np.uint8) for i in range(75)]  # value = frame index
    video = Video(frames, 10.0, tone[None], sr, "synthetic")
    calls = []

    def fake_call(self, fr, mel):
        calls.append([int(f[0, 0, 0]) for f in fr])
        for k, i in enumerate(calls[-1]):  # frame i is at i / 10 s
            own = np.zeros(sr, np.float32)
            part = tone[i * sr // 10 : i * sr // 10 + sr]
            own[: len(part)] = part
            torch.testing.assert_close(mel[k], waveform_to_log_mel(own, sr, 1)[0])
        t = len(fr)
        return {
            "frames": [{"sem_seg": torch.zeros(2, *fr[0].shape[:2])} for _ in range(t)],
            "sound_scores": torch.full((t, 5), 0.7),
        }

    monkeypatch.setattr(AuTRPredictor, "__call__", fake_call)
    pred = predictor.predict_video(video, fps=2, progress=False)
    assert pred.frame_indices == [i * 5 for i in range(15)]
    assert pred.times == [i / 2 for i in range(15)]
    assert pred.masks.shape == (15, 48, 40)
    seen = [f for c in calls for f in c]
    assert all(len(c) == 5 for c in calls)
    for c in calls:
        steps = np.diff(c)
        assert np.all((steps == 10) | (steps == 0))  # one second apart; 0 = padding repeats
    assert sorted(set(seen)) == pred.frame_indices
    assert np.allclose(pred.sound_scores, 0.7)


def test_baselines_hand_computed(tmp_path):
    """all_background and largest_object through AVSEvaluator on a hand-made 2-clip split."""
    from autr_d2.evaluation import evaluate_baseline

    ids = np.zeros((8, 8), np.uint8)
    ids[:4, :4] = 1  # object 1: 16 px (the largest)
    ids[6:, 6:] = 2  # object 2: 4 px
    # clip 0: object 1 sounds; clip 1: object 2 does
    on = [[[True] * 5, [False] * 5], [[False] * 5, [True] * 5]]
    dicts = [object_map_clip(str(tmp_path), f"c{c}", ids, on[c]) for c in range(2)]
    name = "hand_made_baseline_split"
    DatasetCatalog.register(name, lambda: dicts)
    try:
        largest = evaluate_baseline("largest_object", name)["avs"]
        empty = evaluate_baseline("all_background", name)["avs"]
    finally:
        DatasetCatalog.remove(name)
    # clip 0: the largest object sounds (J = 1); clip 1: the small one does (J = 0)
    assert largest["M_J"] == pytest.approx(50.0, abs=1e-4)
    assert empty["M_J"] == 0.0  # every frame has a sounding object
    assert empty["frames"] == 10
    # object diagnostics: the rule picks the sounding object in clip 0 only, exactly
    assert largest["picks_sounding"] == pytest.approx(50.0)
    assert largest["J_when_picked"] == pytest.approx(100.0, abs=1e-4)
    assert largest["silent_pixels"] == pytest.approx(50.0)  # clip 1: its 16 px on silent object 1
    assert empty["picks_sounding"] == 0.0 and empty["silent_pixels"] == 0.0

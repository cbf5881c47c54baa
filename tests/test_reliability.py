"""Reliability: bad inputs get clear errors, kills and NaNs lose nothing, distributed and repeated
runs give the same numbers, the generator survives interruption, evaluation memory stays flat."""

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from autr_d2.data import AVSClipDatasetMapper
from autr_d2.data.datasets.avsbench import (
    clip_paths,
    csv_path,
    load_avs_clips,
    register_avs_dataset,
)
from autr_d2.utils.outputs import MANIFEST, OutputFolder

from .conftest import tiny_cfg
from .test_train import ROOT, train_net


# ----------------------------------------------------------------------------- bad-input matrix
@pytest.fixture
def tree(synth_root, tmp_path):
    """A private copy of the tiny tree's S4 part, free to break."""
    root = tmp_path / "avs_synth"
    shutil.copytree(os.path.join(synth_root, "Single-source"), root / "Single-source")
    return str(root)


def _first(root, split="test"):
    d = load_avs_clips(root, "s4", split)[0]
    frames, masks, pkl, wav = clip_paths(root, "s4", split, d["clip_id"], d["category"])
    return d, frames, masks, pkl, wav


def _map(root, split="test", *opts):
    """Load the split and map every clip (train mapper reads the masks too)."""
    cfg = tiny_cfg(*opts)
    mapper = AVSClipDatasetMapper(cfg, is_train=(split == "train"))
    return [mapper(d) for d in load_avs_clips(root, "s4", split)]


def _use_wav(root, wav_writer, split="test"):
    """Replace the first clip's audio by a wav (the .pkl is removed so the wav is read)."""
    _, _, _, pkl, wav = _first(root, split)
    os.remove(pkl)
    wav_writer(wav)
    return wav


def case_missing_frame(root):
    f = _first(root)[1][2]
    os.remove(f)
    return lambda: load_avs_clips(root, "s4", "test"), [f, "missing file"]


def case_corrupt_png(root):
    f = _first(root)[1][1]
    data = open(f, "rb").read()
    open(f, "wb").write(data[: len(data) // 3])
    return lambda: _map(root), [f, "cannot read frame"]


def case_zero_length_wav(root):
    wav = _use_wav(root, lambda p: open(p, "wb").close())
    return lambda: _map(root), [wav, "cannot read audio"]


def case_unreadable_wav(root):
    wav = _use_wav(root, lambda p: open(p, "wb").write(b"RIFF\x00\x00garbage" * 10))
    return lambda: _map(root), [wav, "cannot read audio"]


def case_wav_without_samples(root):
    wav = _use_wav(root, lambda p: sf.write(p, np.zeros((0,), np.float32), 16000))
    return lambda: _map(root), [wav, "no samples"]


def case_pkl_wrong_shape(root):
    pkl = _first(root)[3]
    with open(pkl, "wb") as f:
        pickle.dump(torch.zeros(5, 1, 96, 32), f)
    return lambda: _map(root), [pkl, "expected [5, 1, 96, 64]"]


def case_mask_wrong_size(root):
    m = _first(root, "train")[2][0]
    Image.fromarray(np.zeros((100, 120), np.uint8)).save(m)
    return lambda: _map(root, "train"), [m, "does not match its frame"]


def case_csv_row_pointing_nowhere(root):
    with open(csv_path(root, "s4"), "a") as f:
        f.write("ghost_clip,0,dog,test\n")
    n = sum(1 for _ in open(csv_path(root, "s4")))
    return lambda: load_avs_clips(root, "s4", "test"), [f"line {n}", "ghost_clip", "missing"]


def case_empty_split(root):
    return lambda: load_avs_clips(root, "s4", "val_2027"), [csv_path(root, "s4"), "no clip has"]


def case_unknown_config_key(root):
    return lambda: tiny_cfg("MODEL.AUTR.NOT_A_KEY", 1), ["MODEL.AUTR.NOT_A_KEY"]


BAD_INPUTS = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gets_clear_error(tree, case):
    action, needles = BAD_INPUTS[case](tree)
    with pytest.raises(Exception) as info:
        action()
    msg = str(info.value)
    for needle in needles:
        assert needle in msg, f"{case}: {needle!r} not in error {msg!r}"


# documented fallbacks: handled, not errors
def test_fallback_44k_stereo_float_wav_and_short_audio_are_used(tree):
    def stereo_44k(p):
        t = np.arange(int(44100 * 5)) / 44100
        sig = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)], 1)
        sf.write(p, (0.5 * sig).astype(np.float32), 44100, subtype="FLOAT")

    _use_wav(tree, stereo_44k)
    audio = _map(tree)[0]["audio"]
    assert audio.shape == (5, 1, 96, 64) and torch.isfinite(audio).all()

    # 2 s of audio for 5 frames: padded by repeating the last 0.96 s example, as AVSBench does
    _, _, _, _, wav = _first(tree)
    sf.write(wav, np.random.default_rng(0).normal(0, 0.1, 32000).astype(np.float32), 16000)
    audio = _map(tree)[0]["audio"]
    assert audio.shape == (5, 1, 96, 64)
    assert torch.equal(audio[2], audio[4]) and not torch.equal(audio[0], audio[1])


def test_fallback_mask_values_thresholded_at_128(tree):
    m = _first(tree, "train")[2][0]
    arr = np.zeros((224, 224), np.uint8)
    arr[:, :80], arr[:, 80:150], arr[:, 150:] = 100, 128, 254
    Image.fromarray(arr).save(m)
    mask = _map(tree, "train", "INPUT.RANDOM_FLIP", "none")[0]["masks"][
        0
    ]  # resized to the tiny config's 64 px
    cols = mask.float().mean(0)
    assert cols[:20].max() == 0 and cols[-20:].min() == 1


# ----------------------------------------------------------------------------- non-finite loss
def _in_process_cfg(synth_root, out, *opts):
    name = "reliability_s4_train"
    register_avs_dataset(name, synth_root, "s4", "train", [])
    return tiny_cfg(
        *("DATASETS.TRAIN", (name,), "DATASETS.TEST", (), "OUTPUT_DIR", str(out)),
        *("SOLVER.MAX_ITER", 6, "SOLVER.CHECKPOINT_PERIOD", 2, "SOLVER.WARMUP_ITERS", 1),
        *opts,
    )


def _poison_from(monkeypatch, iteration):
    """Make loss_dice NaN from the given (0-based) training call on."""
    from autr_d2.modeling.criterion import AVSCriterion

    real = AVSCriterion.forward
    calls = {"n": 0}

    def forward(self, *a, **k):
        losses = real(self, *a, **k)
        if calls["n"] >= iteration:
            losses["loss_dice"] = losses["loss_dice"] * float("nan")
        calls["n"] += 1
        return losses

    monkeypatch.setattr(AVSCriterion, "forward", forward)


def test_nonfinite_loss_stops_keeps_checkpoint_and_resumes(synth_root, tmp_path, monkeypatch):
    from autr_d2.engine import Trainer
    from autr_d2.engine.trainer import NonFiniteLossError

    out = tmp_path / "run"
    cfg = _in_process_cfg(synth_root, out)
    _poison_from(monkeypatch, 3)
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=False)
    with pytest.raises(NonFiniteLossError) as info:
        trainer.train()
    msg = str(info.value)
    assert "iteration 3" in msg and "loss_dice=nan" in msg and "model_0000001.pth" in msg
    assert "--resume" in msg
    assert not (out / "model_final.pth").exists() and not (out / "model_0000003.pth").exists()
    state = torch.load(out / "model_0000001.pth", weights_only=False)["model"]
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())

    monkeypatch.undo()  # the cause is fixed: --resume continues from the kept checkpoint
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=True)
    assert trainer.start_iter == 2
    trainer.train()
    assert (out / "model_final.pth").is_file()


def test_nonfinite_loss_can_skip_steps_instead(synth_root, tmp_path, monkeypatch, caplog):
    from autr_d2.engine import Trainer

    cfg = _in_process_cfg(synth_root, tmp_path / "run", "SOLVER.STOP_ON_NONFINITE_LOSS", False)
    _poison_from(monkeypatch, 4)
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=False)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.train()
    assert "step skipped" in caplog.text
    after = trainer.model.state_dict()
    assert all(torch.isfinite(v).all() for v in after.values() if v.is_floating_point())
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the good steps trained


# ----------------------------------------------------------------------------- kill and resume
def _train_args(out, max_iter, *opts):
    """train_net.py and its arguments for the kill tests: a tiny model, a checkpoint every 5
    iterations, a metrics.json line every iteration."""
    from .test_train import TINY

    return [
        os.path.join(ROOT, "tools", "train_net.py"),
        *("--config-file", os.path.join(ROOT, "configs", "avs_synth", "s4_autr_R18.yaml")),
        *TINY,
        *("SOLVER.MAX_ITER", str(max_iter), "SOLVER.CHECKPOINT_PERIOD", "5"),
        *("SOLVER.LOG_PERIOD", "1", "OUTPUT_DIR", str(out)),
        *opts,
    ]


def test_sigkill_then_resume_continues_with_unbroken_metrics(synth_root, tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, DETECTRON2_DATASETS=os.path.dirname(synth_root))
    max_iter = 16
    cmd = [sys.executable, *_train_args(out, max_iter)]
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    last = out / "last_checkpoint"
    deadline = time.time() + 240
    while time.time() < deadline:
        if last.is_file() and last.read_text().strip() >= "model_0000004.pth":
            break
        assert proc.poll() is None, "training ended before it could be killed"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "model_final.pth").exists()
    ckpt = int(last.read_text().strip()[len("model_") : -len(".pth")])

    res = subprocess.run(
        cmd[:4] + ["--resume"] + cmd[4:], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert f"Starting training from iteration {ckpt + 1}" in (out / "log.txt").read_text()
    assert (out / "model_final.pth").is_file()
    lines = [json.loads(line) for line in open(out / "metrics.json")]
    iters = [m["iteration"] for m in lines if "total_loss" in m]
    assert iters == list(range(max_iter))  # every iteration exactly once, in order


# a kill at the worst moment: right after a checkpoint file lands (the process dies in save())
_DIE_AFTER_CHECKPOINT = """
import os, runpy, sys
from fvcore.common.checkpoint import Checkpointer
save = Checkpointer.save
def save_then_die(self, name, **kwargs):
    save(self, name, **kwargs)
    if name == "model_0000004":
        os._exit(137)
Checkpointer.save = save_then_die
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_kill_right_after_a_checkpoint_loses_no_metrics_line(synth_root, tmp_path):
    # Detectron2 checkpoints before its writers log the iteration; killed in between, the
    # resumed run (from iteration 5) could never write iteration 4's metrics.json line
    out = tmp_path / "run"
    env = dict(os.environ, DETECTRON2_DATASETS=os.path.dirname(synth_root))
    max_iter = 7
    # an evaluation at the checkpoint's iteration, logged too
    args = _train_args(out, max_iter, "TEST.EVAL_PERIOD", "5")
    killed = subprocess.run(
        [sys.executable, "-c", _DIE_AFTER_CHECKPOINT, *args],
        env=env, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert killed.returncode == 137, killed.stderr[-3000:]
    assert (out / "last_checkpoint").read_text().strip() == "model_0000004.pth"
    res = subprocess.run(
        [sys.executable, args[0], "--resume", *args[1:]],
        env=env, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Starting training from iteration 5" in (out / "log.txt").read_text()
    lines = [json.loads(line) for line in open(out / "metrics.json")]
    assert [m["iteration"] for m in lines if "total_loss" in m] == list(range(max_iter))
    evals = [m["iteration"] for m in lines if any(k.endswith("M_J") for k in m)]
    assert evals == [4, max_iter]  # the one at the checkpoint survives; the final one (after_train)


# ----------------------------------------------------------------------------- distributed
def _copypaste(res):
    lines = [ln for ln in (res.stdout + res.stderr).splitlines() if "copypaste: " in ln]
    return lines[-1].split("copypaste: ")[1]


def test_two_process_training_and_distributed_eval_equals_single(synth_root, tmp_path):
    run = tmp_path / "ddp"
    train_net(synth_root, run, "--num-gpus", "2", max_iter=2)
    assert "World size: 2" in (run / "log.txt").read_text()
    weights = str(run / "model_final.pth")
    single = train_net(synth_root, tmp_path / "e1", "--eval-only", "MODEL.WEIGHTS", weights)
    double = train_net(
        synth_root, tmp_path / "e2", "--eval-only", "--num-gpus", "2", "MODEL.WEIGHTS", weights
    )
    assert _copypaste(single) == _copypaste(double)


# ----------------------------------------------------------------------------- determinism
def test_same_seed_same_metrics(synth_root, tmp_path):
    a = train_net(synth_root, tmp_path / "a", "SEED", "7", max_iter=3)
    b = train_net(synth_root, tmp_path / "b", "SEED", "7", max_iter=3)
    assert _copypaste(a) == _copypaste(b)
    wa = torch.load(tmp_path / "a" / "model_final.pth", weights_only=False)["model"]
    wb = torch.load(tmp_path / "b" / "model_final.pth", weights_only=False)["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


# ----------------------------------------------------------------------------- generator safety
def _prepare(root, *extra):
    sizes = ["--s4-train", "30", "--s4-test", "4"]
    for z in ("s4-val", "s4-test-unseen", "s4-test-openset", "ms3-train", "ms3-val", "ms3-test"):
        sizes += [f"--{z}", "0"]
    sizes += ["--ms3-test-unseen", "0", "--ms3-test-openset", "0"]
    return [sys.executable, os.path.join(ROOT, "datasets", "prepare_avs_synth.py")] + [
        *("--root", str(root), "--media", "procedural", *sizes, *extra)
    ]


def _recorded(root):
    """What the output manifest records, as --overwrite reads it: {file: size, None if begun and
    not finished}, {folder}; mtimes left out (a second run's files have their own)."""
    files, dirs = OutputFolder(str(root), "prepare_avs_synth")._records()
    return {rel: rec and rec[0] for rel, rec in files.items()}, set(dirs)


def _tree_bytes(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, root)] = open(p, "rb").read()
    return out


def test_interrupted_generator_resumes_to_the_same_dataset(tmp_path):
    ref, root = tmp_path / "ref", tmp_path / "cut"
    subprocess.run(_prepare(ref), check=True, capture_output=True)
    proc = subprocess.Popen(_prepare(root), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    frames = tmp_path / "cut.partial" / "Single-source" / "s4_data" / "visual_frames"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if frames.is_dir() and sum(len(f) for _, _, f in os.walk(frames)) >= 40:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the generator finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not root.exists()  # only the .partial folder: the dataset is all or nothing

    subprocess.run(_prepare(root), check=True, capture_output=True)
    assert not (tmp_path / "cut.partial").exists()
    got, want = _tree_bytes(root), _tree_bytes(ref)
    assert sorted(got) == sorted(want)  # no duplicates, no leftover temporary files
    for k in want:  # byte for byte what an uninterrupted run writes
        if k.endswith(".pkl"):  # a pickled tensor embeds its storage's address: compare values
            assert torch.equal(pickle.loads(got[k]), pickle.loads(want[k])), k
        elif k == MANIFEST:  # the same entries and sizes; its mtimes are this run's own files'
            files, dirs = _recorded(root)
            assert (files, dirs) == _recorded(ref)
            assert set(files) == set(got) - {MANIFEST, ".autr_d2_output.json"}
            assert None not in files.values()
        else:
            assert got[k] == want[k], k

    again = subprocess.run(_prepare(root), capture_output=True, text=True)
    assert again.returncode != 0 and "--overwrite" in again.stderr + again.stdout


# ----------------------------------------------------------------------------- memory
def test_evaluator_memory_does_not_grow_per_clip(tmp_path):
    """The evaluator keeps per-clip sums (a 255-float F curve and counters), never predictions:
    its state per clip is the same for 64- and 512-pixel frames (up to the few bytes pickle spends
    on larger pixel counts), and 150 clips of 224 px frames
    (600 MB of probabilities if kept) move RSS by a few MB at most."""
    import psutil

    from autr_d2.evaluation import AVSEvaluator

    def state_bytes(size, n_clips):
        gt = tmp_path / f"gt{size}.png"
        Image.fromarray(np.eye(size, dtype=np.uint8) * 255).save(gt)
        ev = AVSEvaluator("unused", distributed=False)
        ev.reset()
        for i in range(n_clips):
            out = {"frames": [{"sem_seg": torch.rand(2, size, size)} for _ in range(5)]}
            ev.process([{"clip_id": f"c{i}", "sem_seg_file_names": [str(gt)] * 5}], [out])
        return len(pickle.dumps(ev._clips)) / n_clips, ev

    small, _ = state_bytes(64, 10)
    large, _ = state_bytes(512, 10)
    # 64x64 vs 512x512 frames: 64x the pixels, so a kept map would grow the state ~64-fold; pixel
    # counters pickle as 1-, 2- or 4-byte ints, which moves the size by a few bytes per clip
    assert abs(small - large) < 32 and small < 4096

    gt = tmp_path / "gt224.png"
    Image.fromarray(np.eye(224, dtype=np.uint8) * 255).save(gt)
    ev = AVSEvaluator("unused", distributed=False)
    ev.reset()
    proc = psutil.Process()
    rss = []
    for i in range(150):
        out = {"frames": [{"sem_seg": torch.rand(2, 224, 224)} for _ in range(5)]}
        ev.process([{"clip_id": f"c{i}", "sem_seg_file_names": [str(gt)] * 5}], [out])
        if i in (29, 149):
            rss.append(proc.memory_info().rss)
    assert rss[1] - rss[0] < 40 * 2**20

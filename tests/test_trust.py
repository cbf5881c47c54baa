"""Issue "Trust": nothing a user owns is deleted, no data file runs code, no silent wrong answer
(missing weights, partial checkpoints, bad flags), sentences instead of tracebacks, the category
count derived from the data, and the official M_J on splits that are not a multiple of 4."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from detectron2.data import DatasetCatalog
from detectron2.modeling import build_model
from PIL import Image

from autr_d2.checkpoint import AuTRCheckpointer, CheckpointError
from autr_d2.data.audio import AudioError, load_log_mel
from autr_d2.engine import ConfigError
from autr_d2.evaluation import AVSEvaluator
from autr_d2.utils.outputs import (
    MARKER,
    OutputDirError,
    OutputRecorder,
    replace_recorded_outputs,
    write_marker,
)
from autr_d2.utils.safe_pickle import UnsafePickleError

from .conftest import tiny_cfg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ----------------------------------------------------------------------------- 1. output folders
def test_overwrite_never_removes_foreign_files_or_inputs(tmp_path):
    from autr_d2.engine.defaults import TRAIN_LOGS, TRAIN_OUTPUTS

    tool, writes = "tools/train_net.py", TRAIN_OUTPUTS
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    (home / "model_final.pth").write_bytes(b"weights")
    # a folder the tool did not make: refused, nothing removed
    with pytest.raises(OutputDirError, match="not an output folder"):
        replace_recorded_outputs(str(home), tool, writes)
    # the input's own folder: refused
    write_marker(str(home), tool)
    with pytest.raises(OutputDirError, match="holds the input"):
        replace_recorded_outputs(str(home), tool, writes, [str(home / "model_final.pth")])
    # marked, but by a version that kept no record: its checkpoint is not told from the user's
    with pytest.raises(OutputDirError, match="kept no record"):
        replace_recorded_outputs(str(home), tool, writes)
    assert sorted(os.listdir(home)) == [MARKER, "model_final.pth", "thesis.tex"]

    out = tmp_path / "out"
    out.mkdir()
    write_marker(str(out), tool)
    (out / "notes.md").write_text("mine")  # there before the run
    (out / "log.txt").write_text("my own notes\n")  # the user's, under a name Detectron2 uses
    run = OutputRecorder(str(out), writes, TRAIN_LOGS)
    (out / "model_0000001.pth").write_bytes(b"w1")
    (out / "metrics.json").write_text('{"iteration": 1}\n')
    with open(out / "log.txt", "a") as f:  # Detectron2 appends to a log it finds
        f.write("iter 1\n")
    run.record()
    masks = out / "inference" / "s4_test" / "pred_masks" / "dog" / "clip1"
    masks.mkdir(parents=True)
    (masks / "clip1_1.png").write_bytes(b"png")
    with open(out / "metrics.json", "a") as f:  # the run's log grows: recorded again
        f.write('{"iteration": 2}\n')
    (out / "model_best.pth").write_bytes(b"copied by hand during the run")  # not a D2 name
    run.record()
    (out / "inference" / "my_plot.png").write_bytes(b"plot")  # the user's, beside the run's
    # the user's log.txt never became the run's, though the run appended to it: refused
    with pytest.raises(OutputDirError, match="log.txt"):
        replace_recorded_outputs(str(out), tool, writes)
    assert (out / "model_0000001.pth").is_file()  # refused before anything was removed
    (out / "log.txt").rename(tmp_path / "my_log.txt")
    replace_recorded_outputs(str(out), tool, writes)
    assert sorted(os.listdir(out)) == [MARKER, "inference", "model_best.pth", "notes.md"]
    assert os.listdir(out / "inference") == ["my_plot.png"]  # the run's empty folders went

    # a run killed between two records: a log that only grew is still the run's; one the user
    # edited, or a config.yaml changed since, is theirs and blocks the overwrite
    run = OutputRecorder(str(out), writes, TRAIN_LOGS)
    (out / "metrics.json").write_text('{"iteration": 1}\n')
    (out / "config.yaml").write_text("SEED: 1\n")
    (masks / "clip1_1.png").parent.mkdir(parents=True)
    (masks / "clip1_1.png").write_bytes(b"png")
    run.record()
    with open(out / "metrics.json", "a") as f:
        f.write('{"iteration": 2}\n')
    (out / "config.yaml").write_text("SEED: 1  # the seed I reported\n")
    with pytest.raises(OutputDirError, match="config.yaml .*changed since"):
        replace_recorded_outputs(str(out), tool, writes)
    (out / "config.yaml").unlink()
    # the evaluations moved away and linked back: nothing is removed through the link
    backup = tmp_path / "backup"
    (out / "inference").rename(backup)
    (out / "inference").symlink_to(backup)
    replace_recorded_outputs(str(out), tool, writes)
    assert "metrics.json" not in os.listdir(out)
    assert (backup / "s4_test" / "pred_masks" / "dog" / "clip1" / "clip1_1.png").is_file()
    # a file where the folder should be
    with pytest.raises(OutputDirError, match="is a file"):
        replace_recorded_outputs(str(home / "thesis.tex"), tool, writes)


def test_generator_overwrite_removes_only_its_own_tree(tmp_path):
    from autr_d2.data.synth import SynthConfig, generate_avs_synth

    sizes = {"s4": {"train": 1, "test": 1}}
    cfg = SynthConfig(seed=0, media="procedural")
    root = tmp_path / "home"
    root.mkdir()
    (root / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputDirError, match="not an output folder"):
        generate_avs_synth(str(root), ("s4",), sizes, cfg, overwrite=True, progress=False)
    assert (root / "thesis.tex").read_text() == "years of work"
    ours = tmp_path / "avs_synth"
    generate_avs_synth(str(ours), ("s4",), sizes, cfg, progress=False)
    assert (ours / MARKER).is_file()
    generate_avs_synth(str(ours), ("s4",), sizes, cfg, overwrite=True, progress=False)
    assert (ours / "stats.json").is_file()


# ----------------------------------------------------------------------------- 2. hostile pickles
class _Payload:
    """Unpickling calls os.system (writes a file), then returns a valid log-mel tensor."""

    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return (
            eval,
            (
                f"__import__('os').system('touch {self.sentinel}') or "
                "__import__('torch').zeros(5, 1, 96, 64)",
            ),
        )


def test_hostile_audio_pickle_is_refused_and_runs_nothing(tmp_path):
    sentinel = tmp_path / "pwned"
    path = str(tmp_path / "clip.pkl")
    with open(path, "wb") as f:
        pickle.dump(_Payload(sentinel), f)
    with pytest.raises(UnsafePickleError, match=r"clip\.pkl.*builtins\.eval"):
        load_log_mel(path, 5)
    assert not sentinel.exists()


def test_avsbench_style_pickle_still_loads(tmp_path):
    """AVSBench's audio_log_mel/*.pkl: pickle.dump of the torchvggish front end's tensor, made
    with requires_grad (hence the loaders' .detach())."""
    from torchvggish import vggish_input

    wave = np.sin(2 * np.pi * 440 * np.arange(5 * 16000) / 16000)
    mel = vggish_input.waveform_to_examples(wave, 16000, return_tensor=True)
    mel.requires_grad_(True)
    path = str(tmp_path / "clip.pkl")
    with open(path, "wb") as f:
        pickle.dump(mel, f)
    got = load_log_mel(path, 5)
    assert got.shape == (5, 1, 96, 64) and torch.allclose(got, mel.detach().float())
    with open(path, "wb") as f:  # numpy arrays too (the loader accepts them)
        pickle.dump(mel.detach().numpy(), f, protocol=2)
    assert torch.allclose(load_log_mel(path, 5), got)


def test_hostile_and_real_d2_pkl_checkpoints(tmp_path):
    model = build_model(tiny_cfg())
    sentinel = tmp_path / "pwned"
    bad = str(tmp_path / "model.pkl")
    with open(bad, "wb") as f:
        pickle.dump({"model": {"w": _Payload(sentinel)}, "__author__": "x"}, f)
    with pytest.raises(CheckpointError, match=r"model\.pkl.*builtins\.eval"):
        AuTRCheckpointer(model).load(bad)
    assert not sentinel.exists()
    # a model-zoo style file (numpy arrays, protocol 2) loads
    good = str(tmp_path / "zoo.pkl")
    weights = {k: v.numpy() for k, v in model.backbone.state_dict().items()}
    with open(good, "wb") as f:
        pickle.dump({"model": weights, "__author__": "zoo", "matching_heuristics": True}, f, 2)
    other = build_model(tiny_cfg("SEED", 5))
    AuTRCheckpointer(other).load(good)
    k = "res2.0.conv1.weight"
    assert torch.equal(other.backbone.state_dict()[k], model.backbone.state_dict()[k])


def test_hostile_pth_is_refused_even_when_torch_is_told_to_unpickle(tmp_path, monkeypatch):
    """Detectron2 / fvcore call torch.load without weights_only: before torch 2.6, or with
    TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1, that is a full unpickle. The checkpointer passes it."""
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    model = build_model(tiny_cfg())
    sentinel = tmp_path / "pwned"
    for name in ("model_final.pth", "model.pyth"):
        bad = str(tmp_path / name)
        torch.save({"model": {"w": _Payload(sentinel)}, "model_state": {}}, bad)
        with pytest.raises(CheckpointError, match=name.replace(".", r"\.") + ": refused") as e:
            AuTRCheckpointer(model).load(bad)
        assert not sentinel.exists()
        # one sentence naming the forbidden global, without torch's terminal colour codes
        assert "it names eval" in str(e.value) and "\x1b" not in str(e.value)
    # real files still load: a Detectron2 checkpoint and a pycls one
    other = build_model(tiny_cfg("SEED", 5))
    for name, data in (
        ("good.pth", {"model": model.state_dict()}),
        ("good.pyth", {"model_state": model.backbone.state_dict()}),
    ):
        torch.save(data, tmp_path / name)
        AuTRCheckpointer(other).load(str(tmp_path / name))
    k = "backbone.res2.0.conv1.weight"
    assert torch.equal(other.state_dict()[k], model.state_dict()[k])
    # a missing file is a sentence, not fvcore's bare AssertionError
    with pytest.raises(CheckpointError, match=r"nope\.pth: checkpoint not found"):
        AuTRCheckpointer(model).load(str(tmp_path / "nope.pth"))
    # a pretrained file a config names: the sentence gives the command that makes it
    with pytest.raises(CheckpointError, match="convert_pretrained.py resnet50"):
        AuTRCheckpointer(model).load(str(tmp_path / "R-50-torchvision.pkl"))


def test_config_with_a_python_tag_is_refused_and_runs_nothing(tmp_path):
    """Detectron2's merge_from_file retries a config that safe_load refuses with
    yaml.unsafe_load: a downloaded config (or its _BASE_) could run code."""
    from autr_d2.engine import setup_cfg

    sentinel = tmp_path / "pwned"
    base = os.path.join(ROOT, "configs", "avs_synth", "s4_autr_R18.yaml")
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text(
        f"_BASE_: {base}\nSEED: !!python/object/apply:os.system ['touch {sentinel}']\n"
    )
    child = tmp_path / "child.yaml"  # the tag in a _BASE_ is refused too
    child.write_text(f"_BASE_: {hostile}\n")
    for path in (hostile, child):
        with pytest.raises(ConfigError, match=f"{path.name}.*Python tags"):
            setup_cfg(str(path))
        assert not sentinel.exists()
    with pytest.raises(ConfigError, match=r"missing\.yaml: config file not found"):
        setup_cfg(str(tmp_path / "missing.yaml"))
    typo = tmp_path / "typo.yaml"
    typo.write_text(f"_BASE_: {base}\nMODEL:\n  AUTR:\n    NUM_QUERIEZ: 3\n")
    with pytest.raises(ConfigError, match="typo.yaml.*NUM_QUERIEZ"):
        setup_cfg(str(typo))
    with pytest.raises(ConfigError, match="command-line options.*NUM_QUERIEZ"):
        setup_cfg(base, ["MODEL.AUTR.NUM_QUERIEZ", "3"])


def test_claimed_output_folders_keep_foreign_files(tmp_path):
    """run_demo / run_study rewrite their summaries in their --output on every run: only in a
    folder of their own (new, marked, or holding nothing but their own names)."""
    from autr_d2.utils.outputs import claim_output_dir

    owned = ["train", "results.json"]
    home = tmp_path / "home"
    home.mkdir()
    (home / "results.json").write_text("my results")
    (home / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputDirError, match="thesis.tex"):
        claim_output_dir(str(home), "tools/run_demo.py", owned)
    assert not (home / MARKER).exists()
    out = tmp_path / "out"
    claim_output_dir(str(out), "tools/run_demo.py", owned)  # new: claimed
    assert (out / MARKER).is_file()
    (out / "results.json").write_text("{}")
    claim_output_dir(str(out), "tools/run_demo.py", owned)  # its own: reused
    with pytest.raises(OutputDirError, match="an output folder of tools/run_demo.py"):
        claim_output_dir(str(out), "tools/run_study.py", ["results.json"])
    legacy = tmp_path / "legacy"  # an older version's folder (no marker): its own names only
    (legacy / "train").mkdir(parents=True)
    claim_output_dir(str(legacy), "tools/run_demo.py", owned)
    assert (legacy / MARKER).is_file() and (legacy / "train").is_dir()


def test_run_demo_never_reports_a_reused_training_of_other_settings(tmp_path):
    """run_demo reuses the training in its folder; one made with other settings (an older
    version's 600 steps, another --seed) stops it with the folder and the keys, instead of
    being reported as this run's model."""
    from autr_d2.engine import setup_cfg
    from tools.run_demo import check_reusable

    config = os.path.join(ROOT, "configs", "avs_synth", "paper", "s4_autr_effl0.yaml")
    train = tmp_path / "train"
    train.mkdir()
    opts = ["SOLVER.MAX_ITER", "1000", "INPUT.SIZE_TRAIN", "128", "SEED", "1"]
    check_reusable(str(train), config, opts)  # nothing there yet: train
    old = setup_cfg(config, ["SOLVER.MAX_ITER", "600", "INPUT.SIZE_TRAIN", "128"])
    (train / "config.yaml").write_text(old.dump())  # as Detectron2 writes it
    with pytest.raises(SystemExit, match=r"train holds a training .*MAX_ITER 600 there, 1000 now"):
        check_reusable(str(train), config, opts)
    check_reusable(str(train), config, ["SOLVER.MAX_ITER", "600", "INPUT.SIZE_TRAIN", "128"])
    with pytest.raises(SystemExit, match=r"SEED 1 there, 2 now"):
        check_reusable(str(train), config, [*opts[:4], "SOLVER.MAX_ITER", "600", "SEED", "2"])
    (train / "config.yaml").write_text("MODEL: [unclosed")
    with pytest.raises(SystemExit, match=r"config.yaml: cannot read"):
        check_reusable(str(train), config, opts)
    # run_study reuses its runs the same way: a run of another --iters stops it before any
    # training or scoring, and one of the same settings is reused (not trained again)
    from tools import run_study

    (train / "config.yaml").write_text(old.dump())
    (train / "model_final.pth").write_bytes(b"")
    commands = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(run_study, "sh", lambda cmd, env: commands.append(cmd))
        with pytest.raises(SystemExit, match=r"MAX_ITER 600 there, 1000 now"):
            run_study.train(config, str(train), 1, 1000, False, {}, ["INPUT.SIZE_TRAIN", "128"])
        run_study.train(config, str(train), 1, 600, False, {}, ["INPUT.SIZE_TRAIN", "128"])
    assert commands == []


def test_interrupted_generation_never_mixes_settings(tmp_path):
    from autr_d2.data.synth import SynthConfig, generate_avs_synth

    sizes = {"s4": {"train": 1, "test": 1}}
    root = tmp_path / "avs_synth"
    partial = tmp_path / "avs_synth.partial"
    partial.mkdir()
    (partial / "notes.txt").write_text("mine")  # not a generator's folder
    with pytest.raises(OutputDirError, match="not an interrupted run"):
        generate_avs_synth(str(root), ("s4",), sizes, SynthConfig(media="procedural"),
                           progress=False)  # fmt: skip
    (partial / "notes.txt").unlink()
    partial.rmdir()
    # an interrupted run with seed 0 (its record written, one clip of it left behind)
    from dataclasses import asdict

    from autr_d2.data.synth import SETTINGS_RECORD, TOOL, start_tree

    settings = {"generator": "avs_synth", **asdict(SynthConfig(seed=0, media="procedural"))}
    settings["media"] = "procedural"
    start_tree(str(root), False, TOOL, [], settings)
    with open(partial / SETTINGS_RECORD) as f:
        record = f.read()
    cfg = SynthConfig(seed=1, media="procedural")
    with pytest.raises(OutputDirError, match="other settings.*'seed': 0"):
        generate_avs_synth(str(root), ("s4",), sizes, cfg, progress=False)
    assert (partial / SETTINGS_RECORD).read_text() == record and not root.exists()
    # the same settings resume it; the finished tree keeps the record and can be replaced
    cfg = SynthConfig(seed=0, media="procedural")
    generate_avs_synth(str(root), ("s4",), sizes, cfg, progress=False)
    assert not partial.exists() and (root / SETTINGS_RECORD).is_file() and (root / MARKER).is_file()
    generate_avs_synth(str(root), ("s4",), sizes, cfg, overwrite=True, progress=False)


def test_benchmark_json_and_swapped_audio_masks_replace_nothing(tmp_path):
    from autr_d2.evaluation import build_evaluator

    existing = tmp_path / "before.json"
    existing.write_text('{"mine": 1}')
    cfg_file = os.path.join(ROOT, "configs", "avs_synth", "s4_autr_R18.yaml")
    res = _tool("tools/benchmark.py", "--config-file", cfg_file, "--json", str(existing))
    assert res.returncode != 0 and "before.json exists; pass --overwrite" in res.stderr
    assert existing.read_text() == '{"mine": 1}' and "Traceback" not in res.stderr
    # the "another clip's audio" evaluation saves its masks beside the real ones, not over them
    name = "avs_synth_s4_test"
    own = build_evaluator(tiny_cfg("OUTPUT_DIR", str(tmp_path)), name)
    swapped = build_evaluator(
        tiny_cfg("OUTPUT_DIR", str(tmp_path), "TEST.AVS.SWAP_AUDIO_SEED", 0), name
    )
    assert own._output_dir == str(tmp_path / "inference" / name)
    assert swapped._output_dir == str(tmp_path / "inference" / f"{name}_swapped_audio_seed0")


# ----------------------------------------------------------------------------- 6./7. weights
def test_corrupt_and_partial_checkpoints_are_errors(tmp_path):
    model = build_model(tiny_cfg())
    corrupt = tmp_path / "model_final.pth"
    corrupt.write_bytes(b"\x80\x04 this is not a checkpoint")
    with pytest.raises(CheckpointError, match="model_final.pth: not a PyTorch checkpoint") as e:
        AuTRCheckpointer(model).load(str(corrupt))
    assert "weights_only=False" not in str(e.value)  # never advise the unsafe load
    partial = {k: v for k, v in model.state_dict().items() if "sound_head" not in k}
    path = str(tmp_path / "partial.pth")
    torch.save({"model": partial}, path)
    with pytest.raises(CheckpointError, match="sound_head.weight.*ALLOW_PARTIAL_WEIGHTS"):
        AuTRCheckpointer(build_model(tiny_cfg()), strict=True).load(path)
    AuTRCheckpointer(build_model(tiny_cfg())).load(path)  # training init: allowed


def test_ims_per_batch_zero_is_a_config_error():
    with pytest.raises(ConfigError, match="SOLVER.IMS_PER_BATCH is 0"):
        tiny_cfg("SOLVER.IMS_PER_BATCH", 0)


def _tool(*args, env_root=None):
    env = dict(os.environ)
    if env_root:
        env["DETECTRON2_DATASETS"] = env_root
    cmd = [sys.executable, *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)


def test_eval_only_without_weights_is_an_error(synth_root, tmp_path):
    cfg = os.path.join(ROOT, "configs", "avs_synth", "s4_autr_R18.yaml")
    res = _tool(
        "tools/train_net.py",
        "--config-file",
        cfg,
        "--eval-only",
        "OUTPUT_DIR",
        str(tmp_path),
        env_root=os.path.dirname(synth_root),
    )
    assert res.returncode != 0 and "--eval-only needs the trained weights" in res.stderr
    assert "Traceback" not in res.stderr


def test_visualize_bad_arguments_are_sentences_and_leave_no_folder(synth_root, tmp_path):
    out = tmp_path / "vis"
    res = _tool(
        "tools/visualize.py",
        "--dataset",
        "coco_2017_val_typo",
        "--pred-dir",
        str(tmp_path),
        "--output",
        str(out),
        env_root=os.path.dirname(synth_root),
    )
    assert res.returncode != 0 and "avs_synth_s4_test" in res.stderr
    assert "coco_2017_train" not in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()
    res = _tool(
        "tools/visualize.py",
        "--dataset",
        "avs_synth_s4_test",
        "--pred-dir",
        str(tmp_path),
        "--num-clips",
        "-1",
        "--output",
        str(out),
        env_root=os.path.dirname(synth_root),
    )
    assert res.returncode != 0 and "--num-clips: must be at least 1" in res.stderr


# ----------------------------------------------------------------------------- 8. categories
def test_num_categories_derived_from_the_training_metadata():
    cfg = ("MODEL.AUDIO.CATEGORY_WEIGHT", 1.0, "DATASETS.TRAIN", ("avsbench_s4_train",))
    model = build_model(tiny_cfg(*cfg))
    assert model.audio_classifier.out_features == 23  # AVSBench S4, read from its metadata
    with pytest.raises(ValueError, match="lists 1"):  # MS3's only category is "multi"
        build_model(tiny_cfg(cfg[0], cfg[1], cfg[2], ("avsbench_ms3_train",)))


# ----------------------------------------------------------------------------- 9. official M_J
def _official_mask_iou(pred_logits, target, eps=1e-7):
    """AVSBench avs_scripts/avs_s4/utils.py mask_iou, re-implemented: the mean J of one batch."""
    n = pred_logits.shape[0]
    num_pixels = pred_logits.shape[-1] * pred_logits.shape[-2]
    no_obj = target.sum(2).sum(1) == 0
    pred = (torch.sigmoid(pred_logits) > 0.5).int()
    inter = (pred * target).sum(2).sum(1)
    union = torch.max(pred, target).sum(2).sum(1)
    inter_no_obj = ((1 - target) * (1 - pred)).sum(2).sum(1)
    inter[no_obj] = inter_no_obj[no_obj]
    union[no_obj] = num_pixels
    return torch.sum(inter / (union + eps)) / n


def test_official_mj_on_a_split_of_14_clips(tmp_path):
    """The official test script averages J per batch of 4 clips (the last batch: 2), then over
    batches; on 14 clips that differs from the per-frame mean, and M_J must follow the script."""
    rng = np.random.default_rng(0)
    n_clips, t, size = 14, 5, 12
    logits = torch.tensor(rng.normal(0, 2, (n_clips, t, size, size)), dtype=torch.float32)
    gts = (rng.random((n_clips, t, size, size)) > rng.random((n_clips, 1, 1, 1))).astype(np.uint8)
    gts[13] = 0  # the last batch is small and has empty masks: its J weighs more officially
    inputs, outputs = [], []
    for c in range(n_clips):
        paths = []
        for k in range(t):
            p = str(tmp_path / f"c{c}_{k}.png")
            Image.fromarray(gts[c, k] * 255).save(p)
            paths.append(p)
        inputs.append({"clip_id": f"c{c}", "sem_seg_file_names": paths})
        prob = torch.sigmoid(logits[c])
        outputs.append({"frames": [{"sem_seg": torch.stack([1 - p, p])} for p in prob]})
    name = f"official_mj_{tmp_path.name}"
    DatasetCatalog.register(name, lambda: [{"clip_id": f"c{c}"} for c in range(n_clips)])
    try:
        ev = AVSEvaluator(name, distributed=False, f_group_size=4)
        ev.reset()
        for i, o in zip(inputs, outputs):
            ev.process([i], [o])
        res = ev.evaluate()["avs"]
    finally:
        DatasetCatalog.remove(name)
    target = torch.from_numpy(gts).int()
    batches = [
        _official_mask_iou(logits[b : b + 4].flatten(0, 1), target[b : b + 4].flatten(0, 1))
        for b in range(0, n_clips, 4)
    ]
    official = 100 * float(torch.stack(batches).mean())
    per_frame = 100 * float(
        sum(_official_mask_iou(logits[c], target[c]) * t for c in range(n_clips)) / (n_clips * t)
    )
    assert abs(official - per_frame) > 0.1  # the case tells the two apart
    assert res["M_J"] == pytest.approx(official, abs=1e-4)
    assert res["M_J_per_frame"] == pytest.approx(per_frame, abs=1e-4)


def test_audio_error_is_not_swallowed(tmp_path):
    path = tmp_path / "garbage.pkl"
    path.write_bytes(b"not a pickle at all")
    with pytest.raises(AudioError, match="garbage.pkl"):
        load_log_mel(str(path), 5)

"""Sentences, not tracebacks: what a user sees when a config, a checkpoint, a data file or the
machine cannot work; and the tools that must not lose a user's files on the way."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from autr_d2.data.synth import SynthConfig, generate_avs_synth
from autr_d2.engine import (
    ConfigError,
    check_launch,
    check_output_dir,
    record_outputs,
    setup_cfg,
    user_message,
)
from autr_d2.engine.defaults import OutputDirExistsError
from autr_d2.utils.safe_pickle import UnsafePickleError

from .test_train import ROOT, TINY
from .test_trust import _Payload

CONFIGS = os.path.join(ROOT, "configs")
R18 = os.path.join(CONFIGS, "avs_synth", "s4_autr_R18.yaml")


def _run(*args, env_root=None):
    env = dict(os.environ)
    if env_root:
        env["DETECTRON2_DATASETS"] = env_root
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT
    )


def test_empty_section_and_missing_base_are_sentences(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text(f'_BASE_: "{R18}"\nMODEL:\n  AUTR:\n')
    with pytest.raises(ConfigError, match=r"MODEL\.AUTR is an empty section") as e:
        setup_cfg(str(empty))
    assert len(str(e.value)) < 300  # not yacs' dump of the whole section
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(f'_BASE_: "{R18}"\nSOLVER:\n  MAX_ITER: "many"\n')
    with pytest.raises(ConfigError, match="SOLVER.MAX_ITER must be a int"):
        setup_cfg(str(wrong))
    orphan = tmp_path / "orphan.yaml"
    orphan.write_text('_BASE_: "Base-Gone.yaml"\n')
    with pytest.raises(ConfigError, match=r"the _BASE_ config .*Base-Gone\.yaml does not exist"):
        setup_cfg(str(orphan))
    res = _run("tools/train_net.py", "--config-file", str(empty))
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert "MODEL.AUTR is an empty section" in res.stderr.strip().splitlines()[-1]


def test_category_weight_on_ms3_is_said_before_the_config_is_logged(synth_root, tmp_path):
    ms3 = os.path.join(CONFIGS, "avs_synth", "ms3_autr_R18.yaml")
    res = _run(
        "tools/train_net.py",
        *("--config-file", ms3, *TINY, "MODEL.AUDIO.CATEGORY_WEIGHT", "1.0"),
        *("OUTPUT_DIR", str(tmp_path / "out")),
        env_root=os.path.dirname(synth_root),
    )
    assert res.returncode != 0 and "Traceback" not in res.stderr
    lines = [  # a library's deprecation warning at import is not ours to hide
        ln for ln in (res.stdout + res.stderr).strip().splitlines() if "warn" not in ln.lower()
    ]
    assert "CATEGORY_WEIGHT" in lines[-1] and len(lines) <= 2, lines[:40]
    assert not (tmp_path / "out").exists()


def test_cuda_device_without_cuda_is_an_error_that_says_why():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    avsbench = os.path.join(CONFIGS, "avsbench", "s4", "autr_R50.yaml")
    with pytest.raises(ConfigError, match="CUDA is not usable here.*MODEL.DEVICE cpu"):
        setup_cfg(avsbench)  # its MODEL.DEVICE is Detectron2's default, cuda
    assert setup_cfg(avsbench, ["MODEL.DEVICE", "cpu"]).MODEL.DEVICE == "cpu"


def test_a_batch_that_does_not_split_over_the_processes_names_both_numbers():
    cfg = setup_cfg(R18, ["SOLVER.IMS_PER_BATCH", "6"])
    with pytest.raises(ConfigError, match=r"IMS_PER_BATCH 6 .* 4 processes"):
        check_launch(cfg, 4)
    check_launch(cfg, 2)  # 3 clips per process
    check_launch(cfg, 0)  # one process


def test_a_failed_runs_empty_metrics_does_not_block_a_rerun(tmp_path):
    out = tmp_path / "run"
    check_output_dir(str(out))
    (out / "metrics.json").write_text("")  # the run crashed before its first log line
    (out / "log.txt").write_text("Traceback ...")
    record_outputs()  # train_net.py's cleanup: what the run wrote is recorded
    check_output_dir(str(out))  # the same command again: no --overwrite needed
    (out / "metrics.json").write_text('{"iteration": 19}\n')
    record_outputs()
    with pytest.raises(OutputDirExistsError, match="--overwrite"):
        check_output_dir(str(out))


def test_a_new_run_does_not_write_over_a_users_file_of_the_same_name(tmp_path):
    out = tmp_path / "exp1"
    out.mkdir()
    (out / "config.yaml").write_text("my notes on the experiment")  # no result: no --overwrite
    with pytest.raises(OutputDirExistsError, match=r"holds config.yaml \(not recorded"):
        check_output_dir(str(out))
    assert (out / "config.yaml").read_text() == "my notes on the experiment"
    check_output_dir(str(out), resume=True)  # continuing on purpose is the user's call


def _raise_in_worker(_):
    raise UnsafePickleError("/data/clip.pkl: refused to unpickle, it names os.system")


def test_an_error_raised_in_a_dataloader_worker_is_one_sentence():
    loader = torch.utils.data.DataLoader(
        list(range(2)), batch_size=1, num_workers=1, collate_fn=_raise_in_worker
    )
    with pytest.raises(UnsafePickleError) as e:
        next(iter(loader))
    assert "Original Traceback" in str(e.value)  # what torch re-raises: the whole traceback
    assert user_message(e.value) == "/data/clip.pkl: refused to unpickle, it names os.system"
    assert user_message(ValueError("\x1b[1mbold\x1b[0m advice")) == "bold advice"


@pytest.fixture(scope="module")
def hostile_tree(tmp_path_factory):
    """A one-clip AVS-Synth S4 test split whose log-mel pickle would run code."""
    root = tmp_path_factory.mktemp("hostile") / "avs_synth"
    sizes = {"s4": {"train": 1, "val": 0, "test": 1, "test_unseen": 0, "test_openset": 0}}
    generate_avs_synth(str(root), ("s4",), sizes, SynthConfig(seed=0, media="procedural"),
                       progress=False)  # fmt: skip
    sentinel = root.parent / "pwned"
    for dirpath, _, names in os.walk(root / "Single-source" / "s4_data" / "audio_wav" / "test"):
        for name in names:
            pkl = os.path.join(dirpath.replace("audio_wav", "audio_log_mel"), name[:-4] + ".pkl")
            os.makedirs(os.path.dirname(pkl), exist_ok=True)
            with open(pkl, "wb") as f:
                pickle.dump(_Payload(sentinel), f)
    return root, sentinel


def test_visualize_refusal_is_a_sentence_and_leaves_no_folder(hostile_tree, tmp_path):
    from detectron2.modeling import build_model

    from .conftest import tiny_cfg

    root, sentinel = hostile_tree
    weights = tmp_path / "w.pth"
    torch.save({"model": build_model(tiny_cfg()).state_dict()}, weights)
    out = tmp_path / "vis"
    res = _run(
        "tools/visualize.py",
        *("--config-file", R18, "--dataset", "avs_synth_s4_test", "--output", str(out)),
        *("MODEL.WEIGHTS", str(weights), *TINY, "MODEL.AUDIO.CATEGORY_WEIGHT", "0.0"),
        env_root=str(root.parent),
    )
    assert res.returncode != 0 and "Traceback" not in res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and "refused to unpickle" in last, res.stderr[-2000:]
    assert not out.exists() and not sentinel.exists()


def test_visualize_overwrite_keeps_a_users_file_that_looks_like_its_own(synth_root, tmp_path):
    out = tmp_path / "vis"
    args = ("--dataset", "avs_synth_s4_test", "--pred-dir", str(tmp_path / "no"), "--output")
    preds = tmp_path / "no"
    # saved predictions for the first clip, in AVSBench's gt_masks layout
    from PIL import Image

    from autr_d2.data.datasets import load_avs_clips

    d = load_avs_clips(synth_root, "s4", "test")[0]
    for gt in d["sem_seg_file_names"]:
        rel = gt.split(f"gt_masks{os.sep}", 1)[-1]
        os.makedirs(preds / os.path.dirname(rel), exist_ok=True)
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(preds / rel)
    run = [*args, str(out), "--clips", d["clip_id"]]
    assert _run("tools/visualize.py", *run, env_root=os.path.dirname(synth_root)).returncode == 0
    (out / "vacation_strip.png").write_bytes(b"my holiday")
    res = _run("tools/visualize.py", *run, "--overwrite", env_root=os.path.dirname(synth_root))
    assert res.returncode == 0, res.stderr[-2000:]
    assert (out / "vacation_strip.png").read_bytes() == b"my holiday"
    assert (out / f"{d['clip_id'].replace('/', '_')}_strip.png").is_file()

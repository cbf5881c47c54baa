"""tools/train_net.py end to end on a tiny generated tree: train, checkpoint, resume, evaluate."""

import json
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..")
TINY = [
    "MODEL.AUTR.HIDDEN_DIM",
    "64",
    "MODEL.AUTR.DIM_FEEDFORWARD",
    "64",
    "MODEL.AUTR.NHEADS",
    "2",
    "MODEL.AUTR.DEC_LAYERS",
    "2",
    "MODEL.AUTR.MASK_DIM",
    "16",
    "INPUT.SIZE_TRAIN",
    "64",
    "INPUT.SIZE_TEST",
    "64",
    "MODEL.AUDIO.WIDTH_MULT",
    "0.125",
    "MODEL.AUDIO.FC_DIM",
    "32",
    "DATALOADER.NUM_WORKERS",
    "0",
    "SOLVER.IMS_PER_BATCH",
    "2",
    "SOLVER.WARMUP_ITERS",
    "1",
]


def train_net(synth_root, out, *args, max_iter=4, check=True):
    env = dict(os.environ, DETECTRON2_DATASETS=os.path.dirname(synth_root))
    cmd = [
        sys.executable,
        os.path.join(ROOT, "tools", "train_net.py"),
        "--config-file",
        os.path.join(ROOT, "configs", "avs_synth", "s4_autr_R18.yaml"),
        *args,
        *TINY,
        "SOLVER.MAX_ITER",
        str(max_iter),
        "SOLVER.CHECKPOINT_PERIOD",
        "2",
        "OUTPUT_DIR",
        str(out),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if check:
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def test_train_checkpoint_resume_and_evaluate(synth_root, tmp_path):
    out = tmp_path / "run"
    res = train_net(synth_root, out, max_iter=4)
    assert (out / "model_final.pth").is_file() and (out / "model_0000001.pth").is_file()
    log = res.stdout + res.stderr
    assert "copypaste: M_J,M_F" in log  # the final evaluation ran through AVSEvaluator
    metrics = [json.loads(line) for line in open(out / "metrics.json")]
    assert any("total_loss" in m for m in metrics)
    assert any("avs/M_J" in m for m in metrics)

    # an existing run is not clobbered silently
    again = train_net(synth_root, out, max_iter=4, check=False)
    assert again.returncode != 0 and "--resume" in again.stderr + again.stdout

    # --resume picks up the last checkpoint and continues to the new MAX_ITER
    train_net(synth_root, out, "--resume", max_iter=6)
    log = (out / "log.txt").read_text()
    assert "Loading from" in log and "model_final.pth" in log
    assert "Starting training from iteration 4" in log
    lines = [json.loads(line) for line in open(out / "metrics.json")]
    train_iters = [m["iteration"] for m in lines if "total_loss" in m]
    assert max(train_iters) == 5 and train_iters == sorted(train_iters)  # one unbroken log

    # --eval-only on the final weights, in the run's own folder: the run's config.yaml (the
    # record of how it was trained) is not replaced; the evaluation writes OUTPUT_DIR/inference
    record = (out / "config.yaml").read_text()
    res = train_net(
        synth_root, out, "--eval-only", "MODEL.WEIGHTS", str(out / "model_final.pth"),
        "SOLVER.BASE_LR", "0.123",
    )  # fmt: skip
    assert "copypaste: M_J,M_F" in res.stdout + res.stderr
    assert (out / "config.yaml").read_text() == record
    assert "BASE_LR: 0.123" in (out / "inference" / "config.yaml").read_text()

    # --overwrite replaces the run: none of its checkpoints, metrics or evaluations survive,
    # and nothing the user put there goes (it removes what it recorded writing, not by pattern)
    assert (out / "model_0000005.pth").is_file()
    (out / "notes.md").write_text("mine")
    (out / "inference" / "my_plot.png").write_bytes(b"plot")
    train_net(synth_root, out, "--overwrite", max_iter=2)
    left = sorted(os.listdir(out))
    assert "model_0000005.pth" not in left and (out / "notes.md").read_text() == "mine", left
    assert os.listdir(out / "inference") == ["my_plot.png"]  # the evaluation's files went
    lines = [json.loads(line) for line in open(out / "metrics.json")]
    assert max(m["iteration"] for m in lines) <= 2  # no line of the old run (it reached 5)
    assert [m["iteration"] for m in lines if "total_loss" in m] == [1]
    assert "Starting training from iteration 0" in (out / "log.txt").read_text()


def test_overwrite_refuses_a_folder_train_net_did_not_make(synth_root, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text("{}\n")  # someone's results, no train_net marker
    (out / "model_final.pth").write_bytes(b"weights")
    res = train_net(synth_root, out, "--overwrite", max_iter=2, check=False)
    assert res.returncode != 0 and "not an output folder of tools/train_net.py" in res.stderr
    assert "Traceback" not in res.stderr
    assert (out / "model_final.pth").read_bytes() == b"weights"
    assert (out / "metrics.json").read_text() == "{}\n"
    # its own run folder, but the new run starts from a checkpoint inside it: not removed
    from autr_d2.utils.outputs import write_marker

    write_marker(str(out), "tools/train_net.py")
    weights = ("MODEL.WEIGHTS", str(out / "model_final.pth"))
    res = train_net(synth_root, out, "--overwrite", *weights, max_iter=2, check=False)
    assert res.returncode != 0 and "holds the input" in res.stderr, res.stderr[-2000:]
    assert (out / "model_final.pth").read_bytes() == b"weights"

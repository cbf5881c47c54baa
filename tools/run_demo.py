#!/usr/bin/env python
"""`make demo`: the whole product on the offline benchmark, on a CPU, with no arguments.

1. generate a small AVS-Synth S4 set (real recorded media when `make media` installed them);
2. train the small AuTR config (configs/avs_synth/s4_autr_R18.yaml) with Detectron2's progress log;
3. evaluate it on the test split next to the two trivial baselines (same evaluator);
4. draw strips, attention maps and GIFs of test clips (tools/visualize.py);
5. write three test clips as one mp4 with sound and run tools/demo.py on it.

Everything goes under one folder (default output/autr_demo, or output/autr_demo_long with --long). A
rerun reuses the finished steps of that folder (the dataset, a finished training) and redraws the
rest; it never touches anything outside it.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "configs/avs_synth/s4_autr_R18.yaml")
SPLITS = ("train", "test")
MODES = {
    # clips per split and training iterations: quick fits in ~15 min on 2 cores
    "quick": {"train": 1000, "test": 200, "iters": 1100, "folder": "output/autr_demo"},
    "long": {"train": 2000, "test": 500, "iters": 2000, "folder": "output/autr_demo_long"},
}


def step(title):
    print(f"\n=== {title} ===", flush=True)


def run(cmd, env):
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, env=env, check=True, cwd=ROOT)


def generate(datasets, mode):
    from autr_d2.data.synth import ensure_avs_synth

    ensure_avs_synth(os.path.join(datasets, "avs_synth"), {"s4": {k: mode[k] for k in SPLITS}})


def write_demo_video(dataset, path, n_clips=3):
    """Concatenate the first test clips (1 frame per second, their wavs) into one mp4 with sound."""
    from detectron2.data import DatasetCatalog, MetadataCatalog
    from detectron2.data import detection_utils as utils

    from autr_d2.data.audio import read_wav
    from autr_d2.data.datasets.avsbench import clip_paths
    from autr_d2.utils.video_io import write_video

    dicts = DatasetCatalog.get(dataset)[:n_clips]
    frames, audio = [], []
    for d in dicts:
        frames += [utils.read_image(f, format="RGB") for f in d["file_names"]]
        root = MetadataCatalog.get(dataset).dataset_root
        wav = clip_paths(root, d["subset"], d["split"], d["clip_id"], d["category"])[3]
        samples, sr = read_wav(wav)
        audio.append(samples)
    write_video(path, frames, 1.0, np.concatenate(audio)[None], sr)
    return [d["clip_id"] for d in dicts]


def results_table(rows):
    """M_J / M_F, and the evaluator's object diagnostics (AVS-Synth) where present."""
    cols = ["M_J", "M_F", "M_F_per_frame"]
    cols += [c for c in ("picks_sounding", "J_when_picked", "silent_pixels") if c in rows[0][1]]
    lines = ["| method | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for name, r in rows:
        lines.append(
            f"| {name} | " + " | ".join(f"{r.get(c, float('nan')):.1f}" for c in cols) + " |"
        )
    return "\n".join(lines)


def main(args):
    mode = dict(MODES["long" if args.long else "quick"])
    if args.iters:
        mode["iters"] = args.iters
    out = os.path.join(ROOT, args.output or mode["folder"])
    datasets = os.path.join(out, "datasets")
    train_dir = os.path.join(out, "train")
    env = dict(os.environ, DETECTRON2_DATASETS=datasets)
    os.environ["DETECTRON2_DATASETS"] = datasets  # before autr_d2 registers its datasets
    os.makedirs(out, exist_ok=True)
    t_start = time.perf_counter()
    timings = {}

    step(f"1/5 AVS-Synth S4 ({mode['train']} train / {mode['test']} test clips) -> {datasets}")
    t0 = time.perf_counter()
    generate(datasets, mode)
    timings["generate_s"] = time.perf_counter() - t0

    step(f"2/5 training {mode['iters']} iterations on CPU -> {train_dir}")
    t0 = time.perf_counter()
    final = os.path.join(train_dir, "model_final.pth")
    if os.path.isfile(final):
        print(f"reusing {final}")
    else:
        resume = ["--resume"] if os.path.isdir(train_dir) else []
        cmd = [sys.executable, "tools/train_net.py", "--config-file", CONFIG, *resume]
        cmd += ["OUTPUT_DIR", train_dir, "SOLVER.MAX_ITER", str(mode["iters"])]
        cmd += ["SOLVER.CHECKPOINT_PERIOD", "200", "TEST.EVAL_PERIOD", "0"]
        run(cmd, env)
    timings["train_s"] = time.perf_counter() - t0

    from detectron2.utils.logger import setup_logger

    import autr_d2  # noqa: F401  (registers the datasets under DETECTRON2_DATASETS)
    from autr_d2.engine import evaluate_weights
    from autr_d2.evaluation import evaluate_baseline

    setup_logger(name="autr_d2")
    step("3/5 evaluation on avs_synth_s4_test (AVSBench M_J / M_F)")
    t0 = time.perf_counter()
    test_set = "avs_synth_s4_test"
    ours = evaluate_weights(CONFIG, final, [test_set], ["OUTPUT_DIR", train_dir])[test_set]
    rows = [(f"AuTR R18 ({mode['iters']} it, CPU)", ours)]
    for b in ("all_background", "largest_object"):
        rows.append((f"baseline: {b.replace('_', ' ')}", evaluate_baseline(b, test_set)["avs"]))
    timings["evaluate_s"] = time.perf_counter() - t0
    table = results_table(rows)
    print("\n" + table)

    step("4/5 pictures of test clips -> vis/")
    t0 = time.perf_counter()
    vis = os.path.join(out, "vis")
    run(
        [sys.executable, "tools/visualize.py", "--config-file", CONFIG, "--dataset", test_set]
        + ["--num-clips", "4", "--output", vis, "--overwrite", "MODEL.WEIGHTS", final],
        env,
    )
    timings["visualize_s"] = time.perf_counter() - t0

    step("5/5 tools/demo.py on an mp4 with sound -> demo/")
    t0 = time.perf_counter()
    video = os.path.join(out, "demo_input.mp4")
    clips = write_demo_video(test_set, video)
    print(f"{video}: clips {', '.join(clips)} (15 s, 1 frame/s, with their sound)")
    run(
        [sys.executable, "tools/demo.py", "--config-file", CONFIG, "--input", video]
        + ["--output", os.path.join(out, "demo"), "--overwrite", "MODEL.WEIGHTS", final],
        env,
    )
    timings["demo_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - t_start

    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"results": dict(rows), "timings": timings, "mode": mode}, f, indent=1)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(table + "\n")
    print(f"\n{table}\n")
    print(f"everything is in {out}: results.md, vis/*.png|gif, demo/overlay.mp4, train/")
    print("timings: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    return rows


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--long", action="store_true", help="more data and 2000 iterations (~40 min)")
    p.add_argument("--iters", type=int, default=0, help="override the training iterations")
    p.add_argument("--output", default="", help="folder (default output/autr_demo[_long])")
    return p


if __name__ == "__main__":
    main(get_parser().parse_args())

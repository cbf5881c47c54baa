#!/usr/bin/env python
"""`make demo`: the whole product on the offline benchmark, on a CPU, with no arguments.

1. generate a small AVS-Synth set (real recorded media when `make media` installed them);
2. the paper's pretrained, frozen encoders, made offline and cached in pretrained/: the ImageNet
   EfficientNet-Lite0 from its pip package (tools/convert_pretrained.py) and a VGGish pretrained on
   the training pool's recordings (tools/pretrain_audio.py);
3. train AuTR with the paper's recipe (configs/avs_synth/paper/s4_autr_effl0.yaml) with
   Detectron2's progress log;
4. evaluate it on the test split next to the two trivial baselines (same evaluator), and with
   every clip's audio swapped for another clip's (does it listen?);
5. draw strips, attention maps and GIFs of test clips (tools/visualize.py);
6. write three test clips as one mp4 with sound and run tools/demo.py on it.

``--recipe scratch`` trains the from-scratch R18 recipe (configs/avs_synth/s4_autr_R18.yaml);
``--subset ms3`` the multi-source task; ``--report`` also scores test_unseen and test_openset.
Everything goes under one folder (default output/autr_demo, output/autr_demo_long with --long, or a
folder named after the recipe and subset). A rerun reuses the finished steps of that folder (the
dataset, a finished training) and redraws the rest; it never touches anything outside it but the
pretrained/ cache.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPES = {
    "paper": "configs/avs_synth/paper/{subset}_autr_effl0.yaml",
    "scratch": "configs/avs_synth/{subset}_autr_R18.yaml",
}
EFFL0 = "pretrained/tf_efficientnet_lite0.pth"  # cached across runs; the paper configs name it


def audio_weights(steps, strict=False, preset="small"):
    """The audio encoder pretrained `steps` steps on this edition of the audio bank (cached per
    setting, ``catalog.BANK_VERSION`` in the name):
    ``preset`` "small" the paper configs' VGGish, "effl0" EfficientNet-Lite0 from ImageNet;
    ``strict``: the one that never heard the open-set categories."""
    from autr_d2.data.synth.catalog import BANK_VERSION

    name = {"small": "vggish_bank", "effl0": "effl0_audio_bank"}[preset]
    return f"pretrained/{name}{BANK_VERSION}_{steps}steps{'_strict' if strict else ''}.pth"


REPORT_SPLITS = ("test", "test_unseen", "test_openset")
MODES = {
    # clips per split, training iterations, frame size and audio pretraining steps (paper
    # recipe): quick fits in ~15 min on 2 cores; of its budget, training steps buy more than
    # encoder steps (S4 test M_J, one run each: 250 / 600 encoder / training steps 34.7, 600 /
    # 600 36.7, 400 / 800 39.2, 250 / 1000 40.7; GETTING_STARTED.md section 1)
    "quick": {
        "train": 1000,
        "test": 200,
        "iters": 1000,
        "size": 128,
        "audio_steps": 250,
        "folder": "output/autr_demo",
    },  # fmt: skip
    "long": {
        "train": 2000,
        "test": 500,
        "iters": 2000,
        "size": 160,
        "audio_steps": 800,
        "folder": "output/autr_demo_long",
    },  # fmt: skip
}


def step(title):
    print(f"\n=== {title} ===", flush=True)


def run(cmd, env):
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, env=env, check=True, cwd=ROOT)


def generate(datasets, mode, subset, splits):
    from autr_d2.data.synth import ensure_avs_synth
    from autr_d2.utils.outputs import OutputDirError

    sizes = {"train": mode["train"], **{sp: mode["test"] for sp in splits}}
    try:
        ensure_avs_synth(os.path.join(datasets, "avs_synth"), {subset: sizes})
    except (OutputDirError, ValueError) as e:  # names the folder and the problem
        raise SystemExit(f"error: {e}") from None


def pretrained_encoders(env, audio_steps, strict=False, preset="small"):
    """The paper regime's frozen encoders, made once and cached (a rerun is instant) -> the
    config overrides that name them (``strict``: the audio encoder that never heard the open-set
    categories; ``preset`` "effl0": EfficientNet-Lite0 from ImageNet as the audio encoder
    instead of the paper configs' VGGish)."""
    if not os.path.isfile(os.path.join(ROOT, EFFL0)):
        run([sys.executable, "tools/convert_pretrained.py", "efficientnet_lite0", EFFL0], env)
    else:
        print(f"reusing {EFFL0}")
    audio = audio_weights(audio_steps, strict, preset)
    cmd = [sys.executable, "tools/pretrain_audio.py", "--output", audio]
    cmd += ["--steps", str(audio_steps)] + (["--strict"] if strict else [])
    arch = []  # the paper configs build the "small" VGGish
    if preset != "small":
        from pretrain_audio import preset_config  # tools/ is on sys.path when run as a script

        cmd += ["--preset", preset, "--imagenet", EFFL0]
        arch = preset_config(preset)
    run(cmd, env)
    return ["MODEL.TIMM.WEIGHTS", EFFL0, "MODEL.AUDIO.WEIGHTS", audio, *arch]


def write_demo_video(dataset, path, n_clips=3):
    """Concatenate the first test clips (1 frame per second, their wavs) into one mp4 with sound."""
    from detectron2.data import DatasetCatalog, MetadataCatalog
    from detectron2.data import detection_utils as utils

    from autr_d2.data.audio import read_wav
    from autr_d2.data.datasets.avsbench import clip_paths
    from autr_d2.utils.video_writer import write_video

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
    cols = ["M_J", "M_F", "M_J_per_frame", "M_F_per_frame"]
    cols += [c for c in ("picks_sounding", "J_when_picked", "silent_pixels") if c in rows[0][1]]
    lines = ["| method | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for name, r in rows:
        lines.append(
            f"| {name} | " + " | ".join(f"{r.get(c, float('nan')):.1f}" for c in cols) + " |"
        )
    return "\n".join(lines)


def check_reusable(train_dir, config, train_opts):
    """Stop, naming the settings that differ, when ``train_dir`` holds a training made with
    other settings than ``config`` + ``train_opts`` (autr_d2.engine.check_reusable)."""
    from autr_d2.engine import ConfigError, setup_cfg
    from autr_d2.engine import check_reusable as check

    try:
        check(train_dir, setup_cfg(config, train_opts))
    except ConfigError as e:
        raise SystemExit(f"error: {e}") from None


def evaluate(config, weights, train_dir, splits, subset, opts=()):
    """(name, metrics) rows: the model on each split, with its own and with swapped audio, and
    the two baselines."""
    from autr_d2.engine import evaluate_weights
    from autr_d2.evaluation import evaluate_baseline

    names = [f"avs_synth_{subset}_{sp}" for sp in splits]
    opts = [*opts, "OUTPUT_DIR", train_dir]
    own = evaluate_weights(config, weights, names, opts)
    swapped = evaluate_weights(config, weights, names, [*opts, "TEST.AVS.SWAP_AUDIO_SEED", "0"])
    rows = []
    for sp, name in zip(splits, names):
        rows.append((f"{sp}: AuTR", own[name]))
        rows.append((f"{sp}: AuTR, every clip with another clip's audio", swapped[name]))
        for b in ("all_background", "largest_object"):
            rows.append(
                (f"{sp}: baseline {b.replace('_', ' ')}", evaluate_baseline(b, name)["avs"])
            )
    return rows


# what run_demo writes in its --output (each step resumes from what is there)
OWN_OUTPUTS = ("datasets", "train", "vis", "demo", "demo_input.mp4", "results.json", "results.md")


def main(args):
    mode = dict(MODES["long" if args.long else "quick"])
    for key in ("iters", "size", "audio_steps"):
        if getattr(args, key):
            mode[key] = getattr(args, key)
    config = os.path.join(ROOT, RECIPES[args.recipe].format(subset=args.subset))
    default = mode["folder"]
    if (args.recipe, args.subset) != ("paper", "s4"):
        default += f"_{args.recipe}_{args.subset}"
    out = os.path.join(ROOT, args.output or default)
    datasets = os.path.join(out, "datasets")
    train_dir = os.path.join(out, "train")
    env = dict(os.environ, DETECTRON2_DATASETS=datasets)
    os.environ["DETECTRON2_DATASETS"] = datasets  # before autr_d2 registers its datasets
    from autr_d2.utils.outputs import OutputDirError, claim_output_dir

    try:  # its own folder only: results.json/md and demo_input.mp4 are rewritten on each run
        claim_output_dir(out, "tools/run_demo.py", OWN_OUTPUTS)
    except OutputDirError as e:
        raise SystemExit(f"error: {e}") from None
    splits = REPORT_SPLITS if args.report else ("test",)
    t_start = time.perf_counter()
    timings = {}

    step(f"1/6 AVS-Synth {args.subset.upper()} ({mode['train']} train, {mode['test']} per test "
         f"split: {', '.join(splits)}) -> {datasets}")  # fmt: skip
    t0 = time.perf_counter()
    generate(datasets, mode, args.subset, splits)
    timings["generate_s"] = time.perf_counter() - t0

    step("2/6 pretrained frozen encoders (cached in pretrained/)")
    t0 = time.perf_counter()
    opts = []  # config overrides for training, evaluation, pictures and the video demo
    if args.recipe == "paper":
        opts = pretrained_encoders(env, mode["audio_steps"])
        opts += ["INPUT.SIZE_TRAIN", str(mode["size"]), "INPUT.SIZE_TEST", str(mode["size"])]
    else:
        print("the from-scratch recipe uses none")
    timings["pretrain_s"] = time.perf_counter() - t0

    if args.seed is not None:  # the training's seed (the config's SEED otherwise)
        opts += ["SEED", str(args.seed)]
    step(f"3/6 training {mode['iters']} iterations on CPU ({mode['size']} px) -> {train_dir}")
    t0 = time.perf_counter()
    final = os.path.join(train_dir, "model_final.pth")
    train_opts = ["OUTPUT_DIR", train_dir, "SOLVER.MAX_ITER", str(mode["iters"])]
    train_opts += ["SOLVER.CHECKPOINT_PERIOD", "200", "TEST.EVAL_PERIOD", "0"]
    train_opts += ["DATASETS.TEST", "()", *opts]
    check_reusable(train_dir, config, train_opts)
    if os.path.isfile(final):
        print(f"reusing {final}")
    else:
        resume = ["--resume"] if os.path.isdir(train_dir) else []
        run(
            [sys.executable, "tools/train_net.py", "--config-file", config, *resume, *train_opts],
            env,
        )
    timings["train_s"] = time.perf_counter() - t0

    from detectron2.utils.logger import setup_logger

    import autr_d2  # noqa: F401  (registers the datasets under DETECTRON2_DATASETS)

    setup_logger(name="autr_d2")
    step(f"4/6 evaluation on {', '.join(splits)} (AVSBench M_J / M_F), own and swapped audio")
    t0 = time.perf_counter()
    rows = evaluate(config, final, train_dir, splits, args.subset, opts)
    timings["evaluate_s"] = time.perf_counter() - t0
    table = results_table(rows)
    print("\n" + table)

    test_set = f"avs_synth_{args.subset}_test"
    step("5/6 pictures of test clips -> vis/")
    t0 = time.perf_counter()
    vis = os.path.join(out, "vis")
    run(
        [sys.executable, "tools/visualize.py", "--config-file", config, "--dataset", test_set]
        + ["--num-clips", "4", "--output", vis, "--overwrite", "MODEL.WEIGHTS", final, *opts],
        env,
    )
    timings["visualize_s"] = time.perf_counter() - t0

    step("6/6 tools/demo.py on an mp4 with sound -> demo/")
    t0 = time.perf_counter()
    video = os.path.join(out, "demo_input.mp4")
    clips = write_demo_video(test_set, video)
    print(f"{video}: clips {', '.join(clips)} (15 s, 1 frame/s, with their sound)")
    run(
        [sys.executable, "tools/demo.py", "--config-file", config, "--input", video]
        + ["--output", os.path.join(out, "demo"), "--overwrite", "MODEL.WEIGHTS", final, *opts],
        env,
    )
    timings["demo_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - t_start

    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(
            {
                "results": dict(rows),
                "timings": timings,
                "mode": mode,
                "config": config,
                "seed": args.seed,
            },
            f,
            indent=1,
        )
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(table + "\n")
    print(f"\n{table}\n")
    print(f"everything is in {out}: results.md, vis/*.png|gif, demo/overlay.mp4, train/")
    print("timings: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    return rows


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--long", action="store_true", help="more data and 2000 iterations (~1 h, estimated)"
    )
    p.add_argument("--recipe", choices=sorted(RECIPES), default="paper")
    p.add_argument("--subset", choices=["s4", "ms3"], default="s4")
    p.add_argument("--report", action="store_true", help="also score test_unseen and test_openset")
    p.add_argument("--iters", type=int, default=0, help="override the training iterations")
    p.add_argument("--size", type=int, default=0, help="override the frame size (paper recipe)")
    p.add_argument("--audio-steps", type=int, default=0, help="override VGGish pretraining steps")
    p.add_argument("--output", default="", help="folder (default output/autr_demo[_long])")
    p.add_argument("--seed", type=int, default=None, help="training seed (default: the config's)")
    return p


if __name__ == "__main__":
    main(get_parser().parse_args())

#!/usr/bin/env python
"""The AVS-Synth study: what AuTR's parts buy, with the same training budget per row.

Rows: AuTR (audio-aware queries + dynamic conv), learned queries, dot-product mask head, visual only
(configs/avs_synth/{s4,ms3}_autr_R18.yaml and configs/avs_synth/study/*.yaml), and the evaluator's
two trivial baselines. Columns: M_J / M_F on test, test_unseen and test_openset, mean +- std over
seeds. Also M_J against the number of silent distractors and a training curve (loss, val M_J).

python tools/run_study.py --quick          # the whole table, small data and budget (< 30 min, CPU)
python tools/run_study.py                  # the reported budget (hours on a CPU)

Finished runs are reused (the study resumes); results go to <output>/results.{json,md} and the
figures to --figures.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = {
    "AuTR": "configs/avs_synth/{s}_autr_R18.yaml",
    "learned queries": "configs/avs_synth/study/{s}_learned_queries.yaml",
    "dot-product head": "configs/avs_synth/study/{s}_dot_head.yaml",
    "visual only": "configs/avs_synth/study/{s}_visual_only.yaml",
}
SPLITS = ("test", "test_unseen", "test_openset")
MODES = {
    "quick": {
        "iters": 80,
        "sizes": {
            "s4": {"train": 400, "val": 40, "test": 60, "test_unseen": 60, "test_openset": 60},
            "ms3": {"train": 200, "val": 20, "test": 40, "test_unseen": 40, "test_openset": 40},
        },
        "output": "output/study_quick",
    },
    "full": {"iters": 1500, "sizes": None, "output": "output/study"},
}


def sh(cmd, env):
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, env=env, check=True, cwd=ROOT)


def train(config, out, seed, iters, curve, env, opts=()):
    if os.path.isfile(os.path.join(out, "model_final.pth")):
        return
    cmd = [sys.executable, "tools/train_net.py", "--config-file", config]
    if os.path.isdir(out):
        cmd.append("--resume")
    cmd += ["OUTPUT_DIR", out, "SEED", str(seed), "SOLVER.MAX_ITER", str(iters)]
    cmd += ["SOLVER.CHECKPOINT_PERIOD", str(max(iters // 2, 1))]
    if curve:  # val M_J during training, for the training-curve figure
        subset = "s4" if "/s4_" in config else "ms3"
        cmd += ["DATASETS.TEST", f"('avs_synth_{subset}_val',)"]
        cmd += ["TEST.EVAL_PERIOD", str(max(iters // 6, 1)), "SOLVER.LOG_PERIOD", "10"]
    else:
        cmd += ["TEST.EVAL_PERIOD", "0", "DATASETS.TEST", "()"]
    cmd += list(opts)
    sh(cmd, env)


def mean_std(values):
    if not values:
        return float("nan"), float("nan")
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def figures(results, curves, out_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    written = []
    for subset in results:
        fig, ax = plt.subplots(figsize=(5, 3.4))
        for variant, per_seed in results[subset].items():
            by_k = {}
            for r in per_seed:
                for key, v in r["test"].items():
                    if key.startswith("M_J/distractors="):
                        by_k.setdefault(int(key.split("=")[1]), []).append(v)
            if by_k:
                ks = sorted(by_k)
                ax.plot(ks, [statistics.mean(by_k[k]) for k in ks], marker="o", label=variant)
        ax.set(xlabel="silent distractors in the clip", ylabel="M_J (%)")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_title(f"AVS-Synth {subset.upper()} test")
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = os.path.join(out_dir, f"study_{subset}_distractors.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    for subset, metrics_file in curves.items():
        lines = [json.loads(x) for x in open(metrics_file)]
        loss = [(m["iteration"], m["total_loss"]) for m in lines if "total_loss" in m]
        val = [(m["iteration"], m["avs/M_J"]) for m in lines if "avs/M_J" in m]
        fig, ax = plt.subplots(figsize=(5, 3.4))
        ax.plot(*zip(*loss), color="tab:blue")
        ax.set(xlabel="iteration", ylabel="total loss")
        if val:
            ax2 = ax.twinx()
            ax2.plot(*zip(*val), color="tab:red", marker="o")
            ax2.set_ylabel("val M_J (%)", color="tab:red")
        ax.set_title(f"AuTR on AVS-Synth {subset.upper()} (seed 1)")
        fig.tight_layout()
        path = os.path.join(out_dir, f"study_{subset}_curve.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


def table(results, baselines):
    head = "| subset | method | " + " | ".join(f"{s} M_J | {s} M_F" for s in SPLITS) + " |"
    lines = [head, "|---|---|" + "---:|---:|" * len(SPLITS)]
    for subset, variants in results.items():
        for variant, per_seed in variants.items():
            cells = []
            for split in SPLITS:
                for metric in ("M_J", "M_F"):
                    m, s = mean_std([r[split][metric] for r in per_seed])
                    cells.append(f"{m:.1f} ± {s:.1f}")
            lines.append(f"| {subset} | {variant} ({len(per_seed)} seeds) | {' | '.join(cells)} |")
        for name, per_split in baselines[subset].items():
            cells = [f"{per_split[sp][mt]:.1f}" for sp in SPLITS for mt in ("M_J", "M_F")]
            lines.append(f"| {subset} | baseline: {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main(args):
    mode = dict(MODES["quick" if args.quick else "full"])
    iters = args.iters or mode["iters"]
    out = os.path.join(ROOT, args.output or mode["output"])
    datasets = args.datasets or os.path.join(out, "datasets")
    env = dict(os.environ, DETECTRON2_DATASETS=datasets)
    os.environ["DETECTRON2_DATASETS"] = datasets  # before autr_d2 registers the datasets
    t0 = time.perf_counter()
    from autr_d2.data.synth import DEFAULT_SIZES, ensure_avs_synth

    sizes = mode["sizes"] or DEFAULT_SIZES
    ensure_avs_synth(os.path.join(datasets, "avs_synth"), {s: sizes[s] for s in args.subsets})

    runs = []
    for subset in args.subsets:
        for variant in args.variants:
            pattern = VARIANTS[variant]
            for seed in args.seeds:
                config = os.path.join(ROOT, pattern.format(s=subset))
                tag = variant.replace(" ", "_").replace("-", "_")
                run_dir = os.path.join(out, subset, tag, f"seed{seed}")
                curve = variant == "AuTR" and seed == args.seeds[0]
                train(config, run_dir, seed, iters, curve, env, args.opts)
                runs.append((subset, variant, config, run_dir, curve))

    import autr_d2  # noqa: F401
    from autr_d2.engine import evaluate_weights
    from autr_d2.evaluation import evaluate_baseline

    results, curves, baselines = {}, {}, {}
    for subset, variant, config, run_dir, curve in runs:
        names = [f"avs_synth_{subset}_{sp}" for sp in SPLITS]
        cache = os.path.join(run_dir, "study_eval.json")
        if os.path.isfile(cache):
            res = json.load(open(cache))
        else:
            res = evaluate_weights(
                config,
                os.path.join(run_dir, "model_final.pth"),
                names,
                ["OUTPUT_DIR", run_dir] + list(args.opts),
            )
            json.dump(res, open(cache, "w"), indent=1)
        per_split = {sp: res[f"avs_synth_{subset}_{sp}"] for sp in SPLITS}
        results.setdefault(subset, {}).setdefault(variant, []).append(per_split)
        if curve:
            curves[subset] = os.path.join(run_dir, "metrics.json")
    for subset in args.subsets:
        baselines[subset] = {
            b.replace("_", " "): {
                sp: evaluate_baseline(b, f"avs_synth_{subset}_{sp}")["avs"] for sp in SPLITS
            }
            for b in ("all_background", "largest_object")
        }
    md = table(results, baselines)
    written = figures(results, curves, args.figures)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"results": results, "baselines": baselines, "iters": iters}, f, indent=1)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(md + "\n")
    print("\n" + md + "\n")
    print(f"figures: {', '.join(written)}; results in {out}; {time.perf_counter() - t0:.0f} s")


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small data, 80 iterations per run")
    p.add_argument("--iters", type=int, default=0, help="training iterations per run")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    p.add_argument(
        "--variants",
        nargs="+",
        default=list(VARIANTS),
        choices=list(VARIANTS),
        metavar="VARIANT",
        help=f"rows to train (default all: {', '.join(repr(v) for v in VARIANTS)})",
    )
    p.add_argument("--subsets", nargs="+", default=["s4", "ms3"], choices=["s4", "ms3"])
    p.add_argument("--output", default="", help="default output/study[_quick]")
    p.add_argument("--datasets", default="", help="an existing DETECTRON2_DATASETS to use")
    p.add_argument("--figures", default=os.path.join(ROOT, "docs", "figures"))
    p.add_argument(
        "opts",
        nargs=argparse.REMAINDER,
        help="config overrides for every run and its evaluation, KEY VALUE pairs (use a new "
        "--output: finished runs are reused as they are)",
    )
    return p


if __name__ == "__main__":
    main(get_parser().parse_args())

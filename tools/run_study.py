#!/usr/bin/env python
"""The AVS-Synth study: what AuTR's parts buy, with the same training budget per row, and where it
breaks (noise, same-category sources, switching, off-screen sound).

Rows (each a set of config overrides on the recipe's config, trained with the same budget and
seeds): AuTR; visual only; AuTR with the strict audio encoder (pretrained without the open-set
categories); learned queries; dot-product mask head; TPAVI (AVSBench's baseline, its own config
with the same encoders, data and solver); visual only scored with S4's rule on MS3 ("visual only,
best object": trains nothing, see SCORED_AS); on request (--variants) 1 / 10 queries
(AuTR has 5), without the sound loss, bf16 mixed precision, the light pixel decoder; next to the
evaluator's two trivial baselines. Columns: M_J / M_F on test,
test_unseen and test_openset, mean +- std over seeds, M_J against the number of silent
distractors, a training curve (loss, val M_J), and with --probes the probe splits
(autr_d2/data/synth/probes.py): M_J against SNR and telephone audio, same-category copies, MS3 M_J
against the switching period, and the predicted foreground when the sound is off screen.

python tools/run_study.py --quick          # every row once, small data and budget (< 30 min, CPU)
python tools/run_study.py                  # the reported budget: 3 seeds (hours on a CPU)
python tools/run_study.py --score-only     # score the runs that exist, train none
python tools/run_study.py --merge A/runs.json B/runs.json --output O   # one table from several

--recipe paper (default) studies the paper's regime (configs/avs_synth/paper/*: frozen pretrained
encoders, made once by the same step as `make demo`); --recipe scratch the from-scratch R18 recipe.
Finished runs are reused (the study resumes). Results go to <output>/results.{json,md}, the
figures and every run's raw metrics (runs.json) to --figures.
"""

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from typing import NamedTuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPES = {
    "paper": "configs/avs_synth/paper/{s}_autr_effl0.yaml",
    "scratch": "configs/avs_synth/{s}_autr_R18.yaml",
}
STRICT = "strict audio encoder"
# rows that are another model: their own config (same data, encoders, solver and budget)
VARIANT_CONFIGS = {"TPAVI": "configs/avs_synth/paper/{s}_tpavi_effl0.yaml"}
AUGMENTED = "scale and colour jitter"
IMAGENET_AUDIO = "ImageNet audio encoder"
AUDIO_AUG = "audio augmentation"
VARIANTS = {  # row -> config overrides on the recipe
    "AuTR": [],
    "learned queries": ["MODEL.AUTR.QUERY_INIT", "learned"],
    "dot-product head": ["MODEL.AUTR.MASK_HEAD", "dot"],
    "visual only": ["MODEL.AUDIO.ENABLED", "False"],
    # AuTR whose frozen VGGish never heard the open-set categories (tools/pretrain_audio.py
    # --strict): the encoder AudioSet would not give, for what open-set M_J owes to hearing them
    STRICT: [],
    # AVSBench's TPAVI (autr_d2/baselines/tpavi.py) on the same frozen encoders and data
    "TPAVI": [],
    "1 query": ["MODEL.AUTR.NUM_QUERIES", "1"],
    "10 queries": ["MODEL.AUTR.NUM_QUERIES", "10"],
    "without the sound loss": ["MODEL.AUTR.SOUND_WEIGHT", "0.0", "MODEL.AUTR.COST_SOUND", "0.0"],
    # AuTR trained under bf16 autocast (scored in float32): does mixed precision cost accuracy?
    # Not a default row: on a CPU without native bf16 it trains about 10x slower.
    "bf16 training": ["SOLVER.AMP.ENABLED", "True", "SOLVER.AMP.PRECISION", "bfloat16"],
    # AuTR with the light pixel decoder (stride 4 enters through a lateral conv at MASK_DIM):
    # does the faster head cost accuracy? A speed check, not an ablation of the paper's parts.
    "light pixel decoder": ["MODEL.AUTR.PIXEL_DECODER", "light_fpn"],
    # AuTR trained with scale (0.5-1.5x, then a crop) and colour jitter (off in the paper's
    # regime): do the masks of photos it never saw (test_unseen) owe their poverty to memorised
    # training photos?
    AUGMENTED: ["INPUT.SCALE_JITTER", "(0.5, 1.5)", "INPUT.COLOR_JITTER", "0.4"],
    # AuTR whose frozen audio encoder is EfficientNet-Lite0 started from ImageNet and pretrained
    # on the bank as the VGGish is (tools/pretrain_audio.py --preset effl0): the VGGish names
    # half the visual categories on a new recording; does a better encoder carry AuTR there?
    IMAGENET_AUDIO: ["MODEL.AUDIO.NAME", "TimmAudio"],
    # AuTR whose training clips' sound goes through the encoder pretraining's real-world chains
    # (pitch, telephone band, room, coloured noise, gain; INPUT.AUDIO_AUGMENT): with a handful of
    # recordings per category the heads see each one's embedding a few times; do they learn the
    # category instead once each recording arrives through many channels (new recordings, noise)?
    AUDIO_AUG: ["INPUT.AUDIO_AUGMENT", "1.0"],
}
BEST_OBJECT = "visual only, best object"
# rows that train nothing: another row's runs scored with other test-time overrides, on the
# subsets where that changes anything -> (the row whose runs they score, overrides, subsets)
SCORED_AS = {
    # MS3's rule (the union of queries whose sound score > 0.5) leaves visual only with no mask:
    # without audio no object's sound score passes 0.5, as most objects are silent. Its best guess
    # is the likeliest sounding object (S4's rule), the baseline AuTR's MS3 rule has to beat.
    BEST_OBJECT: ("visual only", ["MODEL.AUTR.TEST.MULTI_SOURCE", "False"], ("ms3",)),
}
OPTIONAL_VARIANTS = (
    "1 query",
    "10 queries",
    "without the sound loss",
    "bf16 training",
    "light pixel decoder",
    AUGMENTED,
    IMAGENET_AUDIO,
    AUDIO_AUG,
)
ROWS = [*VARIANTS, *SCORED_AS]  # every row the study knows
DEFAULT_VARIANTS = [v for v in ROWS if v not in OPTIONAL_VARIANTS]
SPLITS = ("test", "test_unseen", "test_openset")
SWAPPED = "test, another clip's audio"
MODES = {
    "quick": {
        "iters": 40,
        "seeds": [1],
        "probes": 20,
        "audio_steps": 300,
        "sizes": {
            "s4": {"train": 300, "val": 30, "test": 40, "test_unseen": 40, "test_openset": 40},
            "ms3": {"train": 150, "val": 20, "test": 30, "test_unseen": 30, "test_openset": 30},
        },
        "output": "output/study_quick",
    },
    "full": {
        "iters": 1000,
        "seeds": [1, 2, 3],
        "probes": 100,
        "audio_steps": 3000,  # the study's tables
        # the tree the tables were measured on (its stats.json), not the generator's defaults
        "sizes": {
            "s4": {"train": 1000, "val": 100, "test": 200, "test_unseen": 200, "test_openset": 200},
            "ms3": {"train": 600, "val": 60, "test": 200, "test_unseen": 200, "test_openset": 200},
        },
        "output": "output/study",
    },
}


def sh(cmd, env):
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, env=env, check=True, cwd=ROOT)


def code_commit():
    """The commit of the code that runs, "+dirty" when tracked files differ from it."""
    git = ["git", "-C", ROOT]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    changed = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"],
                             capture_output=True, text=True)  # fmt: skip
    return commit.stdout.strip() + ("+dirty" if changed.stdout.strip() else "")


TRAINED_AT = "study_trained_at.json"  # in a run folder: the commit that trained it


def train(config, out, seed, iters, curve, env, opts=()):
    """Train one run into `out`, or reuse the training there when it has the same settings
    (a run of another --iters, seed or encoder stops the study, naming what differs)."""
    from autr_d2.engine import ConfigError, check_reusable, setup_cfg

    train_opts = ["OUTPUT_DIR", out, "SEED", str(seed), "SOLVER.MAX_ITER", str(iters)]
    train_opts += ["SOLVER.CHECKPOINT_PERIOD", str(max(iters // 2, 1))]
    if curve:  # val M_J during training, for the training-curve figure
        subset = "s4" if "s4_" in os.path.basename(config) else "ms3"
        train_opts += ["DATASETS.TEST", f"('avs_synth_{subset}_val',)"]
        train_opts += ["TEST.EVAL_PERIOD", str(max(iters // 6, 1)), "SOLVER.LOG_PERIOD", "10"]
    else:
        train_opts += ["TEST.EVAL_PERIOD", "0", "DATASETS.TEST", "()"]
    train_opts += list(opts)
    try:
        check_reusable(out, setup_cfg(config, train_opts))
    except ConfigError as e:
        raise SystemExit(f"error: {e}") from None
    if trained(out):
        return
    commit = code_commit()
    cmd = [sys.executable, "tools/train_net.py", "--config-file", config]
    if os.path.isdir(out):
        cmd.append("--resume")
    sh(cmd + train_opts, env)
    if trained(out):
        from autr_d2.utils.machine import describe_machine

        record = {"commit": commit, "machine": describe_machine(), "encoders": encoder_digests(out)}
        save_json_recorded(os.path.join(out, TRAINED_AT), record)


ENCODER_KEYS = ("MODEL.TIMM.WEIGHTS", "MODEL.AUDIO.WEIGHTS")  # the frozen encoders' files


def encoder_digests(run_dir):
    """{config key: sha256 of the file} for the encoder files a run was trained with: the same
    recipe re-made on another machine can give another network under the same name."""
    config = trained_with(run_dir) or {}  # the encoder files, as its config.yaml names them
    digests = {}
    for key in ENCODER_KEYS:
        path = os.path.join(ROOT, config[key]) if config.get(key) else ""
        if os.path.isfile(path):
            with open(path, "rb") as f:
                digests[key] = hashlib.file_digest(f, "sha256").hexdigest()
    return digests


def trained(run_dir):
    return os.path.isfile(os.path.join(run_dir, "model_final.pth"))


def trained_with(run_dir):
    """How a run was trained, from its own config.yaml (the study may score it later)."""
    import yaml

    path = os.path.join(run_dir, "config.yaml")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        cfg = yaml.safe_load(f)
    model = cfg.get("MODEL", {})
    try:  # runs trained before this file was written have no commit on record
        with open(os.path.join(run_dir, TRAINED_AT)) as f:
            at = json.load(f)
        at = at if isinstance(at, dict) else {}
    except (OSError, ValueError):
        at = {}
    return {
        "commit": at.get("commit"),
        "machine": at.get("machine"),  # runs trained before 2026-12-07 have none on record
        "encoder_sha256": at.get("encoders"),
        "SEED": cfg.get("SEED"),
        "SOLVER.MAX_ITER": cfg.get("SOLVER", {}).get("MAX_ITER"),
        "MODEL.TIMM.WEIGHTS": model.get("TIMM", {}).get("WEIGHTS"),
        "MODEL.AUDIO.NAME": model.get("AUDIO", {}).get("NAME"),
        "MODEL.AUDIO.WEIGHTS": model.get("AUDIO", {}).get("WEIGHTS"),
    }


def run_tag(variant):
    """'dot-product head' -> 'dot_product_head' (the run's folder name)."""
    return variant.replace(" ", "_").replace("-", "_")


def base_row(variant):
    """The row whose runs `variant` scores: its own, or for a row of SCORED_AS the one it names."""
    return SCORED_AS.get(variant, (variant,))[0]


def run_path(out, subset, variant, seed):
    """<out>/<subset>/<row tag>/seed<k>: where a run lives (a row of SCORED_AS: its base row's)."""
    return os.path.join(out, subset, run_tag(base_row(variant)), f"seed{seed}")


def eval_cache_path(run_dir, variant):
    """A run's cached scores: study_eval.json, or study_eval_<row tag>.json for a row that
    scores another row's run with other overrides (SCORED_AS)."""
    name = f"study_eval_{run_tag(variant)}.json" if variant in SCORED_AS else "study_eval.json"
    return os.path.join(run_dir, name)


TOOL = "tools/run_study.py"
OWN_OUTPUTS = ("datasets", "s4", "ms3", "figures", "results.json", "results.md")  # in --output
OWN_FIGURES = ("runs.json", "study_*.png")  # in --figures


class Run(NamedTuple):
    """One training run of the study."""

    subset: str
    variant: str
    seed: int
    run_dir: str
    with_val: bool  # trains with val evaluations (the training-curve figure)


def plan(out, subsets, variants, seeds):
    """The study's runs in order, as `Run`s.

    Only the first seed's AuTR run per subset is trained with val evaluations (the training-curve
    figure); every other run trains without them, so seeds 2 and 3 cost no evaluation time.
    """
    return [
        Run(s, v, seed, run_path(out, s, v, seed), v == "AuTR" and seed == seeds[0])
        for s in subsets
        for v in variants
        if v not in SCORED_AS or s in SCORED_AS[v][2]
        for seed in seeds
    ]


def eval_key(weights, datasets, opts):
    """What a run's cached scores depend on: its weights file, the data and the overrides."""
    st = os.stat(weights)
    return {"weights": [st.st_size, st.st_mtime_ns], "datasets": datasets, "opts": list(opts)}


def save_json_recorded(path, obj):
    """Write a json file into a run folder, recorded in the folder's manifest (so
    ``train_net.py --overwrite`` of that run removes it with the run)."""
    from autr_d2.utils.outputs import record_files

    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
    record_files(os.path.dirname(path), [os.path.basename(path)])


def load_eval_cache(path, key):
    """A run's cached scores (study_eval.json) when they were made with `key`, else a fresh
    cache holding only `key`. A cache without a key (written before keys) is kept and keyed."""
    try:
        with open(path) as f:
            res = json.load(f)
    except (OSError, ValueError):  # absent or unreadable: score again
        res = {}
    if isinstance(res, dict) and "_key" not in res and res:  # from before keys: trusted only
        if os.stat(path).st_mtime_ns < key["weights"][1]:  # when newer than the weights
            res = {"_key": None}
    if not isinstance(res, dict) or res.get("_key", key) != key:
        print(f"{path}: made with other weights, data or overrides; scoring again")
        res = {}
    res["_key"] = key  # saved with the next score (a cache from before keys is taken as it is)
    return res


def mean_std(values):
    if not values:
        return float("nan"), float("nan")
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def cell(values):
    """A table cell: the value of one seed, or mean ± std over several."""
    m, sd = mean_std(values)
    return f"{m:.1f}" if len(values) == 1 else f"{m:.1f} ± {sd:.1f}"


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
    for subset, (metrics_file, seed) in curves.items():
        lines = [json.loads(x) for x in open(metrics_file)]
        loss = [(m["iteration"], m["total_loss"]) for m in lines if "total_loss" in m]
        val = [(m["iteration"], m["avs/M_J"]) for m in lines if "avs/M_J" in m]
        fig, ax = plt.subplots(figsize=(5, 3.4))
        ax.plot(*zip(*loss), color="tab:blue")
        ax.set(xlabel="iteration", ylabel="total loss")
        if val:
            ax2 = ax.twinx()
            ax2.plot(*zip(*val), color="tab:red", marker="o")
            ax2.set_ylabel("M_J on the run's DATASETS.TEST (%)", color="tab:red")
        ax.set_title(f"AuTR on AVS-Synth {subset.upper()} (seed {seed})")
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
                    cells.append(cell([r[split][metric] for r in per_seed]))
            n = len(per_seed)
            name = f"{variant} ({n} seed{'s' * (n > 1)})"
            lines.append(f"| {subset} | {name} | {' | '.join(cells)} |")
        for name, per_split in baselines[subset].items():
            cells = [f"{per_split[sp][mt]:.1f}" for sp in SPLITS for mt in ("M_J", "M_F")]
            lines.append(f"| {subset} | baseline: {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


DIAGNOSTICS = ("picks_sounding", "J_when_picked", "silent_pixels")


def diagnostics_table(results, baselines):
    """test: the evaluator's object diagnostics, and M_J with every clip given another's audio."""
    cols = [*DIAGNOSTICS, "M_J, another clip's audio"]
    lines = [
        "| subset | method (test) | " + " | ".join(cols) + " |",
        "|---|---|" + "---:|" * len(cols),
    ]
    for subset, variants in results.items():
        for variant, per_seed in variants.items():
            cells = [cell([r["test"].get(k, float("nan")) for r in per_seed]) for k in DIAGNOSTICS]
            cells.append(cell([r[SWAPPED]["M_J"] for r in per_seed]))
            row = " | ".join(cells)
            lines.append(f"| {subset} | {variant} | {row} |")
        for name, per_split in baselines[subset].items():
            cells = [f"{per_split['test'].get(k, float('nan')):.1f}" for k in DIAGNOSTICS]
            lines.append(f"| {subset} | baseline: {name} | {' | '.join(cells)} | |")
    return "\n".join(lines)


PROBE_SWEEPS = {  # figure name -> (subset, [(x label, probe split)], metric)
    "snr": (
        "s4",
        [(str(v), f"test_snr{v}") for v in (20, 10, 5, 0, -5)] + [("clean", "test")],
        "M_J",
    ),
    "switching": (
        "ms3",
        [("1 s", "test_switch1"), ("2 s", "test_switch2"), ("never", "test_switchnever")],
        "M_J",
    ),  # fmt: skip
    "same_category": (
        "s4",
        [("one of two sounds", "test_samecat_one"), ("both sound", "test_samecat_both")],
        "M_J",
    ),  # fmt: skip
    "offscreen": ("s4", [("off-screen sound", "test_offscreen")], "fg_pixels"),
    "telephone": ("s4", [("8 kHz audio", "test_tel8k"), ("clean", "test")], "M_J"),
    "new_sound": (
        "s4",
        [("training recordings", "test"), ("held-out recordings", "test_newsound")],
        "M_J",
    ),  # fmt: skip
}


def probe_figures(results, baselines, out_dir):
    """One figure per probe sweep: the rows' mean (and the baselines) against the sweep."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for name, (subset, points, metric) in PROBE_SWEEPS.items():
        if subset not in results:
            continue
        rows = {v: r for v, r in results[subset].items() if all(sp in r[0] for _, sp in points)}
        if not rows:
            continue
        fig, ax = plt.subplots(figsize=(5.2, 3.4))
        xs = [x for x, _ in points]
        for variant, per_seed in rows.items():
            ys = [statistics.mean(r[sp][metric] for r in per_seed) for _, sp in points]
            ax.plot(xs, ys, marker="o", label=variant)
        for b, per_split in baselines[subset].items():
            if all(sp in per_split for _, sp in points):
                ys = [per_split[sp][metric] for _, sp in points]
                ax.plot(xs, ys, marker="x", linestyle="--", label=f"baseline: {b}")
        ax.set(
            ylabel=f"{metric} (%)", title=f"AVS-Synth {subset.upper()}: {name.replace('_', ' ')}"
        )
        ax.legend(fontsize=6)
        fig.tight_layout()
        path = os.path.join(out_dir, f"study_probe_{name}.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


def probe_table(results, baselines):
    lines = ["| sweep | point | " + " | ".join(["method", "value"]) + " |", "|---|---|---|---:|"]
    for name, (subset, points, metric) in PROBE_SWEEPS.items():
        for x, sp in points:
            for variant, per_seed in results.get(subset, {}).items():
                if sp in per_seed[0]:
                    value = cell([r[sp][metric] for r in per_seed])
                    lines.append(f"| {name} ({metric}) | {x} | {variant} | {value} |")
            for b, per_split in baselines.get(subset, {}).items():
                if sp in per_split:
                    lines.append(f"| {name} ({metric}) | {x} | baseline: {b} | "
                                 f"{per_split[sp][metric]:.1f} |")  # fmt: skip
    return "\n".join(lines)


def main(args):
    mode = dict(MODES["quick" if args.quick else "full"])
    iters = args.iters or mode["iters"]
    seeds = args.seeds or mode["seeds"]
    n_probes = mode["probes"] if args.probes is None else args.probes
    out = os.path.join(
        ROOT, args.output or mode["output"] + ("" if args.recipe == "paper" else "_scratch")
    )
    figures_dir = args.figures or os.path.join(out, "figures")
    datasets = os.path.abspath(args.datasets or os.path.join(out, "datasets"))
    env = dict(os.environ, DETECTRON2_DATASETS=datasets)
    os.environ["DETECTRON2_DATASETS"] = datasets  # before anything imports autr_d2 (registers)
    from autr_d2.utils.outputs import OutputDirError, claim_output_dir

    try:  # its own folders only: the summaries and figures there are rewritten on each scoring
        claim_output_dir(out, TOOL, OWN_OUTPUTS)
        claim_output_dir(figures_dir, TOOL, OWN_FIGURES)
    except OutputDirError as e:
        raise SystemExit(f"error: {e}") from None
    t0 = time.perf_counter()
    if args.merge:  # train and score nothing: one table from other invocations' runs.json
        try:
            meta, raw, baselines = merge_runs(args.merge)
        except ValueError as e:  # names the file and the problem
            raise SystemExit(f"error: {e}") from None
        written = write_results(out, figures_dir, meta, raw, baselines, curves_of(raw))
        print(f"{len(raw)} runs from {len(args.merge)} files; figures: {', '.join(written)}; "
              f"results in {out}")  # fmt: skip
        return
    from autr_d2.data.synth import PROBES, ensure_avs_synth

    sizes = {s: dict(mode["sizes"][s]) for s in args.subsets}
    probes = {s: [p for p in PROBES[s] if n_probes] for s in args.subsets}
    for s in args.subsets:
        sizes[s].update(dict.fromkeys(probes[s], n_probes))
        if args.score_only or all(trained(r.run_dir) for r in plan(out, [s], args.variants, seeds)):
            sizes[s].update(train=0, val=0)  # nothing to train: a test-only tree will do
    try:
        ensure_avs_synth(os.path.join(datasets, "avs_synth"), sizes)
    except (OutputDirError, ValueError) as e:  # names the folder and the problem
        raise SystemExit(f"error: {e}") from None
    encoders = {}  # row -> the encoders' config overrides
    if args.recipe == "paper" and not args.score_only:
        from run_demo import pretrained_encoders  # tools/ is on sys.path when run as a script

        steps = args.audio_steps or mode["audio_steps"]
        default = pretrained_encoders(env, steps)
        encoders = dict.fromkeys({base_row(v) for v in args.variants}, default)
        if STRICT in encoders:
            encoders[STRICT] = pretrained_encoders(env, steps, strict=True)
        if IMAGENET_AUDIO in encoders:
            encoders[IMAGENET_AUDIO] = pretrained_encoders(env, steps, preset="effl0")

    runs, missing = [], []
    for subset, variant, seed, run_dir, with_val in plan(out, args.subsets, args.variants, seeds):
        base, test_opts = base_row(variant), SCORED_AS.get(variant, (None, []))[1]
        config = os.path.join(
            ROOT, VARIANT_CONFIGS.get(base, RECIPES[args.recipe]).format(s=subset)
        )
        if args.score_only:  # model_final.pth holds the encoders' weights too
            if not trained(run_dir):
                if os.path.relpath(run_dir, ROOT) not in missing:  # two rows may share a run
                    missing.append(os.path.relpath(run_dir, ROOT))
                continue
        else:  # a SCORED_AS row trains its base row's run (once: train() skips a trained run)
            opts = [*encoders.get(base, []), *VARIANTS[base], *args.opts]
            train(config, run_dir, seed, iters, with_val, env, opts)
        opts = [*VARIANTS[base], *test_opts, *args.opts]
        runs.append((subset, variant, seed, config, run_dir, opts))
    if missing:
        print(f"--score-only: {len(missing)} runs not trained, left out: {', '.join(missing)}")
    if not runs:
        sys.exit(f"--score-only: no trained run under {out} for these rows and seeds")

    import autr_d2  # noqa: F401
    from autr_d2.engine import evaluate_weights
    from autr_d2.evaluation import evaluate_baseline

    baselines, raw, seeds_scored = {}, [], {}
    for subset, variant, seed, config, run_dir, opts in runs:
        splits = [*SPLITS, *probes[subset]]
        names = [f"avs_synth_{subset}_{sp}" for sp in splits]
        cache = eval_cache_path(run_dir, variant)
        weights = os.path.join(run_dir, "model_final.pth")
        key = eval_key(weights, datasets, opts)  # not the encoders
        res = load_eval_cache(cache, key)
        todo = [n for n in names if n not in res]
        if todo:
            res.update(evaluate_weights(config, weights, todo, ["OUTPUT_DIR", run_dir, *opts]))
            save_json_recorded(cache, res)
        if "swapped" not in res:  # does it listen? test with every clip given another's audio
            swap = ["OUTPUT_DIR", run_dir, *opts, "TEST.AVS.SWAP_AUDIO_SEED", "0"]
            res["swapped"] = evaluate_weights(config, weights, [names[0]], swap)[names[0]]
            save_json_recorded(cache, res)
        per_split = {sp: res[f"avs_synth_{subset}_{sp}"] for sp in splits}
        per_split[SWAPPED] = res["swapped"]
        seeds_scored.setdefault(subset, {}).setdefault(variant, []).append(seed)
        raw.append({"subset": subset, "variant": variant, "seed": seed,
                    "run": os.path.relpath(run_dir, ROOT), "overrides": opts,
                    "trained_with": trained_with(run_dir), "metrics": per_split})  # fmt: skip
    for subset in args.subsets:
        splits = [*SPLITS, *probes[subset]]
        baselines[subset] = {
            b.replace("_", " "): {
                sp: evaluate_baseline(b, f"avs_synth_{subset}_{sp}")["avs"] for sp in splits
            }
            for b in ("all_background", "largest_object")
        }
    meta = {"recipe": args.recipe, "iters": iters, "seeds": seeds, "commit": code_commit(),
            "seeds_scored": seeds_scored}  # fmt: skip
    if args.score_only:
        meta["not_trained"] = missing
    written = write_results(out, figures_dir, meta, raw, baselines, curves_of(raw))
    print(f"figures: {', '.join(written)}; results in {out}; {time.perf_counter() - t0:.0f} s")


def _difference(a, b, path=""):
    """Where two baseline records disagree (a value by more than 1e-9, or a str), on the keys
    both hold: the key path, or "" where they agree."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a.keys() & b.keys():
            where = _difference(a[k], b[k], f"{path}/{k}")
            if where:
                return where
        return ""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return "" if abs(a - b) <= 1e-9 or (a != a and b != b) else path  # nan == nan here
    return "" if a == b else path


def _union(a, b):
    """`a` with the keys only `b` holds added, recursively (the splits one file scored only)."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return a
    return {**b, **{k: _union(v, b[k]) if k in b else v for k, v in a.items()}}


def merge_runs(paths):
    """Combine the runs.json files of separate invocations (other seeds, rows or machines) into
    one table's (meta, raw runs, baselines).

    The files must share the recipe and iterations, and their baselines must agree to 1e-9 (the
    trivial baselines scored on the same data; a regenerated tree that differs shows there); a
    (subset, row, seed) may come from one file only, and a row's runs must have been trained with
    the same encoder files where their digests are on record. Runs are ordered by subset, row and
    seed.
    Raises:
        ValueError: naming the file and the problem.
    """
    meta, raw, baselines, where, sources, not_trained = None, [], {}, {}, [], []
    encoders = {}  # (subset, row, config key) -> (the first file, sha256 of the encoder file)
    for path in paths:
        try:
            with open(path) as f:
                data = json.load(f)
            runs, base, budget = data["runs"], data["baselines"], (data["recipe"], data["iters"])
            keys = [(r["subset"], r["variant"], r["seed"]) for r in runs]
            if not all(isinstance(r["metrics"]["test"], dict) for r in runs):
                raise TypeError("a run's test scores are not a table")
        except OSError as e:
            raise ValueError(f"{path}: cannot be read ({e.strerror})") from None
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}: not a runs.json written by {TOOL} ({e!r})") from None
        if meta is None:
            meta = {"recipe": budget[0], "iters": budget[1]}
        elif budget != (meta["recipe"], meta["iters"]):
            raise ValueError(
                f"{path}: recipe {budget[0]!r}, {budget[1]} iterations, but {paths[0]} has "
                f"{meta['recipe']!r}, {meta['iters']}: runs of other budgets are not one table"
            )
        for subset, rows in base.items():
            first = next((p for p, s in sources if subset in s), None)
            diff = _difference(baselines[subset], rows) if first else ""
            if diff:
                raise ValueError(
                    f"{path}: its {subset} baselines differ from those of {first} at {diff}: "
                    "the runs were scored on other data and are not one table"
                )
            baselines[subset] = _union(baselines.get(subset, {}), rows)
        sources.append((path, set(base)))
        for key, r in zip(keys, runs):
            if key in where:
                raise ValueError(
                    f"{path}: {key[0]} {key[1]!r} seed {key[2]} is in {where[key]} too; leave "
                    'one file out, or rename the row (its "variant") in one of them'
                )
            where[key] = path
            raw.append(r)
            digests = (r.get("trained_with") or {}).get("encoder_sha256") or {}
            for enc, digest in digests.items():  # one row, one encoder (runs on record)
                first, seen = encoders.setdefault((*key[:2], enc), (path, digest))
                if seen != digest:
                    raise ValueError(
                        f"{path}: {key[0]} {key[1]!r} seed {key[2]} was trained with another "
                        f"{enc} file than that row's runs in {first} (sha256 {digest[:12]} "
                        f"against {seen[:12]}): the same name can hold another network; rename "
                        'the row (its "variant") in one file to keep both'
                    )
        not_trained += data.get("not_trained", [])
        meta.setdefault("merged_from", []).append({"file": path, "commit": data.get("commit")})
    subsets = list(dict.fromkeys(r["subset"] for r in raw))
    rows = list(dict.fromkeys([*ROWS, *(r["variant"] for r in raw)]))
    raw.sort(key=lambda r: (subsets.index(r["subset"]), rows.index(r["variant"]), r["seed"]))
    seeds_scored = {}
    for r in raw:
        seeds_scored.setdefault(r["subset"], {}).setdefault(r["variant"], []).append(r["seed"])
    scored = {r["run"] for r in raw}
    meta.update(
        seeds=sorted({r["seed"] for r in raw}),
        commit=code_commit(),  # the code that wrote the table; each file's is in merged_from
        seeds_scored=seeds_scored,
        not_trained=[p for p in dict.fromkeys(not_trained) if p not in scored],
    )
    return meta, raw, baselines


def curves_of(raw):
    """The training-curve figure's source per subset: the first AuTR run whose metrics.json is
    on this machine (merged runs may have been trained elsewhere)."""
    curves = {}
    for r in raw:
        metrics_file = os.path.join(ROOT, r["run"], "metrics.json")
        if r["variant"] == "AuTR" and r["subset"] not in curves and os.path.isfile(metrics_file):
            curves[r["subset"]] = (metrics_file, r["seed"])
    return curves


def write_results(out, figures_dir, meta, raw, baselines, curves):
    """Write results.{json,md} to `out` and runs.json and the figures to `figures_dir` from the
    runs' raw records (`raw`: one dict per run, in table order); print the tables and return the
    figures' names."""
    results = {}
    for r in raw:
        results.setdefault(r["subset"], {}).setdefault(r["variant"], []).append(r["metrics"])
    md = table(results, baselines) + "\n\n" + diagnostics_table(results, baselines)
    if any(set(r["metrics"]) - {*SPLITS, SWAPPED} for r in raw):  # scored on the probe splits
        md += "\n\n" + probe_table(results, baselines)
    written = figures(results, curves, figures_dir) + probe_figures(results, baselines, figures_dir)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({**meta, "results": results, "baselines": baselines}, f, indent=1)
    with open(os.path.join(figures_dir, "runs.json"), "w") as f:  # the raw numbers
        json.dump({**meta, "runs": raw, "baselines": baselines}, f, indent=1)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(md + "\n")
    print("\n" + md + "\n")
    return written


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small data, 40 iterations, one seed")
    p.add_argument("--recipe", choices=sorted(RECIPES), default="paper")
    p.add_argument("--iters", type=int, default=0, help="training iterations per run")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="default 1 2 3 (quick: 1)")
    p.add_argument(
        "--variants",
        nargs="+",
        default=DEFAULT_VARIANTS,
        choices=ROWS,
        metavar="VARIANT",
        help=f"rows to train and score (default: {', '.join(repr(v) for v in DEFAULT_VARIANTS)}; "
        f"also {', '.join(repr(v) for v in OPTIONAL_VARIANTS)})",
    )
    p.add_argument(
        "--score-only",
        action="store_true",
        help="train nothing: score the runs that exist (a row gets the seeds it has; the "
        "missing runs are listed in runs.json)",
    )
    p.add_argument(
        "--merge",
        nargs="+",
        default=None,
        metavar="RUNS_JSON",
        help="train and score nothing: make one table from the runs.json of separate "
        "invocations (other seeds, rows or machines; same recipe, budget and data) into "
        "--output and --figures",
    )
    p.add_argument("--subsets", nargs="+", default=["s4", "ms3"], choices=["s4", "ms3"])
    p.add_argument("--probes", type=int, default=None, help="clips per probe split (0: none)")
    p.add_argument(
        "--audio-steps", type=int, default=0, help="VGGish pretraining (paper; 3000, quick: 300)"
    )
    p.add_argument("--output", default="", help="default output/study[_quick][_scratch]")
    p.add_argument("--datasets", default="", help="an existing DETECTRON2_DATASETS to use")
    p.add_argument(
        "--figures",
        default="",
        help="where the figures and runs.json go (default <output>/figures); a folder of "
        "run_study's own: the README's copies in docs/figures/ are never written",
    )
    p.add_argument(
        "opts",
        nargs=argparse.REMAINDER,
        help="config overrides for every run and its evaluation, KEY VALUE pairs (use a new "
        "--output: finished runs are reused as they are)",
    )
    return p


if __name__ == "__main__":
    main(get_parser().parse_args())

"""tools/benchmark.py and tools/run_study.py run end to end on tiny settings (no time asserted)."""

import hashlib
import json
import os
import subprocess
import tempfile

import pytest

from .conftest import tiny_cfg
from .test_tools import run_tool
from .test_train import ROOT, TINY

CONFIG = os.path.join(ROOT, "configs", "avs_synth", "s4_autr_R18.yaml")


def test_benchmark_writes_every_field(synth_root, tmp_path):
    out = tmp_path / "bench.json"
    res = run_tool(
        synth_root,
        "benchmark.py",
        *("--config-file", CONFIG, "--repeats", "1", "--warmup", "0", "--loader-batches", "2"),
        *("--json", str(out), *TINY),
    )
    assert "model / backbone" in res.stdout
    assert "model / backbone in FLOPs" in res.stdout
    r = json.loads(out.read_text())
    for key in ("params_M", "gflops_per_clip", "peak_memory_MB", "device", "threads"):
        assert r[key]
    # the CPU by name, with its vector extension and bf16 (not "cpu": figures differ ~10x by it)
    assert "threads of" in r["device"] and "bf16" in r["device"] and r["device"] != "cpu"
    assert r["flops_over_backbone"] > 1  # the whole model against its backbone
    for key in ("latency_ms_per_clip", "frames_per_s", "backbone_alone_ms"):
        assert r["inference"][key] > 0
    for key in ("overhead_over_backbone", "achieved_gflops", "share_of_peak"):
        assert r["inference"][key] > 0
    parts = {"backbone", "audio_encoder", "av_encoder", "pixel_decoder", "query_decoder"}
    assert parts | {"mask_head"} <= set(r["inference"]["split_ms"])
    assert parts | {"mask_head", "criterion"} <= set(r["train"]["forward_split_ms"])
    assert r["train"]["clips_per_s"] > 0 and r["loader"]["clips_per_s"] > 0
    assert r["loader"]["vs_train_step"] > 0 and r["machine"]["peak"] > 0
    assert (r["precision"], r["train_amp"]) == ("float32", "off")
    # the before/after table the README shows
    b = dict(r, precision="bfloat16")
    b["inference"] = dict(
        r["inference"], latency_ms_per_clip=r["inference"]["latency_ms_per_clip"] / 2
    )
    (tmp_path / "after.json").write_text(json.dumps(b))
    res = run_tool(synth_root, "benchmark.py", "--compare", str(out), str(tmp_path / "after.json"))
    lines = res.stdout.splitlines()
    assert lines[0] == "| | bench | after |"
    row = next(ln for ln in lines if ln.startswith("| inference latency"))
    before_ms, after_ms = (float(c) for c in row.strip("|").split("|")[1:])
    assert abs(after_ms - before_ms / 2) <= 1
    assert "| precision | float32 | bfloat16 |" in lines


def test_benchmark_times_tpavi_by_its_parts(synth_root, tmp_path):
    """TPAVI gets the same figures as AuTR (issue: speed "for both"), its split by its own
    parts; it used to fail on AuTR's audio stage name."""
    out = tmp_path / "tpavi.json"
    cfg = os.path.join(ROOT, "configs", "avs_synth", "paper", "s4_tpavi_effl0.yaml")
    small = [
        "MODEL.TPAVI.CHANNELS",
        "16",
        "MODEL.AUDIO.WIDTH_MULT",
        "0.125",
        "INPUT.SIZE_TEST",
        "64",
    ]
    run_tool(
        synth_root,
        "benchmark.py",
        *("--config-file", cfg, "--repeats", "1", "--warmup", "0", "--loader-batches", "0"),
        *("--json", str(out), *small, "INPUT.SIZE_TRAIN", "64", "SOLVER.IMS_PER_BATCH", "1"),
    )
    r = json.loads(out.read_text())
    parts = {"backbone", "audio_encoder", "tpavi_projections", "tpavi_blocks", "tpavi_fusion"}
    assert parts | {"tpavi_output"} <= set(r["inference"]["split_ms"])
    assert not {"av_encoder", "query_decoder"} & set(r["inference"]["split_ms"])
    assert r["params_M"] > 0 and r["inference"]["latency_ms_per_clip"] > 0


def test_benchmark_loader_removes_the_tree_it_made(tmp_path, monkeypatch):
    """Without the training split on disk the loader figure comes from a tiny generated tree in
    the temporary folder; the benchmark removes it afterwards (it used to stay behind)."""
    monkeypatch.syspath_prepend(os.path.join(ROOT, "tools"))
    from benchmark import loader_speed

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    res = loader_speed(tiny_cfg("DATASETS.TRAIN", "('no_such_split',)"), n_batches=1)
    assert res["source"] == "benchmark_avs_synth_s4_train" and res["clips_per_s"] > 0
    assert os.listdir(tmp_path) == []


def test_study_runs_every_row_and_writes_table_and_figures(tmp_path):
    """Every row on tiny settings (the from-scratch recipe: no pretraining in a test), the probe
    splits evaluated, the table, the sweep figures and the raw per-run JSON written."""
    from autr_d2.data.synth import PROBES, SPLITS, SynthConfig, generate_avs_synth

    root = tmp_path / "data" / "avs_synth"
    sizes = {"s4": {**dict.fromkeys(SPLITS, 2), **dict.fromkeys(PROBES["s4"], 2)}}
    generate_avs_synth(str(root), ("s4",), sizes, SynthConfig(seed=2, media="procedural"),
                       progress=False)  # fmt: skip
    figs = tmp_path / "figs"
    res = run_tool(
        str(tmp_path / "elsewhere" / "avs_synth"),  # DETECTRON2_DATASETS: --datasets must win
        "run_study.py",
        *("--recipe", "scratch", "--subsets", "s4", "--seeds", "1", "--iters", "2"),
        *("--probes", "2", "--output", str(tmp_path / "st"), "--datasets", str(root.parent)),
        *("--variants", "AuTR", "10 queries", "--figures", str(figs)),
        *(*TINY, "MODEL.AUTR.DEC_LAYERS", "1"),  # overrides reach every run
    )
    for variant in ("AuTR", "10_queries"):
        run_cfg = (tmp_path / "st" / "s4" / variant / "seed1" / "config.yaml").read_text()
        assert "DEC_LAYERS: 1\n" in run_cfg
    assert "NUM_QUERIES: 10\n" in (tmp_path / "st/s4/10_queries/seed1/config.yaml").read_text()
    md = (tmp_path / "st" / "results.md").read_text()
    for row in ("AuTR", "10 queries", "largest object", "snr (M_J)"):
        assert row in md, res.stdout[-2000:]
    assert "offscreen (fg_pixels)" in md
    assert {"study_s4_curve.png", "study_s4_distractors.png", "study_probe_snr.png",
            "study_probe_offscreen.png", "runs.json"} <= set(os.listdir(figs))  # fmt: skip
    data = json.loads((tmp_path / "st" / "results.json").read_text())
    autr = data["results"]["s4"]["AuTR"][0]
    swapped = "test, another clip's audio"  # the listening probe
    assert set(autr) == {"test", "test_unseen", "test_openset", swapped, *PROBES["s4"]}
    assert "picks_sounding" in md and "M_J, another clip's audio" in md
    assert any(k.startswith("M_J/distractors=") for k in autr["test"])
    raw = json.loads((figs / "runs.json").read_text())
    assert len(raw["runs"]) == 2 and raw["commit"] and raw["runs"][0]["metrics"]["test"]["M_J"] >= 0

    # --score-only trains nothing: the rows and seeds not trained are left out and listed
    res = run_tool(
        str(root.parent),
        "run_study.py",
        *("--recipe", "scratch", "--subsets", "s4", "--seeds", "1", "2", "--iters", "2"),
        *("--probes", "0", "--output", str(tmp_path / "st"), "--datasets", str(root.parent)),
        *("--variants", "AuTR", "1 query", "--figures", str(figs), "--score-only"),
        *(*TINY, "MODEL.AUTR.DEC_LAYERS", "1"),
    )
    assert not (tmp_path / "st/s4/AuTR/seed2").exists()
    assert not (tmp_path / "st/s4/1_query").exists()
    raw = json.loads((figs / "runs.json").read_text())
    assert [r["run"] for r in raw["runs"]] == [os.path.relpath(tmp_path / "st/s4/AuTR/seed1", ROOT)]
    assert len(raw["not_trained"]) == 3 and "not trained" in res.stdout
    assert raw["runs"][0]["seed"] == 1 and raw["runs"][0]["trained_with"]["SEED"] == 1
    assert raw["runs"][0]["trained_with"]["SOLVER.MAX_ITER"] == 2
    assert raw["runs"][0]["trained_with"]["MODEL.AUDIO.NAME"] == "VGGish"
    assert "threads of" in raw["runs"][0]["trained_with"]["machine"]  # which CPU trained it
    assert raw["runs"][0]["trained_with"]["encoder_sha256"] == {}  # scratch: no encoder files
    # the commit that trained the run, not only the one that scored it (recorded at training)
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    assert raw["runs"][0]["trained_with"]["commit"].split("+")[0] == head
    assert raw["seeds_scored"] == {"s4": {"AuTR": [1]}}
    md = (tmp_path / "st" / "results.md").read_text()
    assert "AuTR (1 seed)" in md and "1 query" not in md


def test_study_trains_only_the_first_autr_seed_with_val_evaluations(tmp_path, monkeypatch):
    """Val evaluations (the curve figure) cost time: seeds 2 and 3 and the other rows train
    without them (a regression in 244a261 had turned them on for every AuTR seed)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_study", ROOT + "/tools/run_study.py")
    run_study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_study)
    commands = []
    monkeypatch.setattr(run_study, "sh", lambda cmd, env: commands.append(cmd))
    # the bf16 row is trained only when asked for (10x slower where the CPU has no bf16)
    assert "bf16 training" not in run_study.get_parser().parse_args([]).variants
    assert "light pixel decoder" not in run_study.get_parser().parse_args([]).variants
    assert run_study.AUGMENTED not in run_study.get_parser().parse_args([]).variants
    assert run_study.AUDIO_AUG not in run_study.get_parser().parse_args([]).variants
    assert run_study.get_parser().parse_args(["--variants", "bf16 training"]).variants
    variants = ["AuTR", "dot-product head"]
    runs = run_study.plan(str(tmp_path), ["s4", "ms3"], variants, [1, 2, 3])
    assert len(runs) == 12
    for subset, variant, seed, run_dir, with_val in runs:
        assert run_dir == str(tmp_path / subset / run_study.run_tag(variant) / f"seed{seed}")
        run_study.train(f"configs/avs_synth/paper/{subset}_autr_effl0.yaml", run_dir, seed, 60,
                        with_val, {}, run_study.VARIANTS[variant])  # fmt: skip
    by_run = {os.path.relpath(c[c.index("OUTPUT_DIR") + 1], tmp_path): c for c in commands}
    evals = {run: c[c.index("TEST.EVAL_PERIOD") + 1] for run, c in by_run.items()}
    assert len(evals) == 12
    assert evals == {**dict.fromkeys(evals, "0"), "s4/AuTR/seed1": "10", "ms3/AuTR/seed1": "10"}
    assert "('avs_synth_ms3_val',)" in by_run["ms3/AuTR/seed1"]
    assert "()" in by_run["ms3/AuTR/seed2"]  # no val set loaded at all


def test_every_study_row_builds_from_its_config_and_overrides():
    """A row's overrides merge into its config and build without any pretrained file; the
    ImageNet-audio row builds the TimmAudio encoder it was trained with (scoring relies on it)."""
    import importlib.util

    from detectron2.modeling import build_model

    from autr_d2.engine import setup_cfg
    from autr_d2.modeling.audio_encoder import TimmAudio, VGGish

    spec = importlib.util.spec_from_file_location("run_study", ROOT + "/tools/run_study.py")
    run_study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_study)
    for row, opts in run_study.VARIANTS.items():
        config = run_study.VARIANT_CONFIGS.get(row, run_study.RECIPES["paper"]).format(s="s4")
        cfg = setup_cfg(os.path.join(ROOT, config), ["MODEL.TIMM.WEIGHTS", "", *opts])
        model = build_model(cfg)
        encoder = getattr(model, "audio_encoder", None)
        if row == run_study.IMAGENET_AUDIO:
            assert isinstance(encoder, TimmAudio), row
        elif row != "visual only":
            assert isinstance(encoder, VGGish), row


def test_study_score_cache_is_dropped_when_weights_data_or_overrides_change(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_study", ROOT + "/tools/run_study.py")
    run_study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_study)
    weights = tmp_path / "model_final.pth"
    weights.write_bytes(b"w1")
    key = run_study.eval_key(str(weights), "/data/a", ["MODEL.AUTR.MASK_HEAD", "dot"])
    cache = tmp_path / "study_eval.json"
    cache.write_text(json.dumps({"_key": key, "avs_synth_s4_test": {"M_J": 50.0}}))
    assert run_study.load_eval_cache(str(cache), key)["avs_synth_s4_test"] == {"M_J": 50.0}
    for other in (
        run_study.eval_key(str(weights), "/data/b", ["MODEL.AUTR.MASK_HEAD", "dot"]),
        run_study.eval_key(str(weights), "/data/a", []),
    ):
        assert run_study.load_eval_cache(str(cache), other) == {"_key": other}
    weights.write_bytes(b"retrained")  # another size: other weights
    new = run_study.eval_key(str(weights), "/data/a", ["MODEL.AUTR.MASK_HEAD", "dot"])
    assert run_study.load_eval_cache(str(cache), new) == {"_key": new}
    cache.write_text("{not json")  # a corrupt cache is scored again, not a traceback
    assert run_study.load_eval_cache(str(cache), key) == {"_key": key}


def test_visual_only_best_object_scores_the_visual_only_run_on_ms3_only(tmp_path):
    """The "visual only, best object" row trains nothing: it scores MS3's visual-only runs with
    S4's rule (MS3's union above 0.5 leaves visual only with no mask at all), into a cache of its
    own, so neither row's scores replace the other's."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_study", ROOT + "/tools/run_study.py")
    run_study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_study)
    best, vo = run_study.BEST_OBJECT, "visual only"
    assert best in run_study.get_parser().parse_args([]).variants  # a default row: it is cheap
    runs = run_study.plan(str(tmp_path), ["s4", "ms3"], [vo, best], [1, 2])
    assert [(r.subset, r.variant) for r in runs] == [("s4", vo)] * 2 + [("ms3", vo)] * 2 + [
        ("ms3", best)
    ] * 2  # on S4 the rule is already the best object: no second, identical row
    by_variant = {(r.variant, r.seed): r.run_dir for r in runs if r.subset == "ms3"}
    assert by_variant[(best, 2)] == by_variant[(vo, 2)] == str(tmp_path / "ms3/visual_only/seed2")
    caches = {run_study.eval_cache_path(by_variant[(v, 1)], v) for v in (vo, best)}
    assert len(caches) == 2 and str(tmp_path / "ms3/visual_only/seed1/study_eval.json") in caches
    base, test_opts, subsets = run_study.SCORED_AS[best]
    assert base == vo and test_opts == ["MODEL.AUTR.TEST.MULTI_SOURCE", "False"]


def test_a_row_scored_as_another_trains_that_row_with_its_encoders(tmp_path, monkeypatch):
    """Asked for alone, "visual only, best object" trains the visual-only run as that row is
    trained: its config and the encoders' overrides (they were once looked up under the new
    row's name, so it trained without them)."""
    import importlib.util
    import sys
    import types

    spec = importlib.util.spec_from_file_location("run_study", ROOT + "/tools/run_study.py")
    run_study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_study)
    assert run_study.base_row(run_study.BEST_OBJECT) == "visual only"
    assert run_study.base_row("TPAVI") == "TPAVI"
    from autr_d2.data import synth

    class Trained(Exception):
        pass

    def fake_train(config, run_dir, seed, iters, curve, env, opts):
        raise Trained(os.path.relpath(run_dir, tmp_path), config, list(opts))

    monkeypatch.setattr(run_study, "train", fake_train)
    monkeypatch.setattr(synth, "ensure_avs_synth", lambda *a, **k: None)
    encoders = types.ModuleType("run_demo")  # the encoders are made by run_demo: named, not made
    encoders.pretrained_encoders = lambda env, steps, strict=False: ["MODEL.AUDIO.WEIGHTS", "b.pth"]
    monkeypatch.setitem(sys.modules, "run_demo", encoders)
    args = ["--subsets", "ms3", "--seeds", "1", "--probes", "0", "--output", str(tmp_path / "st")]
    args += ["--datasets", str(tmp_path / "d"), "--variants", run_study.BEST_OBJECT]
    with pytest.raises(Trained) as e:
        run_study.main(run_study.get_parser().parse_args(args))
    run_dir, config, opts = e.value.args
    assert run_dir == "st/ms3/visual_only/seed1"
    assert os.path.realpath(config) == os.path.realpath(
        os.path.join(ROOT, "configs/avs_synth/paper/ms3_autr_effl0.yaml")
    )
    assert opts == ["MODEL.AUDIO.WEIGHTS", "b.pth", "MODEL.AUDIO.ENABLED", "False"]


def test_study_merge_makes_one_table_from_separate_invocations(tmp_path):
    """Seeds (or rows) trained by separate invocations, e.g. on other machines, become one table
    with `--merge`; runs scored on other data, of another budget, or twice are refused with a
    sentence naming the file (the README's bank-4 tables are such a merge)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_study", ROOT + "/tools/run_study.py")
    run_study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_study)
    with open(os.path.join(ROOT, "docs/figures/bank4/runs_s4.json")) as f:
        whole = json.load(f)
    parts = {}
    for name, seeds in (("a", {2}), ("b", {1, 3})):  # out of order: the merge sorts
        part = dict(whole, runs=[r for r in whole["runs"] if r["seed"] in seeds])
        parts[name] = tmp_path / f"{name}.json"
        parts[name].write_text(json.dumps(part))
    figs, out = tmp_path / "figs", tmp_path / "out"
    run_tool(str(tmp_path), "run_study.py", "--merge", str(parts["a"]), str(parts["b"]),
             *("--output", str(out), "--figures", str(figs)))  # fmt: skip
    merged = json.loads((figs / "runs.json").read_text())
    key = lambda r: (r["variant"], r["seed"])  # noqa: E731
    assert sorted(map(key, merged["runs"])) == sorted(map(key, whole["runs"]))
    assert [key(r) for r in merged["runs"][:3]] == [("AuTR", 1), ("AuTR", 2), ("AuTR", 3)]
    assert merged["seeds_scored"] == whole["seeds_scored"]
    assert merged["baselines"] == whole["baselines"]
    assert [m["file"] for m in merged["merged_from"]] == [str(parts["a"]), str(parts["b"])]
    md = (out / "results.md").read_text()
    autr = [r["metrics"]["test_unseen"]["M_J"] for r in whole["runs"] if r["variant"] == "AuTR"]
    assert f"{run_study.mean_std(autr)[0]:.1f} ± {run_study.mean_std(autr)[1]:.1f}" in md
    assert "telephone (M_J)" in md and (figs / "study_s4_distractors.png").is_file()

    def refused(*files):
        with pytest.raises(ValueError) as e:
            run_study.merge_runs([str(f) for f in files])
        return str(e.value)

    assert f"seed 2 is in {parts['a']} too" in refused(parts["a"], parts["b"], parts["a"])
    other = json.loads(parts["b"].read_text())
    other["baselines"]["s4"]["largest object"]["test_unseen"]["M_J"] += 0.1
    (tmp_path / "c.json").write_text(json.dumps(other))
    msg = refused(parts["a"], tmp_path / "c.json")
    assert str(tmp_path / "c.json") in msg and "/largest object/test_unseen/M_J" in msg
    other = dict(json.loads(parts["b"].read_text()), iters=2000)
    (tmp_path / "d.json").write_text(json.dumps(other))
    assert "2000 iterations" in refused(parts["a"], tmp_path / "d.json")
    (tmp_path / "e.json").write_text("{}")
    assert f"{tmp_path / 'e.json'}: not a runs.json" in refused(tmp_path / "e.json")
    assert "cannot be read" in refused(tmp_path / "missing.json")
    # one row trained with two encoder files under one name (another machine's re-made
    # VGGish) is refused; the digest is the one a run records at training
    (tmp_path / "vggish.pth").write_bytes(b"weights")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text(
        f"MODEL:\n  AUDIO:\n    WEIGHTS: {tmp_path / 'vggish.pth'}\n  TIMM:\n    WEIGHTS: ''\n"
    )
    sha = {"MODEL.AUDIO.WEIGHTS": hashlib.sha256(b"weights").hexdigest()}
    assert run_study.encoder_digests(str(tmp_path / "run")) == sha
    # a_sha / b_sha: every run with a digest, another on each side; b_none: none recorded (runs
    # trained before the study recorded them), which is no conflict
    fake = {"MODEL.AUDIO.WEIGHTS": "0" * 64}
    for out, name, digest in (("a_sha", "a", sha), ("b_sha", "b", fake), ("b_none", "b", None)):
        part = json.loads(parts[name].read_text())
        for r in part["runs"]:
            r["trained_with"].pop("encoder_sha256", None)
            if digest is not None:
                r["trained_with"]["encoder_sha256"] = digest
        (tmp_path / f"{out}.json").write_text(json.dumps(part))
    msg = refused(tmp_path / "a_sha.json", tmp_path / "b_sha.json")
    assert "another MODEL.AUDIO.WEIGHTS file" in msg and str(tmp_path / "a_sha.json") in msg
    merged = run_study.merge_runs([str(tmp_path / "a_sha.json"), str(tmp_path / "b_none.json")])[1]
    assert len(merged) == len(whole["runs"])
    res = run_tool(str(tmp_path), "run_study.py", "--merge", str(tmp_path / "e.json"),
                   *("--output", str(tmp_path / "o2")), check=False)  # fmt: skip
    assert res.returncode != 0 and "error: " in res.stderr and "Traceback" not in res.stderr

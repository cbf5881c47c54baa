#!/usr/bin/env python
"""Speed, FLOPs and memory of an AuTR config on the current device; prints a table, writes JSON.

Measured (warm-up excluded, median of repeats, CUDA-synchronised on a GPU): inference latency per
clip and frames/s, the plain backbone alone on the same frames (so the model's overhead over its
backbone is stated, next to the same ratio in FLOPs: its floor if the heads ran as fast per FLOP
as the backbone), a training step (clips/s), the data loader (clips/s with the configured
workers, on the config's train split or a generated AVS-Synth tree), peak memory (RSS on CPU, max
allocated on CUDA), a per-component time split from module hooks, and the achieved GFLOP/s next
to the machine's peak measured in the same run (the faster of a large fp32 matmul and a large 3x3
convolution). FLOP rates count 2 FLOPs per multiply-add for the model and the peak alike.

The precision switches are honoured: MODEL.PRECISION for inference (the backbone-alone figure runs
in the same precision, so the ratio compares like with like) and SOLVER.AMP for the training step.

python tools/benchmark.py --config-file configs/avsbench/s4/autr_R50.yaml MODEL.DEVICE cpu
python tools/benchmark.py --config-file ... --json out.json --repeats 20
python tools/benchmark.py --compare before.json after.json   # the README's before/after table
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
from collections import defaultdict

import torch
from detectron2.data import DatasetCatalog
from detectron2.modeling import build_model
from flops import count, flops_over_backbone  # tools/ is on sys.path when this script runs

import autr_d2  # noqa: F401  (registers the model and datasets)
from autr_d2.engine import USER_ERRORS, Trainer, setup_cfg
from autr_d2.utils.machine import describe_machine
from autr_d2.utils.precision import autocast, resolve_dtype

# the encoders are timed through the model's stages, which run what inference runs (their
# BatchNorm-folded copies with MODEL.FOLD_BN, channels-last, no autograd when frozen)
STAGES = {"backbone": "encode_visual", "audio_encoder": "audio_embedding"}
# component -> the model's modules it sums (AuTR's, then TPAVI's; a model times those it has)
COMPONENTS = {
    "av_encoder": ("av_encoder",),
    "pixel_decoder": ("pixel_decoder",),
    "query_decoder": ("query_decoder",),
    "mask_head": ("mask_head",),
    "criterion": ("criterion",),
    "tpavi_projections": ("conv1", "conv2", "conv3", "conv4"),
    "tpavi_blocks": ("tpavi_b1", "tpavi_b2", "tpavi_b3", "tpavi_b4"),
    "tpavi_fusion": ("path4", "path3", "path2", "path1"),
    "tpavi_output": ("output_conv",),
}


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_time(fn, device, warmup, repeats):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_gflops(device, repeats=5):
    """The machine's fp32 peak as the faster of a 2048^3 matmul and a 3x3 conv, GFLOP/s."""
    a = torch.randn(2048, 2048, device=device)
    b = torch.randn(2048, 2048, device=device)
    mm = _median_time(lambda: a @ b, device, 2, repeats)
    x = torch.randn(8, 256, 56, 56, device=device)
    conv = torch.nn.Conv2d(256, 256, 3, padding=1, bias=False).to(device)
    with torch.no_grad():
        cv = _median_time(lambda: conv(x), device, 2, repeats)
    mm_rate = 2 * 2048**3 / mm / 1e9
    conv_rate = 2 * 8 * 256 * 256 * 9 * 56 * 56 / cv / 1e9
    return {"matmul_gflops": mm_rate, "conv3x3_gflops": conv_rate, "peak": max(mm_rate, conv_rate)}


def random_clip(cfg, train=False):
    t, s = cfg.INPUT.SAMPLING_FRAME_NUM, cfg.INPUT.SIZE_TRAIN if train else cfg.INPUT.SIZE_TEST
    g = torch.Generator().manual_seed(0)
    clip = {
        "frames": torch.randint(0, 255, (t, 3, s, s), dtype=torch.uint8, generator=g),
        "audio": torch.randn(t, 1, 96, 64, generator=g),
    }
    if train:
        masks = torch.zeros(t, s, s, dtype=torch.uint8)
        masks[:, s // 4 : s // 2, s // 4 : s // 2] = 1
        clip.update(masks=masks, annotated=torch.ones(t, dtype=torch.bool), category_id=0)
    return clip


class ComponentTimer:
    """Forward pre/post hooks on the model's parts and wrappers of its encoder stages: wall time
    per part (synchronised)."""

    def __init__(self, model, device):
        self.device, self.totals, self.handles, self.start = device, defaultdict(float), [], {}
        self.model, self.wrapped = model, []
        for name, method in STAGES.items():
            if getattr(model, name, None) is None:
                continue
            setattr(model, method, self._wrap(name, getattr(model, method)))
            self.wrapped.append(method)
        for name, attrs in COMPONENTS.items():
            for attr in attrs:
                module = getattr(model, attr, None)
                if not isinstance(module, torch.nn.Module):
                    continue
                self.handles.append(module.register_forward_pre_hook(self._pre(name)))
                self.handles.append(module.register_forward_hook(self._post(name)))

    def _pre(self, name):
        def hook(*_):
            _sync(self.device)
            self.start[name] = time.perf_counter()

        return hook

    def _post(self, name):
        def hook(*_):
            _sync(self.device)
            self.totals[name] += time.perf_counter() - self.start.pop(name)

        return hook

    def _wrap(self, name, fn):
        def timed(*args, **kwargs):
            self._pre(name)()
            out = fn(*args, **kwargs)
            self._post(name)()
            return out

        return timed

    def remove(self):
        for h in self.handles:
            h.remove()
        for method in self.wrapped:  # the instance attribute goes, the class's method is back
            delattr(self.model, method)


def loader_speed(cfg, n_batches):
    """Clips/s of the configured train loader; a tiny AVS-Synth tree when the split is absent."""
    tmp = None
    try:
        DatasetCatalog.get(cfg.DATASETS.TRAIN[0])
        source = cfg.DATASETS.TRAIN[0]
    except Exception:
        from autr_d2.data.datasets.avsbench import register_avs_dataset
        from autr_d2.data.synth import SynthConfig, generate_avs_synth

        tmp = tempfile.mkdtemp(prefix="autr_bench_")
        root = os.path.join(tmp, "avs_synth")
        n = max(16, n_batches * cfg.SOLVER.IMS_PER_BATCH)
        sizes = {"s4": {"train": n}}
        generate_avs_synth(root, ("s4",), sizes, SynthConfig(media="procedural"), progress=False)
        source = "benchmark_avs_synth_s4_train"
        register_avs_dataset(source, root, "s4", "train", [])
    cfg = cfg.clone()
    cfg.defrost()
    cfg.DATASETS.TRAIN = (source,)
    try:
        loader = iter(Trainer.build_train_loader(cfg))
        next(loader)  # workers started, first batch ready
        t0 = time.perf_counter()
        for _ in range(n_batches):
            next(loader)
        dt = time.perf_counter() - t0
        del loader  # its workers stop before their files go
    finally:
        if tmp is not None:  # the tiny tree this function wrote, and nothing else
            shutil.rmtree(tmp, ignore_errors=True)
    return {"source": source, "clips_per_s": n_batches * cfg.SOLVER.IMS_PER_BATCH / dt}


def run(cfg, repeats=10, warmup=2, loader_batches=10, weights=""):
    device = torch.device(cfg.MODEL.DEVICE)
    t = cfg.INPUT.SAMPLING_FRAME_NUM
    res = {
        "precision": cfg.MODEL.PRECISION,
        "train_amp": cfg.SOLVER.AMP.PRECISION if cfg.SOLVER.AMP.ENABLED else "off",
        "device": describe_machine(device),
        "threads": torch.get_num_threads(),
        "frames_per_clip": t,
        "size": cfg.INPUT.SIZE_TEST,
    }
    params, macs, by_module = count(cfg)
    res["params_M"] = params / 1e6
    res["gflops_per_clip"] = 2 * macs / 1e9  # 2 FLOPs per multiply-add
    res["flops_over_backbone"] = flops_over_backbone(macs, by_module)
    res["machine"] = peak_gflops(device)

    model = build_model(cfg)
    if weights:
        from autr_d2.checkpoint import build_checkpointer

        build_checkpointer(cfg, model).load(weights)
    model.eval()
    clip = random_clip(cfg)
    with torch.no_grad():
        infer = _median_time(lambda: model([clip]), device, warmup, repeats)
        images = model.preprocess([clip]).tensor

        def backbone():  # as inference runs it (folded, channels-last)
            with autocast(device, model.precision):
                return model.encode_visual(images)

        bb = _median_time(backbone, device, warmup, repeats)
        timer = ComponentTimer(model, device)
        for _ in range(repeats):
            model([clip])
        timer.remove()
    res["inference"] = {
        "latency_ms_per_clip": 1000 * infer,
        "frames_per_s": t / infer,
        "backbone_alone_ms": 1000 * bb,
        "overhead_over_backbone": infer / bb,
        "achieved_gflops": res["gflops_per_clip"] / infer,
        "share_of_peak": res["gflops_per_clip"] / infer / res["machine"]["peak"],
    }
    split = {k: 1000 * v / repeats for k, v in timer.totals.items()}

    model.train()
    optimizer = Trainer.build_optimizer(cfg, model)
    batch = [random_clip(cfg, train=True) for _ in range(cfg.SOLVER.IMS_PER_BATCH)]

    amp = resolve_dtype(cfg.SOLVER.AMP.PRECISION, device) if cfg.SOLVER.AMP.ENABLED else None

    def step():
        with autocast(device, amp or torch.float32):  # as the trainer does with SOLVER.AMP
            losses = model(batch)
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()

    train = _median_time(step, device, warmup, max(3, repeats // 2))
    timer = ComponentTimer(model, device)
    n = max(3, repeats // 2)
    for _ in range(n):
        step()
    timer.remove()
    res["train"] = {
        "step_s": train,
        "clips_per_s": len(batch) / train,
        "batch_clips": len(batch),
        "forward_split_ms": {k: 1000 * v / n for k, v in timer.totals.items()},
    }
    res["inference"]["split_ms"] = split
    res["loader"] = loader_speed(cfg, loader_batches)
    res["loader"]["workers"] = cfg.DATALOADER.NUM_WORKERS
    res["loader"]["vs_train_step"] = res["loader"]["clips_per_s"] / res["train"]["clips_per_s"]
    if device.type == "cuda":
        res["peak_memory_MB"] = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        res["peak_memory_MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return res


def _ratio(x):
    return "n/a" if x is None else f"{x:.2f}x"


def print_table(res, name):
    inf, tr, ld, m = res["inference"], res["train"], res["loader"], res["machine"]
    rows = [
        ("config", name),
        ("device / threads", f"{res['device']} / {res['threads']}"),
        ("precision (inference / train)", f"{res['precision']} / {res['train_amp']}"),
        ("params", f"{res['params_M']:.1f} M"),
        ("GFLOPs per clip (2 per MAC)", f"{res['gflops_per_clip']:.1f}"),
        ("inference latency / clip", f"{inf['latency_ms_per_clip']:.0f} ms"),
        ("inference frames/s", f"{inf['frames_per_s']:.2f}"),
        ("backbone alone / clip", f"{inf['backbone_alone_ms']:.0f} ms"),
        ("model / backbone", f"{inf['overhead_over_backbone']:.2f}x"),
        ("model / backbone in FLOPs", _ratio(res["flops_over_backbone"])),
        ("achieved GFLOP/s (inference)", f"{inf['achieved_gflops']:.0f}"),
        (
            "peak GFLOP/s (matmul, conv)",
            f"{m['peak']:.0f} ({m['matmul_gflops']:.0f}, {m['conv3x3_gflops']:.0f})",
        ),
        ("share of peak", f"{100 * inf['share_of_peak']:.0f}%"),
        ("train step", f"{tr['step_s']:.2f} s ({tr['batch_clips']} clips)"),
        ("train clips/s", f"{tr['clips_per_s']:.2f}"),
        ("loader clips/s", f"{ld['clips_per_s']:.1f} ({ld['workers']} workers, {ld['source']})"),
        ("loader / train step", f"{ld['vs_train_step']:.1f}x"),
        ("peak memory", f"{res['peak_memory_MB']:.0f} MB"),
    ]
    for k, v in inf["split_ms"].items():
        rows.append((f"  inference: {k}", f"{v:.1f} ms"))
    for k, v in tr["forward_split_ms"].items():
        rows.append((f"  train forward: {k}", f"{v:.1f} ms"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


COMPARE_ROWS = [
    ("params (M)", ("params_M",), "{:.1f}"),
    ("GFLOPs per clip", ("gflops_per_clip",), "{:.2f}"),
    ("inference latency / clip (ms)", ("inference", "latency_ms_per_clip"), "{:.0f}"),
    ("inference frames/s", ("inference", "frames_per_s"), "{:.1f}"),
    ("backbone alone / clip (ms)", ("inference", "backbone_alone_ms"), "{:.0f}"),
    ("model / backbone", ("inference", "overhead_over_backbone"), "{:.2f}x"),
    ("model / backbone in FLOPs", ("flops_over_backbone",), "{:.2f}x"),
    ("training step (s)", ("train", "step_s"), "{:.2f}"),
    ("train clips/s", ("train", "clips_per_s"), "{:.2f}"),
    ("peak memory (MB)", ("peak_memory_MB",), "{:.0f}"),
]


def compare(paths, labels=None):
    """A markdown table of benchmark JSONs side by side (the README's before/after rows)."""
    runs = []
    for p in paths:
        with open(p) as f:
            runs.append(json.load(f))
    labels = labels or [os.path.splitext(os.path.basename(p))[0] for p in paths]
    lines = ["| | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(runs)]
    for key in ("config", "device", "threads", "precision", "train_amp"):
        lines.append(f"| {key} | " + " | ".join(str(r.get(key, "")) for r in runs) + " |")
    for name, path, fmt in COMPARE_ROWS:
        cells = []
        for r in runs:
            v = r
            for k in path:
                v = v.get(k, {}) if isinstance(v, dict) else {}
            cells.append(fmt.format(v) if isinstance(v, (int, float)) else "")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    return table


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config-file", default="")
    p.add_argument("--compare", nargs="+", default=[], help="benchmark JSONs to tabulate")
    p.add_argument("--labels", nargs="*", default=None, help="column names for --compare")
    p.add_argument("--weights", default="", help="optional checkpoint to load")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--loader-batches", type=int, default=10)
    p.add_argument("--json", default="", help="write the figures here (a new file)")
    p.add_argument("--overwrite", action="store_true", help="allow replacing an existing --json")
    p.add_argument("opts", nargs=argparse.REMAINDER)
    return p


def main(argv=None):
    args = get_parser().parse_args(argv)
    if args.compare:
        return compare(args.compare, args.labels)
    if not args.config_file:
        raise SystemExit("give --config-file (or --compare A.json B.json)")
    if args.json and os.path.exists(args.json) and not args.overwrite:
        raise SystemExit(f"error: {args.json} exists; pass --overwrite to replace it")
    try:
        cfg = setup_cfg(args.config_file, args.opts)  # building a model reads no weight file
        res = run(cfg, args.repeats, args.warmup, args.loader_batches, args.weights)
    except USER_ERRORS as e:
        raise SystemExit(f"error: {e}") from None
    res["config"] = args.config_file
    print_table(res, args.config_file)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
        print(f"wrote {args.json}")
    return res


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Pretrain the VGGish audio encoder offline, to be frozen as the paper freezes AudioSet's VGGish.

No AudioSet network can be had offline. This trains the VGGish architecture to name the
categories of real recordings: the AVS-Synth training pool (Tux Paint's own recordings of its
animals, instruments and tools, and FluidR3 General-MIDI instruments), never a recording held out
for ``test_unseen`` and never an open-set category. Examples are 0.96 s windows of one to three
sources mixed at random gains over a noise floor (as AVS-Synth mixes them), labelled with the set
of their categories (multi-label: S4 clips hold one source, MS3 clips several); the loss is a
linear classifier's binary cross-entropy on the embedding.

Held-out accuracy is measured on the last 30% of every training-pool recording, which training
never sees: top-1 on single-source windows, and "the top-k categories are exactly the k sources"
on mixtures.

The output is a plain VGGish state dict (the released ``vggish-10086976.pth`` layout at full width),
loaded through ``MODEL.AUDIO.WEIGHTS``, plus ``<output>.json`` (architecture, categories, what it
saw, accuracy). A rerun with the same settings finds that file and returns at once.

python tools/pretrain_audio.py --output pretrained/vggish_avs_synth_small.pth --preset small
python tools/pretrain_audio.py --output pretrained/vggish_avs_synth_full.pth --preset full
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from autr_d2.data.audio import EXAMPLE_SAMPLES, batched_log_mel  # noqa: E402
from autr_d2.modeling.audio_encoder import VGGish  # noqa: E402

# architecture presets: "full" is the paper's VGGish (loads like the released file); "small" is a
# quarter-width BN VGGish that a 2-core CPU pretrains in minutes (configs/avs_synth/paper/*)
PRESETS = {
    "full": {"width_mult": 1.0, "fc_dim": 4096, "embed_dim": 128, "norm": "", "embed_relu": True},
    "small": {
        "width_mult": 0.25,
        "fc_dim": 256,
        "embed_dim": 128,
        "norm": "BN",
        "embed_relu": True,
    },
}
HOLDOUT = 0.3  # the last 30% of every recording is held out for validation
VERSION = 1  # bump when the recipe changes: invalidates cached files


def split_recordings(bank):
    """{category: ([train segments], [held-out segments])} from the bank's training pool."""
    out = {}
    for name, cat in sorted(bank.categories.items()):
        train, held = [], []
        for x, pool, _src in cat.sounds:
            if pool != "train":  # held out for test_unseen: never seen here
                continue
            cut = int(len(x) * (1 - HOLDOUT))
            train.append(x[:cut])
            held.append(x[cut:])
        if train:
            out[name] = (train, held)
    return out


def _window(x, n, rng):
    """n samples of x from a random offset, looping x (with a short gap) when it is shorter."""
    if len(x) < n:
        x = np.tile(np.concatenate([x, np.zeros(1600, np.float32)]), n // (len(x) + 1600) + 2)
    start = int(rng.integers(0, len(x) - n + 1))
    return x[start : start + n]


def make_batch(segments, categories, batch, rng, part=0, mix=(0.05, 0.6, 0.25, 0.1)):
    """``batch`` mixtures -> (waves ``[B, 15600]``, multi-hot targets ``[B, C]``, sources ``[B]``).

    part 0 draws from the training segments, 1 from the held-out ones. ``mix`` gives the odds of
    0 (noise only), 1, 2 and 3 sources."""
    waves = np.zeros((batch, EXAMPLE_SAMPLES), np.float32)
    target = np.zeros((batch, len(categories)), np.float32)
    n_src = rng.choice(len(mix), size=batch, p=np.asarray(mix) / sum(mix))
    for b in range(batch):
        for ci in rng.choice(len(categories), size=n_src[b], replace=False):
            pool = segments[categories[ci]][part]
            x = _window(pool[int(rng.integers(len(pool)))], EXAMPLE_SAMPLES, rng)
            waves[b] += x * 10 ** (rng.uniform(-6, 0) / 20)
            target[b, ci] = 1
        waves[b] += rng.normal(0, 10 ** (rng.uniform(-50, -35) / 20), EXAMPLE_SAMPLES)
        waves[b] *= 0.9 * 10 ** (rng.uniform(-12, 0) / 20) / max(np.abs(waves[b]).max(), 1e-6)
    return torch.from_numpy(waves), torch.from_numpy(target), n_src


class Classifier(nn.Module):
    def __init__(self, arch, num_classes):
        super().__init__()
        self.vggish = VGGish(**arch)
        self.head = nn.Linear(arch["embed_dim"], num_classes)

    def forward(self, mel):
        return self.head(self.vggish(mel))


@torch.no_grad()
def evaluate(model, segments, categories, n=512, seed=1234):
    """Held-out accuracy: top-1 on single-source windows, exact top-k set on mixtures."""
    model.eval()
    rng = np.random.default_rng(seed)
    single = mixed = n_single = n_mixed = 0
    for _ in range(math.ceil(n / 64)):
        waves, target, n_src = make_batch(segments, categories, 64, rng, part=1, mix=(0, 1, 1, 0))
        logits = model(batched_log_mel(waves)[:, :1].reshape(-1, 1, 96, 64))
        for b, k in enumerate(n_src):
            hit = set(logits[b].topk(k).indices.tolist()) == set(target[b].nonzero()[:, 0].tolist())
            if k == 1:
                single, n_single = single + hit, n_single + 1
            else:
                mixed, n_mixed = mixed + hit, n_mixed + 1
    model.train()
    return {
        "heldout_top1_single_source": 100 * single / max(n_single, 1),
        "heldout_exact_set_two_sources": 100 * mixed / max(n_mixed, 1),
    }


def _settings(args, bank):
    return {
        "version": VERSION,
        "arch": PRESETS[args.preset],
        "preset": args.preset,
        "steps": args.steps,
        "batch": args.batch,
        "lr": args.lr,
        "seed": args.seed,
        "media": bank.kind,
    }


def pretrain(args):
    """Train (or find the cached result of) one preset; returns the sidecar dict."""
    from autr_d2.data.synth_media import build_asset_bank

    meta_path = args.output + ".json"
    bank = build_asset_bank(args.media, args.bank_seed)
    settings = _settings(args, bank)
    if os.path.isfile(args.output) and os.path.isfile(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get("settings") == settings:
            print(f"{args.output}: already pretrained with these settings (cached)")
            return meta
        if not args.overwrite:
            raise SystemExit(
                f"{args.output} holds an audio encoder pretrained with other settings; pass "
                "--overwrite to replace it, or choose another --output"
            )
    else:
        for path in (args.output, meta_path):  # either one alone was not written by this tool
            if os.path.exists(path) and not args.overwrite:
                raise SystemExit(f"{path} exists (not written by this tool): use another --output")

    segments = split_recordings(bank)
    categories = sorted(segments)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = Classifier(PRESETS[args.preset], len(categories))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.steps, pct_start=0.1)
    t0 = time.perf_counter()
    bar = tqdm(range(args.steps), desc=f"pretraining VGGish ({args.preset})", unit="step")
    for step in bar:
        waves, target, _ = make_batch(segments, categories, args.batch, rng)
        mel = batched_log_mel(waves)[:, :1].reshape(-1, 1, 96, 64)
        loss = F.binary_cross_entropy_with_logits(model(mel), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 20 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    acc = evaluate(model, segments, categories)
    meta = {
        "settings": settings,
        "categories": categories,
        "recordings": {c: len(segments[c][0]) for c in categories},
        "stands_in_for": "VGGish pretrained on AudioSet (not available offline)",
        "saw": "the AVS-Synth training pool's recordings of the training categories (first 70% "
        "of each); never test_unseen's held-out recordings, never an open-set category",
        "train_seconds": round(time.perf_counter() - t0, 1),
        **acc,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    torch.save(model.vggish.state_dict(), args.output + ".tmp")
    os.replace(args.output + ".tmp", args.output)
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps({k: v for k, v in meta.items() if k != "recordings"}, indent=1))
    return meta


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output", required=True, help="the VGGish state dict to write (.pth)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="small")
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--media", choices=["auto", "real", "procedural"], default="auto")
    p.add_argument("--bank-seed", type=int, default=0, help="AVS-Synth's seed (the same pools)")
    p.add_argument("--overwrite", action="store_true")
    return p


if __name__ == "__main__":
    pretrain(get_parser().parse_args())

#!/usr/bin/env python
"""Pretrain the audio encoder offline, to be frozen as the paper freezes AudioSet's VGGish.

No AudioSet network can be had offline. This trains the VGGish architecture (``--preset small``
or ``full``), or EfficientNet-Lite0 started from its ImageNet weights (``--preset effl0
--imagenet pretrained/tf_efficientnet_lite0.pth``: the ``TimmAudio`` encoder; ImageNet features
transfer to spectrograms, and they install offline), the way AudioSet trained VGGish: to name the
sound categories of every real recording in the audio bank (``autr_d2/data/synth``: ~80
AudioSet-like categories, the benchmark's visual ones, its open-set ones and audio-only ones such
as speech, vehicles and weather), never a recording held out for ``test_unseen`` /
``test_openset``. ``--strict`` also leaves out the open-set categories (an
encoder that has never heard them: a study row). Examples are 0.96 s windows of zero to three
sources mixed at random gains over a noise floor, labelled with the set of their categories
(multi-label), through real-world augmentation (``autr_d2/data/audio_augment.py``: pitch,
tempo, telephone and cheap-microphone bands, real rooms, coloured noise; ``--augment 0`` turns
it off; ``--spec-mask N`` adds SpecAugment's masking of the log-mel patch, tried once and
level: docs/avs_synth.md section 3); the loss is a linear classifier's multi-label softmax
cross-entropy on the embedding.

Measured on the held-out recordings (whole recordings training never heard), written to
``<output>.json`` with the categories, their roles and how many sources each had: top-1 on
single-source windows (overall, per category, over the visual categories, and through a
telephone band), "the top-k categories are exactly the k sources" on two-source mixtures, and a
nearest-centroid accuracy of the frozen embedding (does a new recording land nearest its
category's training recordings?).

The output is a plain state dict of the encoder (for VGGish the released
``vggish-10086976.pth`` layout at full width), loaded through ``MODEL.AUDIO.WEIGHTS`` with the
``MODEL.AUDIO`` keys of its preset (``preset_config``). A rerun with the same settings finds that
file and returns at once. The next batch is made in a worker process while the network steps
(``--workers 1``, the default: the same batches and, on one machine, the same file as without).

python tools/pretrain_audio.py --output pretrained/vggish_bank.pth --steps 3000
python tools/pretrain_audio.py --output pretrained/vggish_bank_strict.pth --steps 3000 --strict
python tools/pretrain_audio.py --output pretrained/effl0_audio_bank.pth --steps 1500 \
    --preset effl0 --imagenet pretrained/tf_efficientnet_lite0.pth
"""

import argparse
import json
import math
import os
import random
import sys
import time

# The next batch is made in a worker process (--workers) while the network steps on this one's
# OpenMP threads, which by default spin between steps and take the worker's core; passive ones
# sleep, and give the same numbers. libgomp reads this when torch loads it, so it is set before
# the import and taken back after it: the processes this one's importers start keep their own
_OMP_WAIT = "OMP_WAIT_POLICY" in os.environ
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from tqdm import tqdm  # noqa: E402

if not _OMP_WAIT:
    del os.environ["OMP_WAIT_POLICY"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from autr_d2.data.audio import EXAMPLE_SAMPLES, batched_log_mel  # noqa: E402
from autr_d2.data.synth.catalog import BANK_VERSION  # noqa: E402
from autr_d2.modeling.audio_encoder import TimmAudio, VGGish  # noqa: E402

# architecture presets: "full" is the paper's VGGish (loads like the released file); "small" is a
# quarter-width BN VGGish that a 2-core CPU pretrains in minutes (configs/avs_synth/paper/*);
# "effl0" is EfficientNet-Lite0 on the log-mel patch (TimmAudio), 3x the cost of "small" per step
PRESETS = {
    "full": {"width_mult": 1.0, "fc_dim": 4096, "embed_dim": 128, "norm": "", "embed_relu": True},
    "small": {
        "width_mult": 0.25,
        "fc_dim": 256,
        "embed_dim": 128,
        "norm": "BN",
        "embed_relu": True,
    },
    "effl0": {"name": "tf_efficientnet_lite0", "embed_dim": 128, "embed_relu": True},
}
ENCODERS = {"full": VGGish, "small": VGGish, "effl0": TimmAudio}  # the module of each preset
# the MODEL.AUDIO key that sets each argument of a preset (the encoders' from_config, reversed)
_CONFIG_KEYS = {"width_mult": "WIDTH_MULT", "fc_dim": "FC_DIM", "embed_dim": "EMBED_DIM",
                "norm": "NORM", "embed_relu": "EMBED_RELU", "name": "TIMM_NAME"}  # fmt: skip
VERSION = 3  # bump when the recipe changes: invalidates cached files (2: the bank, 3: softmax)


def split_sounds(bank, strict=False):
    """{category: ([training recordings], [held-out recordings])}, every category with
    training sounds (``strict``: not the open-set ones)."""
    out = {}
    for name, cat in bank.all_categories(strict).items():
        train = [x for x, pool, _ in cat.sounds if pool == "train"]
        held = [x for x, pool, _ in cat.sounds if pool == "unseen"]
        if train:
            out[name] = (train, held)
    return out


def _window(x, n, rng):
    """n samples of x from a random offset, looping x (with a short gap) when it is shorter."""
    if len(x) < n:
        x = np.tile(np.concatenate([x, np.zeros(1600, np.float32)]), n // (len(x) + 1600) + 2)
    start = int(rng.integers(0, len(x) - n + 1))
    return x[start : start + n]


def make_batch(sounds, categories, batch, rng, part=0, mix=(0.05, 0.6, 0.25, 0.1), aug=None,
               weights=None):  # fmt: skip
    """``batch`` mixtures -> (waves ``[B, 15600]``, multi-hot targets ``[B, C]``, sources ``[B]``).

    part 0 draws from the training recordings, 1 from the held-out ones (only categories that
    have some). ``mix`` gives the odds of 0 (noise only), 1, 2 and 3 sources; ``aug`` an
    ``Augmentation`` (per source, then per mixture); ``weights`` the categories' odds (uniform
    when None)."""
    pool = [i for i, c in enumerate(categories) if sounds[c][part]]
    p = None
    if weights is not None:
        p = np.asarray([weights[i] for i in pool], np.float64)
        p /= p.sum()
    waves = np.zeros((batch, EXAMPLE_SAMPLES), np.float32)
    target = np.zeros((batch, len(categories)), np.float32)
    n_src = rng.choice(len(mix), size=batch, p=np.asarray(mix) / sum(mix))
    n_src = np.minimum(n_src, len(pool))
    for b in range(batch):
        for ci in rng.choice(pool, size=n_src[b], replace=False, p=p):
            recs = sounds[categories[ci]][part]
            x = _window(recs[int(rng.integers(len(recs)))], EXAMPLE_SAMPLES, rng)
            x = aug.source(x) if aug is not None else x
            waves[b] += x * 10 ** (rng.uniform(-6, 0) / 20)
            target[b, ci] = 1
        waves[b] += rng.normal(0, 10 ** (rng.uniform(-50, -35) / 20), EXAMPLE_SAMPLES)
        if aug is not None:
            waves[b] = aug.channel(waves[b])
        waves[b] *= 0.9 * 10 ** (rng.uniform(-12, 0) / 20) / max(np.abs(waves[b]).max(), 1e-6)
    return torch.from_numpy(waves), torch.from_numpy(target), n_src


class MixtureStream(torch.utils.data.IterableDataset):
    """The pretraining's endless training batches (:func:`make_batch` from the training
    recordings, through ``augment``), seeded as a plain loop is: ``random``, NumPy's global
    generator (audiomentations draws from both) and a ``default_rng`` all from ``seed``.

    Read through a ``DataLoader`` with one worker, the next batch (NumPy and audiomentations,
    single-threaded) is made while the network takes its step, and the batches are the same, in
    the same order, as without one (``num_workers=0``)."""

    def __init__(self, sounds, categories, batch, seed, augment, weights):
        super().__init__()
        self.sounds, self.categories, self.batch = sounds, categories, batch
        self.seed, self.augment, self.weights = seed, augment, weights

    def __iter__(self):
        from autr_d2.data.audio_augment import build_augmentation

        np.random.seed(self.seed)
        random.seed(self.seed)
        rng = np.random.default_rng(self.seed)
        aug = build_augmentation(strength=self.augment) if self.augment > 0 else None
        while True:
            yield make_batch(self.sounds, self.categories, self.batch, rng, aug=aug,
                             weights=self.weights)  # fmt: skip


def multilabel_softmax_loss(logits, target):
    """Cross-entropy of the softmax against the example's sources, each 1/k of the mass
    (Mahajan et al. 2018's multi-label softmax: with ~80 categories and a few sources per
    example it learns far faster than 80 binary cross-entropies); noise-only examples have no
    source and no loss."""
    k = target.sum(1)
    keep = k > 0
    if not keep.any():
        return logits.sum() * 0.0
    p = target[keep] / k[keep, None]
    return -(p * F.log_softmax(logits[keep], 1)).sum(1).mean()


class Classifier(nn.Module):
    def __init__(self, preset, num_classes):
        super().__init__()
        self.encoder = ENCODERS[preset](**PRESETS[preset])
        self.head = nn.Linear(self.encoder.output_dim, num_classes)

    def forward(self, mel):
        return self.head(self.encoder(mel))


def preset_config(preset):
    """The config overrides that build `preset`'s encoder (for its MODEL.AUDIO.WEIGHTS)."""
    opts = ["MODEL.AUDIO.NAME", ENCODERS[preset].__name__]
    for arg, value in PRESETS[preset].items():
        opts += [f"MODEL.AUDIO.{_CONFIG_KEYS[arg]}", str(value)]
    return opts


def load_imagenet(encoder, path):
    """Start a TimmAudio encoder's body from a timm ImageNet classification state dict (the
    RGB stem summed to the one log-mel channel, as timm adapts a stem; the classifier dropped).
    A file that does not fit is a sentence naming it."""
    from timm.models import adapt_input_conv

    if not isinstance(encoder, TimmAudio):
        raise SystemExit(f"--imagenet {path}: only a TimmAudio preset (effl0) starts from ImageNet")
    if not os.path.isfile(path):
        raise SystemExit(
            f"--imagenet {path}: file not found (python tools/convert_pretrained.py "
            f"efficientnet_lite0 {path} writes it)"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
        stem = encoder.body.conv_stem.weight
        state["conv_stem.weight"] = adapt_input_conv(stem.shape[1], state["conv_stem.weight"])
        encoder.body.load_state_dict(state)
    except Exception as e:  # not a state dict, or another model's
        what = f"not weights of {type(encoder.body).__name__} ({e})"
        raise SystemExit(f"--imagenet {path}: {what}") from None


def _mel(waves):
    return batched_log_mel(waves)[:, :1].reshape(-1, 1, 96, 64)


def spec_mask(mel, masks, max_bins=8, max_frames=12):
    """SpecAugment's masking (Park et al. 2019) of log-mel patches ``[B, 1, T, F]``: in every
    patch, ``masks`` bands of 0..``max_bins`` mel bins and ``masks`` spans of 0..``max_frames``
    frames are set to the patch's mean (torch's global generator draws them). Returns a new
    tensor of the same shape. (torchaudio has these masks, but no release of it fits the pinned
    torch.)"""
    b, _, t, f = mel.shape
    keep = torch.ones(b, 1, t, f, dtype=torch.bool)
    for size, length, shape in ((max_bins, f, (b, 1, 1, f)), (max_frames, t, (b, 1, t, 1))):
        pos = torch.arange(length)
        for _ in range(masks):
            width = torch.randint(0, size + 1, (b,))
            start = (torch.rand(b) * (length - width + 1)).long()
            hit = (pos[None] >= start[:, None]) & (pos[None] < (start + width)[:, None])
            keep &= ~hit.reshape(shape)
    mean = mel.mean((1, 2, 3), keepdim=True)
    return torch.where(keep, mel, mean)


@torch.no_grad()
def evaluate(model, sounds, categories, roles, per_category=32, mixtures=512, seed=1234):
    """Held-out accuracy (see the module docstring), in %: `per_category` single-source windows
    of every category that has a held-out recording, and `mixtures` two-source mixtures."""
    from autr_d2.data.synth.probes import band_limit

    model.eval()
    rng = np.random.default_rng(seed)
    held = [c for c in categories if sounds[c][1]]
    rate, tel_hits = {}, 0
    for c in held:
        recs = sounds[c][1]
        w = np.stack(
            [_window(recs[int(rng.integers(len(recs)))], EXAMPLE_SAMPLES, rng)
             for _ in range(per_category)]
        )  # fmt: skip
        w *= 0.9 / np.maximum(np.abs(w).max(1, keepdims=True), 1e-6)
        k = categories.index(c)
        rate[c] = 100 * float((model(_mel(torch.from_numpy(w))).argmax(1) == k).float().mean())
        tel = np.stack([band_limit(x) for x in w])
        tel_hits += int((model(_mel(torch.from_numpy(tel))).argmax(1) == k).sum())
    hit = 0
    for _ in range(math.ceil(mixtures / 64)):
        waves, target, _ = make_batch(sounds, categories, 64, rng, part=1, mix=(0, 0, 1, 0))
        top = model(_mel(waves)).topk(2).indices
        for b in range(len(top)):
            hit += set(top[b].tolist()) == set(target[b].nonzero()[:, 0].tolist())
    visual = [c for c in held if roles[c] == "visual"]
    out = {
        "heldout_top1_single_source": float(np.mean(list(rate.values()))) if rate else None,
        "heldout_top1_visual_categories": float(np.mean([rate[c] for c in visual]))
        if visual
        else None,
        "heldout_top1_telephone_band": 100 * tel_hits / max(per_category * len(held), 1),
        "heldout_exact_set_two_sources": 100 * hit / (64 * math.ceil(mixtures / 64)),
        "heldout_nearest_centroid": nearest_centroid(model.encoder, sounds, categories, rng),
        "heldout_top1_per_category": {c: round(v, 1) for c, v in sorted(rate.items())},
    }
    model.train()
    return out


@torch.no_grad()
def nearest_centroid(encoder, sounds, categories, rng, per=16):
    """% of held-out windows whose embedding is nearest (cosine) the centroid of their
    category's training windows: how far the frozen embedding itself generalises."""
    held = [c for c in categories if sounds[c][1]]

    def embed(recs):
        w = np.stack(
            [_window(recs[int(rng.integers(len(recs)))], EXAMPLE_SAMPLES, rng) for _ in range(per)]
        )
        return F.normalize(encoder(_mel(torch.from_numpy(w))), dim=1)

    centroids = F.normalize(torch.stack([embed(sounds[c][0]).mean(0) for c in categories]), dim=1)
    hit = total = 0
    for c in held:
        sims = embed(sounds[c][1]) @ centroids.T
        hit += int((sims.argmax(1) == categories.index(c)).sum())
        total += per
    return 100 * hit / max(total, 1)


def category_weights(categories, roles, share):
    """Odds of drawing each category: `share` of the draws go to the benchmark's categories
    (visual and open-set), the rest to the audio-only ones, uniform within each group; None
    (uniform over all) when `share` is 0 or a group is empty."""
    bench = [c for c in categories if roles[c] != "audio"]
    if not share or not bench or len(bench) == len(categories):
        return None
    rest = len(categories) - len(bench)
    return [share / len(bench) if roles[c] != "audio" else (1 - share) / rest for c in categories]


def _settings(args, bank):
    imagenet = {"imagenet": os.path.basename(args.imagenet)} if args.imagenet else {}
    masks = {"spec_mask": args.spec_mask} if args.spec_mask else {}
    return {
        "version": VERSION,
        "arch": PRESETS[args.preset],
        "preset": args.preset,
        "steps": args.steps,
        "batch": args.batch,
        "lr": args.lr,
        "seed": args.seed,
        "media": bank.kind,
        "bank_version": BANK_VERSION,
        "bank_seed": args.bank_seed,
        "strict": args.strict,
        "augment": args.augment,
        "weight_decay": args.weight_decay,
        "benchmark_share": args.benchmark_share,
        **imagenet,  # absent when off, so the files written before the option stay cached
        **masks,  # the same
    }


def pretrain(args):
    """Train (or find the cached result of) one setting; returns the sidecar dict."""
    from autr_d2.data.audio_augment import room_impulse_responses
    from autr_d2.data.synth import build_asset_bank

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

    sounds = split_sounds(bank, args.strict)
    categories = sorted(sounds)
    every = bank.all_categories()
    roles = {c: every[c].role for c in categories}
    torch.manual_seed(args.seed)
    weights = category_weights(categories, roles, args.benchmark_share)
    stream = MixtureStream(sounds, categories, args.batch, args.seed, args.augment, weights)
    batches = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=args.workers)
    model = Classifier(args.preset, len(categories))
    if args.imagenet:
        load_imagenet(model.encoder, args.imagenet)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.steps, pct_start=0.1)
    t0 = time.perf_counter()
    desc = f"pretraining the audio encoder ({args.preset})"
    bar = tqdm(zip(range(args.steps), batches), total=args.steps, desc=desc, unit="step")
    for step, (waves, target, _) in bar:
        mel = _mel(waves)
        if args.spec_mask:
            mel = spec_mask(mel, args.spec_mask)
        loss = multilabel_softmax_loss(model(mel), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 20 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    train_s = time.perf_counter() - t0
    acc = evaluate(model, sounds, categories, roles)
    meta = {
        "settings": settings,
        "config": preset_config(args.preset) + ["MODEL.AUDIO.WEIGHTS", args.output],
        "categories": categories,
        "roles": roles,
        "sources": {
            c: {"train": len(sounds[c][0]), "heldout": len(sounds[c][1])} for c in categories
        },
        "left_out_openset": sorted(bank.openset) if args.strict else [],
        "augmentation": "off"
        if args.augment <= 0
        else f"audiomentations, strength {args.augment}, "
        f"{len(room_impulse_responses())} real room impulse responses",
        "stands_in_for": "VGGish pretrained on AudioSet (not available offline)",
        "saw": "the training recordings of every category of the audio bank"
        + (" but the open-set ones" if args.strict else "")
        + "; never a held-out recording (test_unseen, test_openset)",
        "bank": "bank.json of a generated AVS-Synth tree lists every source and its licence",
        "train_seconds": round(train_s, 1),
        **acc,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    torch.save(model.encoder.state_dict(), args.output + ".tmp")
    os.replace(args.output + ".tmp", args.output)
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1)
    shown = {k: v for k, v in meta.items() if k.startswith("heldout") and "per_category" not in k}
    print(json.dumps({"train_seconds": meta["train_seconds"], **shown}, indent=1))
    return meta


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output", required=True, help="the encoder's state dict to write (.pth)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="small")
    p.add_argument(
        "--imagenet",
        default="",
        help="start an effl0 encoder from these ImageNet weights (tools/convert_pretrained.py "
        "efficientnet_lite0 writes them); default: random",
    )
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--media", choices=["auto", "real", "procedural"], default="auto")
    p.add_argument("--bank-seed", type=int, default=0, help="AVS-Synth's seed (the same pools)")
    p.add_argument(
        "--strict",
        action="store_true",
        help="never hear the open-set categories (AudioSet's VGGish has heard them; this does not)",
    )
    p.add_argument(
        "--augment",
        type=float,
        default=1.5,
        help="strength of the real-world augmentation: its transforms' probabilities x this "
        "(0: none; audio_augment.py lists them at strength 1)",
    )
    p.add_argument("--weight-decay", type=float, default=0.05, help="AdamW's weight decay")
    p.add_argument(
        "--benchmark-share",
        type=float,
        default=0.5,
        help="share of the sources drawn from the benchmark's (visual and open-set) categories "
        "(the rest from the audio-only ones); 0: every category equally often",
    )
    p.add_argument(
        "--workers",
        type=int,
        choices=[0, 1],
        default=1,
        help="1: make the next batch in a worker process while the network steps (the same "
        "batches, 1.4x faster on 2 cores); 0: in this process",
    )
    p.add_argument(
        "--spec-mask",
        type=int,
        default=0,
        help="SpecAugment: this many frequency bands (<= 8 mel bins) and time spans (<= 12 "
        "frames) masked in every training patch (0: off)",
    )
    p.add_argument("--overwrite", action="store_true")
    return p


if __name__ == "__main__":
    pretrain(get_parser().parse_args())

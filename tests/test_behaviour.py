"""Tests that fail when AuTR's own parts stop working (issue "Tests that fail when ..."): the
per-scale audio fusion, the dynamic head's relative coordinates, and every ablation switch
changing what the model computes. Each test names the broken change it was checked against."""

import pytest
import torch
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from autr_d2.modeling.av_encoder import AudioVisualEncoder
from autr_d2.modeling.mask_head import DynamicMaskHead

from .conftest import random_clip, tiny_cfg

CHANS = {"res2": 16, "res3": 24, "res4": 32, "res5": 40}
SIZES = {"res2": (12, 10), "res3": (6, 5), "res4": (3, 3), "res5": (2, 2)}


def _feats(bt):
    torch.manual_seed(0)
    return {n: torch.randn(bt, c, *SIZES[n]) for n, c in CHANS.items()}


@pytest.mark.parametrize("num_layers", [0, 1])
def test_audio_reaches_every_scale_of_the_fused_maps(num_layers):
    """Caught: the per-scale fusion's audio term multiplied by 0 (parameters still used). res2 and
    res3 never enter the transformer, and with 0 layers no scale does, so only the per-scale
    fusion can carry the audio there."""
    t, bt = 5, 10
    enc = AudioVisualEncoder(CHANS, ["res4", "res5"], 32, 4, 64, num_layers, 0.0, t).eval()
    feats = _feats(bt)
    a, b = torch.randn(bt // t, t, 32), torch.randn(bt // t, t, 32)
    with torch.no_grad():
        fa, fb = enc(feats, a, t), enc(feats, b, t)
        same = enc(feats, a.clone(), t)
    for n in CHANS:
        assert (fa[n] - fb[n]).abs().amax() > 1e-3, f"{n}: the fused map ignores the audio"
        assert torch.equal(fa[n], same[n])


def test_visual_only_fusion_does_not_depend_on_audio():
    t, bt = 5, 10
    enc = AudioVisualEncoder(CHANS, ["res4", "res5"], 32, 4, 64, 1, 0.0, t, use_audio=False)
    feats = _feats(bt)
    with torch.no_grad():
        fa = enc.eval()(feats, torch.randn(bt // t, t, 32), t)
        fb = enc(feats, torch.randn(bt // t, t, 32), t)
        fn = enc(feats, None, t)
    for n in CHANS:
        assert torch.equal(fa[n], fb[n]) and torch.equal(fa[n], fn[n])


def test_dynamic_head_masks_follow_the_reference_point():
    """Caught: the relative-coordinate maps zeroed. Moving a query's reference point must move
    its mask logits, and the reference point must get a gradient through the coordinates."""
    torch.manual_seed(0)
    head = DynamicMaskHead(32, 8, channels=8, num_layers=3)
    q, feats = torch.randn(2, 3, 32), torch.randn(2, 8, 16, 16)
    base = head(q, feats)
    with torch.no_grad():
        head.ref_point.bias += torch.tensor([3.0, -3.0])  # shift every query's (y, x)
    moved = head(q, feats)
    assert (moved - base).abs().amax() > 1e-3
    head.zero_grad()
    moved.square().mean().backward()
    g = head.ref_point.weight.grad
    assert g is not None and g.abs().sum() > 0


def _outputs(cfg_opts, audios):
    torch.manual_seed(0)
    model = build_model(tiny_cfg(*cfg_opts)).eval()
    clip = random_clip()
    outs = []
    with torch.no_grad():
        for a in audios:
            out = model([dict(clip, audio=a)])[0]
            outs.append((out["sound_scores"], torch.stack([f["sem_seg"] for f in out["frames"]])))
    return outs


@pytest.mark.parametrize(
    "opts",
    [
        (),  # AuTR
        ("MODEL.AUTR.QUERY_INIT", "learned"),
        ("MODEL.AUTR.MASK_HEAD", "dot"),
        ("MODEL.AUTR.SOUND_HEAD", "linear", "MODEL.AUTR.NUM_QUERIES", 5),  # the paper's heads
    ],
)
def test_every_audio_variant_listens_and_visual_only_does_not(opts):
    a, b = torch.randn(5, 1, 96, 64), torch.randn(5, 1, 96, 64)
    (sa, ma), (sb, mb) = _outputs(opts, [a, b])
    # an untrained model's audio effect is small, but any is a difference: without the audio
    # path the two runs are the same computation, bit for bit
    assert not torch.equal(sa, sb) and not torch.equal(ma, mb)
    (sa, ma), (sb, mb) = _outputs((*opts, "MODEL.AUDIO.ENABLED", False), [a, b])
    assert torch.equal(sa, sb) and torch.equal(ma, mb)


def test_switches_change_the_model():
    """Each ablation switch builds a different computation: audio-aware vs learned queries,
    dynamic vs dot head, linear vs audio-match sound head, the category loss on or off."""
    a = torch.randn(5, 1, 96, 64)
    ref = _outputs((), [a])[0]  # the AVS-Synth S4 recipe: audio queries, dynamic, audio_match
    for opts in (
        ("MODEL.AUTR.QUERY_INIT", "learned"),
        ("MODEL.AUTR.MASK_HEAD", "dot"),
        ("MODEL.AUTR.SOUND_HEAD", "linear"),
    ):
        other = _outputs(opts, [a])[0]
        same = torch.allclose(ref[0], other[0]) and torch.allclose(ref[1], other[1])
        assert not same, opts
    cat = ("MODEL.AUDIO.CATEGORY_WEIGHT", 1.0, "MODEL.AUDIO.NUM_CATEGORIES", 3)
    with EventStorage():
        on = build_model(tiny_cfg(*cat))([dict(random_clip(), category_id=1)])
        off = build_model(tiny_cfg())([dict(random_clip(), category_id=1)])
    assert on["loss_audio_category"] > 0 and "loss_audio_category" not in off


def test_frozen_encoders_keep_bn_statistics_and_get_no_gradient():
    """Caught: MODEL.AUDIO.FREEZE left VGGish's BatchNorm in training mode (its statistics
    drifted); a frozen timm backbone (EfficientNet-Lite0, BatchNorm) likewise."""
    opts = (
        "MODEL.AUDIO.FREEZE", True,
        "MODEL.BACKBONE.NAME", "build_timm_backbone",
        "MODEL.TIMM.NAME", "tf_efficientnet_lite0",
        "MODEL.TIMM.FREEZE", True,
    )  # fmt: skip
    model = build_model(tiny_cfg(*opts))
    model.train()
    assert not model.audio_encoder.training and not model.backbone.training
    assert model.av_encoder.training  # the rest trains
    before = {k: v.clone() for k, v in model.state_dict().items() if "running_" in k}
    assert any(k.startswith("audio_encoder.") for k in before)
    assert any(k.startswith("backbone.") for k in before)
    with EventStorage():
        sum(model([random_clip(), random_clip()]).values()).backward()
    for k, v in before.items():
        assert torch.equal(model.state_dict()[k], v), f"{k} changed in a frozen encoder"
    for name in ("audio_encoder", "backbone"):
        assert all(p.grad is None for p in getattr(model, name).parameters()), name
    assert any(p.grad is not None for p in model.av_encoder.parameters())


def test_swap_audio_probe_gives_every_clip_another_clips_audio(synth_root):
    """TEST.AVS.SWAP_AUDIO_SEED: the "does it listen?" probe feeds each clip another clip's
    audio (never its own), each audio used once, the same draw for the same seed."""
    from detectron2.data import DatasetCatalog

    from autr_d2.data.datasets import register_avs_dataset
    from autr_d2.engine import Trainer
    from autr_d2.engine.trainer import swap_audio

    dicts = [{"clip_id": str(i), "audio_file": f"{i}.wav"} for i in range(9)]
    swapped = swap_audio(dicts, 0)
    assert all(d["audio_file"] != f"{i}.wav" for i, d in enumerate(swapped))
    assert sorted(d["audio_file"] for d in swapped) == sorted(d["audio_file"] for d in dicts)
    assert swapped == swap_audio(dicts, 0) and swapped != swap_audio(dicts, 1)
    register_avs_dataset("swap_probe_s4_test", synth_root, "s4", "test", [])
    cfg = tiny_cfg("TEST.AVS.SWAP_AUDIO_SEED", 3)
    loader = Trainer.build_test_loader(cfg, "swap_probe_s4_test")
    own = {d["clip_id"]: d["audio_file"] for d in DatasetCatalog.get("swap_probe_s4_test")}
    got = {x["clip_id"]: x["audio_file"] for batch in loader for x in batch}
    assert got.keys() == own.keys() and all(got[c] != own[c] for c in own)

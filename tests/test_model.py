"""AuTR modules, matcher and criterion, the whole model, ablations, configs, weight loading."""

import glob
import math
import os
import pickle

import pytest
import torch
import torch.nn.functional as F
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from autr_d2.engine import setup_cfg
from autr_d2.modeling.audio_encoder import VGGish, load_vggish_weights
from autr_d2.modeling.av_encoder import AudioVisualEncoder
from autr_d2.modeling.backbone import D2TimmBackbone, load_timm_weights
from autr_d2.modeling.criterion import AVSCriterion, dice_loss
from autr_d2.modeling.mask_head import DotMaskHead, DynamicMaskHead
from autr_d2.modeling.matcher import HungarianMatcher
from autr_d2.modeling.pixel_decoder import FPNPixelDecoder, LightFPNPixelDecoder
from autr_d2.modeling.query_decoder import AudioQueryDecoder
from autr_d2.modeling.sound_head import build_sound_head

from .conftest import random_clip, tiny_cfg

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "configs")


# ----------------------------------------------------------------------------- modules
def test_vggish_shapes_and_reference_flatten_order():
    m = VGGish()
    assert m(torch.randn(3, 1, 96, 64)).shape == (3, 128)
    assert sum(p.numel() for p in m.parameters()) == 72141184  # the released VGGish size
    small = VGGish(width_mult=0.25, fc_dim=64, embed_dim=32)
    assert small(torch.randn(2, 1, 96, 64)).shape == (2, 32)


def test_vggish_from_scratch_options():
    """BN after each conv, and an embedding without the final ReLU (can go negative)."""
    m = VGGish(width_mult=0.25, fc_dim=64, embed_dim=32, norm="BN", embed_relu=False)
    assert sum(isinstance(x, torch.nn.BatchNorm2d) for x in m.features) == 6
    assert all(c.bias is None for c in m.features if isinstance(c, torch.nn.Conv2d))
    assert (m(torch.randn(4, 1, 96, 64)) < 0).any()
    assert (VGGish(width_mult=0.25, fc_dim=64)(torch.randn(4, 1, 96, 64)) >= 0).all()


def test_av_encoder_pixel_decoder_query_decoder_mask_heads_shapes():
    bt, t = 4, 2
    chans = {"res2": 16, "res3": 24, "res4": 32, "res5": 40}
    sizes = {"res2": (15, 19), "res3": (8, 10), "res4": (4, 5), "res5": (2, 3)}
    feats = {n: torch.randn(bt, c, *sizes[n]) for n, c in chans.items()}
    enc = AudioVisualEncoder(chans, ["res4", "res5"], 32, 4, 64, 2, 0.0, t)
    fused = enc(feats, torch.randn(bt // t, t, 32), t)
    assert {n: tuple(v.shape) for n, v in fused.items()} == {n: (bt, 32, *sizes[n]) for n in chans}
    vis_only = AudioVisualEncoder(chans, ["res4", "res5"], 32, 4, 64, 1, 0.0, t, use_audio=False)
    assert vis_only(feats, None, t)["res5"].shape == (bt, 32, 2, 3)

    mask_feats, refined = FPNPixelDecoder(list(chans), 32, 8)(fused)
    assert mask_feats.shape == (bt, 8, 15, 19)
    dec = AudioQueryDecoder(32, 4, 64, 3, 0.0, 5, 3, "audio")
    outs, attn = dec(
        [refined["res5"], refined["res4"], refined["res3"]],
        torch.randn(bt, 32),
        return_attention=True,
    )
    assert len(outs) == 3 and outs[-1].shape == (bt, 5, 32)
    w, hw = attn
    assert w.shape == (bt, 5, 8 * 10) and hw == (8, 10)  # layer 3 attends level 2 (res3)
    assert torch.allclose(w.sum(-1), torch.ones(bt, 5), atol=1e-5)
    for head in (DynamicMaskHead(32, 8, 8, 3), DotMaskHead(32, 8)):
        assert head(outs[-1], mask_feats).shape == (bt, 5, 15, 19)


def test_light_pixel_decoder_takes_the_raw_finest_map():
    """light_fpn: stride 4 enters raw at mask_dim; the reduce-then-upsample order is the same
    function as upsample-then-reduce; the model keeps res2 out of the AV encoder."""
    bt = 4
    chans = {"res2": 16, "res3": 32, "res4": 32, "res5": 32}
    sizes = {"res2": (15, 19), "res3": (8, 10), "res4": (4, 5), "res5": (2, 3)}
    feats = {n: torch.randn(bt, c, *sizes[n]) for n, c in chans.items()}
    dec = LightFPNPixelDecoder(list(chans), 32, 8, finest_channels=16)
    mask_feats, refined = dec(feats)
    assert mask_feats.shape == (bt, 8, 15, 19)
    assert refined["res3"].shape == (bt, 32, 8, 10) and set(refined) == set(chans)
    y = torch.randn(bt, 32, 8, 10)
    up = F.interpolate(dec.reduce(y), size=(15, 19), mode="nearest")
    assert torch.allclose(
        up, dec.reduce(F.interpolate(y, size=(15, 19), mode="nearest")), atol=1e-6
    )

    light = build_model(tiny_cfg("MODEL.AUTR.PIXEL_DECODER", "light_fpn"))
    full = build_model(tiny_cfg())
    assert "res2" not in light.av_encoder.names and "res2" in full.av_encoder.names
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(light.av_encoder) < n(full.av_encoder)
    light.eval()
    with torch.no_grad():  # the mask features still depend on the frame's fine detail
        clip = random_clip()
        a = light.decode(light.preprocess([clip]).tensor, clip["audio"], 1)[1]
        clip["frames"][:, :, :8, :8] = 255 - clip["frames"][:, :, :8, :8]
        b = light.decode(light.preprocess([clip]).tensor, clip["audio"], 1)[1]
    assert not torch.allclose(a[..., :2, :2], b[..., :2, :2])
    with pytest.raises(ValueError, match="DEC_IN_FEATURES"):
        build_model(
            tiny_cfg(
                "MODEL.AUTR.PIXEL_DECODER",
                "light_fpn",
                "MODEL.AUTR.DEC_IN_FEATURES",
                ["res3", "res2"],
            )
        )
    with pytest.raises(ValueError, match="PIXEL_DECODER 'deformable'.*fpn, light_fpn"):
        build_model(tiny_cfg("MODEL.AUTR.PIXEL_DECODER", "deformable"))


def test_audio_queries_depend_on_audio_learned_do_not():
    mem = [torch.randn(2, 32, 3, 3)]
    a, b = torch.randn(2, 32), torch.randn(2, 32)
    audio_dec = AudioQueryDecoder(32, 4, 64, 1, 0.0, 3, 1, "audio").eval()
    assert not torch.allclose(audio_dec(mem, a)[0][-1], audio_dec(mem, b)[0][-1])
    learned = AudioQueryDecoder(32, 4, 64, 1, 0.0, 3, 1, "learned").eval()
    assert torch.allclose(learned(mem, a)[0][-1], learned(mem, b)[0][-1])


# ----------------------------------------------------------------------------- matcher, losses
def test_sound_heads_linear_ignores_audio_match_uses_it():
    torch.manual_seed(0)
    q, a1, a2 = torch.randn(3, 4, 16), torch.randn(3, 16), torch.randn(3, 16)
    cfg = tiny_cfg("MODEL.AUTR.HIDDEN_DIM", 16)
    linear, match = build_sound_head(cfg, "linear"), build_sound_head(cfg, "audio_match")
    assert set(linear.state_dict()) == {"weight", "bias"}  # old checkpoints keep loading
    assert torch.equal(linear(q, a1), linear(q, a2)) and linear(q).shape == (3, 4)
    assert match(q, a1).shape == (3, 4) and not torch.allclose(match(q, a1), match(q, a2))
    with pytest.raises(ValueError, match="SOUND_HEAD 'mlp' is not registered.*audio_match"):
        build_sound_head(cfg, "mlp")


def test_a_registered_mask_head_is_one_config_line_away():
    """docs/extending.md's promise: register a class, name it in the config, train."""
    from torch import nn

    from autr_d2.modeling import MASK_HEAD_REGISTRY

    if "ConstantMaskHead" not in [n for n, _ in MASK_HEAD_REGISTRY]:

        @MASK_HEAD_REGISTRY.register()
        class ConstantMaskHead(nn.Module):  # every query predicts a learned constant map
            def __init__(self, cfg):
                super().__init__()
                self.bias = nn.Parameter(torch.zeros(1))

            def forward(self, queries, mask_features):
                n, q = queries.shape[:2]
                return self.bias.expand(n, q, *mask_features.shape[-2:])

    model = build_model(tiny_cfg("MODEL.AUTR.MASK_HEAD", "ConstantMaskHead"))
    assert type(model.mask_head).__name__ == "ConstantMaskHead"
    model.train()
    with EventStorage():
        losses = model([random_clip(64)])
    sum(losses.values()).backward()
    assert model.mask_head.bias.grad is not None  # trained through the model's losses
    with pytest.raises(ValueError, match="MASK_HEAD 'Nope' is not registered.*dot, dynamic"):
        build_model(tiny_cfg("MODEL.AUTR.MASK_HEAD", "Nope"))
    with pytest.raises(ValueError, match="PIXEL_DECODER 'fpn2'.*fpn, light_fpn"):
        build_model(tiny_cfg("MODEL.AUTR.PIXEL_DECODER", "fpn2"))


def test_matcher_recovers_known_permutation():
    torch.manual_seed(1)
    targets = (torch.rand(3, 12, 12) > 0.5).float()
    perm = torch.tensor([2, 0, 1])  # query q predicts target perm[q]
    logits = torch.full((3, 12, 12), -8.0)
    logits[:] = targets[perm] * 16 - 8
    ((qi, ti),) = HungarianMatcher()(torch.zeros(1, 3), logits[None], [targets])
    assert dict(zip(qi.tolist(), ti.tolist())) == {0: 2, 1: 0, 2: 1}


def test_matcher_single_target_picks_the_right_query_and_handles_empty():
    tgt = torch.zeros(1, 8, 8)
    tgt[0, 2:6, 2:6] = 1
    logits = torch.full((1, 4, 8, 8), -6.0)
    logits[0, 3] = tgt[0] * 12 - 6
    res = HungarianMatcher()(torch.zeros(2, 4), torch.cat([logits, logits]), [tgt, tgt[:0]])
    assert res[0][0].tolist() == [3] and res[1][0].numel() == 0


def test_perfect_prediction_has_near_zero_dice():
    tgt = (torch.rand(2, 100) > 0.5).float()
    assert dice_loss(tgt * 40 - 20, tgt).max() < 1e-3
    assert dice_loss(-tgt * 40 + 20, tgt).min() > 0.9


def _criterion():
    w = {"loss_mask": 1.0, "loss_dice": 1.0, "loss_sound": 1.0}
    return AVSCriterion(HungarianMatcher(), w)


def test_criterion_empty_target_finite_and_pushes_scores_down():
    gt = torch.zeros(2, 16, 16, dtype=torch.uint8)
    sound = torch.zeros(2, 3, requires_grad=True)
    masks = torch.randn(2, 3, 4, 4, requires_grad=True)
    losses = _criterion()({"sound": sound, "masks": masks}, gt, torch.tensor([True, True]))
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses["loss_mask"] == 0 and losses["loss_dice"] == 0
    sum(losses.values()).backward()
    assert (sound.grad > 0).all()  # gradient descent lowers every score


def test_criterion_sound_loss_bce_by_hand():
    """SOUND_FOCAL_ALPHA -1 / GAMMA 0: the sound loss is plain BCE, summed over queries."""
    gt = torch.zeros(1, 8, 8, dtype=torch.uint8)
    gt[0, :4, :4] = 1
    masks = torch.full((1, 2, 8, 8), -9.0)
    masks[0, 1, :4, :4] = 9.0  # query 1 segments the object, so it is matched
    sound = torch.tensor([[0.0, 2.0]])
    w = {"loss_mask": 1.0, "loss_dice": 1.0, "loss_sound": 1.0}
    bce = AVSCriterion(HungarianMatcher(), w, sound_alpha=-1.0, sound_gamma=0.0)
    got = bce({"sound": sound, "masks": masks}, gt, torch.tensor([True]))["loss_sound"]
    expected = -math.log(0.5) - math.log(1 / (1 + math.exp(-2.0)))
    assert abs(got.item() - expected) < 1e-5
    focal = _criterion()({"sound": sound, "masks": masks}, gt, torch.tensor([True]))
    assert focal["loss_sound"] < got / 4  # focal down-weights both terms


def test_criterion_unannotated_frames_contribute_nothing():
    gt = torch.zeros(2, 16, 16, dtype=torch.uint8)
    gt[1, 4:12, 4:12] = 1
    sound = torch.zeros(2, 3, requires_grad=True)
    masks = torch.randn(2, 3, 4, 4, requires_grad=True)
    losses = _criterion()({"sound": sound, "masks": masks}, gt, torch.tensor([True, False]))
    sum(losses.values()).backward()
    assert sound.grad[1].abs().sum() == 0 and masks.grad[1].abs().sum() == 0
    assert losses["loss_mask"] == 0  # the only mask is on the unannotated frame


# ----------------------------------------------------------------------------- whole model
@pytest.mark.parametrize("size", [(64, 64), (61, 75)])
def test_model_train_and_eval_shapes_on_odd_sizes(size):
    # 5 queries (the MS3 config; S4 ships 1): the matcher and the sound head choose among them
    model = build_model(
        tiny_cfg("MODEL.AUTR.TEST.RETURN_ATTENTION", True, "MODEL.AUTR.NUM_QUERIES", 5)
    )
    batch = [random_clip(*size), random_clip(*size, annotated=(1, 0, 0, 0, 0))]
    with EventStorage():
        losses = model(batch)
    assert {"loss_mask", "loss_dice", "loss_sound", "loss_mask_0"} <= set(losses)
    sum(losses.values()).backward()
    model.eval()
    with torch.no_grad():
        out = model([dict(random_clip(*size), height=100, width=120)])
    assert len(out[0]["frames"]) == 5
    p = out[0]["frames"][0]["sem_seg"]
    assert p.shape == (2, 100, 120) and torch.allclose(p.sum(0), torch.ones(100, 120))
    assert out[0]["sound_scores"].shape == (5, 5)
    assert out[0]["attention"].shape[:2] == (5, 5)


@pytest.mark.parametrize(
    "opts",
    [
        ("MODEL.AUTR.QUERY_INIT", "learned"),
        ("MODEL.AUTR.MASK_HEAD", "dot"),
        ("MODEL.AUDIO.ENABLED", False),
        ("MODEL.AUDIO.ENABLED", False, "MODEL.AUTR.SOUND_HEAD", "audio_match"),  # -> linear
        ("MODEL.AUTR.SOUND_HEAD", "audio_match"),
        ("MODEL.AUDIO.NORM", "BN", "MODEL.AUDIO.EMBED_RELU", False),
        ("MODEL.AUTR.TEST.MULTI_SOURCE", True),
        ("MODEL.AUTR.PIXEL_DECODER", "light_fpn"),
    ],
)
def test_ablation_switches_build_and_run(opts):
    model = build_model(tiny_cfg(*opts))
    if opts[0] == "MODEL.AUDIO.ENABLED":
        assert model.audio_encoder is None
    with EventStorage():
        loss = sum(model([random_clip()]).values())
    loss.backward()
    model.eval()
    with torch.no_grad():
        assert model([random_clip()])[0]["frames"][4]["sem_seg"].shape == (2, 64, 64)


@pytest.mark.parametrize("freeze", [False, True])
def test_gradients_reach_audio_encoder_unless_frozen(freeze):
    model = build_model(tiny_cfg("MODEL.AUDIO.FREEZE", freeze))
    with EventStorage():
        sum(model([random_clip()]).values()).backward()
    grads = [p.grad for p in model.audio_encoder.parameters()]
    if freeze:
        assert all(g is None for g in grads)
        assert not any(p.requires_grad for p in model.audio_encoder.parameters())
    else:
        assert any(g is not None and g.abs().sum() > 0 for g in grads)


def test_audio_category_loss_by_hand_and_reaches_the_audio_encoder():
    cat = ("MODEL.AUDIO.CATEGORY_WEIGHT", 2.0, "MODEL.AUDIO.NUM_CATEGORIES", 3)
    model = build_model(tiny_cfg(*cat))
    clips = [dict(random_clip(), category_id=1), dict(random_clip(), category_id=0)]
    with EventStorage():
        losses = model(clips)
    emb = model.audio_encoder(torch.cat([c["audio"] for c in clips]))  # same batch statistics
    expected = 2.0 * F.cross_entropy(model.audio_classifier(emb), torch.tensor([1] * 5 + [0] * 5))
    assert torch.allclose(losses["loss_audio_category"], expected)
    losses["loss_audio_category"].backward()
    assert any(p.grad.abs().sum() > 0 for p in model.audio_encoder.parameters())
    with EventStorage():  # only unknown categories: zero, still connected to the graph
        zero = model([dict(random_clip(), category_id=-1)])["loss_audio_category"]
        assert zero.item() == 0 and zero.requires_grad
        with pytest.raises(KeyError, match="category_id"):
            model([random_clip()])
    assert build_model(tiny_cfg()).audio_classifier is None  # off by default (the paper)
    with pytest.raises(ValueError, match="NUM_CATEGORIES >= 2"):
        build_model(tiny_cfg(*cat[:3], 1))


def test_tiny_model_overfits_one_clip(overfit_run):
    model, clip, first, last = overfit_run  # 60 AdamW steps on one clip (conftest)
    assert last < first / 2
    assert not model.training
    with torch.no_grad():
        prob = model([clip])[0]["frames"][0]["sem_seg"][1]
    pred, gt = prob > 0.5, clip["masks"][0].bool()
    assert (pred & gt).sum() / (pred | gt).sum() > 0.8


def test_checkpoint_roundtrip(tmp_path):
    model = build_model(tiny_cfg())
    DetectionCheckpointer(model, save_dir=str(tmp_path)).save("m")
    other = build_model(tiny_cfg("SEED", 123))
    DetectionCheckpointer(other).load(str(tmp_path / "m.pth"))
    for (k, a), b in zip(model.state_dict().items(), other.state_dict().values()):
        assert torch.equal(a, b), k


@pytest.mark.parametrize("path", sorted(glob.glob(f"{CONFIGS}/**/*.yaml", recursive=True)))
def test_every_config_merges_and_builds(path):
    opts = [
        "MODEL.WEIGHTS",
        "",
        "MODEL.AUDIO.WEIGHTS",
        "",
        "MODEL.TIMM.WEIGHTS",
        "",
        "MODEL.DEVICE",
        "cpu",
    ]
    cfg = setup_cfg(path, opts)
    if "pvtv2_b5" in path:  # building b5 (82M params) is slow; b0 exercises the same wrapper
        cfg.defrost()
        cfg.MODEL.TIMM.NAME = "pvt_v2_b0"
    model = build_model(cfg)
    assert type(model).__name__ == cfg.MODEL.META_ARCHITECTURE in ("AuTR", "TPAVI")


# ----------------------------------------------------------------------------- weights
def test_vggish_weights_load_and_report(tmp_path):
    src = VGGish()
    path = str(tmp_path / "vggish.pth")
    state = src.state_dict()
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, path)
    dst = VGGish()
    assert load_vggish_weights(dst, path) == ["extra.weight"]
    assert torch.equal(dst.features[0].weight, src.features[0].weight)
    with pytest.raises(ValueError, match="WIDTH_MULT"):
        load_vggish_weights(VGGish(width_mult=0.5), path)
    state.pop("embeddings.4.bias")  # a file lacking a weight leaves nothing silently random
    torch.save(state, path)
    with pytest.raises(ValueError, match="embeddings.4.bias"):
        load_vggish_weights(VGGish(), path)
    # the released layout does not fit a BN VGGish: an error naming the architecture keys
    with pytest.raises(ValueError, match="NORM"):
        load_vggish_weights(VGGish(norm="BN"), path)


def test_bn_vggish_weights_load(tmp_path):
    """A BN VGGish (what tools/pretrain_audio.py writes for the CPU recipe) loads, running
    statistics included (they were refused before)."""
    src = VGGish(width_mult=0.25, fc_dim=64, norm="BN")
    src.features[1].running_mean.uniform_()
    path = str(tmp_path / "bn.pth")
    torch.save(src.state_dict(), path)
    dst = VGGish(width_mult=0.25, fc_dim=64, norm="BN")
    assert load_vggish_weights(dst, path) == []
    assert torch.equal(dst.features[1].running_mean, src.features[1].running_mean)


@pytest.mark.parametrize(
    "name, channels",
    [
        ("pvt_v2_b0", [32, 64, 160, 256]),
        ("tf_efficientnet_lite0", [24, 40, 112, 320]),
        ("convnext_atto", [40, 80, 160, 320]),
        ("swin_tiny_patch4_window7_224", [96, 192, 384, 768]),
    ],
)
def test_timm_backbones_strides_channels_any_size(name, channels):
    bb = D2TimmBackbone(name)
    shapes = bb.output_shape()
    assert [shapes[n].stride for n in ("res2", "res3", "res4", "res5")] == [4, 8, 16, 32]
    assert [shapes[n].channels for n in ("res2", "res3", "res4", "res5")] == channels
    out = bb(torch.randn(1, 3, 128, 160))  # not the pretraining size (Swin included)
    for n, (c, s) in zip(("res2", "res3", "res4", "res5"), zip(channels, (4, 8, 16, 32))):
        assert out[n].shape == (1, c, 128 // s, 160 // s), n


def test_pvt_weights_load_timm_and_official_layouts(tmp_path):
    import timm

    full = timm.create_model("pvt_v2_b0", pretrained=False)
    path = str(tmp_path / "pvt.pth")
    torch.save(full.state_dict(), path)
    bb = D2TimmBackbone("pvt_v2_b0")
    missing, unexpected = load_timm_weights(bb, path)
    assert missing == [] and unexpected == []
    w = bb.body.state_dict()["stages_1.blocks.0.attn.q.weight"]
    assert torch.equal(w, full.state_dict()["stages.1.blocks.0.attn.q.weight"])
    # the official release names blocks "block1.0..." and stems "patch_embed1..."
    official = {
        k.replace("stages.0.blocks.", "block1.").replace("patch_embed.", "patch_embed1."): v
        for k, v in full.state_dict().items()
    }
    torch.save(official, path)
    assert load_timm_weights(D2TimmBackbone("pvt_v2_b0"), path)[0] == []
    res5 = bb.output_shape()["res5"]
    assert (res5.channels, res5.stride) == (256, 32)


def test_resnet50_conversion_loads_into_d2(tmp_path):
    import torchvision

    from tools import convert_pretrained

    src = str(tmp_path / "r50.pth")
    dst = str(tmp_path / "r50.pkl")
    tv = torchvision.models.resnet50()
    torch.save(tv.state_dict(), src)
    assert convert_pretrained.main(["resnet50", src, dst]) == 0
    with pytest.raises(SystemExit, match="exists"):
        convert_pretrained.main(["resnet50", src, dst])
    cfg = setup_cfg(
        f"{CONFIGS}/avsbench/s4/autr_R50.yaml",
        ["MODEL.WEIGHTS", dst, "MODEL.AUDIO.WEIGHTS", "", "MODEL.DEVICE", "cpu"],
    )
    model = build_model(cfg)
    DetectionCheckpointer(model).load(dst)
    assert torch.equal(model.backbone.res3[0].conv2.weight, tv.layer2[0].conv2.weight)
    assert torch.equal(model.backbone.stem.conv1.weight, tv.conv1.weight)
    assert pickle.load(open(dst, "rb"))["__author__"] == "torchvision"


def test_flops_tool_counts_every_component():
    from tools import flops

    params, total, by_module = flops.count(tiny_cfg())
    assert params > 0 and total > 0
    for part in ("backbone", "audio_encoder", "av_encoder", "pixel_decoder", "query_decoder"):
        assert by_module[part] > 0, part
    # attention itself is counted (fvcore alone skips scaled_dot_product_attention)
    from fvcore.nn import FlopCountAnalysis

    from autr_d2.modeling.layers import Attention

    x = torch.randn(1, 10, 16)
    fca = FlopCountAnalysis(Attention(16, 2), (x, x, x))
    fca.set_op_handle("aten::scaled_dot_product_attention", flops.sdpa_flop)
    assert fca.total() == 4 * 10 * 16 * 16 + 2 * 10 * 10 * 16  # 4 projections + QK^T + AV


def test_few_key_attention_fold_equals_plain_attention():
    """Folding W_q/W_o into few keys (5 audio tokens) is the same function and gradient."""
    from autr_d2.modeling.layers import Attention

    torch.manual_seed(0)
    attn = Attention(64, 4)
    q = torch.randn(2, 300, 64, requires_grad=True)
    k = torch.randn(2, 5, 64)
    fast, _ = attn(q, k, k)  # 4 heads x 5 keys < 64: folded path
    plain, _ = attn(q, k, k, return_weights=True)  # explicit softmax path
    assert torch.allclose(fast, plain, atol=1e-5)
    (g_fast,) = torch.autograd.grad(fast.square().sum(), q)
    (g_plain,) = torch.autograd.grad(plain.square().sum(), q)
    assert torch.allclose(g_fast, g_plain, atol=1e-4)


def test_few_query_attention_fold_equals_plain_attention():
    """Folding W_k/W_v into few queries (5 object queries over a 28x28 memory) is the same
    function and gradient, padded keys included."""
    from autr_d2.modeling.layers import Attention

    torch.manual_seed(0)
    attn = Attention(64, 4)
    q = torch.randn(2, 5, 64, requires_grad=True)
    mem = torch.randn(2, 300, 64, requires_grad=True)
    pad = torch.zeros(2, 300, dtype=torch.bool)
    pad[1, 250:] = True
    fast, _ = attn(q, mem, mem, key_padding_mask=pad)  # 4 heads x 5 queries < 64: folded
    plain, _ = attn(q, mem, mem, return_weights=True, key_padding_mask=pad)
    assert torch.allclose(fast, plain, atol=1e-5)
    g_fast = torch.autograd.grad(fast.square().sum(), (q, mem))
    g_plain = torch.autograd.grad(plain.square().sum(), (q, mem))
    for a, b in zip(g_fast, g_plain):
        assert torch.allclose(a, b, atol=1e-4)
    # the padded keys get no gradient: they were never attended
    assert g_fast[1][1, 250:].abs().max() == 0

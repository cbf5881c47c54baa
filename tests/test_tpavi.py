"""TPAVI, AVSBench's baseline, as the project's second meta-architecture: shapes, a loss that
falls, the official recipes' configs, AVSBench's checkpoint layout converted key for key, and
train_net.py end to end."""

import os

import pytest
import torch
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from autr_d2.baselines.tpavi_layers import ResidualConvUnit, TPAVIBlock
from autr_d2.checkpoint import build_checkpointer
from autr_d2.engine import setup_cfg
from tools.convert_pretrained import official_tpavi_to_project

from .conftest import random_clip, tiny_cfg
from .test_train import ROOT, train_net

CONFIGS = os.path.join(ROOT, "configs")
SMALL = ("MODEL.META_ARCHITECTURE", "TPAVI", "MODEL.TPAVI.CHANNELS", 32)


def test_shapes_and_outputs():
    model = build_model(tiny_cfg(*SMALL)).eval()
    with torch.no_grad():
        out = model([random_clip(), random_clip(h=64, w=96)])
    assert len(out) == 2 and len(out[1]["frames"]) == 5
    assert out[1]["frames"][0]["sem_seg"].shape == (2, 64, 96)
    p = out[0]["frames"][3]["sem_seg"]
    assert torch.allclose(p.sum(0), torch.ones_like(p[0])) and out[0]["sound_scores"].shape == (
        5,
        1,
    )
    semantic = build_model(tiny_cfg(*SMALL, "MODEL.TPAVI.NUM_CLASSES", 4)).eval()
    with torch.no_grad():
        probs = semantic([random_clip()])[0]["frames"][0]["sem_seg"]
    assert probs.shape == (5, 64, 64) and torch.allclose(probs.sum(0), torch.ones(64, 64))


def test_tpavi_block_is_the_official_dot_product_without_softmax():
    """The block computes theta^T (phi g^T) / N; the official code builds [N, N] first."""
    torch.manual_seed(0)
    block = TPAVIBlock(8, 4, audio_dim=6).eval()
    torch.nn.init.normal_(block.W_z[1].weight)  # the zero init would hide the attention path
    x, audio = torch.randn(2, 8, 3, 4, 5), torch.randn(2, 3, 6)
    z, a = block(x, audio)
    b, c, t, h, w = x.shape
    key = a.permute(0, 2, 1)[..., None, None].repeat(1, 1, 1, h, w)
    g = block.g(x).view(b, 4, -1).permute(0, 2, 1)
    theta = block.theta(x).view(b, 4, -1).permute(0, 2, 1)
    phi = block.phi(key).view(b, 4, -1)
    f = theta @ phi / (t * h * w)  # [B, N, N]
    y = (f @ g).permute(0, 2, 1).reshape(b, 4, t, h, w)
    ref = block.W_z(y) + x
    ref = block.norm_layer(ref.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)
    torch.testing.assert_close(z, ref, atol=1e-5, rtol=1e-5)
    assert a.shape == (2, 3, 8)


def test_residual_unit_adds_the_relu_of_its_input():
    unit = ResidualConvUnit(4)
    x = torch.randn(1, 4, 5, 5)
    ref = unit.conv2(torch.relu(unit.conv1(torch.relu(x)))) + torch.relu(x)
    torch.testing.assert_close(unit(x), ref)


def test_a_tiny_tpavi_overfits_one_clip():
    torch.manual_seed(0)
    model = build_model(tiny_cfg(*SMALL, "MODEL.TPAVI.AVM_WEIGHT", 0.5))
    clip = random_clip()
    clip["masks"] = torch.zeros(5, 64, 64, dtype=torch.uint8)
    clip["masks"][:, 16:40, 20:48] = 1
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    losses = []
    with EventStorage():
        for _ in range(30):
            loss = model([clip])
            assert set(loss) == {"loss_bce", "loss_avm"}
            total = sum(loss.values())
            losses.append(total.item())
            opt.zero_grad()
            total.backward()
            opt.step()
    assert losses[-1] < 0.5 * losses[0], losses
    model.eval()
    with torch.no_grad():
        p = model([clip])[0]["frames"][0]["sem_seg"][1]
    inside, outside = p[16:40, 20:48].mean(), torch.cat([p[:16].flatten(), p[40:].flatten()]).mean()
    assert inside > 0.5 > outside


@pytest.mark.parametrize(
    "name",
    [
        "avs_synth/paper/s4_tpavi_effl0.yaml",
        "avs_synth/paper/ms3_tpavi_effl0.yaml",
        "avsbench/s4/tpavi_R50.yaml",
        "avsbench/ms3/tpavi_R50.yaml",
    ],
)
def test_tpavi_configs_build_without_pretrained_files(name):
    cfg = setup_cfg(os.path.join(CONFIGS, name), ["MODEL.DEVICE", "cpu"])
    model = build_model(cfg)
    assert type(model).__name__ == "TPAVI" and model.stages == (0, 1, 2, 3) and model.va
    assert model.avm_weight == (0.5 if "ms3" in name else 0.0)
    if "avsbench" in name:  # AVSBench trains the backbone end to end, VGGish frozen
        assert model.frozen == ("audio_encoder",) and cfg.MODEL.RESNETS.NORM == "BN"
        assert cfg.DATASETS.TEST[0].endswith("_val")  # model selection on val, not test
    else:  # the paper regime's frozen encoders, as AuTR's
        assert set(model.frozen) == {"backbone", "audio_encoder"}


# ------------------------------------------------------------------ the official layout
def _bn(prefix, c):
    return {
        f"{prefix}.weight": [c],
        f"{prefix}.bias": [c],
        f"{prefix}.running_mean": [c],
        f"{prefix}.running_var": [c],
        f"{prefix}.num_batches_tracked": [],
    }


def official_r50_keys():
    """AVSBench's Pred_endecoder (ResNet_AVSModel.py): key -> shape, written from its layout:
    a torchvision ResNet-50 whose stages 3-4 are ``layer3_1`` / ``layer4_1`` plus an unused
    copy ``layer3_2`` / ``layer4_2``, four dilated-conv projections, four fusion blocks, four
    TPAVI blocks, the output head."""
    keys = {"resnet.conv1.weight": [64, 3, 7, 7], **_bn("resnet.bn1", 64)}
    cin = 64
    stages = [("layer1", 3, 64), ("layer2", 4, 128), ("layer3_1", 6, 256), ("layer4_1", 3, 512)]
    stages += [("layer3_2", 6, 256), ("layer4_2", 3, 512)]  # the unused copy
    for layer, blocks, width in stages:
        if layer == "layer3_2":
            cin = 512
        for b in range(blocks):
            p = f"resnet.{layer}.{b}"
            keys[f"{p}.conv1.weight"] = [width, cin, 1, 1]
            keys.update(_bn(f"{p}.bn1", width))
            keys[f"{p}.conv2.weight"] = [width, width, 3, 3]
            keys.update(_bn(f"{p}.bn2", width))
            keys[f"{p}.conv3.weight"] = [4 * width, width, 1, 1]
            keys.update(_bn(f"{p}.bn3", 4 * width))
            if b == 0:
                keys[f"{p}.downsample.0.weight"] = [4 * width, cin, 1, 1]
                keys.update(_bn(f"{p}.downsample.1", 4 * width))
            cin = 4 * width
    return {**keys, **decoder_keys((256, 512, 1024, 2048))}


def decoder_keys(channels, align_bias=True, outputs=1):
    keys = {}
    for k, c in enumerate(channels, start=1):
        for i in range(4):
            keys[f"conv{k}.conv2d_list.{i}.weight"] = [256, c, 3, 3]
            keys[f"conv{k}.conv2d_list.{i}.bias"] = [256]
    for k in (4, 3, 2, 1):
        for unit in (1, 2):
            for conv in (1, 2):
                keys[f"path{k}.resConfUnit{unit}.conv{conv}.weight"] = [256, 256, 3, 3]
                keys[f"path{k}.resConfUnit{unit}.conv{conv}.bias"] = [256]
    for b in (1, 2, 3, 4):
        p = f"tpavi_b{b}"
        keys[f"{p}.align_channel.weight"] = [256, 128]
        if align_bias:
            keys[f"{p}.align_channel.bias"] = [256]
        keys.update({f"{p}.norm_layer.weight": [256], f"{p}.norm_layer.bias": [256]})
        for m in ("g", "theta", "phi"):
            keys[f"{p}.{m}.weight"], keys[f"{p}.{m}.bias"] = [128, 256, 1, 1, 1], [128]
        keys[f"{p}.W_z.0.weight"], keys[f"{p}.W_z.0.bias"] = [256, 128, 1, 1, 1], [256]
        keys.update(_bn(f"{p}.W_z.1", 256))
    head = {"0": [128, 256, 3, 3], "2": [32, 128, 3, 3], "4": [outputs, 32, 1, 1]}
    for i, shape in head.items():
        keys[f"output_conv.{i}.weight"], keys[f"output_conv.{i}.bias"] = shape, shape[:1]
    return keys


def official_pvt_b0_keys():
    """The official PVT-v2 release's keys (PVT_AVSModel.py's encoder_backbone), for b0 (b5 has
    the same layout, wider and deeper): embed dims 32/64/160/256, depths 2/2/2/2, sr 8/4/2/1,
    MLP ratios 8/8/4/4."""
    keys = {}
    dims, srs, ratios, cin = (32, 64, 160, 256), (8, 4, 2, 1), (8, 8, 4, 4), 3
    for s, (d, sr, r) in enumerate(zip(dims, srs, ratios), start=1):
        k = 7 if s == 1 else 3
        p = f"encoder_backbone.patch_embed{s}"
        keys.update({f"{p}.proj.weight": [d, cin, k, k], f"{p}.proj.bias": [d],
                     f"{p}.norm.weight": [d], f"{p}.norm.bias": [d]})  # fmt: skip
        for j in range(2):
            b = f"encoder_backbone.block{s}.{j}"
            for n in ("norm1", "norm2"):
                keys.update({f"{b}.{n}.weight": [d], f"{b}.{n}.bias": [d]})
            keys.update({f"{b}.attn.q.weight": [d, d], f"{b}.attn.q.bias": [d],
                         f"{b}.attn.kv.weight": [2 * d, d], f"{b}.attn.kv.bias": [2 * d],
                         f"{b}.attn.proj.weight": [d, d], f"{b}.attn.proj.bias": [d]})  # fmt: skip
            if sr > 1:
                keys.update({f"{b}.attn.sr.weight": [d, d, sr, sr], f"{b}.attn.sr.bias": [d],
                             f"{b}.attn.norm.weight": [d], f"{b}.attn.norm.bias": [d]})  # fmt: skip
            keys.update({f"{b}.mlp.fc1.weight": [r * d, d], f"{b}.mlp.fc1.bias": [r * d],
                         f"{b}.mlp.dwconv.dwconv.weight": [r * d, 1, 3, 3],
                         f"{b}.mlp.dwconv.dwconv.bias": [r * d],
                         f"{b}.mlp.fc2.weight": [d, r * d], f"{b}.mlp.fc2.bias": [d]})  # fmt: skip
        keys.update(
            {f"encoder_backbone.norm{s}.weight": [d], f"encoder_backbone.norm{s}.bias": [d]}
        )
        cin = d
    return {**keys, **decoder_keys(dims)}


def _random(shapes):
    g = torch.Generator().manual_seed(0)
    return {k: (torch.randint(0, 10, ()) if not s else torch.randn(s, generator=g))
            for k, s in shapes.items()}  # fmt: skip


@pytest.mark.parametrize("backbone", ["r50", "pvt_v2_b0"])
def test_converter_maps_every_official_key_and_the_model_loads_them_all(backbone, tmp_path):
    shapes = official_r50_keys() if backbone == "r50" else official_pvt_b0_keys()
    official = {("module." + k if backbone == "r50" else k): v for k, v in _random(shapes).items()}
    state, dropped = official_tpavi_to_project(official, pvt_name="pvt_v2_b0")
    # nothing left over: every key is the model's or one the official model never runs
    assert len(state) + len(dropped) == len(official)
    assert all(k.startswith(("resnet.layer3_2.", "resnet.layer4_2.")) for k in dropped)
    assert len(dropped) == (174 if backbone == "r50" else 0)
    name = "tpavi_R50.yaml" if backbone == "r50" else "tpavi_pvtv2_b5.yaml"
    opts = ["MODEL.DEVICE", "cpu", "MODEL.AUDIO.WIDTH_MULT", 0.125, "MODEL.AUDIO.FC_DIM", 32]
    if backbone != "r50":
        opts += ["MODEL.TIMM.NAME", "pvt_v2_b0"]
    cfg = setup_cfg(os.path.join(CONFIGS, "avsbench", "s4", name), opts)
    model = build_model(cfg)
    own = model.state_dict()
    for k, v in state.items():  # every converted key is the model's, with its shape
        assert k in own and own[k].shape == v.shape, k
    state.update({"audio_encoder." + k: v for k, v in model.audio_encoder.state_dict().items()})
    torch.save({"model": state}, tmp_path / "tpavi.pth")
    fresh = build_model(cfg)
    build_checkpointer(cfg, fresh).load(str(tmp_path / "tpavi.pth"))  # strict: none unset
    k = "tpavi_b2.phi.weight"
    assert torch.equal(
        fresh.state_dict()[k], official[("module." if backbone == "r50" else "") + k]
    )


def test_converter_refuses_a_key_it_does_not_know():
    with pytest.raises(SystemExit, match="not a TPAVI key: head.fc.weight"):
        official_tpavi_to_project({"head.fc.weight": torch.zeros(1)})


def test_tpavi_trains_and_evaluates_through_train_net(synth_root, tmp_path):
    out = tmp_path / "tpavi"
    train_net(synth_root, out, *map(str, SMALL), max_iter=2)
    assert (out / "model_final.pth").is_file()
    assert "total_loss" in (out / "metrics.json").read_text()  # the BCE alone: one term
    res = train_net(
        synth_root, tmp_path / "eval", "--eval-only", *map(str, SMALL), "MODEL.WEIGHTS",
        str(out / "model_final.pth"),
    )  # fmt: skip
    assert "M_J" in res.stdout + res.stderr

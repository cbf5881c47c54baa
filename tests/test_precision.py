"""Speed switches keep the answers: bf16 inference agrees with fp32 on a trained tiny model, AMP
training runs on the CPU with float32 losses, and the exported inference graph (torch.export, ONNX)
equals the eager model."""

import copy
import os

import numpy as np
import pytest
import torch
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from autr_d2.export import AuTRInferenceGraph, example_inputs, export_program
from autr_d2.modeling.layers import Attention, GroupNorm, _sdpa

from .conftest import random_clip, tiny_cfg
from .test_train import TINY, train_net


@pytest.fixture
def overfit_model(overfit_run):
    """A copy of the session's tiny model trained on one clip's block (conftest.overfit_run)."""
    model, clip, _, _ = overfit_run
    return copy.deepcopy(model), clip


def test_bf16_inference_agrees_with_fp32(overfit_model):
    model, clip = overfit_model
    with torch.no_grad():
        fp32 = torch.stack([f["sem_seg"][1] for f in model([clip])[0]["frames"]])
        model.precision = torch.bfloat16  # what MODEL.PRECISION bfloat16 builds
        try:
            bf16 = torch.stack([f["sem_seg"][1] for f in model([clip])[0]["frames"]])
        finally:
            model.precision = torch.float32
    assert bf16.dtype == torch.float32  # outputs stay float32
    agree = ((bf16 > 0.5) == (fp32 > 0.5)).float().mean().item()
    assert agree >= 0.99, f"bf16 and fp32 masks agree on {agree:.1%} of pixels"
    assert not torch.equal(bf16, fp32)  # it did run in bf16


def test_model_precision_key_builds_bf16_inference():
    assert build_model(tiny_cfg("MODEL.PRECISION", "bfloat16")).precision == torch.bfloat16
    with pytest.raises(ValueError, match="float16 autocast is for GPUs"):
        tiny_cfg("MODEL.PRECISION", "float16")


def test_losses_stay_float32_under_autocast():
    model = build_model(tiny_cfg())
    with EventStorage(), torch.autocast("cpu", dtype=torch.bfloat16):
        losses = model([random_clip(), random_clip()])
    assert all(v.dtype == torch.float32 for v in losses.values())
    sum(losses.values()).backward()
    assert any(p.grad is not None for p in model.av_encoder.parameters())


def test_amp_training_on_cpu_trains_and_resumes(synth_root, tmp_path):
    out = tmp_path / "amp"
    amp = ("SOLVER.AMP.ENABLED", "True", "SOLVER.AMP.PRECISION", "bfloat16")
    res = train_net(synth_root, out, *amp, max_iter=2)
    assert "mixed precision: autocast bfloat16 on cpu" in res.stdout + res.stderr
    res = train_net(synth_root, out, "--resume", *amp, max_iter=4)
    assert "Starting training from iteration 2" in res.stdout + res.stderr
    last = torch.load(out / "model_final.pth", weights_only=True)
    assert last["iteration"] == 3
    assert all(torch.isfinite(v).all() for v in last["model"].values() if v.is_floating_point())


def test_export_equals_eager_and_the_models_own_inference(overfit_model, tmp_path):
    model, _ = overfit_model
    cfg = tiny_cfg("MODEL.AUTR.DEC_LAYERS", 1)
    frames, mel = example_inputs(cfg)
    graph = AuTRInferenceGraph(model)
    with torch.no_grad():
        eager = graph(frames, mel)
        own = model([{"frames": frames.to(torch.uint8), "audio": mel}])[0]["frames"]
        program = export_program(model, (frames, mel))
        path = str(tmp_path / "autr.pt2")
        torch.export.save(program, path)
        exported = torch.export.load(path).module()(frames, mel)
    assert eager.shape == (5, 64, 64)
    own = torch.stack([f["sem_seg"][1] for f in own])
    assert (eager - own).abs().max() < 1e-5  # the graph is the model's inference
    assert (exported - eager).abs().max() < 1e-4


def test_light_pixel_decoder_exports(tmp_path):
    """MODEL.AUTR.PIXEL_DECODER light_fpn (raw stride-4 lateral) exports too."""
    from detectron2.modeling import build_model

    cfg = tiny_cfg("MODEL.AUTR.DEC_LAYERS", 1, "MODEL.AUTR.PIXEL_DECODER", "light_fpn")
    model = build_model(cfg).eval()
    frames, mel = example_inputs(cfg)
    with torch.no_grad():
        eager = AuTRInferenceGraph(model)(frames, mel)
        exported = export_program(model, (frames, mel)).module()(frames, mel)
    assert eager.shape == (5, 64, 64)
    assert (exported - eager).abs().max() < 1e-4


def test_export_after_float32_inference_with_packed_vggish_layers():
    """The case that showed it: after one float32 CPU inference the model's encoder copy held
    oneDNN-packed VGGish layers, which the export's deep copy of the model could not copy. With
    ``MODEL.AUDIO.FC_DIM 1024`` two layers are packed; the model, its graph and the exported
    program still agree."""
    cfg = tiny_cfg("MODEL.AUTR.DEC_LAYERS", 1, "MODEL.AUDIO.FC_DIM", 1024)
    model = build_model(cfg).eval()
    frames, mel = example_inputs(cfg)
    with torch.no_grad():
        own = model([{"frames": frames.to(torch.uint8), "audio": mel}])[0]["frames"]
        if torch.backends.mkldnn.is_available():
            assert model._folded["audio_encoder"].cast["packed"] is not None
        eager = AuTRInferenceGraph(model)(frames, mel)
        exported = export_program(model, (frames, mel)).module()(frames, mel)
    own = torch.stack([f["sem_seg"][1] for f in own])
    assert (eager - own).abs().max() < 1e-5
    assert (exported - eager).abs().max() < 1e-4


def test_channels_last_and_nchw_give_the_same_masks():
    """MODEL.CHANNELS_LAST (on by default) changes the memory layout only: the same weights give
    the same probabilities in NCHW."""
    torch.manual_seed(0)
    nchw = build_model(tiny_cfg("MODEL.CHANNELS_LAST", False)).eval()
    cl = build_model(tiny_cfg()).eval()
    cl.load_state_dict(nchw.state_dict())
    assert cl.channels_last and not nchw.channels_last
    conv = next(m for m in cl.backbone.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    clip = random_clip()
    with torch.no_grad():
        a, b = (torch.stack([f["sem_seg"] for f in m([clip])[0]["frames"]]) for m in (nchw, cl))
    assert (a - b).abs().max() < 1e-5


def test_export_tool_torch_and_onnx(overfit_model, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from detectron2.checkpoint import DetectionCheckpointer

    from tools import export_model

    model, _ = overfit_model
    DetectionCheckpointer(model, save_dir=str(tmp_path)).save("tiny")
    weights = str(tmp_path / "tiny.pth")
    cfg_file = os.path.join(os.path.dirname(__file__), "..", "configs", "avs_synth",
                            "s4_autr_R18.yaml")  # fmt: skip
    args = export_model.get_parser().parse_args(
        ["--config-file", cfg_file, "--output", str(tmp_path / "exp"), "--format", "both",
         *TINY, "MODEL.AUTR.DEC_LAYERS", "1", "MODEL.AUDIO.CATEGORY_WEIGHT", "0.0",
         "MODEL.WEIGHTS", weights]
    )  # fmt: skip
    report = export_model.main(args)
    diffs = report["max_abs_diff_vs_eager"]
    assert set(diffs) == {"torch.export", "onnx"} and max(diffs.values()) < 1e-4
    assert (tmp_path / "exp" / "autr.pt2").is_file() and (tmp_path / "exp" / "autr.onnx").is_file()
    assert np.isfinite(list(diffs.values())).all()


def test_group_norm_and_attention_run_in_float32_under_cpu_bf16_autocast():
    """The two ops whose bf16 CPU kernels are slower than float32's (GroupNorm's backward, the
    flash-attention forward) run as float32 islands under bf16 autocast: GroupNorm's result is
    the float32 norm of the bf16 input, cast back; attention leaves in float32. Without
    autocast nothing changes, and the state dict is nn.GroupNorm's (checkpoints load as before)."""
    torch.manual_seed(0)
    gn, plain = GroupNorm(4, 16), torch.nn.GroupNorm(4, 16)
    assert gn.state_dict().keys() == plain.state_dict().keys()
    plain.load_state_dict(gn.state_dict())
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(gn(x), plain(x))
    xb = x.to(torch.bfloat16).requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = gn(xb)
    assert y.dtype == torch.bfloat16
    assert torch.equal(y, plain(xb.detach().float()).to(torch.bfloat16))
    y.float().sum().backward()
    assert xb.grad is not None and gn.weight.grad is not None

    attn = Attention(32, 4).eval()
    q, k = torch.randn(2, 50, 32), torch.randn(2, 40, 32)  # many keys: the sdpa path
    with torch.no_grad():
        ref = attn(q, k, k)[0]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = attn(q, k, k)[0]
    assert out.dtype == torch.bfloat16  # the projections still run in bf16
    qh = torch.randn(2, 4, 50, 8, dtype=torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert _sdpa(qh, qh, qh, None, 0.0).dtype == torch.float32  # the float32 island
    assert float((out.float() - ref).abs().max()) < 0.05 * float(ref.abs().max())

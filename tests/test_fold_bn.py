"""MODEL.FOLD_BN: the encoders' eval-mode BatchNorms folded into their convolutions at inference
give the same outputs, leave the model and its checkpoints alone, follow new weights, and fall
back to the unfolded module when a fold would be wrong."""

import logging

import pytest
import torch
from detectron2.modeling import build_model
from torch import nn

from autr_d2.modeling.audio_encoder import VGGish
from autr_d2.modeling.backbone.timm_backbone import D2TimmBackbone
from autr_d2.modeling.fold_bn import FoldedCopy, fold_batchnorm

from .conftest import random_clip, tiny_cfg


def _random_stats(module):
    """Non-trivial BatchNorm statistics and affine weights (fresh ones are the identity)."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in module.modules():
            if getattr(m, "running_var", None) is not None:
                n = m.running_var.numel()
                m.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=g))
                m.running_mean.copy_(0.3 * torch.randn(n, generator=g))
                m.weight.copy_(0.5 + torch.rand(n, generator=g))
                m.bias.copy_(0.2 * torch.randn(n, generator=g))
    return module


def _norms(module):
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


@pytest.mark.parametrize(
    "make, x",
    [
        (lambda: VGGish(width_mult=0.125, fc_dim=32, norm="BN"), torch.randn(3, 1, 96, 64)),
        (
            lambda: D2TimmBackbone("tf_efficientnet_lite0", freeze=True, drop_path_rate=0.0),
            torch.randn(2, 3, 64, 64),
        ),
    ],
    ids=["vggish_bn", "efficientnet_lite0"],
)
def test_folding_removes_every_norm_and_keeps_the_outputs(make, x):
    module = _random_stats(make()).eval()
    n = _norms(module)
    assert n > 0
    with torch.no_grad():
        ref = module(x)
        folded = fold_batchnorm(module)  # in place
        out = module(x)
    assert folded == n and _norms(module) == 0
    for a, b in zip(torch.utils._pytree.tree_leaves(ref), torch.utils._pytree.tree_leaves(out)):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-4 * float(a.abs().max()))


def test_training_mode_norms_are_not_folded():
    module = VGGish(width_mult=0.125, fc_dim=32, norm="BN").train()
    assert fold_batchnorm(module) == 0


def test_model_inference_is_the_same_with_and_without_folding():
    torch.manual_seed(0)
    model = _random_stats(build_model(tiny_cfg())).eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    clip = random_clip()
    with torch.no_grad():
        folded = model([clip])
        assert model._folded["backbone"].copy is not None  # the folded path really ran
        assert model._folded["audio_encoder"].copy is not None
        plain = build_model(tiny_cfg("MODEL.FOLD_BN", False)).eval()
        plain.load_state_dict(state)
        unfolded = plain([clip])
    folded, unfolded = folded[0]["frames"], unfolded[0]["frames"]
    assert len(folded) == len(unfolded) == 5  # one result per frame
    for a, b in zip(folded, unfolded):
        assert torch.allclose(a["sem_seg"], b["sem_seg"], atol=1e-5)
    # the model itself, its state dict and so its checkpoints are untouched
    after = model.state_dict()
    assert after.keys() == state.keys()
    assert all(torch.equal(after[k], state[k]) for k in state)


def test_folded_copy_follows_new_weights():
    """A checkpoint loaded (or an optimizer step) after a forward must not leave stale weights."""
    module = _random_stats(VGGish(width_mult=0.125, fc_dim=32, norm="BN")).eval()
    folded = FoldedCopy(module, "audio_encoder")
    x = torch.randn(2, 1, 96, 64)
    with torch.no_grad():
        folded(x)
        other = _random_stats(VGGish(width_mult=0.125, fc_dim=32, norm="BN"))
        with torch.no_grad():
            other.features[1].running_var.mul_(3.0)
        module.load_state_dict(other.state_dict())
        assert torch.allclose(folded(x), module(x), rtol=1e-4, atol=1e-5)
        module.features[0].weight.add_(0.5)  # in place, as an optimizer step
        assert torch.allclose(folded(x), module(x), rtol=1e-4, atol=1e-5)


class _NormFirst(nn.Module):
    """Registers conv then norm but applies the norm first: folding by order would be wrong."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return self.conv(self.bn(x))


def test_a_wrong_fold_is_caught_and_the_module_runs_unfolded(caplog):
    module = _random_stats(_NormFirst()).eval()
    folded = FoldedCopy(module, "odd_encoder")
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad(), caplog.at_level(logging.WARNING):
        out = folded(x)
        again = folded(x)
    assert "odd_encoder" in caplog.text and "unfolded" in caplog.text
    assert torch.allclose(out, module(x)) and torch.allclose(again, module(x))
    assert folded.copy is None


def test_folding_is_kept_under_bf16_autocast(caplog):
    """The case that showed it: under MODEL.PRECISION bfloat16 the folded EfficientNet-Lite0 and
    the plain one drift apart by bf16 rounding, and the fold was refused (`running it unfolded`),
    so bf16 inference and AMP training lost folding. The check runs in float32; the copy runs in
    bf16 and agrees with the module in bf16 to bf16's precision."""
    module = D2TimmBackbone("tf_efficientnet_lite0", freeze=True, drop_path_rate=0.0)
    module = _random_stats(module).eval()
    folded = FoldedCopy(module, "backbone")
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad(), caplog.at_level(logging.WARNING):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = folded(x)
            ref = module(x)
        assert folded.copy is not None and "unfolded" not in caplog.text
        for a, b in zip(torch.utils._pytree.tree_leaves(ref), torch.utils._pytree.tree_leaves(out)):
            assert a.dtype == b.dtype == torch.bfloat16  # it did run in bf16
            a, b = a.float(), b.float()
            assert float((a - b).abs().max()) <= 0.05 * float(a.abs().max())


def test_autocast_runs_a_copy_with_weights_cast_once():
    """The case that showed it: under bf16 autocast the frozen VGGish (no BatchNorm, so no
    folded copy) had its weights cast to bf16 on every call, its 12288x4096 layer included, and
    ran slower than in float32. The copy's conv/linear weights are cast once per dtype, the
    module keeps float32 weights, the outputs are autocast's, and new weights rebuild the copy."""
    module = VGGish(width_mult=0.25, fc_dim=64).eval()  # released layout: no BatchNorm
    folded = FoldedCopy(module, "audio_encoder")
    x = torch.randn(3, 1, 96, 64)
    with torch.no_grad():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = folded(x)
            ref = module(x)
        assert folded.copy is None  # nothing to fold
        cast = folded.cast[torch.bfloat16]
        fc = [m for m in cast.modules() if isinstance(m, nn.Linear)]
        assert fc and all(m.weight.dtype == torch.bfloat16 for m in fc)
        assert all(p.dtype == torch.float32 for p in module.parameters())
        assert out.dtype == ref.dtype == torch.bfloat16
        assert torch.equal(out, ref)  # the same rounding autocast does, done once
        assert torch.equal(folded(x), module(x))  # without autocast: the float32 module
        for p in module.parameters():
            p.mul_(0.5)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert torch.equal(folded(x), module(x))
        assert folded.cast[torch.bfloat16] is not cast  # rebuilt for the new weights


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="needs PyTorch with oneDNN")
def test_float32_runs_large_linear_layers_packed_for_onednn(monkeypatch, caplog):
    """The case that showed it: the frozen full-width VGGish spent 36 of its 78 ms per R50 clip
    (float32, CPU) in its 12288x4096 and 4096x4096 layers, where PyTorch's float32 path for a few
    rows ran at a quarter of oneDNN's speed. In float32 on a CPU the copy runs its large linear
    layers packed for oneDNN: the module's outputs (float32 rounding), the module untouched, small
    layers left alone, new weights repacked; a packed copy that disagrees (or no oneDNN) is not
    used."""
    from autr_d2.modeling import fold_bn

    module = VGGish(width_mult=0.25, fc_dim=1024).eval()  # FC 3072x1024, 1024x1024, 1024x128
    module.requires_grad_(False)  # frozen, as the paper's VGGish
    folded = FoldedCopy(module, "audio_encoder")
    x = torch.randn(3, 1, 96, 64)
    with torch.no_grad():
        out, ref = folded(x), module(x)
        packed = folded.cast["packed"]
        kinds = [type(m).__name__ for m in packed.embeddings if not isinstance(m, nn.ReLU)]
        assert kinds == ["PackedLinear", "PackedLinear", "Linear"]
        assert all(type(m) is nn.Linear for m in module.embeddings if not isinstance(m, nn.ReLU))
        assert packed.features[0].weight is module.features[0].weight  # the rest is shared
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
        for p in module.parameters():
            p.mul_(0.5)
        torch.testing.assert_close(folded(x), module(x), rtol=1e-5, atol=1e-5)
        assert folded.cast["packed"] is not packed  # repacked for the new weights

        def run(t):
            return folded(t)

        traced = torch.jit.trace(run, x, check_trace=False)  # as fvcore's FLOP count does
        torch.testing.assert_close(traced(x), module(x))

        def wrong_forward(self, t):
            return torch.full((*t.shape[:-1], self.out_features), 7.0)

        monkeypatch.setattr(fold_bn.PackedLinear, "forward", wrong_forward)
        wrong = FoldedCopy(module, "audio_encoder")
        with caplog.at_level(logging.WARNING):
            assert torch.equal(wrong(x), module(x))
        assert wrong.cast["packed"] is None and "packed copy disagrees" in caplog.text

        def failing_init(self, linear):
            raise RuntimeError("no such kernel")

        monkeypatch.setattr(fold_bn.PackedLinear, "__init__", failing_init)
        failing = FoldedCopy(module, "audio_encoder")
        assert torch.equal(failing(x), module(x)) and failing.cast["packed"] is None
        assert "packed copy failed (RuntimeError: no such kernel)" in caplog.text

        monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
        plain = FoldedCopy(module, "audio_encoder")
        assert torch.equal(plain(x), module(x)) and "packed" not in plain.cast

"""Tests that notice when the data path or the inference rule breaks, each named for the
behaviour a user relies on: second k of the sound goes with frame k; the sounding query's mask is
the one kept (or exactly the queries above the threshold, for several sources); every decoder
layer is supervised; a checkpoint or a log-mel of the wrong shape is an error naming it."""

import pickle

import numpy as np
import pytest
import soundfile as sf
import torch
from detectron2.data import transforms as T
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage
from PIL import Image

from autr_d2.checkpoint import CheckpointError, build_checkpointer
from autr_d2.data import AudioError, AVSClipDatasetMapper, load_log_mel
from autr_d2.data.audio import waveform_to_log_mel

from .conftest import random_clip, tiny_cfg

SR = 16000
FREQS = [250.0, 500.0, 1000.0, 2000.0, 4000.0]  # second k carries FREQS[k]


def _clip_with_a_tone_per_second(tmp_path):
    t = np.arange(SR) / SR
    wave = np.concatenate([0.5 * np.sin(2 * np.pi * f * t) for f in FREQS]).astype(np.float32)
    sf.write(tmp_path / "a.wav", wave, SR)
    files = []
    for k in range(5):
        Image.fromarray(np.full((32, 32, 3), 40 * k, np.uint8)).save(tmp_path / f"f{k}.png")
        files.append(str(tmp_path / f"f{k}.png"))
    return {
        "file_names": files,
        "sem_seg_file_names": [None] * 5,
        "audio_file": str(tmp_path / "a.wav"),
        "clip_id": "tones",
        "height": 32,
        "width": 32,
    }


def _nearest_tone(example):
    """Which of FREQS the log-mel example ``[1, 96, 64]`` is closest to."""
    t = np.arange(SR) / SR
    refs = [waveform_to_log_mel((0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32), SR, 1)[0]
            for f in FREQS]  # fmt: skip
    return int(np.argmin([float((example - r).abs().mean()) for r in refs]))


@pytest.mark.parametrize("train", [True, False])
def test_mapper_pairs_audio_second_k_with_frame_k(tmp_path, train):
    d = _clip_with_a_tone_per_second(tmp_path)
    augs = [T.Resize((16, 16))] + ([T.RandomFlip(prob=1.0)] if train else [])
    mapper = AVSClipDatasetMapper(train, augmentations=augs, image_format="RGB", num_frames=5)
    out = mapper(d)
    assert torch.equal(out["audio"], load_log_mel(d["audio_file"], 5))  # in order, unchanged
    assert [_nearest_tone(out["audio"][k]) for k in range(5)] == [0, 1, 2, 3, 4]
    # frame k is the k-th file (grey level 40 k), next to audio example k
    assert [int(out["frames"][k].float().mean()) for k in range(5)] == [0, 40, 80, 120, 160]


def _model_with(multi_source, threshold=0.5):
    cfg = tiny_cfg(
        "MODEL.AUTR.TEST.MULTI_SOURCE", multi_source, "MODEL.AUTR.TEST.SOUND_THRESHOLD", threshold
    )
    return build_model(cfg).eval()


def _queries():
    """3 queries: sound scores 0.9 / 0.6 / 0.2; masks: q0 a small block, q1 a larger block, q2
    the whole frame, all certain (logit +-10)."""
    sound = torch.logit(torch.tensor([[0.9, 0.6, 0.2]]))
    masks = torch.full((1, 3, 8, 8), -10.0)
    masks[0, 0, :2, :2] = 10
    masks[0, 1, 4:, 4:] = 10
    masks[0, 2] = 10
    return sound, masks


def test_single_source_keeps_the_best_scoring_querys_mask():
    sound, masks = _queries()
    p = _model_with(False).frame_probability(sound, masks)[0]
    expected = torch.zeros(8, 8)
    expected[:2, :2] = 1
    assert torch.allclose(p, expected, atol=1e-4)  # not the union, not the largest mask


@pytest.mark.parametrize("threshold,kept", [(0.5, (0, 1)), (0.7, (0,)), (0.1, (0, 1, 2))])
def test_multi_source_merges_exactly_the_queries_above_the_threshold(threshold, kept):
    sound, masks = _queries()
    p = _model_with(True, threshold).frame_probability(sound, masks)[0]
    expected = torch.zeros(8, 8)
    for q in kept:
        expected = torch.maximum(expected, masks[0, q].sigmoid())
    assert torch.allclose(p, expected, atol=1e-4)


def test_every_decoder_layer_is_supervised():
    """With DEEP_SUPERVISION each layer but the last gets loss_{mask,dice,sound}_i: the
    criterion applied to that layer's own predictions, weighted like the last layer's."""
    model = build_model(tiny_cfg("MODEL.AUTR.DEC_LAYERS", 3)).train()
    clip = random_clip()
    with EventStorage():
        losses = model([clip])
    for i in (0, 1):
        for k in ("loss_mask", "loss_dice", "loss_sound"):
            assert f"{k}_{i}" in losses and torch.isfinite(losses[f"{k}_{i}"])
    assert "loss_mask_2" not in losses  # the last layer is the plain loss_mask
    with torch.no_grad():
        images = model.preprocess([clip])
        q_outs, mask_features, audio, _, _ = model.decode(
            images.tensor, model.gather_audio([clip]), 1
        )
        gt = clip["masks"].to(torch.uint8)
        w = model.criterion.weight_dict
        for i in (0, 1):
            own = model.criterion(model.predict(q_outs[i], mask_features, audio), gt,
                                  clip["annotated"])  # fmt: skip
            for k in ("loss_mask", "loss_dice", "loss_sound"):
                torch.testing.assert_close(losses[f"{k}_{i}"], own[k] * w[f"{k}_{i}"])
    # and the aux losses alone train the first layer
    model.zero_grad()
    sum(v for k, v in losses.items() if k.endswith("_0")).backward()
    first = model.query_decoder.cross[0]
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in first.parameters())


def test_checkpoint_head_of_the_wrong_shape_is_an_error_naming_the_key(tmp_path):
    cfg = tiny_cfg()
    state = build_model(cfg).state_dict()
    state["sound_head.weight"] = torch.zeros(2, *state["sound_head.weight"].shape[1:])
    torch.save({"model": state}, tmp_path / "other_head.pth")
    with pytest.raises(CheckpointError, match=r"sound_head\.weight has shape \(2, 64\)"):
        build_checkpointer(cfg, build_model(cfg)).load(str(tmp_path / "other_head.pth"))


@pytest.mark.parametrize("shape", [(5, 1, 64, 96), (5, 1, 96, 63), (5, 2, 96, 64), (4, 96, 64)])
def test_log_mel_examples_of_the_wrong_shape_are_refused(tmp_path, shape):
    path = tmp_path / "clip.pkl"
    with open(path, "wb") as f:
        pickle.dump(torch.randn(*shape), f)
    with pytest.raises(AudioError, match=r"clip\.pkl.*shape"):
        load_log_mel(str(path), 5)

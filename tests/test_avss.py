"""AVSBench-semantic (AVSS): the loader on a tiny tree in the official layout, the palette, padding
of 5-frame clips, the class head and matcher, the semantic scores, the official metric, a tiny
semantic model, AVS-Synth semantic, and the binary AuTR unchanged."""

import csv
import json
import os
import runpy

import numpy as np
import pytest
import soundfile as sf
import torch
import torch.nn.functional as F
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage
from PIL import Image

from autr_d2.data import AVSClipDatasetMapper
from autr_d2.data.clip_mapper import ClipDataError, read_color_label
from autr_d2.data.datasets import DatasetLayoutError, load_avss_clips, register_avss_dataset
from autr_d2.data.palette import AVSS_CLASSES, avss_palette, colors_to_labels, labels_to_colors
from autr_d2.data.synth import SynthConfig, generate_avs_synth_semantic
from autr_d2.evaluation import AVSEvaluator, AVSSEvaluator, build_evaluator, frame_class_stats
from autr_d2.modeling.matcher import HungarianMatcher
from autr_d2.modeling.semantic import class_loss, semantic_scores, semantic_targets

from .conftest import random_clip, tiny_cfg

H, W = 32, 48  # frames and labels of the tiny tree are not 224x224, as in the release
CLARINET, WOMAN = 14, 70
UNKNOWN = (1, 2, 3)  # a colour of no class: background
# (vid, label, split); uid = vid_<start ms>_<end ms> for v1s and v2, vid for v1m
CLIPS = [
    ("vidA", "v1s", "train"),
    ("vidB", "v1s", "test"),
    ("vidC", "v1m", "train"),
    ("vidD", "v2", "train"),
    ("vidE", "v2", "test"),
    ("vidF", "v1m", "test"),
]


def _uid(vid, label):
    return vid if label == "v1m" else f"{vid}_0_{5000 if label == 'v1s' else 10000}"


def _label_map(k):
    lab = np.zeros((H, W), np.uint8)
    lab[4:12, 6 + k : 20 + k] = CLARINET
    if k % 2:
        lab[16:28, 30:44] = WOMAN
    return lab


def _write_tree(root, rng):
    os.makedirs(root)
    with open(os.path.join(root, "label2idx.json"), "w") as f:
        json.dump({c: i + 1 for i, c in enumerate(AVSS_CLASSES)}, f)  # 1-based, as released
    with open(os.path.join(root, "metadata.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["vid", "uid", "s_min", "s_sec", "a_obj", "split", "label"])
        for vid, label, split in CLIPS:
            w.writerow([vid, _uid(vid, label), 0, 0, "clarinet_woman", split, label])
    for vid, label, split in CLIPS:
        d = os.path.join(root, label, _uid(vid, label))
        t = 10 if label == "v2" else 5
        os.makedirs(f"{d}/frames")
        os.makedirs(f"{d}/labels_rgb")
        for k in range(t):
            frame = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
            Image.fromarray(frame).save(f"{d}/frames/{k}.jpg")
            if label == "v1s" and split == "train" and k > 0:
                continue  # v1s train: ground truth for frame 0 only
            rgb = labels_to_colors(_label_map(k))
            rgb[0, 0] = UNKNOWN
            Image.fromarray(rgb).save(f"{d}/labels_rgb/{k}.png")
        sf.write(f"{d}/audio.wav", rng.normal(0, 0.1, t * 16000).astype(np.float32), 16000)
    return root


@pytest.fixture(scope="module")
def avss_root(tmp_path_factory):
    root = _write_tree(
        str(tmp_path_factory.mktemp("avss") / "avsbench_semantic"), np.random.default_rng(0)
    )
    for split in ("train", "test"):
        register_avss_dataset(f"avss_tiny_all_{split}", root, ("v1s", "v1m", "v2"), split)
        register_avss_dataset(f"avss_tiny_v2_{split}", root, ("v2",), split)
    return root


def _avss_cfg(*opts):
    return tiny_cfg(
        "MODEL.AUTR.NUM_CLASSES",
        70,
        "MODEL.AUTR.NUM_QUERIES",
        3,
        "INPUT.SAMPLING_FRAME_NUM",
        10,
        "INPUT.PAD_CLIPS",
        True,
        *opts,
    )


# ----------------------------------------------------------------------------- palette, loader
def test_palette_is_the_official_colour_map_and_decodes_unknown_colours_to_background():
    pal = avss_palette()
    assert pal.shape == (71, 3) and len({tuple(c) for c in pal}) == 71
    # the real AVSS frame of the research notes: (64,128,128) is clarinet; index 70 is woman
    assert tuple(pal[0]) == (0, 0, 0) and tuple(pal[CLARINET]) == (64, 128, 128)
    assert tuple(pal[WOMAN]) == (32, 128, 128) and tuple(pal[64]) == (32, 0, 0)
    labels = np.random.default_rng(0).integers(0, 71, (20, 30))
    assert np.array_equal(colors_to_labels(labels_to_colors(labels), 71), labels)
    rgb = labels_to_colors(np.array([[CLARINET, 3]]))
    rgb[0, 1] = UNKNOWN
    assert colors_to_labels(rgb, 71).tolist() == [[CLARINET, 0]]
    # a colour of a class beyond the dataset's own list is unknown too
    assert colors_to_labels(labels_to_colors(np.array([[5, 2]])), 4).tolist() == [[0, 2]]


def test_loader_reads_the_official_layout(avss_root):
    dicts = DatasetCatalog.get("avss_tiny_all_train")
    assert [d["clip_id"] for d in dicts] == ["v1s/vidA_0_5000", "v1m/vidC", "v2/vidD_0_10000"]
    v1s, v1m, v2 = dicts
    assert len(v1s["file_names"]) == 5 and v1s["file_names"][3].endswith("vidA_0_5000/frames/3.jpg")
    assert v1s["sem_seg_file_names"][0].endswith("labels_rgb/0.png")
    assert v1s["sem_seg_file_names"][1:] == [None] * 4  # v1s train: frame 0 only
    assert all(v1m["sem_seg_file_names"]) and len(v2["file_names"]) == 10
    assert all(v2["sem_seg_file_names"]) and v2["audio_file"].endswith("audio.wav")
    assert {(d["height"], d["width"], d["num_classes"]) for d in dicts} == {(224, 224, 71)}
    test = DatasetCatalog.get("avss_tiny_all_test")
    assert all(test[0]["sem_seg_file_names"])  # v1s val/test: every frame scored
    assert [d["subset"] for d in DatasetCatalog.get("avss_tiny_v2_test")] == ["v2"]
    meta = MetadataCatalog.get("avss_tiny_all_train")
    assert meta.stuff_classes == AVSS_CLASSES and meta.evaluator_type == "avss"
    assert meta.stuff_colors[CLARINET] == (64, 128, 128)


def test_loader_errors_name_the_file(avss_root, tmp_path):
    root = _write_tree(str(tmp_path / "t"), np.random.default_rng(1))
    os.remove(f"{root}/v2/vidE_0_10000/labels_rgb/7.png")
    with pytest.raises(DatasetLayoutError, match=r"vidE_0_10000/labels_rgb/7\.png"):
        load_avss_clips(root, ("v2",), "test")
    load_avss_clips(root, ("v2",), "train")  # other clips unaffected
    with open(f"{root}/label2idx.json", "w") as f:
        json.dump({"dog": 1, "background": 2}, f)
    with pytest.raises(DatasetLayoutError, match=r"label2idx\.json.*background"):
        load_avss_clips(root, ("v2",), "train")
    with open(f"{root}/label2idx.json", "w") as f:
        json.dump({"background": 1, "dog": 2}, f)
    register_avss_dataset("avss_tiny_mismatch", root, ("v2",), "train", AVSS_CLASSES)
    with pytest.raises(DatasetLayoutError, match=r"label2idx\.json: lists 2 classes"):
        DatasetCatalog.get("avss_tiny_mismatch")


def test_read_color_label_resizes_like_the_official_loader(avss_root):
    path = f"{avss_root}/v2/vidD_0_10000/labels_rgb/1.png"
    got = read_color_label(path, 71, size=(224, 224))
    rgb = np.asarray(Image.open(path).convert("RGB").resize((224, 224), Image.NEAREST))
    expect = np.zeros((224, 224), np.int64)
    for c in (CLARINET, WOMAN):  # the official per-colour match
        expect[np.all(rgb == avss_palette()[c], -1)] = c
    assert np.array_equal(got, expect) and set(np.unique(got)) == {0, CLARINET, WOMAN}


def test_mapper_pads_5_frame_clips_to_10_and_decodes_classes(avss_root):
    cfg = _avss_cfg("DATASETS.TRAIN", ("avss_tiny_all_train",))
    mapper = AVSClipDatasetMapper(cfg, True)
    v1s, _, v2 = DatasetCatalog.get("avss_tiny_all_train")
    x = mapper(v1s)
    assert x["frames"].shape == (10, 3, 64, 64) and x["audio"].shape == (10, 1, 96, 64)
    assert x["frame_valid"].tolist() == [True] * 5 + [False] * 5
    assert x["annotated"].tolist() == [True] + [False] * 9
    assert x["frames"][5:].eq(0).all() and x["audio"][5:].eq(0).all() and x["masks"][1:].eq(0).all()
    assert set(x["masks"][0].unique().tolist()) == {0, CLARINET}  # frame 0: no woman
    assert x["masks"].dtype == torch.uint8
    y = mapper(v2)
    assert y["frame_valid"].all() and y["annotated"].all()
    assert set(y["masks"][1].unique().tolist()) == {0, CLARINET, WOMAN}
    cfg.defrost()
    cfg.INPUT.PAD_CLIPS = False
    with pytest.raises(ClipDataError, match="INPUT.PAD_CLIPS"):
        AVSClipDatasetMapper(cfg, True)(v1s)


# ----------------------------------------------------------------------------- class head, matcher
def test_semantic_targets_and_class_loss_by_hand():
    labels = torch.zeros(2, 4, 4, dtype=torch.uint8)
    labels[0, :2, :2] = 3
    labels[0, 2:, :] = 1
    ((cls0, small0, full0), (cls1, small1, full1)) = semantic_targets(labels, (2, 2))
    assert cls0.tolist() == [0, 2] and full0.shape == (2, 4, 4)  # classes 1, 3 -> logits 0, 2
    assert small0[1].tolist() == [[1.0, 0.0], [0.0, 0.0]] and small0[0].tolist() == [[0, 0], [1, 1]]
    assert cls1.numel() == 0 and small1.shape == (0, 2, 2)
    # 2 frames x 2 queries, C = 3 (+ no object): frame 0 matches query 1 to class 2
    logits = torch.randn(2, 2, 4)
    weight = torch.tensor([1, 1, 1, 0.1])
    idx = [(torch.tensor([1]), torch.tensor([0])), (torch.tensor([], dtype=torch.int64),) * 2]
    got = class_loss(logits, idx, [torch.tensor([2]), torch.tensor([], dtype=torch.int64)], weight)
    logp = logits.log_softmax(-1)
    terms = [(-logp[0, 0, 3], 0.1), (-logp[0, 1, 2], 1.0), (-logp[1, 0, 3], 0.1)]
    terms.append((-logp[1, 1, 3], 0.1))
    expect = sum(v * w for v, w in terms) / sum(w for _, w in terms)
    assert torch.allclose(got, expect)


def test_matcher_class_cost_decides_between_equal_masks():
    tgt = torch.zeros(2, 8, 8)
    tgt[0, :4] = 1
    tgt[1, 4:] = 1
    masks = torch.stack([tgt[0] * 12 - 6, tgt[1] * 12 - 6, tgt[0] * 12 - 6])[None]  # q0 = q2
    classes = torch.full((1, 3, 4), -5.0)
    classes[0, 0, 3] = 5  # q0: "no object"
    classes[0, 1, 1] = 5
    classes[0, 2, 0] = 5  # q2: class 0
    sound = torch.zeros(1, 3)
    ((qi, ti),) = HungarianMatcher()(sound, masks, [tgt], classes, [torch.tensor([0, 1])])
    assert dict(zip(ti.tolist(), qi.tolist())) == {0: 2, 1: 1}
    ((qi, ti),) = HungarianMatcher()(sound, masks, [tgt])  # without classes q0 ties q2
    assert sorted(ti.tolist()) == [0, 1] and 1 in qi.tolist()


def test_semantic_scores_by_hand():
    # 1 frame, 2 queries, C = 2, 2 pixels; query 0: class 1 (p .8), mask (.9, .1);
    # query 1: class 2 (p .6), mask (.5, .5)
    probs = torch.tensor([[0.8, 0.1, 0.1], [0.1, 0.6, 0.3]]).log()[None]  # softmax = these
    masks = torch.tensor([[0.9, 0.1], [0.5, 0.5]]).logit()[None, :, None]  # [1, 2, 1, 2]
    s1 = torch.tensor([0.8 * 0.9 + 0.1 * 0.5, 0.8 * 0.1 + 0.1 * 0.5])  # class index 1
    s2 = torch.tensor([0.1 * 0.9 + 0.6 * 0.5, 0.1 * 0.1 + 0.6 * 0.5])  # class index 2
    got = semantic_scores(probs, masks)[0, :, 0]
    top = torch.maximum(s1, s2)
    assert torch.allclose(got, torch.stack([(1 - top).clamp(min=0), s1, s2]), atol=1e-6)
    assert got.argmax(0).tolist() == [1, 0]  # pixel 2: no class reaches 0.5 -> background
    fg = torch.tensor([[[0.7, 0.6]]])
    got = semantic_scores(probs, masks, fg)[0, :, 0]
    expect = torch.stack([1 - fg[0, 0], fg[0, 0] * s1 / top, fg[0, 0] * s2 / top])
    assert torch.allclose(got, expect, atol=1e-6)
    assert got.argmax(0).tolist() == [1, 2]  # the sound head decides "sounds", the class what


# ----------------------------------------------------------------------------- the metric
def _register_case(name, tmp_path, frames_per_clip, classes):
    """Clips of label PNGs; returns (inputs, dataset name). frames_per_clip: list of lists of
    [h, w] label maps (one list per clip)."""
    dicts = []
    for i, labels in enumerate(frames_per_clip):
        paths = []
        for k, lab in enumerate(labels):
            p = str(tmp_path / f"{name}_{i}_{k}.png")
            Image.fromarray(labels_to_colors(lab, len(classes))).save(p)
            paths.append(p)
        dicts.append(
            {
                "clip_id": f"{name}/{i}",
                "file_names": paths,
                "sem_seg_file_names": paths,
                "num_classes": len(classes),
                "subset": "v2" if len(labels) == 10 else "v1m",
            }
        )
    DatasetCatalog.register(name, lambda: dicts)
    MetadataCatalog.get(name).set(stuff_classes=classes, evaluator_type="avss")
    return dicts


def _one_hot(pred, n):
    return {"sem_seg": F.one_hot(torch.as_tensor(pred).long(), n).permute(2, 0, 1).float()}


def test_evaluator_hand_computed_case(tmp_path):
    classes = ["background", "a", "b", "c"]  # "c" never appears: it still counts (as 0)
    gt1, pred1 = np.array([[0, 1], [1, 1]]), np.array([[0, 1], [0, 2]])
    gt2 = pred2 = np.zeros((2, 2), np.int64)
    name = f"avss_hand_{tmp_path.name}"
    dicts = _register_case(name, tmp_path, [[gt1, gt2]], classes)
    outputs = [{"frames": [_one_hot(pred1, 4), _one_hot(pred2, 4)]}]
    # background: frame 1 IoU 1/2, F 1.3 * .5 / 1.15; frame 2 IoU 1, F 1 -> over 2 frames
    # a: IoU 1/3, F 1.3 * (1/3) / (.3 + 1/3); b: predicted only, IoU 0, F 0; c: absent, 0
    iou = [0.75, 1 / 3, 0, 0]
    f = [(1.3 * 0.5 / 1.15 + 1) / 2, 1.3 / 3 / (0.3 + 1 / 3), 0, 0]
    # the official padded frames: this 2-frame clip gets 8, each background IoU 1 and F 1
    iou_pad = [(0.5 + 1 + 8) / 10, 1 / 3, 0, 0]
    f_pad = [(1.3 * 0.5 / 1.15 + 1 + 8) / 10, f[1], 0, 0]
    for padded in (False, True):
        ev = AVSSEvaluator(name, False, score_padded_frames=padded)
        ev.reset()
        ev.process(dicts, outputs)
        res = ev.evaluate()["avss"]
        head_iou, head_f = (iou_pad, f_pad) if padded else (iou, f)
        assert res["mIoU"] == pytest.approx(100 * np.mean(head_iou))
        assert res["F"] == pytest.approx(100 * np.mean(head_f))
        assert res["mIoU_without_background"] == pytest.approx(100 * np.mean(head_iou[1:]))
        assert res["F_without_background"] == pytest.approx(100 * np.mean(head_f[1:]))
        assert not any("noBg" in k for k in res)  # not the official script's (last class) one
        assert res["IoU-a"] == pytest.approx(100 / 3) and res["F-b"] == 0
        assert res["IoU-background"] == pytest.approx(100 * head_iou[0])
        assert res["mIoU_real_frames_only"] == pytest.approx(100 * np.mean(iou))
        assert res["mIoU_padded_frames_scored"] == pytest.approx(100 * np.mean(iou_pad))
        assert res["F_padded_frames_scored"] == pytest.approx(100 * np.mean(f_pad))
        assert (res["frames"], res["padded_frames"], res["clips"]) == (2, 8, 1)


def _official_arithmetic(preds, gts, nclass):
    """AVSBench's per-frame torch.histc arithmetic (compute_color_metrics.py,
    _batch_miou_fscore), summed over frames as test.py does -> (mIoU, F) in [0, 1]."""
    ious, fscores, count = torch.zeros(nclass), torch.zeros(nclass), torch.zeros(nclass)
    for p, g in zip(preds, gts):
        p1, g1 = torch.as_tensor(p).float() + 1, torch.as_tensor(g).float() + 1
        inter = p1 * (p1 == g1).float()
        a_int = torch.histc(inter, bins=nclass, min=1, max=nclass)
        a_pred = torch.histc(p1, bins=nclass, min=1, max=nclass)
        a_lab = torch.histc(g1, bins=nclass, min=1, max=nclass)
        union = a_pred + a_lab - a_int
        ious += a_int / (2.220446049250313e-16 + union)
        count[torch.nonzero(union).squeeze(-1)] += 1
        prec, rec = a_int / a_pred, a_int / a_lab
        f = 1.3 * prec * rec / (0.3 * prec + rec)
        f[torch.isnan(f)] = 0
        fscores += f
    miou, fs = ious / count, fscores / count
    miou[torch.isnan(miou)], fs[torch.isnan(fs)] = 0, 0
    return miou.mean().item(), fs.mean().item()


def test_evaluator_matches_the_official_histc_arithmetic_on_random_maps(tmp_path):
    rng = np.random.default_rng(0)
    n = 6
    classes = ["background", *[f"k{i}" for i in range(1, n)]]
    clips, outputs, preds, gts = [], [], [], []
    for t in (10, 5, 10):  # a v1 clip of 5 frames: the official script pads it with 5
        labels, outs = [], []
        for _ in range(t):
            g = rng.choice(n, size=(12, 16), p=[0.5, 0.2, 0.1, 0.1, 0.05, 0.05])
            p = np.where(rng.random(g.shape) < 0.7, g, rng.integers(0, n, g.shape))
            labels.append(g)
            outs.append(_one_hot(p, n))
            gts.append(g)
            preds.append(p)
        clips.append(labels)
        outputs.append({"frames": outs})
    name = f"avss_random_{tmp_path.name}"
    dicts = _register_case(name, tmp_path, clips, classes)
    zeros = [np.zeros((12, 16), np.int64)] * 10  # 10 - 10 + 10 - 5 + 10 - 10 padded frames
    for padded, extra in ((False, 0), (True, 5)):
        ev = AVSSEvaluator(name, False, score_padded_frames=padded)
        ev.reset()
        ev.process(dicts, outputs)
        res = ev.evaluate()["avss"]
        miou, fs = _official_arithmetic(preds + zeros[:extra], gts + zeros[:extra], n)
        assert res["mIoU"] == pytest.approx(100 * miou, abs=1e-4)
        assert res["F"] == pytest.approx(100 * fs, abs=1e-4)


def test_frame_class_stats_counts_predicted_or_labelled_classes():
    iou, f, counts = frame_class_stats(np.array([[2, 2]]), np.array([[0, 2]]), 4)
    assert counts.tolist() == [True, False, True, False]
    assert iou.tolist() == pytest.approx([0, 0, 0.5, 0]) and f[2] == pytest.approx(1.3 * 0.5 / 1.15)


def test_build_evaluator_dispatches_on_the_dataset(avss_root):
    ev = build_evaluator(_avss_cfg(), "avss_tiny_all_test")
    assert isinstance(ev, AVSSEvaluator) and ev._score_padded  # the official arithmetic
    cfg = _avss_cfg("TEST.AVSS.SCORE_PADDED_FRAMES", False)
    assert not build_evaluator(cfg, "avss_tiny_all_test")._score_padded
    assert isinstance(build_evaluator(cfg, "avs_synth_s4_test"), AVSEvaluator)


def test_evaluator_names_a_class_count_mismatch(avss_root):
    d = DatasetCatalog.get("avss_tiny_v2_test")[0]
    ev = AVSSEvaluator("avss_tiny_v2_test", False)
    ev.reset()
    with pytest.raises(ValueError, match="MODEL.AUTR.NUM_CLASSES to 70"):
        ev.process([d], [{"frames": [{"sem_seg": torch.rand(2, 224, 224)}] * 10}])


# ----------------------------------------------------------------------------- the model
def _reference_binary(model, clips):
    """The binary AuTR's eval outputs computed from its modules, without AuTR.forward."""
    b, t = len(clips), model.num_frames
    images = model.preprocess(clips)
    feats = model.backbone(images.tensor)
    audio = model.audio_proj(model.audio_encoder(torch.cat([c["audio"] for c in clips])))
    fused = model.av_encoder({n: feats[n] for n in model.in_features}, audio.view(b, t, -1), t)
    mask_feats, refined = model.pixel_decoder(fused)
    q, _ = model.query_decoder([refined[n] for n in model.dec_in_features], audio)
    sound, masks = model.sound_head(q[-1], audio), model.mask_head(q[-1], mask_feats)
    prob = model.frame_probability(sound, masks)
    size = images.tensor.shape[-2:]
    prob = F.interpolate(prob[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
    return sound.sigmoid(), prob.clamp(0, 1)


def test_binary_mode_unchanged_and_the_class_head_adds_only_itself():
    # the reference runs the encoders unfolded: compare bit for bit with MODEL.FOLD_BN off
    opts = ("MODEL.AUTR.NUM_QUERIES", 3, "MODEL.FOLD_BN", False)
    torch.manual_seed(0)
    binary = build_model(tiny_cfg(*opts)).eval()
    torch.manual_seed(0)
    semantic = build_model(tiny_cfg(*opts, "MODEL.AUTR.NUM_CLASSES", 4))
    keys, sem_keys = set(binary.state_dict()), set(semantic.state_dict())
    assert not any("class" in k or "empty_weight" in k for k in keys)
    assert sem_keys - keys == {"class_head.weight", "class_head.bias", "criterion.empty_weight"}
    for k in keys:  # the same parameters from the same seed: the class head is built last
        assert torch.equal(binary.state_dict()[k], semantic.state_dict()[k]), k
    clips = [random_clip(), random_clip()]
    with torch.no_grad():
        out = binary(clips)
        sound, prob = _reference_binary(binary, clips)
        sem_out = semantic.eval()(clips)
    for i, res in enumerate(out):  # up to float rounding (oneDNN's first call may differ)
        assert torch.allclose(res["sound_scores"], sound[i * 5 : (i + 1) * 5], atol=1e-6)
        got = torch.stack([f["sem_seg"] for f in res["frames"]])
        assert torch.allclose(got[:, 1], prob[i * 5 : (i + 1) * 5], atol=1e-6)
        assert torch.allclose(got[:, 0], 1 - prob[i * 5 : (i + 1) * 5], atol=1e-6)
        # the semantic model's sound scores and masks are the binary ones
        assert torch.equal(sem_out[i]["sound_scores"], res["sound_scores"])
        assert torch.equal(sem_out[i]["query_masks"], res["query_masks"])
        assert sem_out[i]["frames"][0]["sem_seg"].shape == (5, 64, 64)


def test_masked_attention_with_nothing_padded_equals_unmasked():
    from autr_d2.modeling.layers import Attention

    attn = Attention(32, 4).eval()
    q, k = torch.randn(2, 7, 32), torch.randn(2, 3, 32)
    none = torch.zeros(2, 3, dtype=torch.bool)
    for kk in (k, torch.randn(2, 12, 32)):  # the folded few-keys path and the plain one
        m = none if kk is k else torch.zeros(2, 12, dtype=torch.bool)
        assert torch.allclose(attn(q, kk, kk)[0], attn(q, kk, kk, key_padding_mask=m)[0], atol=1e-6)
        m = m.clone()
        m[:, -1] = True  # a padded key is the same as no key
        assert torch.allclose(
            attn(q, kk, kk, key_padding_mask=m)[0], attn(q, kk[:, :-1], kk[:, :-1])[0], atol=1e-5
        )


def _padded_clip(seed, valid=5, t=10):
    g = torch.Generator().manual_seed(seed)
    clip = {
        "frames": torch.randint(0, 255, (t, 3, 64, 64), dtype=torch.uint8, generator=g),
        "audio": torch.randn(t, 1, 96, 64, generator=g),
        "masks": torch.zeros(t, 64, 64, dtype=torch.uint8),
        "annotated": torch.arange(t) < valid,
        "frame_valid": torch.arange(t) < valid,
    }
    clip["masks"][:valid, 10:30, 10:40] = 3
    clip["masks"][:valid, 40:60, 5:25] = 1
    return clip


def test_padded_frames_change_nothing_of_the_real_frames():
    cfg = _avss_cfg("MODEL.AUTR.NUM_CLASSES", 4)
    model = build_model(cfg)
    a, b = _padded_clip(1), _padded_clip(1)
    other = _padded_clip(2)
    for k in ("frames", "audio"):  # other padded content, the same real frames
        b[k][5:] = other[k][5:]
    full = _padded_clip(3, valid=10)
    model.train()
    with EventStorage():
        la, lb = model([a, full]), model([b, full])
    for k in la:
        assert torch.allclose(la[k], lb[k], atol=1e-6), k
    model.eval()
    with torch.no_grad():
        oa, ob = model([a]), model([b])
    for k in range(5):
        assert torch.allclose(oa[0]["frames"][k]["sem_seg"], ob[0]["frames"][k]["sem_seg"])
    # and the real frames' outputs differ when the padding is treated as real frames
    c = dict(b, frame_valid=torch.ones(10, dtype=torch.bool))
    with torch.no_grad():
        oc = model([c])
    assert not torch.allclose(oa[0]["sound_scores"][:5], oc[0]["sound_scores"][:5])


@pytest.mark.parametrize(
    "opts",
    [
        [],
        ["MODEL.AUTR.QUERY_INIT", "learned"],
        ["MODEL.AUTR.MASK_HEAD", "dot"],
        ["MODEL.AUDIO.ENABLED", False],
        ["MODEL.AUTR.SOUND_HEAD", "linear"],
        ["MODEL.AUTR.TEST.SEMANTIC_FOREGROUND", "class"],
    ],
)
def test_semantic_mode_builds_and_runs_with_every_switch(opts):
    model = build_model(_avss_cfg("MODEL.AUTR.NUM_CLASSES", 4, *opts))
    clips = [_padded_clip(1), _padded_clip(2, valid=10)]
    with EventStorage():
        losses = model(clips)
    assert {"loss_class", "loss_class_0", "loss_mask", "loss_sound"} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert model.class_head.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        out = model(clips)
    assert len(out[0]["frames"]) == 10 and out[0]["frames"][0]["sem_seg"].shape == (5, 64, 64)
    assert out[1]["query_classes"].shape == (10, 3, 5)


def test_config_checks_the_class_count_and_the_category_loss(avss_root):
    with pytest.raises(ValueError, match="set it to 70"):
        build_model(
            _avss_cfg("MODEL.AUTR.NUM_CLASSES", 8, "DATASETS.TRAIN", ("avss_tiny_all_train",))
        )
    with pytest.raises(ValueError, match="CATEGORY_WEIGHT"):
        build_model(_avss_cfg("MODEL.AUDIO.CATEGORY_WEIGHT", 1.0))
    model = build_model(_avss_cfg("MODEL.AUTR.NUM_CLASSES", 2))
    with EventStorage(), pytest.raises(ValueError, match="class index is 3"):
        model([_padded_clip(1)])


def test_tiny_semantic_model_overfits_one_clip():
    torch.manual_seed(0)
    model = build_model(
        tiny_cfg(
            "MODEL.AUTR.DEC_LAYERS",
            1,
            "MODEL.AUTR.NUM_QUERIES",
            3,
            "MODEL.AUTR.NUM_CLASSES",
            3,
            "MODEL.AUTR.TEST.MULTI_SOURCE",
            True,
        )
    )
    clip = random_clip()
    clip["masks"] = torch.zeros(5, 64, 64, dtype=torch.uint8)
    clip["masks"][:, 8:30, 6:40] = 3
    clip["masks"][:, 38:60, 20:56] = 1
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    first = None
    with EventStorage():
        for _ in range(40):
            loss = sum(model([clip]).values())
            first = first if first is not None else loss.item()
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert loss.item() < first / 3
    model.eval()
    with torch.no_grad():
        pred = model([clip])[0]["frames"][0]["sem_seg"].argmax(0)
    gt = clip["masks"][0]
    for c in (0, 1, 3):
        inter, union = ((pred == c) & (gt == c)).sum(), ((pred == c) | (gt == c)).sum()
        assert inter / union > 0.7, c


def test_semantic_export_equals_the_models_own_class_scores(tmp_path):
    from autr_d2.export import AuTRInferenceGraph, example_inputs, export_program

    torch.manual_seed(0)
    opts = ("MODEL.AUTR.DEC_LAYERS", 1, "MODEL.AUTR.NUM_QUERIES", 3, "MODEL.AUTR.NUM_CLASSES", 3)
    cfg = tiny_cfg(*opts, "MODEL.AUTR.TEST.MULTI_SOURCE", True)
    model = build_model(cfg).eval()
    frames, mel = example_inputs(cfg)
    with torch.no_grad():
        eager = AuTRInferenceGraph(model)(frames, mel)
        own = model([{"frames": frames.to(torch.uint8), "audio": mel}])[0]["frames"]
        path = str(tmp_path / "autr.pt2")
        torch.export.save(export_program(model, (frames, mel)), path)
        exported = torch.export.load(path).module()(frames, mel)
    assert eager.shape == (5, 4, 64, 64)  # class scores, channel 0 background
    own = torch.stack([f["sem_seg"] for f in own])
    assert (eager - own).abs().max() < 1e-5 and (exported - eager).abs().max() < 1e-4
    assert torch.equal(exported.argmax(1), own.argmax(1))  # the same label maps


# ----------------------------------------------------------------------------- AVS-Synth semantic
def test_avs_synth_semantic_is_read_by_the_avss_loader(tmp_path):
    from .test_train import ROOT

    root = str(tmp_path / "avs_synth_semantic")
    sizes = {"v1s": {"train": 1, "test": 1}, "v1m": {"test": 1}, "v2": {"train": 2}}
    argv = ["--semantic", "--root", root, "--media", "procedural", "--seed", "2"]
    argv += ["--s4-train-masks", "first"]
    for label in ("v1s", "v1m", "v2"):
        for split in ("train", "val", "test"):
            argv += [f"--{label}-{split}", str(sizes[label].get(split, 0))]
    runpy.run_path(os.path.join(ROOT, "datasets", "prepare_avs_synth.py"))["main"](argv)
    with pytest.raises(FileExistsError):  # never replaced without --overwrite
        generate_avs_synth_semantic(root, sizes, SynthConfig(media="procedural"), progress=False)
    register_avss_dataset("avs_synth_semantic_tiny_train", root, ("v1s", "v1m", "v2"), "train")
    dicts = DatasetCatalog.get("avs_synth_semantic_tiny_train")
    classes = MetadataCatalog.get("avs_synth_semantic_tiny_train").stuff_classes
    assert classes[0] == "background" and len(classes) == 9  # 8 procedural categories
    assert [len(d["file_names"]) for d in dicts] == [5, 10, 10]
    assert dicts[0]["sem_seg_file_names"][1:] == [None] * 4  # "first": v1s train frame 0 only
    infos = {json.loads(line)["uid"]: json.loads(line) for line in open(f"{root}/clip_info.jsonl")}
    labelled = set()
    for d in dicts:
        info = infos[d["clip_id"].split("/")[1]]
        for k, path in enumerate(d["sem_seg_file_names"]):
            if path is None:
                continue
            found = {classes[c] for c in np.unique(read_color_label(path, len(classes)))}
            sounding = {o["category"] for o in info["objects"] if o["sounding"] and o["on"][k]}
            assert found - {"background"} <= sounding  # silent objects and seconds: background
            labelled |= found
    assert len(labelled - {"background"}) >= 2
    cfg = _avss_cfg(
        "MODEL.AUTR.NUM_CLASSES",
        8,
        "DATASETS.TRAIN",
        ("avs_synth_semantic_tiny_train",),
    )
    x = AVSClipDatasetMapper(cfg, True)(dicts[0])
    assert x["frame_valid"].sum() == 5 and int(x["masks"].max()) <= 8


# ----------------------------------------------------------------------------- tools
def test_visualize_and_demo_on_a_semantic_model(avss_root, tmp_path):
    from detectron2.checkpoint import DetectionCheckpointer

    from autr_d2.engine import setup_cfg
    from tools import demo, visualize

    from .test_train import ROOT, TINY

    cfg_file = os.path.join(ROOT, "configs", "avs_synth", "semantic", "autr_R18.yaml")
    opts = [*TINY, "MODEL.AUTR.NUM_CLASSES", "70", "MODEL.AUTR.NUM_QUERIES", "3"]
    opts += ["INPUT.AUDIO_CACHE_DIR", "", "DATASETS.TRAIN", "()", "DATASETS.TEST", "()"]
    DetectionCheckpointer(build_model(setup_cfg(cfg_file, opts)), str(tmp_path)).save("m")
    opts += ["MODEL.WEIGHTS", str(tmp_path / "m.pth")]
    out = tmp_path / "vis"
    args = ["--config-file", cfg_file, "--dataset", "avss_tiny_all_test"]
    parse = visualize.get_parser().parse_args
    visualize.main(parse([*args, "--clips", "v2/vidE_0_10000", "--output", str(out), *opts]))
    strip = np.asarray(Image.open(out / "v2_vidE_0_10000_strip.png"))
    # frames | ground truth | prediction of 224-px frames, 10 columns, then the legend
    assert strip.shape[1] == 10 * 224 + 9 * 2 and strip.shape[0] > 3 * 224 + 2 * 2
    with Image.open(out / "v2_vidE_0_10000_overlay.gif") as gif:
        assert gif.n_frames == 10
    with pytest.raises(SystemExit, match="semantic"):
        visualize.main(parse([*args, "--pred-dir", str(out), "--output", str(tmp_path / "p")]))
    clip = f"{avss_root}/v2/vidE_0_10000"
    argv = ["--config-file", cfg_file, "--frames", f"{clip}/frames", "--audio", f"{clip}/audio.wav"]
    argv += ["--quiet", "--output", str(tmp_path / "d")]
    summary = demo.main(demo.get_parser().parse_args([*argv, *opts]))
    labels = sorted(os.listdir(tmp_path / "d" / "labels"))
    assert len(labels) == 10 and isinstance(summary["classes_shown"], list)
    rgb = np.asarray(Image.open(tmp_path / "d" / "labels" / labels[3]))
    assert rgb.shape == (H, W, 3)  # the frame's size, in the AVSS colour code
    assert set(map(tuple, rgb.reshape(-1, 3))) <= set(map(tuple, avss_palette()))
    assert os.path.isfile(tmp_path / "d" / "legend.png")

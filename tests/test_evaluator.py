"""AVSEvaluator against a hand-computed case (empty ground truth, per-frame best thresholds)."""

import numpy as np
import pytest
import torch
from detectron2.data import DatasetCatalog
from PIL import Image

from autr_d2.evaluation import AVSEvaluator, frame_f_curve
from autr_d2.evaluation.avs_evaluator import frame_attention_stats, frame_object_stats

from .conftest import object_map_clip

# Hand computation (4x4 frames, beta^2 = 0.3):
#  A1: gt = 2x2 block; prob .9 on it, .6 on 2 more pixels -> J = 4/6
#      F = 1.3*(2/3)/(0.3*2/3+1) = 0.722222 for thr <= .6, 1 for .6 < thr <= .9
#  A2: empty gt, all-zero prediction -> J = 1, not used for F
#  B1: gt = 1 px with prob .3, a wrong px with prob .7 -> J = 0
#      F = 1.3*.5/(.15+1) = 0.565217 for thr <= .3, 0 above
#  B2: empty gt, 4 px predicted .8 -> J = 12/16
#  C1, C2: empty gt, empty prediction -> J = 1 each; a group of C alone has no F frame -> 0
F_A, F_B = 0.722222222, 0.565217391
M_J = (4 / 6 + 1 + 0 + 0.75 + 1 + 1) / 6


def _frames():
    a1g = np.zeros((4, 4))
    a1g[:2, :2] = 1
    a1p = a1g * 0.9
    a1p[3, 0] = a1p[3, 1] = 0.6
    b1g = np.zeros((4, 4))
    b1g[3, 3] = 1
    b1p = np.zeros((4, 4))
    b1p[3, 3], b1p[0, 0] = 0.3, 0.7
    b2p = np.zeros((4, 4))
    b2p[1, :] = 0.8
    z = np.zeros((4, 4))
    return {"A": [(a1g, a1p), (z, z)], "B": [(b1g, b1p), (z, b2p)], "C": [(z, z), (z, z)]}


@pytest.fixture
def case(tmp_path):
    inputs, outputs = [], []
    for cid, frames in _frames().items():
        paths, preds = [], []
        for k, (g, p) in enumerate(frames):
            path = str(tmp_path / "gt_masks" / "test" / cid / f"{cid}_{k + 1}.png")
            (tmp_path / "gt_masks" / "test" / cid).mkdir(parents=True, exist_ok=True)
            Image.fromarray((g * 255).astype(np.uint8)).save(path)
            paths.append(path)
            pt = torch.tensor(p, dtype=torch.float32)
            preds.append({"sem_seg": torch.stack([1 - pt, pt])})
        inputs.append(
            {
                "clip_id": cid,
                "category": "cat" + cid,
                "sem_seg_file_names": paths,
                "file_names": paths,
            }
        )
        outputs.append({"frames": preds})
    name = f"avs_eval_case_{tmp_path.name}"
    DatasetCatalog.register(name, lambda: [{"clip_id": c} for c in ("A", "B", "C")])
    yield name, inputs, outputs, tmp_path
    DatasetCatalog.remove(name)


def _run(name, inputs, outputs, group, **kw):
    ev = AVSEvaluator(name, distributed=False, f_group_size=group, **kw)
    ev.reset()
    for i, o in zip(inputs, outputs):
        ev.process([i], [o])
    return ev.evaluate()["avs"]


def test_hand_computed_metrics(case):
    name, inputs, outputs, _ = case
    res = _run(name, inputs, outputs, group=4)
    assert res["M_J"] == pytest.approx(100 * M_J, abs=1e-4)
    assert res["M_F"] == pytest.approx(100 * (F_A + F_B) / 2, abs=1e-4)  # one group
    assert res["M_F_per_frame"] == pytest.approx(100 * (1 + F_B) / 2, abs=1e-4)
    assert res["frames"] == 6 and res["frames_F"] == 2 and res["clips"] == 3
    # predicted pixels: A1 6, B1 1 (0.7), B2 4 of 6 frames x 16 pixels
    assert res["fg_pixels"] == pytest.approx(100 * 11 / 96, abs=1e-6)
    assert res["M_J/catB"] == pytest.approx(100 * 0.75 / 2, abs=1e-4)
    # groups of 2 clips: [A, B] and [C]; C has no frame with a mask and scores 0 (official code)
    res2 = _run(name, inputs, outputs, group=2)
    assert res2["M_F"] == pytest.approx(100 * (F_A + F_B) / 4, abs=1e-4)
    res1 = _run(name, inputs, outputs, group=1)
    assert res1["M_F"] == pytest.approx(100 * (1 + F_B + 0) / 3, abs=1e-4)


def test_processing_order_does_not_change_groups(case):
    name, inputs, outputs, _ = case
    a = _run(name, inputs, outputs, group=2)
    b = _run(name, inputs[::-1], outputs[::-1], group=2)
    assert a == b


def test_f_curve_matches_brute_force():
    rng = np.random.default_rng(0)
    prob = torch.tensor(rng.random((9, 7)))
    gt = torch.tensor(rng.random((9, 7)) > 0.6)
    curve = frame_f_curve(prob, gt)
    thr = np.linspace(0, 1 - 1e-10, 255)
    for k in (0, 50, 128, 254):
        pred = prob.numpy() >= thr[k]
        tp = (pred & gt.numpy()).sum()
        prec, rec = tp / (pred.sum() + 1e-20), tp / (gt.numpy().sum() + 1e-20)
        f = 1.3 * prec * rec / (0.3 * prec + rec) if prec + rec > 0 else 0.0
        assert curve[k].item() == pytest.approx(f, abs=1e-9)
    assert frame_f_curve(prob, torch.zeros(9, 7)) is None


def test_wrong_size_prediction_is_an_error_and_masks_are_saved(case):
    name, inputs, outputs, tmp = case
    res = _run(name, inputs, outputs, group=4, output_dir=str(tmp / "out"), save_pred_masks=True)
    saved = np.asarray(Image.open(tmp / "out" / "pred_masks" / "test" / "A" / "A_1.png"))
    assert saved.max() == 255 and (saved == 255).sum() == 6 and res["frames"] == 6
    bad = [{"frames": [{"sem_seg": torch.zeros(2, 5, 5)}] * 2}] + outputs[1:]
    with pytest.raises(ValueError, match="A_1.png.*prediction"):
        _run(name, inputs, bad, group=4)


def test_frame_object_stats_by_hand():
    objects = np.zeros((4, 6), np.int64)
    objects[:, :2] = 1  # 8 px, sounding
    objects[:, 4:] = 2  # 8 px, silent
    pred = np.zeros((4, 6), bool)
    pred[:, 1:5] = True  # 4 px on 1, 8 px on background, 4 px on 2: a tie, the lower id wins
    assert frame_object_stats(pred, objects, {1}) == (True, 4, 16)
    pred[0, 5] = True  # 5 px on the silent object: it is the one picked
    assert frame_object_stats(pred, objects, {1}) == (False, 5, 17)
    only_bg = np.zeros((4, 6), bool)
    only_bg[:, 2:4] = True  # nothing on an object: no pick
    assert frame_object_stats(only_bg, objects, {1}) == (False, 0, 8)
    assert frame_object_stats(np.zeros((4, 6), bool), objects, {1, 2}) == (False, 0, 0)


def test_frame_attention_stats_by_hand():
    objects = np.zeros((4, 6), np.int64)
    objects[:, :2] = 1  # sounding
    objects[:, 4:] = 2  # silent
    # a 2 x 3 attention map: its cells' centres fall on rows 1, 3 and columns 1 (object 1),
    # 3 (background) and 5 (object 2)
    attn = np.array([[0.1, 0.2, 0.2], [0.3, 0.1, 0.1]])
    on, off, found = frame_attention_stats(attn, objects, {1})
    assert (on, off, found) == (pytest.approx(0.4), pytest.approx(0.3), True)
    attn = np.array([[0.0, 0.0, 0.5], [0.2, 0.1, 0.2]])
    on, off, found = frame_attention_stats(attn, objects, {1})
    assert (on, off, found) == (pytest.approx(0.2), pytest.approx(0.7), False)
    # per pixel, not in total: object 2 has more attention in all but object 1 more per cell
    big = np.zeros((4, 6), np.int64)
    big[:, :2] = 1
    big[:, 2:] = 2  # 4 cells of 6
    attn = np.array([[0.2, 0.1, 0.1], [0.2, 0.2, 0.2]])
    assert frame_attention_stats(attn, big, {1}) == (pytest.approx(0.4), pytest.approx(0.6), True)
    # no object under any cell centre: nothing found
    tiny = np.zeros((4, 6), np.int64)
    tiny[0, 0] = 1
    assert frame_attention_stats(attn, tiny, {1})[2] is False


def test_attention_diagnostics_through_the_evaluator(tmp_path):
    """MODEL.AUTR.TEST.RETURN_ATTENTION's maps, scored per frame for the top sound-score query:
    clip 0 attends to and picks the sounding object; clip 1 picks the silent one, attending to
    the sounding one through its top query."""
    ids = np.zeros((8, 8), np.uint8)
    ids[:4, :4] = 1  # sounds in both clips
    ids[4:, 4:] = 2  # silent
    dicts, outputs = [], []
    for c in range(2):
        dicts.append(object_map_clip(str(tmp_path), f"c{c}", ids, [[True, True], [False, False]]))
        pred = torch.tensor(ids == (1 if c == 0 else 2), dtype=torch.float32)
        attn = torch.zeros(2, 3, 2, 2)  # [T, N_q, h, w]: 2 x 2 cells over the 8 x 8 frame
        attn[:, 0, 1, 1] = 1.0  # query 0 looks at object 2's cell
        attn[:, 1, 0, 0] = 1.0  # query 1 looks at object 1's cell
        attn[:, 2] = 0.25
        scores = torch.tensor([[0.1, 0.9, 0.0]] * 2)  # query 1 sounds
        outputs.append(
            {
                "frames": [{"sem_seg": torch.stack([1 - pred, pred])}] * 2,
                "attention": attn,
                "sound_scores": scores,
            }
        )
    name = "hand_made_attention_split"
    DatasetCatalog.register(name, lambda: dicts)
    try:
        res = _run(name, dicts, outputs, group=4)
        plain = _run(name, dicts, [{"frames": o["frames"]} for o in outputs], group=4)
    finally:
        DatasetCatalog.remove(name)
    assert res["picks_sounding"] == pytest.approx(50.0)
    assert res["attn_on_sounding"] == pytest.approx(100.0)
    assert res["attn_on_silent"] == pytest.approx(0.0)
    assert res["attn_finds_sounding"] == pytest.approx(100.0)
    assert res["attn_finds_when_missed"] == pytest.approx(100.0)  # clip 1's frames
    assert "attn_on_sounding" not in plain  # no attention returned: no attention diagnostics
    assert plain["picks_sounding"] == res["picks_sounding"]

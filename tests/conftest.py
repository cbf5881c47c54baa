import os

import numpy as np
import pytest
import torch

import autr_d2  # noqa: F401  (registers datasets and the model)
from autr_d2.data.synth import SynthConfig, generate_avs_synth

TINY_SIZES = {
    "s4": {"train": 6, "val": 2, "test": 4, "test_unseen": 2, "test_openset": 2},
    "ms3": {"train": 4, "val": 0, "test": 2, "test_unseen": 0, "test_openset": 0},
}


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory):
    """A tiny AVS-Synth tree (procedural media) in AVSBench's exact layout, with AVSBench's S4
    protocol (train masks for frame 1 only)."""
    root = str(tmp_path_factory.mktemp("data") / "avs_synth")
    cfg = SynthConfig(seed=3, media="procedural", s4_train_masks="first")
    generate_avs_synth(root, ("s4", "ms3"), TINY_SIZES, cfg, progress=False)
    return root


@pytest.fixture(scope="session")
def overfit_run():
    """A tiny model trained 60 steps to segment one clip's block: (model in eval mode, the clip,
    first loss, last loss). Trained once per session: the overfit test checks it, the precision
    and export tests use copies of it."""
    from detectron2.modeling import build_model
    from detectron2.utils.events import EventStorage

    torch.manual_seed(0)
    model = build_model(tiny_cfg("MODEL.AUTR.DEC_LAYERS", 1))
    clip = random_clip()
    clip["masks"] = torch.zeros(5, 64, 64, dtype=torch.uint8)
    clip["masks"][:, 16:40, 20:48] = 1
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    losses = []
    with EventStorage():
        for _ in range(60):
            loss = sum(model([clip]).values())
            losses.append(loss.item())
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval(), clip, losses[0], losses[-1]


# Under pytest-xdist (`make test` runs 2 workers) the workers share the cores instead of each
# running torch on all of them.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    torch.set_num_threads(
        max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    )


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)


def tiny_cfg(*opts):
    """The small AVS-Synth config made tinier (64 px, 2 decoder layers) for fast tests."""
    from autr_d2.engine import setup_cfg

    base = [
        "MODEL.AUTR.HIDDEN_DIM",
        64,
        "MODEL.AUTR.DIM_FEEDFORWARD",
        64,
        "MODEL.AUTR.NHEADS",
        2,
        "MODEL.AUTR.DEC_LAYERS",
        2,
        "MODEL.AUTR.MASK_DIM",
        16,
        "INPUT.SIZE_TRAIN",
        64,
        "INPUT.SIZE_TEST",
        64,
        "MODEL.AUDIO.WIDTH_MULT",
        0.125,
        "MODEL.AUDIO.FC_DIM",
        32,
        "DATALOADER.NUM_WORKERS",
        0,
        "SOLVER.IMS_PER_BATCH",
        2,
        # the audio-category loss needs the training dataset's labels; its tests turn it on
        "MODEL.AUDIO.CATEGORY_WEIGHT",
        0.0,
    ]
    return setup_cfg(
        os.path.join(os.path.dirname(__file__), "..", "configs", "avs_synth", "s4_autr_R18.yaml"),
        base + list(opts),
    )


def random_clip(h=64, w=64, t=5, annotated=(1, 1, 1, 1, 1)):
    return {
        "frames": torch.randint(0, 255, (t, 3, h, w), dtype=torch.uint8),
        "audio": torch.randn(t, 1, 96, 64),
        "masks": (torch.rand(t, h, w) > 0.7).to(torch.uint8),
        "annotated": torch.tensor(annotated, dtype=torch.bool),
    }


def object_map_clip(folder, clip_id, ids, on):
    """An AVS-Synth-like clip dict written under `folder`: every frame shows the object map `ids`
    (``[H,W]`` uint8, 0 = background, k = object k), ``on[k-1][t]`` says whether object k sounds
    in frame t, the ground truth of a frame is its sounding objects, and the frames are the mask
    PNGs themselves (the evaluator never reads a frame)."""
    from PIL import Image

    frames, insts = [], []
    for t in range(len(on[0])):
        gt = np.isin(ids, [k + 1 for k, o in enumerate(on) if o[t]]).astype(np.uint8) * 255
        for lst, arr, kind in ((insts, ids, "i"), (frames, gt, "m")):
            lst.append(os.path.join(folder, f"{kind}{clip_id}_{t}.png"))
            Image.fromarray(arr.astype(np.uint8)).save(lst[-1])
    return {
        "file_names": frames,
        "sem_seg_file_names": list(frames),
        "instance_file_names": insts,
        "clip_id": clip_id,
        "category": "x",
        "height": ids.shape[0],
        "width": ids.shape[1],
        # which object sounds: the object diagnostics need it
        "info": {"objects": [{"on": list(o)} for o in on]},
    }


@pytest.fixture(scope="session")
def predictor():
    """An untrained tiny AuTRPredictor (tests of the demo replace its model with ``fake``)."""
    from autr_d2.predictor import AuTRPredictor

    return AuTRPredictor(tiny_cfg(), allow_untrained=True)


@pytest.fixture
def fake(monkeypatch, predictor):
    """Patch the model: every frame sounds (probability 1); calls are recorded as (frame
    indices read from the stripes, log-mel)."""
    calls = []

    from autr_d2.predictor import AuTRPredictor
    from tools import demo

    from .test_demo_video import read_stripes

    def fake_call(self, frames, log_mel):
        calls.append(([read_stripes(f) for f in frames], log_mel.clone()))
        t, (h, w) = len(frames), frames[0].shape[:2]
        sem = torch.stack([torch.zeros(h, w), torch.ones(h, w)])
        return {
            "frames": [{"sem_seg": sem} for _ in range(t)],
            "sound_scores": torch.full((t, 3), 0.7),
        }

    monkeypatch.setattr(AuTRPredictor, "__call__", fake_call)
    monkeypatch.setattr(demo, "AuTRPredictor", lambda cfg: predictor)
    return calls

"""Detectron2 on this platform: imports, a built-in model trains on CPU, clear errors for ops."""

import subprocess
import sys

import pytest
import torch
from detectron2.config import get_cfg
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage


def test_detectron2_modules_import():
    import detectron2.engine  # noqa: F401
    import detectron2.evaluation  # noqa: F401
    import detectron2.utils.visualizer  # noqa: F401


def test_builtin_d2_model_trains_one_step_on_cpu():
    cfg = get_cfg()
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.META_ARCHITECTURE = "SemanticSegmentor"
    cfg.MODEL.BACKBONE.NAME = "build_resnet_fpn_backbone"
    cfg.MODEL.RESNETS.DEPTH = 18
    cfg.MODEL.RESNETS.RES2_OUT_CHANNELS = 64
    cfg.MODEL.RESNETS.OUT_FEATURES = ["res2", "res3", "res4", "res5"]
    cfg.MODEL.FPN.IN_FEATURES = ["res2", "res3", "res4", "res5"]
    cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES = 3
    model = build_model(cfg)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    batch = [
        {
            "image": torch.randint(0, 255, (3, 96, 128), dtype=torch.uint8),
            "sem_seg": torch.randint(0, 3, (96, 128)),
        }
    ]
    with EventStorage():
        losses = model(batch)
    loss = sum(losses.values())
    assert torch.isfinite(loss)
    before = [p.detach().clone() for p in model.parameters()]
    loss.backward()
    opt.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_missing_compiled_op_raises_clear_importerror():
    from detectron2 import _C

    with pytest.raises(ImportError, match="compiled Detectron2 op.*install_detectron2.py"):
        _C.nms_rotated  # noqa: B018
    # the CUDA path of DeformConv calls this one; it must name itself
    with pytest.raises(ImportError, match="deform_conv_forward"):
        _C.deform_conv_forward  # noqa: B018


def test_importing_twice_registers_nothing_twice():
    code = (
        "import importlib\n"
        "from detectron2.data import DatasetCatalog\n"
        "import autr_d2\n"
        "n = len(DatasetCatalog.list())\n"
        "import autr_d2.data.datasets as d\n"
        "importlib.reload(d)\n"
        "import autr_d2\n"
        "assert len(DatasetCatalog.list()) == n, (n, len(DatasetCatalog.list()))\n"
        "assert 'avsbench_s4_train' in DatasetCatalog.list()\n"
        "print('ok')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "ok" in res.stdout

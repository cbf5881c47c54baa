"""How weights reach AuTR: building a model reads no file; the checkpointer does.

* :class:`AuTRCheckpointer` is Detectron2's ``DetectionCheckpointer`` with four differences:
  ``.pkl`` files go through a restricted unpickler (``utils/safe_pickle.py``) and every other file
  through ``torch.load(weights_only=True)`` (a downloaded file cannot run code, whatever the torch
  version or TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD), a missing or non-checkpoint file is an error that
  says so (instead of an assertion, or torch's advice to unpickle it unsafely), and with
  ``strict=True`` a checkpoint that leaves model parameters unset is an error listing them
  (inference must not run half-random models).
* :func:`load_pretrained_components` reads the component files of the config
  (``MODEL.TIMM.WEIGHTS``: an ImageNet backbone; ``MODEL.AUDIO.WEIGHTS``: a VGGish) when training
  starts from them. ``MODEL.WEIGHTS`` is loaded afterwards and wins where it overlaps. Evaluation
  and inference never read them: a trained checkpoint already holds every weight.
"""

import logging
import os
import re

import torch
from detectron2.checkpoint import DetectionCheckpointer
from torch.nn.parallel import DistributedDataParallel

from .utils.safe_pickle import UnsafePickleError, safe_load

__all__ = [
    "AuTRCheckpointer",
    "CheckpointError",
    "build_checkpointer",
    "load_pretrained_components",
]
logger = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """A checkpoint cannot be used; the message names the file and the problem."""


# the pretrained files the configs name, and how to make each (MODEL_ZOO.md has the sources)
_MAKE = {
    "R-50-torchvision.pkl": "python tools/convert_pretrained.py resnet50 resnet50-19c8e357.pth "
    "pretrained/R-50-torchvision.pkl (torchvision's ImageNet ResNet-50, also in AVSBench's "
    "pretrained_backbones)",
    "pvt_v2_b5.pth": "download pvt_v2_b5.pth (PVT-v2 release or AVSBench's "
    "pretrained_backbones) into pretrained/, then python tools/convert_pretrained.py timm "
    "pretrained/pvt_v2_b5.pth --name pvt_v2_b5",
    "vggish-10086976.pth": "download vggish-10086976.pth (torchvggish release or AVSBench's "
    "pretrained_backbones) into pretrained/",
    "tf_efficientnet_lite0.pth": "python tools/convert_pretrained.py efficientnet_lite0 "
    "pretrained/tf_efficientnet_lite0.pth",
}


def how_to_make(path):
    """How to make a pretrained file a config names ('' for an unknown name)."""
    name = os.path.basename(path)
    if name.startswith(("vggish_bank", "vggish_avs_synth")):
        return f"python tools/pretrain_audio.py --output {path}"
    if name.startswith("effl0_audio_bank"):  # not the default preset: say which one
        return (
            f"python tools/pretrain_audio.py --output {path} --preset effl0 "
            "--imagenet pretrained/tf_efficientnet_lite0.pth"
        )
    return _MAKE.get(name, "")


_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class AuTRCheckpointer(DetectionCheckpointer):
    """``DetectionCheckpointer`` with a restricted unpickler, readable errors, and (``strict``)
    no silently missing parameters.

    Args:
        model, save_dir, checkpointables: as DetectionCheckpointer.
        strict: a loaded checkpoint must set every parameter and buffer of the model.
    """

    strict = False

    def __init__(self, model, save_dir="", *, strict=False, **checkpointables):
        super().__init__(model, save_dir, **checkpointables)
        self.strict = strict

    def _load_file(self, filename):
        if not os.path.isfile(filename):
            raise CheckpointError(f"{filename}: checkpoint not found")
        if filename.endswith(".pkl"):
            try:
                data = safe_load(filename)
            except UnsafePickleError as e:
                raise CheckpointError(str(e)) from None
            except Exception as e:
                raise CheckpointError(
                    f"{filename}: not a Detectron2 .pkl checkpoint ({type(e).__name__}: {e})"
                ) from None
            if not isinstance(data, dict):
                raise CheckpointError(f"{filename}: not a checkpoint (holds a {type(data)})")
            if "model" in data and "__author__" in data:
                self.logger.info(f"Reading a file from '{data['__author__']}'")
                return data
            if "blobs" in data:  # Caffe2 / Detectron1 model zoo
                data = data["blobs"]
            data = {k: v for k, v in data.items() if not k.endswith("_momentum")}
            return {"model": data, "__author__": "Caffe2", "matching_heuristics": True}
        try:
            # weights_only explicitly: torch's default is a full unpickle before 2.6 and under
            # TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1, and Detectron2 / fvcore pass nothing
            loaded = torch.load(filename, map_location="cpu", weights_only=True)
        except Exception as e:  # torch's own message advises weights_only=False: never do that
            text = _ANSI.sub("", str(e))
            bad = _GLOBAL.search(text)
            if bad:
                raise CheckpointError(
                    f"{filename}: refused to load, it names {bad.group(1)}, which a checkpoint "
                    "never needs (loading it could run code); only tensors, numbers and plain "
                    "containers are read"
                ) from None
            raise CheckpointError(
                f"{filename}: not a PyTorch checkpoint this project can read safely "
                f"({type(e).__name__}: {text.strip().splitlines()[0][:200]})"
            ) from None
        if not isinstance(loaded, dict):
            raise CheckpointError(f"{filename}: not a checkpoint (holds a {type(loaded)})")
        if filename.endswith(".pyth"):  # pycls, as Detectron2 reads it
            if not isinstance(loaded.get("model_state"), dict):
                raise CheckpointError(f"{filename}: a .pyth (pycls) file without 'model_state'")
            state = {
                k: v for k, v in loaded["model_state"].items() if not k.endswith("batches_tracked")
            }
            return {"model": state, "__author__": "pycls", "matching_heuristics": True}
        return loaded if "model" in loaded else {"model": loaded}

    def load(self, path, checkpointables=None):
        ddp = isinstance(self.model, DistributedDataParallel)  # Detectron2 syncs the ranks then
        if path and not ddp and "://" not in path and not os.path.isfile(path):
            # fvcore: a bare AssertionError
            how = how_to_make(path)
            raise CheckpointError(
                f"{path}: checkpoint not found (MODEL.WEIGHTS or --resume)"
                + (f"; make it with: {how}" if how else "")
            )
        try:
            return super().load(path, checkpointables)
        except OSError as e:  # DDP: "File ... not found on main worker", on every rank; a URL
            raise CheckpointError(f"{path}: cannot load the checkpoint ({e})") from None

    def _load_model(self, checkpoint):
        incompatible = super()._load_model(checkpoint)
        if self.strict and incompatible is not None and incompatible.incorrect_shapes:
            k, got, want = incompatible.incorrect_shapes[0]
            n = len(incompatible.incorrect_shapes)
            raise CheckpointError(
                f"the checkpoint's {k} has shape {tuple(got)}, the model's {tuple(want)}"
                + (f" ({n - 1} more parameters differ in shape)" if n > 1 else "")
                + ": it was trained with another config (e.g. another MODEL.AUTR setting). Use "
                "the config it was trained with, or set MODEL.ALLOW_PARTIAL_WEIGHTS True to run "
                "with those parameters left at random"
            )
        if self.strict and incompatible is not None and incompatible.missing_keys:
            keys = incompatible.missing_keys
            raise CheckpointError(
                f"the checkpoint leaves {len(keys)} model parameters unset "
                f"({', '.join(keys[:6])}{' ...' if len(keys) > 6 else ''}): it was trained "
                "with another config (e.g. another subset or MODEL.AUTR setting). Use the config "
                "it was trained with, or set MODEL.ALLOW_PARTIAL_WEIGHTS True to run anyway"
            )
        return incompatible


def build_checkpointer(cfg, model, save_dir="", for_inference=True, **checkpointables):
    """The checkpointer every tool uses; for inference it is strict unless
    ``MODEL.ALLOW_PARTIAL_WEIGHTS``."""
    strict = for_inference and not cfg.MODEL.ALLOW_PARTIAL_WEIGHTS
    return AuTRCheckpointer(model, save_dir, strict=strict, **checkpointables)


_HOW = {
    "MODEL.TIMM.WEIGHTS": "tools/convert_pretrained.py efficientnet_lite0 writes the offline "
    "ImageNet EfficientNet-Lite0; other timm models: their released classification state dict",
    "MODEL.AUDIO.WEIGHTS": "tools/pretrain_audio.py writes one offline; on AVSBench use the "
    "released vggish-10086976.pth",
}


def _need(path, key):
    if not os.path.isfile(path):
        how = how_to_make(path)
        raise CheckpointError(
            f"{key} {path}: file not found. It is read when training starts ("
            + (f"make it with: {how}" if how else _HOW[key])
            + f'); set {key} "" to start that part from random weights'
        )


def load_pretrained_components(model, cfg):
    """Load ``MODEL.TIMM.WEIGHTS`` into a timm backbone and ``MODEL.AUDIO.WEIGHTS`` into the
    audio encoder, where the config names them. Called once when training starts from scratch
    (not on --resume, not for evaluation). Returns the paths loaded."""
    from .modeling.audio_encoder import load_audio_weights
    from .modeling.backbone import D2TimmBackbone, load_timm_weights

    model = getattr(model, "module", model)  # DDP
    loaded = []
    backbone = getattr(model, "backbone", None)
    if cfg.MODEL.TIMM.WEIGHTS and isinstance(backbone, D2TimmBackbone):
        _need(cfg.MODEL.TIMM.WEIGHTS, "MODEL.TIMM.WEIGHTS")
        try:
            missing, _ = load_timm_weights(backbone, cfg.MODEL.TIMM.WEIGHTS)
        except ValueError as e:  # names the file: a sentence for the tools, not a traceback
            raise CheckpointError(f"MODEL.TIMM.WEIGHTS {e}") from None
        if missing:
            raise CheckpointError(
                f"MODEL.TIMM.WEIGHTS {cfg.MODEL.TIMM.WEIGHTS}: has no weights for "
                f"{', '.join(missing[:4])} ... of {backbone.model_name} (MODEL.TIMM.NAME)"
            )
        loaded.append(cfg.MODEL.TIMM.WEIGHTS)
    audio = getattr(model, "audio_encoder", None)
    if cfg.MODEL.AUDIO.WEIGHTS and audio is not None:
        _need(cfg.MODEL.AUDIO.WEIGHTS, "MODEL.AUDIO.WEIGHTS")
        try:
            load_audio_weights(audio, cfg.MODEL.AUDIO.WEIGHTS)
        except ValueError as e:
            raise CheckpointError(f"MODEL.AUDIO.WEIGHTS {e}") from None
        loaded.append(cfg.MODEL.AUDIO.WEIGHTS)
    for p in loaded:
        logger.info(f"loaded pretrained weights {p}")
    return loaded

"""AuTR's inference graph as a plain tensor function, for ``torch.export`` and ONNX.

:class:`AuTRInferenceGraph` maps one clip (T frames already at the model's input size, and its
log-mel) to per-frame sounding probabilities (a semantic model, ``MODEL.AUTR.NUM_CLASSES`` > 0: to
per-frame class scores), exactly as the model's own inference does for a clip whose frames need no
padding (sides that are multiples of 32). ``tools/export_model.py`` exports it.
"""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .modeling.fold_bn import fold_batchnorm

__all__ = ["AuTRInferenceGraph", "example_inputs", "export_program", "inference_graph"]


class AuTRInferenceGraph(nn.Module):
    """frames ``[T,3,H,W]`` float RGB 0-255 (H, W multiples of 32), log-mel ``[T,1,96,64]`` ->
    ``[T,H,W]`` probability that each pixel belongs to a sounding object, or for a semantic model
    ``[T,C+1,H,W]`` class scores (channel 0 background; the argmax is the label map)."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.eval()

    def forward(self, frames, mel):
        m = self.model
        x = (frames - m.pixel_mean) / m.pixel_std
        out, _ = m.infer_tensors(x, mel if m.audio_encoder is not None else None, 1)
        maps = F.interpolate(m.frame_maps(out), size=frames.shape[-2:], mode="bilinear")
        if m.num_classes:
            return maps
        return maps[:, 0].clamp(0, 1)


def example_inputs(cfg, seed=0):
    """A random clip at the config's test size: (frames, log-mel)."""
    g = torch.Generator().manual_seed(seed)
    t, s = cfg.INPUT.SAMPLING_FRAME_NUM, cfg.INPUT.SIZE_TEST
    if s % 32:
        raise ValueError(f"INPUT.SIZE_TEST {s}: the exported graph needs a multiple of 32")
    frames = torch.randint(0, 256, (t, 3, s, s), generator=g).float()
    return frames, torch.randn(t, 1, 96, 64, generator=g)


def inference_graph(model):
    """The :class:`AuTRInferenceGraph` to export: with MODEL.FOLD_BN on, of a copy of the model
    whose encoders have their BatchNorms folded (as the model's own inference runs them)."""
    if model._folded is not None:
        model = copy.deepcopy(model).eval()
        for name in model._folded:
            fold_batchnorm(getattr(model, name))
    return AuTRInferenceGraph(model)


def export_program(model, inputs):
    """``torch.export`` of the inference graph for inputs of these shapes."""
    with torch.no_grad():
        return torch.export.export(inference_graph(model), inputs)

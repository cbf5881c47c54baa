"""What every audio-visual segmentation model here shares: the frames normalised, the visual
backbone and the audio encoder run as the paper runs pretrained encoders (frozen ones in eval mode
and without autograd, BatchNorm folded when no gradient is needed, channels-last on request).

:class:`AVEncoders` is the base of the meta-architectures (AuTR in ``meta_arch.py``, TPAVI in
``baselines/tpavi.py``): a subclass builds its heads on ``self.backbone`` / ``self.audio_encoder``
and calls :meth:`preprocess`, :meth:`encode_visual` and :meth:`audio_embedding`.
"""

import torch
from detectron2.structures import ImageList
from torch import nn

from .fold_bn import FoldedCopy

__all__ = ["AVEncoders", "is_frozen"]

ENCODERS = ("backbone", "audio_encoder")


def is_frozen(module):
    params = list(module.parameters()) if module is not None else []
    return bool(params) and not any(p.requires_grad for p in params)


class AVEncoders(nn.Module):
    """Holds ``backbone`` (a Detectron2 Backbone) and ``audio_encoder`` (log-mel ``[N,1,96,64]``
    -> ``[N,E]``, or None) and runs them.

    Args:
        num_frames: T, the frames of a clip.
        pixel_mean, pixel_std: RGB normalisation (0-255 scale).
        channels_last: the encoders' conv stacks in channels-last memory format.
        fold_bn: run eval-mode encoders with their BatchNorms folded (modeling/fold_bn.py).
    """

    def __init__(self, backbone, audio_encoder, num_frames, pixel_mean, pixel_std,
                 channels_last=False, fold_bn=True):  # fmt: skip
        super().__init__()
        self.backbone = backbone
        self.audio_encoder = audio_encoder
        self.num_frames = num_frames
        self.channels_last = channels_last
        if channels_last:
            for part in (backbone, audio_encoder):
                if part is not None:
                    part.to(memory_format=torch.channels_last)
        self.register_buffer("pixel_mean", torch.tensor(pixel_mean).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(pixel_std).view(-1, 1, 1), False)
        # Encoders whose every parameter is frozen (the paper's pretrained backbone and VGGish)
        # stay in eval mode (fixed BatchNorm statistics) and run without autograd.
        self.frozen = tuple(name for name in ENCODERS if is_frozen(getattr(self, name)))
        # BatchNorm-folded copies of the encoders, outside the state dict (modeling/fold_bn.py)
        self._folded = None
        if fold_bn:
            self._folded = {
                name: FoldedCopy(getattr(self, name), name)
                for name in ENCODERS
                if getattr(self, name) is not None
            }

    def train(self, mode=True):
        super().train(mode)
        for name in getattr(self, "frozen", ()):
            getattr(self, name).eval()
        return self

    @property
    def device(self):
        return self.pixel_mean.device

    def preprocess(self, batched_inputs):
        """Clips' uint8 "frames" ``[T,3,H,W]`` -> an ImageList of the ``B*T`` normalised frames
        (clip-major: clip 0's T frames, then clip 1's)."""
        frames = [x["frames"].to(self.device) for x in batched_inputs]
        for x, f in zip(batched_inputs, frames):
            if f.shape[0] != self.num_frames:
                raise ValueError(
                    f"clip {x.get('clip_id', '?')}: {f.shape[0]} frames, model "
                    f"expects {self.num_frames} (INPUT.SAMPLING_FRAME_NUM)"
                )
        flat = [(f.float() - self.pixel_mean) / self.pixel_std for clip in frames for f in clip]
        return ImageList.from_tensors(flat, self.backbone.size_divisibility)

    def gather_audio(self, batched_inputs):
        """The clips' log-mel ``[B*T,1,96,64]``, or None without an audio encoder."""
        if self.audio_encoder is None:
            return None
        return torch.cat([x["audio"] for x in batched_inputs]).to(self.device)

    def encode_visual(self, images):
        """``[B*T,3,H,W]`` normalised -> the backbone's feature dict (no autograd when frozen)."""
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return self._run_encoder("backbone", images)

    def audio_embedding(self, mel):
        """log-mel ``[B*T,1,96,64]`` -> the audio encoder's ``[B*T, E]`` embedding."""
        if self.channels_last:
            mel = mel.contiguous(memory_format=torch.channels_last)
        return self._run_encoder("audio_encoder", mel)

    def _run_encoder(self, name, x):
        """An encoder on its input: without autograd when frozen, and then (or at inference) its
        BatchNorm-folded copy when it is in eval mode and MODEL.FOLD_BN is on."""
        module = getattr(self, name)
        grad = torch.is_grad_enabled() and name not in self.frozen
        with torch.set_grad_enabled(grad):
            if grad or module.training or self._folded is None:
                return module(x)
            return self._folded[name](x)

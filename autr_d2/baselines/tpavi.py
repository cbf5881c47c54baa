"""TPAVI, AVSBench's fusion-based baseline (ECCV 2022), as a second meta-architecture.

``MODEL.META_ARCHITECTURE "TPAVI"`` runs on the project's backbones (Detectron2 ResNet, timm
PVT-v2 / EfficientNet-Lite), audio encoder (VGGish), mapper, evaluators and trainer, so AuTR and
TPAVI compare on the same data, encoders and budget. The model (layers: ``tpavi_layers.py``):

1. the backbone's four maps (strides 4-32) each go through an ``ASPPSum`` to 256 channels;
2. at ``MODEL.TPAVI.STAGES`` a ``TPAVIBlock`` lets every position of the clip's T maps interact
   with the T frames' audio embeddings (``VA``) and/or with every other position (``VV``; both:
   the same block twice, averaged, as the official code does);
3. four ``FeatureFusionBlock``s decode coarse to fine (x2 each) and ``OutputHead`` gives one
   logit per pixel at the input size.

Losses, the official recipes: per-pixel binary cross-entropy on the annotated frames (AVSBench S4
annotates frame 1 of a training clip, MS3 all five) plus, with ``AVM_WEIGHT`` > 0 (the MS3
recipe: 0.5), the audio-visual matching loss: per stage, KL(softmax(audio) || softmax(mean of
the ReLU'd map weighted by the pooled prediction)), summed over the frames, averaged over stages.
Semantic mode (``NUM_CLASSES`` C > 0, the AVSS release's 71-way head): per-pixel cross-entropy
over C + 1 classes on the annotated frames.

Inference, per clip as AuTR returns it: T dicts ``{"sem_seg": [2,H,W]}`` (background /
sounding probability; semantic mode ``[C+1,H,W]`` class probabilities) and "sound_scores"
``[T,1]``, the frame's highest sounding probability (TPAVI has no per-object sound score; the
demo's caption shows this number).
"""

import torch
import torch.nn.functional as F
from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY, build_backbone

from ..modeling.audio_encoder import build_audio_encoder
from ..modeling.encoders import AVEncoders
from ..utils.precision import autocast, resolve_dtype
from .tpavi_layers import ASPPSum, FeatureFusionBlock, OutputHead, TPAVIBlock

__all__ = ["TPAVI"]


@META_ARCH_REGISTRY.register()
class TPAVI(AVEncoders):
    """Input and output as :class:`~autr_d2.meta_arch.AuTR` (one dict per clip from
    AVSClipDatasetMapper; T per-frame ``sem_seg`` maps out)."""

    @configurable
    def __init__(
        self,
        *,
        backbone,
        audio_encoder,
        in_features,
        num_frames,
        pixel_mean,
        pixel_std,
        channels=256,
        stages=(0, 1, 2, 3),
        va=True,
        vv=False,
        avm_weight=0.0,
        avm_stages=(0, 1, 2, 3),
        align_bias=True,
        num_classes=0,
        precision=torch.float32,
        channels_last=False,
        fold_bn=True,
    ):
        """
        Args:
            backbone: a Detectron2 Backbone with the four ``in_features`` (strides 4-32).
            audio_encoder: log-mel -> ``[N, E]`` (VGGish), or None (no audio: TPAVI's VA off).
            in_features: the backbone's maps, fine to coarse.
            channels: the decoder's width (the official 256).
            stages: which maps (0 = stride 4) get a TPAVI block; va / vv: audio-visual and/or
                visual-visual interaction there.
            avm_weight: the audio-visual matching loss's weight (0: off; AVSBench MS3: 0.5),
                over ``avm_stages``.
            align_bias: the audio projection's bias (False for the AVSS release's weights).
            num_classes: 0 binary; C > 0 a C + 1-way semantic head.
            precision: dtype inference runs in (MODEL.PRECISION).
        """
        super().__init__(
            backbone, audio_encoder, num_frames, pixel_mean, pixel_std, channels_last, fold_bn
        )
        if stages and not (va or vv):
            raise ValueError("MODEL.TPAVI.STAGES needs VA or VV (or no stages)")
        if audio_encoder is None:
            va = False
        self.in_features = list(in_features)
        self.stages, self.va, self.vv = tuple(stages), va, vv
        self.avm_weight, self.avm_stages = avm_weight, tuple(avm_stages)
        self.num_classes = num_classes
        self.precision = precision
        shapes = backbone.output_shape()
        audio_dim = audio_encoder.output_dim if audio_encoder is not None else 128
        # official names: conv1..conv4 (stride 4..32), path4..path1, tpavi_b1..b4, output_conv
        for k, name in enumerate(self.in_features, start=1):
            setattr(self, f"conv{k}", ASPPSum(shapes[name].channels, channels))
        for k in (4, 3, 2, 1):
            setattr(self, f"path{k}", FeatureFusionBlock(channels))
        for i in self.stages:
            block = TPAVIBlock(channels, channels // 2, audio_dim, align_bias)
            setattr(self, f"tpavi_b{i + 1}", block)
        self.output_conv = OutputHead(channels, num_classes + 1 if num_classes else 1)
        self.train(self.training)

    @classmethod
    def from_config(cls, cfg):
        t = cfg.MODEL.TPAVI
        backbone = build_backbone(cfg)
        mean, std = cfg.MODEL.PIXEL_MEAN, cfg.MODEL.PIXEL_STD
        if cfg.MODEL.TIMM.PRETRAINED_NORM and hasattr(backbone, "pixel_mean"):
            mean, std = backbone.pixel_mean, backbone.pixel_std
        return {
            "backbone": backbone,
            "audio_encoder": build_audio_encoder(cfg) if cfg.MODEL.AUDIO.ENABLED else None,
            "in_features": t.IN_FEATURES,
            "num_frames": cfg.INPUT.SAMPLING_FRAME_NUM,
            "pixel_mean": mean,
            "pixel_std": std,
            "channels": t.CHANNELS,
            "stages": t.STAGES,
            "va": t.VA,
            "vv": t.VV,
            "avm_weight": t.AVM_WEIGHT,
            "avm_stages": t.AVM_STAGES,
            "align_bias": t.ALIGN_BIAS,
            "num_classes": t.NUM_CLASSES,
            "precision": resolve_dtype(cfg.MODEL.PRECISION, cfg.MODEL.DEVICE),
            "channels_last": cfg.MODEL.CHANNELS_LAST,
            "fold_bn": cfg.MODEL.FOLD_BN,
        }

    # ------------------------------------------------------------------ the network
    def _tpavi(self, m, i, audio):
        """TPAVI at stage i on ``[B*T,C,H,W]`` -> (the map, the projected audio or None)."""
        t = self.num_frames
        x = m.view(-1, t, *m.shape[1:]).permute(0, 2, 1, 3, 4)  # [B, C, T, H, W]
        block = getattr(self, f"tpavi_b{i + 1}")
        outs, a = [], None
        if self.vv:
            outs.append(block(x)[0])
        if self.va:
            z, a = block(x, audio.view(-1, t, audio.shape[-1]))
            outs.append(z)
        z = outs[0] if len(outs) == 1 else (outs[0] + outs[1]) / 2
        return z.permute(0, 2, 1, 3, 4).reshape(m.shape), a

    def network(self, images, mel):
        """Normalised frames ``[B*T,3,H,W]`` and log-mel -> (logits ``[B*T,K,H,W]``, the maps
        after TPAVI and ReLU as the official code returns them, the projected audio per stage)."""
        features = self.encode_visual(images)
        audio = self.audio_embedding(mel) if self.va else None
        maps = [getattr(self, f"conv{k}")(features[n]) for k, n in enumerate(self.in_features, 1)]
        projected = [None] * len(maps)
        for i in self.stages:
            maps[i], projected[i] = self._tpavi(maps[i], i, audio)
        d = self.path4(maps[3])
        d = self.path3(d, maps[2])
        d = self.path2(d, maps[1])
        d = self.path1(d, maps[0])
        return self.output_conv(d), [F.relu(m) for m in maps], projected

    # ------------------------------------------------------------------ training
    def losses(self, logits, maps, projected, batched_inputs):
        h, w = logits.shape[-2:]
        gt = torch.zeros((logits.shape[0], h, w), dtype=torch.long, device=self.device)
        flat = torch.cat([x["masks"] for x in batched_inputs]).to(self.device)
        gt[:, : flat.shape[1], : flat.shape[2]] = flat
        annotated = torch.cat([x["annotated"] for x in batched_inputs]).to(self.device)
        logits = logits.float()
        if not annotated.any():  # keep the graph connected (DDP), contribute zero
            return {"loss_bce": logits.sum() * 0.0}
        if self.num_classes:
            losses = {"loss_ce": F.cross_entropy(logits[annotated], gt[annotated])}
        else:
            losses = {
                "loss_bce": F.binary_cross_entropy_with_logits(
                    logits[annotated, 0], gt[annotated].float()
                )
            }
        if self.avm_weight > 0 and self.va:
            losses["loss_avm"] = self.avm_weight * self._avm(logits, maps, projected)
        return losses

    def _avm(self, logits, maps, projected):
        """AVSBench MS3's audio-visual matching loss: per stage, KL(P_audio || P_visual) over the
        channels, summed over frames; averaged over stages."""
        terms = []
        for i in self.avm_stages:
            if projected[i] is None:
                continue
            v_map = maps[i].float()
            pooled = torch.sigmoid(F.adaptive_avg_pool2d(logits[:, :1], v_map.shape[-2:]))
            v = (v_map * pooled).mean((2, 3))  # [B*T, C]
            a = projected[i].reshape(v.shape).float()
            terms.append(F.kl_div(F.log_softmax(v, 1), F.softmax(a, 1), reduction="sum"))
        return torch.stack(terms).mean() if terms else logits.sum() * 0.0

    # ------------------------------------------------------------------ forward
    def forward(self, batched_inputs):
        images = self.preprocess(batched_inputs)
        mel = self.gather_audio(batched_inputs)
        if self.training:
            logits, maps, projected = self.network(images.tensor, mel)
            return self.losses(logits, maps, projected, batched_inputs)
        with autocast(images.tensor.device, self.precision):
            logits = self.network(images.tensor, mel)[0]
        return self.inference(logits.float(), images, batched_inputs)

    def inference(self, logits, images, batched_inputs):
        """Per clip: T ``{"sem_seg": ...}`` at the clip's "height"/"width" and "sound_scores"."""
        t = self.num_frames
        results = []
        for i, x in enumerate(batched_inputs):
            img_h, img_w = images.image_sizes[i * t]
            m = logits[i * t : (i + 1) * t, :, :img_h, :img_w]
            out_h, out_w = x.get("height", img_h), x.get("width", img_w)
            if (out_h, out_w) != (img_h, img_w):
                m = F.interpolate(m, size=(out_h, out_w), mode="bilinear", align_corners=False)
            if self.num_classes:
                probs = m.softmax(1)
                fg = 1 - probs[:, 0]
            else:
                fg = m[:, 0].sigmoid()
                probs = torch.stack([1 - fg, fg], 1)
            results.append(
                {
                    "frames": [{"sem_seg": probs[k]} for k in range(t)],
                    "sound_scores": fg.flatten(1).amax(1, keepdim=True),
                }
            )
        return results

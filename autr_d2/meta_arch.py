"""AuTR: the audio-aware query-enhanced transformer, registered in META_ARCH_REGISTRY."""

import logging

import torch
import torch.nn.functional as F
from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY, build_backbone
from torch import nn

from .modeling.audio_encoder import build_audio_encoder
from .modeling.av_encoder import AudioVisualEncoder
from .modeling.criterion import AVSCriterion
from .modeling.encoders import AVEncoders
from .modeling.mask_head import build_mask_head
from .modeling.matcher import HungarianMatcher
from .modeling.pixel_decoder import build_pixel_decoder
from .modeling.query_decoder import AudioQueryDecoder
from .modeling.semantic import semantic_scores
from .modeling.sound_head import build_sound_head
from .utils.precision import autocast, resolve_dtype

__all__ = ["AuTR"]
logger = logging.getLogger(__name__)


def _to_float(x):
    if isinstance(x, dict):
        return {k: _to_float(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_to_float(v) for v in x]
    return x.float()


def _num_categories(cfg):
    """MODEL.AUDIO.NUM_CATEGORIES, or when 0 the number of categories that the metadata of
    DATASETS.TRAIN lists (registration sets it; a tree generated after registration, whose
    metadata lists none, is counted from its clips). None when the training data is not there
    (inference: the classifier is a training loss only, so the model is built without it)."""
    from detectron2.data import MetadataCatalog

    from .data.datasets import DatasetLayoutError, train_categories

    if cfg.MODEL.AUDIO.NUM_CATEGORIES:
        return cfg.MODEL.AUDIO.NUM_CATEGORIES
    cats = set()
    for name in cfg.DATASETS.TRAIN:
        listed = MetadataCatalog.get(name).get("categories", None)
        try:
            cats |= set(listed or train_categories([name]))
        except DatasetLayoutError:
            logger.info(
                f"MODEL.AUDIO.CATEGORY_WEIGHT: {name} is not on disk, so its categories are "
                "unknown; the audio-category classifier (a training loss) is not built"
            )
            return None
    if len(cats) < 2:
        raise ValueError(
            "MODEL.AUDIO.CATEGORY_WEIGHT > 0 with MODEL.AUDIO.NUM_CATEGORIES 0 takes the number "
            f"of categories from the metadata of DATASETS.TRAIN {tuple(cfg.DATASETS.TRAIN)}, "
            f"which lists {len(cats)} ({sorted(cats)}); the loss needs clips labelled with at "
            "least 2 categories (MS3 has none: set the weight to 0), or set NUM_CATEGORIES"
        )
    return len(cats)


def _check_semantic(cfg):
    """MODEL.AUTR.NUM_CLASSES must fit the class list of every AVSS dataset of the config."""
    from detectron2.data import MetadataCatalog

    c = cfg.MODEL.AUTR.NUM_CLASSES
    if c and cfg.MODEL.AUDIO.CATEGORY_WEIGHT > 0:
        raise ValueError(
            "MODEL.AUDIO.CATEGORY_WEIGHT > 0 names a clip category from its audio (AVSBench S4); "
            f"with MODEL.AUTR.NUM_CLASSES {c} the class loss names every sounding object: set "
            "the category weight to 0"
        )
    for name in (*cfg.DATASETS.TRAIN, *cfg.DATASETS.TEST):
        meta = MetadataCatalog.get(name)
        classes = meta.get("stuff_classes", None)
        if meta.get("evaluator_type", None) != "avss" or classes is None:
            continue
        if c != len(classes) - 1:
            raise ValueError(
                f"{name} has {len(classes) - 1} object classes + background (label2idx.json), "
                f"but MODEL.AUTR.NUM_CLASSES is {c}: set it to {len(classes) - 1}"
            )


def check_config(cfg, training=False):
    """Config combinations the AuTR model refuses, checked before anything is built or logged:
    the semantic class count against the datasets' (``setup_cfg``), and for training the labels
    of the audio-category loss (``tools/train_net.py``, before it starts). Raises ValueError
    naming the key."""
    if cfg.MODEL.META_ARCHITECTURE != "AuTR":
        return
    _check_semantic(cfg)
    if training:
        from .data.clip_mapper import _category_labels
        from .data.datasets import DatasetLayoutError

        try:
            _category_labels(cfg)
        except DatasetLayoutError:  # the data is not there: the trainer says so in its turn
            pass


def _unpad(x, valid):
    """``[n_valid, ...]`` -> ``[len(valid), ...]`` with zeros where ``valid`` is False."""
    out = x.new_zeros((valid.numel(), *x.shape[1:]))
    out[valid] = x
    return out


@META_ARCH_REGISTRY.register()
class AuTR(AVEncoders):
    """Segments the objects that make the sound in each frame of a clip.

    Input (one dict per clip, from AVSClipDatasetMapper): "frames" uint8 ``[T,3,H,W]``,
    "audio" ``[T,1,96,64]``, and for training "masks" ``[T,H,W]`` + "annotated" ``[T]``;
    optional "height"/"width" (output size).

    Output (eval, one dict per clip): "frames": T dicts ``{"sem_seg": [2,H,W]}`` (background /
    sounding probability), "sound_scores" ``[T,N_q]``, "query_masks" ``[T,N_q,h,w]`` (stride-4
    probabilities) and, when enabled, "attention" ``[T,N_q,h_l,w_l]``.

    Semantic mode (a class head, MODEL.AUTR.NUM_CLASSES = C > 0): "masks" hold class indices,
    "sem_seg" is ``[C+1,H,W]`` (channel 0 background, c = class c; modeling/semantic.py) and
    "query_classes" ``[T,N_q,C+1]`` the queries' class probabilities. Padded clips (INPUT.PAD_CLIPS,
    "frame_valid" ``[T]``) run the encoders on their real frames only, and no audio token of a
    padded second is attended; the outputs of padded frames are left to the caller to ignore.
    """

    @configurable
    def __init__(
        self,
        *,
        backbone,
        audio_encoder,
        audio_proj,
        av_encoder,
        pixel_decoder,
        query_decoder,
        mask_head,
        sound_head,
        criterion,
        in_features,
        dec_in_features,
        num_frames,
        pixel_mean,
        pixel_std,
        deep_supervision=True,
        multi_source=False,
        sound_threshold=0.5,
        return_attention=False,
        audio_classifier=None,
        category_weight=0.0,
        precision=torch.float32,
        channels_last=False,
        fold_bn=True,
        class_head=None,
        semantic_foreground="sound",
    ):
        """
        NOTE: this interface is experimental.

        Args:
            backbone: a D2 Backbone with the ``in_features`` outputs.
            audio_encoder: log-mel ``[N,1,96,64]`` -> ``[N,E]``, or None (visual only).
            audio_proj: E -> d_model (None when there is no audio).
            av_encoder, pixel_decoder, query_decoder, mask_head: the AuTR parts.
            sound_head: (queries ``[N,Q,d_model]``, audio ``[N,d_model]`` or None) -> ``[N,Q]``
                logits (see modeling/sound_head.py).
            criterion: AVSCriterion (its weight_dict weighs the losses).
            in_features: backbone features used, fine to coarse.
            dec_in_features: memory levels of the decoder, coarse first.
            num_frames: T.
            pixel_mean, pixel_std: RGB normalisation (0-255 scale).
            deep_supervision: supervise every decoder layer.
            multi_source, sound_threshold: inference rule (see MODEL.AUTR.TEST).
            return_attention: also output the decoder's last cross-attention maps.
            audio_classifier: E -> number of training categories, trained with
                ``category_weight`` times the cross-entropy of each clip's "category_id"
                (``loss_audio_category``); None = no such loss (the paper).
            precision: dtype inference runs in (autocast; MODEL.PRECISION).
            channels_last: run the backbone and the audio encoder's conv stacks in channels-last
                memory format (faster oneDNN convolutions on CPUs; MODEL.CHANNELS_LAST).
            fold_bn: run the backbone and the audio encoder with their eval-mode BatchNorms folded
                into the convolutions whenever they run without autograd (inference, frozen
                encoders in training); MODEL.FOLD_BN.
            class_head: queries ``[N,Q,d_model]`` -> ``[N,Q,C+1]`` class logits (semantic mode),
                or None (binary).
            semantic_foreground: "sound" or "class", see MODEL.AUTR.TEST.SEMANTIC_FOREGROUND.
        """
        super().__init__(
            backbone, audio_encoder, num_frames, pixel_mean, pixel_std, channels_last, fold_bn
        )
        self.audio_proj = audio_proj
        self.av_encoder = av_encoder
        self.pixel_decoder = pixel_decoder
        self.query_decoder = query_decoder
        self.mask_head = mask_head
        self.sound_head = sound_head
        self.criterion = criterion
        self.in_features = list(in_features)
        self.dec_in_features = list(dec_in_features)
        self.deep_supervision = deep_supervision
        self.multi_source = multi_source
        self.sound_threshold = sound_threshold
        self.return_attention = return_attention
        self.audio_classifier = audio_classifier
        self.category_weight = category_weight
        self.precision = precision
        self.class_head = class_head
        self.num_classes = 0 if class_head is None else class_head.out_features - 1
        if semantic_foreground not in ("sound", "class"):
            raise ValueError(
                "MODEL.AUTR.TEST.SEMANTIC_FOREGROUND must be 'sound' or 'class', got "
                f"{semantic_foreground!r}"
            )
        self.semantic_foreground = semantic_foreground
        self.train(self.training)

    @classmethod
    def from_config(cls, cfg):
        a = cfg.MODEL.AUTR
        _check_semantic(cfg)
        backbone = build_backbone(cfg)
        shapes = backbone.output_shape()
        missing = [n for n in a.IN_FEATURES if n not in shapes]
        if missing:
            raise ValueError(
                f"MODEL.AUTR.IN_FEATURES {missing} not produced by the backbone "
                f"(it gives {sorted(shapes)}); check MODEL.RESNETS.OUT_FEATURES"
            )
        dim = a.HIDDEN_DIM
        pixel_decoder = build_pixel_decoder(cfg, shapes)
        av_features = a.IN_FEATURES if pixel_decoder.fuses_finest else a.IN_FEATURES[1:]
        for key in ("ENC_IN_FEATURES", "DEC_IN_FEATURES"):
            if not set(a.get(key)) <= set(av_features):
                raise ValueError(
                    f"MODEL.AUTR.{key} {list(a.get(key))} must be among the AV encoder's maps "
                    f"{list(av_features)} (MODEL.AUTR.PIXEL_DECODER {a.PIXEL_DECODER!r} keeps "
                    f"{a.IN_FEATURES[0]} out of it)"
                )
        mean, std = cfg.MODEL.PIXEL_MEAN, cfg.MODEL.PIXEL_STD
        if cfg.MODEL.TIMM.PRETRAINED_NORM:
            if not hasattr(backbone, "pixel_mean"):
                raise ValueError(
                    "MODEL.TIMM.PRETRAINED_NORM needs a timm backbone (MODEL.BACKBONE.NAME "
                    f"build_timm_backbone), got {cfg.MODEL.BACKBONE.NAME}"
                )
            mean, std = backbone.pixel_mean, backbone.pixel_std
        use_audio = cfg.MODEL.AUDIO.ENABLED
        query_init = a.QUERY_INIT
        if not use_audio and query_init == "audio":
            logger.info("MODEL.AUDIO.ENABLED is False: queries fall back to QUERY_INIT 'learned'")
            query_init = "learned"
        sound_head = a.SOUND_HEAD
        if not use_audio and sound_head == "audio_match":
            logger.info("MODEL.AUDIO.ENABLED is False: SOUND_HEAD falls back to 'linear'")
            sound_head = "linear"
        audio_encoder = build_audio_encoder(cfg) if use_audio else None
        audio_proj = nn.Linear(audio_encoder.output_dim, dim) if use_audio else None
        audio_classifier = None
        n_cat = _num_categories(cfg) if use_audio and cfg.MODEL.AUDIO.CATEGORY_WEIGHT > 0 else None
        if n_cat is not None:
            if n_cat < 2:
                raise ValueError(
                    f"MODEL.AUDIO.CATEGORY_WEIGHT > 0 needs MODEL.AUDIO.NUM_CATEGORIES >= 2 "
                    f"(got {n_cat})"
                )
            audio_classifier = nn.Linear(audio_encoder.output_dim, n_cat)
        weight_dict = {
            "loss_mask": a.MASK_WEIGHT,
            "loss_dice": a.DICE_WEIGHT,
            "loss_sound": a.SOUND_WEIGHT,
        }
        if a.NUM_CLASSES:
            weight_dict["loss_class"] = a.CLASS_WEIGHT
        n_terms = len(weight_dict)
        if a.DEEP_SUPERVISION:
            for i in range(a.DEC_LAYERS - 1):
                weight_dict.update({f"{k}_{i}": v for k, v in list(weight_dict.items())[:n_terms]})
        matcher = HungarianMatcher(
            a.COST_SOUND, a.COST_MASK, a.COST_DICE, a.FOCAL_ALPHA, a.FOCAL_GAMMA, a.COST_CLASS
        )
        return {
            "backbone": backbone,
            "audio_encoder": audio_encoder,
            "audio_proj": audio_proj,
            "av_encoder": AudioVisualEncoder(
                {n: shapes[n].channels for n in av_features},
                a.ENC_IN_FEATURES,
                dim,
                a.NHEADS,
                a.DIM_FEEDFORWARD,
                a.ENC_LAYERS,
                a.DROPOUT,
                cfg.INPUT.SAMPLING_FRAME_NUM,
                use_audio,
            ),
            "pixel_decoder": pixel_decoder,
            "query_decoder": AudioQueryDecoder(
                dim,
                a.NHEADS,
                a.DIM_FEEDFORWARD,
                a.DEC_LAYERS,
                a.DROPOUT,
                a.NUM_QUERIES,
                len(a.DEC_IN_FEATURES),
                query_init,
            ),
            "mask_head": build_mask_head(cfg),
            "sound_head": build_sound_head(cfg, sound_head),
            "criterion": AVSCriterion(
                matcher,
                weight_dict,
                a.FOCAL_ALPHA,
                a.FOCAL_GAMMA,
                a.SOUND_FOCAL_ALPHA,
                a.SOUND_FOCAL_GAMMA,
                a.NUM_CLASSES,
                a.NO_OBJECT_WEIGHT,
            ),
            "in_features": a.IN_FEATURES,
            "dec_in_features": a.DEC_IN_FEATURES,
            "num_frames": cfg.INPUT.SAMPLING_FRAME_NUM,
            "pixel_mean": mean,
            "pixel_std": std,
            "deep_supervision": a.DEEP_SUPERVISION,
            "multi_source": a.TEST.MULTI_SOURCE,
            "sound_threshold": a.TEST.SOUND_THRESHOLD,
            "return_attention": a.TEST.RETURN_ATTENTION,
            "audio_classifier": audio_classifier,
            "category_weight": cfg.MODEL.AUDIO.CATEGORY_WEIGHT,
            "precision": resolve_dtype(cfg.MODEL.PRECISION, cfg.MODEL.DEVICE),
            "channels_last": cfg.MODEL.CHANNELS_LAST,
            "fold_bn": cfg.MODEL.FOLD_BN,
            "class_head": nn.Linear(dim, a.NUM_CLASSES + 1) if a.NUM_CLASSES else None,
            "semantic_foreground": a.TEST.SEMANTIC_FOREGROUND,
        }

    # ------------------------------------------------------------------ stages (also used by
    # tools/benchmark.py for the per-component time split; preprocess, encode_visual: AVEncoders)
    def encode_audio(self, mel):
        """log-mel ``[B*T,1,96,64]`` -> (``[B*T, d_model]`` audio tokens, the encoder's
        ``[B*T, E]`` embedding), or (None, None) without audio."""
        if self.audio_encoder is None:
            return None, None
        emb = self.audio_embedding(mel)
        return self.audio_proj(emb), emb

    def audio_category_loss(self, embedding, batched_inputs):
        """embedding ``[B*T, E]`` -> weighted cross-entropy of every frame's audio against its
        clip's "category_id" (-1 = unknown, ignored)."""
        if any("category_id" not in x for x in batched_inputs):
            raise KeyError(
                "MODEL.AUDIO.CATEGORY_WEIGHT > 0 but the inputs have no 'category_id' (the "
                "training mapper adds it; a custom mapper must too)"
            )
        t = self.num_frames
        labels = torch.tensor(
            [x["category_id"] for x in batched_inputs for _ in range(t)], device=self.device
        )
        logits = self.audio_classifier(embedding)
        if not (labels >= 0).any():  # keep the graph connected (DDP), contribute zero
            return logits.sum() * 0.0
        return self.category_weight * F.cross_entropy(logits, labels, ignore_index=-1)

    def predict(self, q, mask_features, audio):
        out = {"sound": self.sound_head(q, audio), "masks": self.mask_head(q, mask_features)}
        if self.class_head is not None:
            out["classes"] = self.class_head(q)
        return out

    def decode(self, images, mel, num_clips, return_attention=False, valid=None):
        """The network on tensors: normalised frames ``[B*T,3,H,W]`` and log-mel ``[B*T,1,96,64]``
        (None without audio) -> (per-layer query outputs ``[B*T,N_q,D]``, mask features, audio
        tokens ``[B*T,D]`` or None, the audio encoder's embedding or None, attention or None).
        ``valid`` ``[B*T]`` bool (padded clips): the encoders see the real frames only; padded
        frames get zero features and their audio tokens are not attended."""
        t = self.num_frames
        if valid is not None:
            images, mel = images[valid], None if mel is None else mel[valid]
        features = self.encode_visual(images)
        audio, audio_embedding = self.encode_audio(mel)
        if valid is not None:
            features = {n: _unpad(features[n], valid) for n in self.in_features}
            if audio is not None:
                audio, audio_embedding = _unpad(audio, valid), _unpad(audio_embedding, valid)
        audio_tokens = None if audio is None else audio.view(num_clips, t, -1)
        fused = self.av_encoder(
            {n: features[n] for n in self.av_encoder.names},
            audio_tokens,
            t,
            None if valid is None else valid.view(num_clips, t),
        )
        # a map the AV encoder did not take (light_fpn's stride 4) reaches the decoder raw
        raw = {n: features[n] for n in self.in_features if n not in fused}
        mask_features, refined = self.pixel_decoder({**raw, **fused})
        memory = [refined[n] for n in self.dec_in_features]
        q_outs, attention = self.query_decoder(memory, audio, return_attention=return_attention)
        return q_outs, mask_features, audio, audio_embedding, attention

    def infer_tensors(self, images, mel, num_clips, return_attention=False, valid=None):
        """Inference on tensors -> ({"sound": ``[B*T,N_q]``, "masks": ``[B*T,N_q,h,w]``} logits in
        float32, attention or None); runs in MODEL.PRECISION (the export and the predictor use
        this too)."""
        with autocast(images.device, self.precision):
            q_outs, mask_features, audio, _, attention = self.decode(
                images, mel, num_clips, return_attention, valid
            )
            out = self.predict(q_outs[-1], mask_features, audio)
        return {k: v.float() for k, v in out.items()}, attention

    def gather_valid(self, batched_inputs):
        """``[B*T]`` bool of the real frames of padded clips ("frame_valid"), None when none is."""
        if not any("frame_valid" in x for x in batched_inputs):
            return None
        full = torch.ones(self.num_frames, dtype=torch.bool)
        valid = torch.cat([x.get("frame_valid", full).bool() for x in batched_inputs])
        return None if bool(valid.all()) else valid.to(self.device)

    def forward(self, batched_inputs):
        images = self.preprocess(batched_inputs)
        mel = self.gather_audio(batched_inputs)
        valid = self.gather_valid(batched_inputs)
        b, t = len(batched_inputs), self.num_frames
        if not self.training:
            outputs, attention = self.infer_tensors(
                images.tensor, mel, b, return_attention=self.return_attention, valid=valid
            )
            return self.inference(outputs, attention, images, batched_inputs)

        q_outs, mask_features, audio, audio_embedding, _ = self.decode(
            images.tensor, mel, b, valid=valid
        )
        outputs = self.predict(q_outs[-1], mask_features, audio)
        if self.deep_supervision:
            outputs["aux"] = [self.predict(q, mask_features, audio) for q in q_outs[:-1]]
        h, w = images.tensor.shape[-2:]
        gt = torch.zeros((b * t, h, w), dtype=torch.uint8, device=self.device)
        flat = torch.cat([x["masks"] for x in batched_inputs]).to(self.device)
        if self.num_classes and int(flat.max()) > self.num_classes:
            raise ValueError(
                f"a ground-truth class index is {int(flat.max())} in clips "
                f"{[x.get('clip_id', '?') for x in batched_inputs]}, but MODEL.AUTR.NUM_CLASSES "
                f"is {self.num_classes}"
            )
        gt[:, : flat.shape[1], : flat.shape[2]] = flat
        annotated = torch.cat([x["annotated"] for x in batched_inputs]).to(self.device)
        # the matcher and the losses in float32, whatever autocast SOLVER.AMP runs the net in
        with torch.autocast(self.device.type, enabled=False):
            outputs = _to_float(outputs)
            losses = self.criterion(outputs, gt, annotated)
            for k in list(losses):
                if k in self.criterion.weight_dict:
                    losses[k] = losses[k] * self.criterion.weight_dict[k]
                else:
                    losses.pop(k)
            if self.audio_classifier is not None:
                losses["loss_audio_category"] = self.audio_category_loss(
                    audio_embedding.float(), batched_inputs
                )
        return losses

    # ------------------------------------------------------------------ inference
    def frame_probability(self, sound, masks):
        """sound ``[N,Q]`` logits, masks ``[N,Q,h,w]`` logits -> ``[N,h,w]`` sounding prob."""
        scores, probs = sound.sigmoid(), masks.sigmoid()
        if not self.multi_source:
            best = scores.argmax(1)
            return probs[torch.arange(probs.shape[0]), best]
        keep = (scores > self.sound_threshold).to(probs.dtype)[..., None, None]
        return (probs * keep).amax(1)

    def frame_maps(self, outputs):
        """Per-frame maps at stride 4: binary mode ``[N,1,h,w]`` sounding probability, semantic
        mode ``[N,C+1,h,w]`` class scores (modeling/semantic.py). The export uses this too."""
        if self.class_head is None:
            return self.frame_probability(outputs["sound"], outputs["masks"])[:, None]
        fg = None
        if self.semantic_foreground == "sound":
            fg = self.frame_probability(outputs["sound"], outputs["masks"])
        return semantic_scores(outputs["classes"], outputs["masks"], fg)

    def inference(self, outputs, attention, images, batched_inputs):
        """Per frame ``{"sem_seg": ...}``: binary mode ``[2,H,W]`` (background / sounding
        probability), semantic mode ``[C+1,H,W]`` class scores (modeling/semantic.py)."""

        def binary(m):
            p = m[0].clamp(0, 1)
            return torch.stack([1 - p, p])

        sem_seg = binary if self.class_head is None else (lambda m: m)
        maps = self.frame_maps(outputs)
        return self._per_clip(maps, sem_seg, outputs, attention, images, batched_inputs)

    def _per_clip(self, maps, sem_seg, outputs, attention, images, batched_inputs):
        """``[B*T, K, h, w]`` stride-4 maps -> per clip: T dicts ``{"sem_seg": sem_seg(map)}`` at
        the clip's "height"/"width" (padding cut off), and the per-query outputs."""
        t = self.num_frames
        maps = F.interpolate(
            maps, size=images.tensor.shape[-2:], mode="bilinear", align_corners=False
        )
        results = []
        for i, x in enumerate(batched_inputs):
            img_h, img_w = images.image_sizes[i * t]
            out_h, out_w = x.get("height", img_h), x.get("width", img_w)
            m = maps[i * t : (i + 1) * t, :, :img_h, :img_w]
            if (out_h, out_w) != (img_h, img_w):
                m = F.interpolate(m, size=(out_h, out_w), mode="bilinear", align_corners=False)
            clip = slice(i * t, (i + 1) * t)
            res = {
                "frames": [{"sem_seg": sem_seg(m[k])} for k in range(t)],
                "sound_scores": outputs["sound"][clip].sigmoid(),
                "query_masks": outputs["masks"][clip].sigmoid(),
            }
            if "classes" in outputs:
                res["query_classes"] = outputs["classes"][clip].softmax(-1)
            if attention is not None:
                w, (h, wd) = attention
                res["attention"] = w[clip].reshape(t, -1, h, wd)
            results.append(res)
        return results

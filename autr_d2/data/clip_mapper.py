"""AVSClipDatasetMapper: one clip's dataset dict -> the tensors AuTR consumes."""

import copy
import logging
import os

import numpy as np
import torch
from detectron2.config import configurable
from detectron2.data import detection_utils as utils
from detectron2.data import transforms as T
from PIL import Image

from .audio import load_log_mel
from .audio_augment import augmented_log_mel, build_augmentation
from .datasets.avsbench import train_categories
from .palette import colors_to_labels

__all__ = ["AVSClipDatasetMapper", "ClipDataError", "read_color_label", "read_mask"]


class ClipDataError(ValueError):
    """A frame or mask of a clip is unreadable or inconsistent; the message names the file."""


def _read_frame(path, image_format):
    try:
        return utils.read_image(path, format=image_format)
    except Exception as e:  # PIL raises OSError/SyntaxError/ValueError for bad files
        raise ClipDataError(f"{path}: cannot read frame ({type(e).__name__}: {e})") from e


def read_mask(path):
    """A 0/255 mask PNG -> uint8 {0,1} ``[H, W]``.

    Values other than 0/255 (JPEG-like noise, anti-aliased edges, or a 0/1 file) are thresholded at
    128, the rule of AVSBench's S4 loader (PIL mode "1"); colour masks are converted to grey first.
    """
    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("L"))
    except Exception as e:
        raise ClipDataError(f"{path}: cannot read mask ({type(e).__name__}: {e})") from e
    return (arr >= 128).astype(np.uint8)


def read_color_label(path, num_classes, size=None):
    """An AVSS colour label PNG -> uint8 class indices ``[H, W]`` (data/palette.py; colours of no
    class are background). ``size`` (h, w): resize the colour image with PIL's NEAREST first, as
    AVSBench's avss ``color_dataloader.py`` does before decoding."""
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if size is not None and im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.NEAREST)
            arr = np.asarray(im)
    except Exception as e:
        raise ClipDataError(f"{path}: cannot read colour label ({type(e).__name__}: {e})") from e
    return colors_to_labels(arr, num_classes)


def _read_label(dataset_dict, path):
    """A frame's ground truth in the dataset's format: {0,1} mask, or AVSS class indices."""
    if dataset_dict.get("sem_seg_format", "binary") == "avss_rgb":
        return read_color_label(path, dataset_dict["num_classes"])
    return read_mask(path)


def _category_labels(cfg):
    """The training categories labelling MODEL.AUDIO.CATEGORY_WEIGHT's loss (() when off)."""
    if not (cfg.MODEL.AUDIO.ENABLED and cfg.MODEL.AUDIO.CATEGORY_WEIGHT > 0):
        return ()
    cats = train_categories(cfg.DATASETS.TRAIN)
    limit = cfg.MODEL.AUDIO.NUM_CATEGORIES or len(cats)  # 0: as many as the data has
    if len(cats) < 2 or len(cats) > limit:
        raise ValueError(
            f"MODEL.AUDIO.CATEGORY_WEIGHT > 0: DATASETS.TRAIN {tuple(cfg.DATASETS.TRAIN)} has "
            f"{len(cats)} clip categories ({', '.join(cats[:6])}{' ...' if len(cats) > 6 else ''})"
            f" but MODEL.AUDIO.NUM_CATEGORIES is {cfg.MODEL.AUDIO.NUM_CATEGORIES}: set it to "
            f"{len(cats)} or to 0 (counted from the data)"
            if len(cats) >= 2
            else f"MODEL.AUDIO.CATEGORY_WEIGHT > 0 needs clips labelled with at least 2 "
            f"categories; DATASETS.TRAIN {tuple(cfg.DATASETS.TRAIN)} has {len(cats)} ({cats}); "
            "MS3 has one, 'multi': set the weight to 0"
        )
    return cats


def _color_jitter(strength, image_format):
    """Brightness, contrast and saturation jitter of ``strength`` (0: none) as Detectron2
    augmentations; they change pixel values only, never the masks."""
    if strength == 0:
        return []
    if not 0 < strength < 1:
        raise ValueError(f"INPUT.COLOR_JITTER must be in [0, 1), got {strength}")
    if image_format != "RGB":
        # Detectron2's RandomSaturation weighs the channels as R, G, B
        raise ValueError(
            f"INPUT.COLOR_JITTER needs INPUT.FORMAT 'RGB' (saturation weighs the channels as "
            f"R, G, B), got {image_format!r}"
        )
    lo, hi = 1 - strength, 1 + strength
    return [T.RandomBrightness(lo, hi), T.RandomContrast(lo, hi), T.RandomSaturation(lo, hi)]


class AVSClipDatasetMapper:
    """Read and augment one clip.

    1. Read the T frames (all the same size) and the annotated masks (each the size of its frame).
    2. Sample ONE geometric augmentation on frame 1 and apply the same transform to every frame and
       mask of the clip (train: resize, optional scale jitter + crop, flip; test: resize).
    3. Return uint8 frames ``[T,3,H,W]``, log-mel audio ``[T,1,96,64]``, masks ``[T,H,W]`` in
       {0,1} (zeros where not annotated) and ``annotated`` ``[T]`` bool.

    AVSS clips (``sem_seg_format`` "avss_rgb") give class indices as masks (0 = background).
    With ``pad_clips``, a clip of n < T frames is padded to T, as AVSBench's avss loader pads
    to 10: frames, masks and log-mel of the padded seconds are zeros, they are not annotated, and
    ``frame_valid`` ``[T]`` bool marks the n real frames (the model leaves padded frames out).
    """

    @configurable
    def __init__(
        self,
        is_train=True,
        *,
        augmentations,
        image_format,
        num_frames,
        audio_cache_dir="",
        with_masks=True,
        categories=(),
        pad_clips=False,
        audio_augmentation=None,
    ):
        """
        Args:
            is_train: whether the mapper is used for training (only logged; behaviour follows
                the augmentations given).
            augmentations: D2 augmentations sampled once per clip.
            image_format: "RGB" or "BGR" order of the returned frames.
            num_frames: T; a clip with another number of frames is an error.
            audio_cache_dir: cache folder for wav -> log-mel conversions ("" = none).
            with_masks: read ground-truth masks (False for unlabelled inference).
            categories: when given, add "category_id" (the index of the clip's "category" in
                this list, -1 when absent) for the audio-category loss.
            pad_clips: pad clips of fewer than ``num_frames`` frames (and add "frame_valid");
                False: such a clip is an error.
            audio_augmentation: an :class:`~autr_d2.data.audio_augment.Augmentation` that each
                clip's sound file goes through before its log-mel is taken (the cache is not
                used); None: the sound as recorded.
        """
        self.is_train = is_train
        self.augmentations = T.AugmentationList(augmentations)
        self.image_format = image_format
        self.num_frames = num_frames
        self.audio_cache_dir = audio_cache_dir
        self.with_masks = with_masks
        self.category_index = {c: i for i, c in enumerate(categories)}
        self.pad_clips = pad_clips
        self.audio_augmentation = audio_augmentation
        logging.getLogger(__name__).info(
            f"AVSClipDatasetMapper ({'train' if is_train else 'test'}): {augmentations}"
            + (", audio augmentation" if audio_augmentation is not None else "")
        )

    @classmethod
    def from_config(cls, cfg, is_train=True):
        if is_train:
            size = cfg.INPUT.SIZE_TRAIN
            lo, hi = cfg.INPUT.SCALE_JITTER
            if (lo, hi) == (1.0, 1.0):
                augs = [T.Resize((size, size))]
            else:
                # fvcore pads masks with 0 (background) where the frame is padded
                augs = [T.ResizeScale(lo, hi, size, size), T.FixedSizeCrop((size, size))]
            if cfg.INPUT.RANDOM_FLIP == "horizontal":
                augs.append(T.RandomFlip(horizontal=True, vertical=False))
            augs += _color_jitter(cfg.INPUT.COLOR_JITTER, cfg.INPUT.FORMAT)
        else:
            augs = [T.Resize((cfg.INPUT.SIZE_TEST, cfg.INPUT.SIZE_TEST))]
        audio_aug = None
        if is_train and cfg.INPUT.AUDIO_AUGMENT > 0:
            audio_aug = build_augmentation(strength=cfg.INPUT.AUDIO_AUGMENT, time_stretch=False)
        return {
            "is_train": is_train,
            "augmentations": augs,
            "image_format": cfg.INPUT.FORMAT,
            "num_frames": cfg.INPUT.SAMPLING_FRAME_NUM,
            "audio_cache_dir": cfg.INPUT.AUDIO_CACHE_DIR,
            # The evaluator reads ground truth from disk at the original size.
            "with_masks": is_train,
            "categories": _category_labels(cfg) if is_train else (),
            "pad_clips": cfg.INPUT.PAD_CLIPS,
            "audio_augmentation": audio_aug,
        }

    def _read_clip(self, dataset_dict):
        files = dataset_dict["file_names"]
        if len(files) > self.num_frames or (len(files) < self.num_frames and not self.pad_clips):
            raise ClipDataError(
                f"clip {dataset_dict.get('clip_id')}: {len(files)} frames, "
                f"expected {self.num_frames}"
                + ("" if self.pad_clips else " (INPUT.PAD_CLIPS True pads shorter clips)")
            )
        mask_files = dataset_dict.get("sem_seg_file_names") or [None] * len(files)
        if len(mask_files) != len(files):
            raise ClipDataError(
                f"clip {dataset_dict.get('clip_id')}: {len(mask_files)} mask entries for "
                f"{len(files)} frames ({files[0]})"
            )
        frames = [_read_frame(f, self.image_format) for f in files]
        for f, im in zip(files[1:], frames[1:]):
            if im.shape != frames[0].shape:
                raise ClipDataError(
                    f"{f}: frame size {im.shape[1]}x{im.shape[0]} differs from the clip's first "
                    f"frame {files[0]} ({frames[0].shape[1]}x{frames[0].shape[0]})"
                )
        masks = [None] * len(files)
        if self.with_masks:
            for t, m in enumerate(mask_files):
                if m is None:
                    continue
                masks[t] = _read_label(dataset_dict, m)
                if masks[t].shape != frames[t].shape[:2]:
                    raise ClipDataError(
                        f"{m}: mask size {masks[t].shape[1]}x{masks[t].shape[0]} does not match "
                        f"its frame {files[t]} ({frames[t].shape[1]}x{frames[t].shape[0]})"
                    )
        return frames, masks

    def __call__(self, dataset_dict):
        dataset_dict = copy.deepcopy(dataset_dict)
        frames, masks = self._read_clip(dataset_dict)

        aug_input = T.AugInput(frames[0])
        transforms = self.augmentations(aug_input)  # sampled once, reused for the whole clip
        frames = [aug_input.image] + [transforms.apply_image(f) for f in frames[1:]]
        h, w = frames[0].shape[:2]
        out_masks = np.zeros((len(frames), h, w), dtype=np.uint8)
        annotated = np.zeros(len(frames), dtype=bool)
        for t, m in enumerate(masks):
            if m is not None:
                out_masks[t] = transforms.apply_segmentation(m)
                annotated[t] = True

        # Tensors cross process boundaries through shared memory; keep them compact (uint8).
        dataset_dict["frames"] = torch.as_tensor(
            np.ascontiguousarray(np.stack(frames).transpose(0, 3, 1, 2))
        )
        dataset_dict["masks"] = torch.as_tensor(out_masks)
        dataset_dict["annotated"] = torch.as_tensor(annotated)
        if self.category_index:
            dataset_dict["category_id"] = self.category_index.get(dataset_dict.get("category"), -1)
        if self.pad_clips:
            return self._pad(dataset_dict)
        dataset_dict["audio"] = self._log_mel(dataset_dict, self.num_frames)
        return dataset_dict

    def _log_mel(self, dataset_dict, num_frames):
        """The clip's log-mel ``[num_frames, 1, 96, 64]``, through the audio augmentation if set."""
        if self.audio_augmentation is None:
            return load_log_mel(dataset_dict["audio_file"], num_frames, self.audio_cache_dir)
        path = dataset_dict.get("audio_wav") or dataset_dict["audio_file"]
        if path.endswith(".pkl") or not os.path.isfile(path):
            raise ClipDataError(
                f"clip {dataset_dict.get('clip_id')}: INPUT.AUDIO_AUGMENT needs the sound file, "
                f"but {path} is "
                + ("precomputed log-mel" if path.endswith(".pkl") else "missing")
                + " (AVSBench: keep audio_wav/ beside audio_log_mel/; or INPUT.AUDIO_AUGMENT 0)"
            )
        return augmented_log_mel(path, num_frames, self.audio_augmentation)

    def _pad(self, dataset_dict):
        """Pad frames, masks and log-mel of an n-frame clip to T with zeros; add frame_valid."""
        n, t = dataset_dict["frames"].shape[0], self.num_frames
        mel = self._log_mel(dataset_dict, n)
        for key, x in (
            ("frames", dataset_dict["frames"]),
            ("masks", dataset_dict["masks"]),
            ("audio", mel),
            ("annotated", dataset_dict["annotated"]),
        ):
            dataset_dict[key] = torch.cat([x, x.new_zeros((t - n, *x.shape[1:]))])
        dataset_dict["frame_valid"] = torch.arange(t) < n
        return dataset_dict

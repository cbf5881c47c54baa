"""Pictures of AVS predictions: overlays (Detectron2's Visualizer), clip strips, attention maps.

Every function takes and returns RGB uint8 arrays ``[H,W,3]``, so the results can be saved as PNG,
stacked into a GIF or written into a video frame.
"""

from types import SimpleNamespace

import numpy as np
from detectron2.utils.visualizer import Visualizer
from matplotlib import colormaps
from PIL import Image, ImageDraw

__all__ = [
    "GT_COLOR",
    "PRED_COLOR",
    "overlay_mask",
    "overlay_labels",
    "class_legend",
    "clip_strip",
    "semantic_strip",
    "attention_grid",
    "save_gif",
]

GT_COLOR = (0.15, 0.85, 0.3)
PRED_COLOR = (1.0, 0.25, 0.25)


def overlay_mask(image, mask, color=PRED_COLOR, text=None, alpha=0.5):
    """image ``[H,W,3]`` uint8 RGB, mask ``[H,W]`` bool -> overlay ``[H,W,3]`` uint8.

    The mask is drawn by ``Visualizer.draw_binary_mask`` (filled, with its outline); ``text`` is
    written in the top-left corner (e.g. the sound score).
    """
    vis = Visualizer(image)
    mask = np.asarray(mask, dtype=np.uint8)
    if mask.any():
        vis.draw_binary_mask(mask, color=color, edge_color=color, alpha=alpha)
    if text:
        h, w = image.shape[:2]
        vis.draw_text(
            text,
            (3, 2),
            font_size=max(7, min(h, w) // 16),
            color="w",
            horizontal_alignment="left",
        )
    return vis.get_output().get_image()


def overlay_labels(image, labels, classes, colors, text=None, alpha=0.6):
    """image ``[H,W,3]`` uint8 RGB, labels ``[H,W]`` class indices -> overlay ``[H,W,3]`` uint8.

    Every class but background (index 0) is filled with its colour and named
    (``Visualizer.draw_sem_seg`` with the dataset's ``stuff_classes`` / ``stuff_colors``, RGB
    0-255); ``text`` is written in the top-left corner.
    """
    meta = SimpleNamespace(stuff_classes=list(classes), stuff_colors=[tuple(c) for c in colors])
    vis = Visualizer(image, meta)
    labels = np.asarray(labels).astype(np.int64)
    vis.draw_sem_seg(np.where(labels == 0, len(classes), labels), alpha=alpha)  # skip background
    if text:
        h, w = image.shape[:2]
        vis.draw_text(
            text, (3, 2), font_size=max(7, min(h, w) // 16), color="w", horizontal_alignment="left"
        )
    return vis.get_output().get_image()


def class_legend(classes, colors, indices=None, swatch=14, width=None):
    """A legend picture: one colour swatch and name per class (``indices``: which ones, default
    all), in columns of ``[H', W', 3]`` uint8 on white; ``width`` caps the picture's width."""
    indices = list(range(len(classes))) if indices is None else list(indices)
    col_w = swatch + 8 + 7 * max((len(classes[i]) for i in indices), default=1)
    cols = max(1, (width or col_w * 4) // col_w)
    rows = max(1, -(-len(indices) // cols))
    im = Image.new("RGB", (cols * col_w, rows * (swatch + 4) + 4), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    for n, i in enumerate(indices):
        x, y = (n // rows) * col_w + 4, (n % rows) * (swatch + 4) + 4
        draw.rectangle([x, y, x + swatch - 1, y + swatch - 1], tuple(colors[i]), (0, 0, 0))
        draw.text((x + swatch + 4, y + 1), classes[i], fill=(0, 0, 0))
    return np.asarray(im)


def _row(images, gap=2):
    h = images[0].shape[0]
    sep = np.full((h, gap, 3), 255, np.uint8)
    parts = []
    for im in images:
        parts += [im, sep]
    return np.concatenate(parts[:-1], axis=1)


def _stack(rows, gap=2):
    w = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, w - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    sep = np.full((gap, w, 3), 255, np.uint8)
    parts = []
    for r in rows:
        parts += [r, sep]
    return np.concatenate(parts[:-1], axis=0)


def clip_strip(frames, pred_masks, gt_masks=None, sound_scores=None):
    """One clip as a picture: row 1 the T frames, row 2 the ground truth (when given), row 3 the
    prediction overlay titled with the frame's best sound score.

    Args:
        frames: ``[T,H,W,3]`` uint8 RGB.
        pred_masks: ``[T,H,W]`` bool.
        gt_masks: ``[T,H,W]`` bool, or None entries / None for unannotated frames.
        sound_scores: ``[T]`` floats in [0,1] (the kept query's score), optional.
    Returns:
        ``[H',W',3]`` uint8.
    """
    t = len(frames)
    rows = [_row([np.asarray(f) for f in frames])]
    if gt_masks is not None:
        gts = []
        for k in range(t):
            g = gt_masks[k]
            if g is None:
                gts.append(overlay_mask(frames[k], np.zeros(frames[k].shape[:2]), text="no GT"))
            else:
                gts.append(overlay_mask(frames[k], g, GT_COLOR, text="GT"))
        rows.append(_row(gts))
    preds = []
    for k in range(t):
        text = "pred" if sound_scores is None else f"sound {float(sound_scores[k]):.2f}"
        preds.append(overlay_mask(frames[k], pred_masks[k], PRED_COLOR, text=text))
    rows.append(_row(preds))
    return _stack(rows)


def semantic_strip(frames, pred_labels, gt_labels, classes, colors):
    """One clip of the semantic task: row 1 the frames, row 2 the ground truth (None entries:
    "no GT"), row 3 the prediction, each class named and in the dataset's colour, and a legend
    of the classes shown.

    Args:
        frames: ``[T,H,W,3]`` uint8 RGB; pred_labels, gt_labels: ``[T,H,W]`` class indices
            (gt_labels may be None or hold None entries).
        classes, colors: the dataset's ``stuff_classes`` and ``stuff_colors``.
    """
    t = len(frames)
    gt_labels = [None] * t if gt_labels is None else gt_labels
    rows = [_row([np.asarray(f) for f in frames])]
    gts = []
    for f, g in zip(frames, gt_labels):
        if g is None:
            gts.append(overlay_mask(f, np.zeros(f.shape[:2]), text="no GT"))
        else:
            gts.append(overlay_labels(f, g, classes, colors, text="GT"))
    rows.append(_row(gts))
    rows.append(
        _row([overlay_labels(f, p, classes, colors, "pred") for f, p in zip(frames, pred_labels)])
    )
    shown = set(np.unique(np.stack(pred_labels)).tolist())
    shown |= {int(c) for g in gt_labels if g is not None for c in np.unique(g)}
    rows.append(class_legend(classes, colors, sorted(shown), width=rows[0].shape[1]))
    return _stack(rows)


def attention_grid(frames, attention, sound_scores=None, alpha=0.55):
    """The audio queries' cross-attention as heatmaps over the frames.

    Args:
        frames: ``[T,H,W,3]`` uint8 RGB.
        attention: ``[T,Q,h,w]`` attention weights of the decoder's last layer.
        sound_scores: ``[T,Q]`` optional; each tile is titled with its query's score.
    Returns:
        a grid with one row per query and one column per frame, ``[H',W',3]`` uint8.
    """
    attention = np.asarray(attention, dtype=np.float32)
    t, q = attention.shape[:2]
    cmap = colormaps["jet"]
    rows = []
    for j in range(q):
        tiles = []
        for k in range(t):
            h, w = frames[k].shape[:2]
            a = attention[k, j]
            a = (a - a.min()) / max(float(a.max() - a.min()), 1e-12)
            a = np.asarray(Image.fromarray(a).resize((w, h), Image.BILINEAR))
            heat = cmap(a)[..., :3] * 255
            tile = (np.asarray(frames[k]) * (1 - alpha) + heat * alpha).astype(np.uint8)
            text = f"q{j}" if sound_scores is None else f"q{j} {float(sound_scores[k][j]):.2f}"
            tiles.append(overlay_mask(tile, np.zeros((h, w)), text=text))
        rows.append(_row(tiles))
    return _stack(rows)


def save_gif(images, path, fps=2):
    """Write ``[H,W,3]`` uint8 images as an animated GIF that loops forever."""
    ims = [Image.fromarray(np.asarray(im)) for im in images]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=int(1000 / fps), loop=0)

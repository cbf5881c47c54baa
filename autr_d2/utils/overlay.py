"""Predictions drawn on video at the video's speed: once per prediction, blended into every frame.

The demo shows each prediction on several video frames (the model segments ``--fps`` frames per
second; a 30 fps video shows each mask on about 6 frames). :class:`Overlay` therefore draws a
prediction once, at the video's size, as a few rectangular patches (the mask's bounding box, the
caption) holding a per-pixel opacity and colour in the video's own YUV 4:2:0, and
:meth:`Overlay.apply` blends them into each frame's Y, U and V planes in place, touching only those
patches: no conversion of the frame to RGB and back, no per-frame drawing.

The look follows ``autr_d2.utils.visualizer`` (Detectron2's Visualizer): the mask filled at half
opacity with its outline drawn solid, a semantic model's classes in their colours with their names,
and a caption (the sound score, "silent", "no audio") in the top-left corner. Pure NumPy and
OpenCV.
"""

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Overlay", "Patch", "rgb_to_yuv", "upsample_mask", "upsample_labels"]

# Y'CbCr matrices: (Kr, Kb)
_MATRICES = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593)}


def rgb_to_yuv(rgb, matrix="bt601", full_range=False):
    """``[..., 3]`` RGB (0-255) -> ``[..., 3]`` float32 Y'CbCr in the 8-bit code values a decoder
    gives (limited range 16-235 / 16-240 unless `full_range`)."""
    kr, kb = _MATRICES[matrix]
    rgb = np.asarray(rgb, np.float32) / 255.0
    y = kr * rgb[..., 0] + (1 - kr - kb) * rgb[..., 1] + kb * rgb[..., 2]
    cb = (rgb[..., 2] - y) / (2 * (1 - kb))
    cr = (rgb[..., 0] - y) / (2 * (1 - kr))
    if full_range:
        out = np.stack([y * 255, cb * 255 + 128, cr * 255 + 128], -1)
    else:
        out = np.stack([16 + 219 * y, 128 + 224 * cb, 128 + 224 * cr], -1)
    return np.clip(out, 0, 255).astype(np.float32)


def upsample_mask(prob, height, width):
    """``[S, S]`` probabilities -> ``[height, width]`` bool: bilinear (pixel centres aligned, as
    ``F.interpolate(align_corners=False)``), then > 0.5."""
    prob = np.asarray(prob, np.float32)
    if prob.shape != (height, width):
        prob = cv2.resize(prob, (width, height), interpolation=cv2.INTER_LINEAR)
    return prob > 0.5


def upsample_labels(labels, height, width):
    """``[S, S]`` class indices -> ``[height, width]`` uint8, nearest."""
    labels = np.asarray(labels, np.uint8)
    if labels.shape == (height, width):
        return labels
    return cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)


@dataclass
class Patch:
    """A rectangle at (top, left) of the luma plane (both even): opacity and premultiplied colour
    per plane, in 1/256 steps: ``out = (frame * (256 - a) + pre + 128) >> 8``."""

    top: int
    left: int
    a: list  # [luma [h, w], chroma [h/2, w/2]] uint16 in 0..256
    pre: list  # [Y [h, w], U [h/2, w/2], V [h/2, w/2]] uint16: a * colour


def _even_box(y0, x0, y1, x1, height, width):
    y0, x0 = max(0, y0 - y0 % 2), max(0, x0 - x0 % 2)
    y1, x1 = min(height + height % 2, y1 + y1 % 2), min(width + width % 2, x1 + x1 % 2)
    return y0, x0, y1, x1


def _patch(top, left, alpha, yuv):
    """alpha ``[h, w]`` float32 in [0, 1] (h, w even) and a colour in Y'CbCr code values: one
    ``[3]`` colour for the whole patch, or ``[h, w, 3]`` per pixel -> Patch."""
    h, w = alpha.shape
    ac = cv2.resize(alpha, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    a = np.rint(alpha * 256).astype(np.uint16)
    a_c = np.rint(ac * 256).astype(np.uint16)
    yuv = np.asarray(yuv, np.float32)
    if yuv.ndim == 1:  # one colour: premultiply the opacities
        pre = [np.rint(alpha * (256 * yuv[0])), np.rint(ac * (256 * yuv[1])),
               np.rint(ac * (256 * yuv[2]))]  # fmt: skip
    else:  # chroma: the opacity-weighted mean colour of each 2x2 block
        wc = cv2.resize(alpha[..., None] * yuv[..., 1:], (w // 2, h // 2),
                        interpolation=cv2.INTER_AREA)  # fmt: skip
        pre = [np.rint(alpha * yuv[..., 0] * 256), np.rint(wc[..., 0] * 256),
               np.rint(wc[..., 1] * 256)]  # fmt: skip
    return Patch(top, left, [a, a_c], [p.astype(np.uint16) for p in pre])


def _text_size(height, width):
    return max(7, min(height, width) // 16)


def _caption(text, height, width, matrix, full_range):
    """The caption's patch: white text on a dark box in the top-left corner (as Detectron2's
    ``draw_text``)."""
    px = _text_size(height, width)
    scale = px / 22.0
    thick = max(1, round(px / 12))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    y0, x0, y1, x1 = _even_box(0, 0, th + base + 6 + 2 * thick, tw + 8 + 2 * thick, height, width)
    h, w = y1 - y0, x1 - x0
    if h <= 0 or w <= 0:
        return None
    white = np.zeros((h, w), np.uint8)
    org = (3 + thick, th + 2 + thick)
    cv2.putText(white, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thick, cv2.LINE_AA)
    ink = white.astype(np.float32) / 255.0
    alpha = np.maximum(ink, 0.6)  # the box at 0.6, the letters solid
    rgb = np.repeat(white[..., None], 3, axis=2)  # white letters on black
    return _patch(y0, x0, alpha, rgb_to_yuv(rgb, matrix, full_range))


class Overlay:
    """One prediction drawn at a video's size, ready to be blended into many frames.

    Build it with :meth:`for_mask` (binary AVS) or :meth:`for_labels` (a semantic model);
    ``overlay.mask`` is the full-size mask (bool ``[H, W]``; for labels: any class), and
    ``overlay.labels`` the full-size class map (None for a binary model).
    """

    def __init__(self, height, width, patches, mask, labels=None):
        self.height, self.width = height, width
        self.patches = [p for p in patches if p is not None]
        self.mask, self.labels = mask, labels

    @classmethod
    def for_mask(cls, mask, text=None, color=(255, 64, 64), alpha=0.5, matrix="bt601",
                 full_range=False):  # fmt: skip
        """mask: ``[H, W]`` bool at the video's size; color: RGB 0-255."""
        h, w = mask.shape
        patches = []
        if mask.any():
            rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
            line = max(1, min(h, w) // 270)
            y0, x0, y1, x1 = _even_box(
                rows[0] - line, cols[0] - line, rows[-1] + line + 1, cols[-1] + line + 1, h, w
            )
            crop = np.zeros((y1 - y0, x1 - x0), np.uint8)
            part = mask[y0:y1, x0:x1]
            crop[: part.shape[0], : part.shape[1]] = part
            contours, _ = cv2.findContours(crop, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
            edge = np.zeros_like(crop)  # the outline, solid (anti-aliased: 0-255)
            cv2.drawContours(edge, contours, -1, 255, line, cv2.LINE_AA)
            a = np.maximum(crop * np.uint8(round(255 * alpha)), edge).astype(np.float32)
            a *= 1 / 255
            yuv = rgb_to_yuv(np.asarray(color, np.float32), matrix, full_range)
            patches.append(_patch(y0, x0, a, yuv))
        if text:
            patches.append(_caption(text, h, w, matrix, full_range))
        return cls(h, w, patches, mask)

    @classmethod
    def for_labels(cls, labels, classes, colors, text=None, alpha=0.6, matrix="bt601",
                   full_range=False):  # fmt: skip
        """labels: ``[H, W]`` uint8 class indices at the video's size (0 background, not drawn);
        classes, colors: names and RGB 0-255 per class. Each class is named at its largest
        region's centre."""
        h, w = labels.shape
        mask = labels > 0
        patches = []
        if mask.any():
            rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
            y0, x0, y1, x1 = _even_box(rows[0], cols[0], rows[-1] + 1, cols[-1] + 1, h, w)
            crop = np.zeros((y1 - y0, x1 - x0), np.uint8)
            part = labels[y0:y1, x0:x1]
            crop[: part.shape[0], : part.shape[1]] = part
            lut = rgb_to_yuv(np.asarray(colors, np.float32), matrix, full_range)
            yuv = lut[crop]
            a = (crop > 0).astype(np.float32) * alpha
            px = _text_size(h, w)
            for c in np.unique(crop[crop > 0]):
                n, comp, stats, centres = cv2.connectedComponentsWithStats(
                    (crop == c).astype(np.uint8)
                )
                k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
                cx, cy = (int(v) for v in centres[k])
                name = str(classes[c])
                scale, thick = px / 26.0, max(1, round(px / 14))
                (tw, th), _ = cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
                org = (max(0, cx - tw // 2), min(crop.shape[0] - 1, cy + th // 2))
                ink = np.zeros(crop.shape, np.uint8)
                cv2.putText(ink, name, org, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thick,
                            cv2.LINE_AA)  # fmt: skip
                on = ink > 0
                a[on] = np.maximum(a[on], ink[on] / 255.0)
                yuv[on] = rgb_to_yuv(np.full(3, 255.0, np.float32), matrix, full_range)
            patches.append(_patch(y0, x0, a, yuv))
        if text:
            patches.append(_caption(text, h, w, matrix, full_range))
        return cls(h, w, patches, mask, labels)

    def apply(self, planes):
        """Blend into a frame's planes ``[Y [H', W'], U, V [H'/2, W'/2]]`` uint8 in place (H', W'
        the even sizes the encoder takes: at least the overlay's)."""
        for p in self.patches:
            for k, plane in enumerate(planes):
                s = 0 if k == 0 else 1
                top, left = p.top >> s, p.left >> s
                a = p.a[s]
                region = plane[top : top + a.shape[0], left : left + a.shape[1]]
                hh, ww = region.shape
                a, pre = a[:hh, :ww], p.pre[k][:hh, :ww]
                out = region.astype(np.uint16)
                out *= 256 - a
                out += pre
                out += 128
                out >>= 8
                region[:] = out
        return planes

"""AVSBench-semantic's colour code: class index <-> RGB colour of the ``labels_rgb`` PNGs.

The palette is the PASCAL-VOC "bit-interleaved" colour map (bit b of the class index goes to bit
7 - b // 3 of the red, green or blue channel, in turn), built over the 71 AVSS classes as in
AVSBench's ``avs_scripts/avss/color_dataloader.py::get_v2_pallete``. Class index = position of the
class in ``label2idx.json`` (background 0, black). A colour that matches no class decodes to
background, as that loader's argmax over the per-colour matches does.
"""

import numpy as np

__all__ = [
    "AVSS_CLASSES",
    "NUM_AVSS_CLASSES",
    "avss_palette",
    "colors_to_labels",
    "labels_to_colors",
]

# The 71 classes of label2idx.json, in the file's key order (background first, then the 70
# sounding-object classes alphabetically); /tmp/research/avss_spec.md §2.
AVSS_CLASSES = [
    "background", "accordion", "airplane", "axe", "baby", "bassoon", "bell", "bird", "boat",
    "boy", "bus", "car", "cat", "cello", "clarinet", "clipper", "clock", "dog", "donkey", "drum",
    "duck", "elephant", "emergency-car", "erhu", "flute", "frying-food", "girl", "goose", "guitar",
    "gun", "guzheng", "hair-dryer", "handpan", "harmonica", "harp", "helicopter", "hen", "horse",
    "keyboard", "leopard", "lion", "man", "marimba", "missile-rocket", "motorcycle", "mower",
    "parrot", "piano", "pig", "pipa", "saw", "saxophone", "sheep", "sitar", "sorna", "squirrel",
    "tabla", "tank", "tiger", "tractor", "train", "trombone", "truck", "trumpet", "tuba",
    "ukulele", "utv", "vacuum-cleaner", "violin", "wolf", "woman",
]  # fmt: skip
NUM_AVSS_CLASSES = len(AVSS_CLASSES)  # 71 (AVSBench's cfg.NUM_CLASSES: 70 + background)


def avss_palette(num_classes=NUM_AVSS_CLASSES):
    """``[num_classes, 3]`` uint8 RGB: the colour of each class index (0 = black background)."""
    pal = np.zeros((num_classes, 3), np.uint8)
    for j in range(num_classes):
        lab, bit = j, 7
        while lab > 0:
            for ch in range(3):  # bits 0, 1, 2 of the index -> R, G, B, from the top bit down
                pal[j, ch] |= ((lab >> ch) & 1) << bit
            bit -= 1
            lab >>= 3
    return pal


def _codes(rgb):
    rgb = rgb.astype(np.int64)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def colors_to_labels(rgb, num_classes):
    """``[H, W, 3]`` uint8 colour label -> ``[H, W]`` uint8 class indices in ``[0, num_classes)``;
    colours of no class (including those of indices >= num_classes) become 0, background."""
    keys = _codes(avss_palette(num_classes))
    order = np.argsort(keys)
    codes = _codes(np.asarray(rgb)[..., :3])
    pos = np.clip(np.searchsorted(keys[order], codes), 0, len(keys) - 1)
    hit = keys[order][pos] == codes
    return np.where(hit, order[pos], 0).astype(np.uint8)


def labels_to_colors(labels, num_classes=NUM_AVSS_CLASSES):
    """``[H, W]`` class indices -> ``[H, W, 3]`` uint8 RGB in the AVSS colour code."""
    labels = np.asarray(labels)
    if labels.size and int(labels.max()) >= num_classes:
        raise ValueError(f"class index {int(labels.max())} outside the {num_classes} classes")
    return avss_palette(num_classes)[labels]

#!/usr/bin/env python
"""Write the offline benchmark AVS-Synth in AVSBench's layout (see datasets/README.md).

python datasets/prepare_avs_synth.py                      # default sizes, real Debian media
python datasets/prepare_avs_synth.py --s4-train 200 --ms3-train 0 --media procedural
python datasets/prepare_avs_synth.py --semantic           # AVSBench-semantic's layout instead
"""

import argparse
import json
import os

from autr_d2.data.datasets.avss import AVSS_SUBSETS
from autr_d2.data.synth import (
    DEFAULT_SIZES,
    PROBES,
    SEMANTIC_SIZES,
    SEMANTIC_SPLITS,
    SynthConfig,
    generate_avs_synth,
    generate_avs_synth_semantic,
    splits_of,
)
from autr_d2.utils.outputs import OutputDirError


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--root",
        default=None,
        help="output folder (default: $DETECTRON2_DATASETS/avs_synth, with --semantic "
        "$DETECTRON2_DATASETS/avs_synth_semantic)",
    )
    p.add_argument(
        "--semantic",
        action="store_true",
        help="write AVS-Synth semantic in AVSBench-semantic's layout (v1s/v1m/v2 clips, colour "
        "labels of each sounding object's class, label2idx.json) instead of the S4/MS3 tree",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--media",
        choices=["auto", "real", "procedural"],
        default="auto",
        help="real = Debian media (make media); procedural = shapes + tones",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a dataset this tool generated there (a folder with other files is refused)",
    )
    p.add_argument(
        "--s4-train-masks",
        choices=["all", "first"],
        default="all",
        help="S4 train masks: all 5 frames (default; from-scratch training needs the supervision) "
        "or only frame 1 (AVSBench's semi-supervised protocol); with --semantic the same for the "
        "labels of v1s training clips",
    )
    for subset in ("s4", "ms3"):
        for split in splits_of(subset):
            p.add_argument(
                f"--{subset}-{split.replace('_', '-')}",
                type=int,
                default=DEFAULT_SIZES[subset].get(split, 0),
                help=f"{subset.upper()} {split} clips",
            )
    p.add_argument(
        "--probes",
        type=int,
        default=0,
        help="clips per probe split (noise SNR sweep, telephone audio, same-category copies, "
        "off-screen sound, MS3 switching; autr_d2/data/synth/probes.py) where not set one by one",
    )
    for label in AVSS_SUBSETS:
        for split in SEMANTIC_SPLITS:
            p.add_argument(
                f"--{label}-{split}",
                type=int,
                default=SEMANTIC_SIZES[label][split],
                help=f"with --semantic: {label} {split} clips",
            )
    return p


def main(argv=None):
    args = get_parser().parse_args(argv)
    folder = "avs_synth_semantic" if args.semantic else "avs_synth"
    root = args.root or os.path.join(os.getenv("DETECTRON2_DATASETS", "datasets"), folder)
    cfg = SynthConfig(seed=args.seed, media=args.media, s4_train_masks=args.s4_train_masks)
    sizes = {
        s: {sp: getattr(args, f"{s}_{sp}".replace("-", "_")) for sp in splits_of(s)}
        for s in ("s4", "ms3")
    }
    for s in ("s4", "ms3"):
        for sp in PROBES[s]:
            sizes[s][sp] = sizes[s][sp] or args.probes
    subsets = [s for s in ("s4", "ms3") if any(sizes[s].values())]
    try:
        if args.semantic:
            sizes = {
                s: {sp: getattr(args, f"{s}_{sp}") for sp in SEMANTIC_SPLITS} for s in AVSS_SUBSETS
            }
            stats = generate_avs_synth_semantic(root, sizes, cfg, overwrite=args.overwrite)
        else:
            stats = generate_avs_synth(root, subsets, sizes, cfg, overwrite=args.overwrite)
    except (FileExistsError, OutputDirError) as e:
        raise SystemExit(f"error: {e}") from None
    print(json.dumps(stats, indent=1))
    sheets = "contact_sheet.png" if args.semantic else "contact_sheet_*.png"
    print(f"AVS-Synth written to {root} (stats.json, {sheets} inside)")


if __name__ == "__main__":
    main()

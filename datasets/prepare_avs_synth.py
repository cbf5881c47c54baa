#!/usr/bin/env python
"""Write the offline benchmark AVS-Synth in AVSBench's layout (see datasets/README.md).

python datasets/prepare_avs_synth.py                      # default sizes, real Debian media
python datasets/prepare_avs_synth.py --s4-train 200 --ms3-train 0 --media procedural
"""

import argparse
import json
import os

from autr_d2.data.synth import DEFAULT_SIZES, SPLITS, SynthConfig, generate_avs_synth
from autr_d2.utils.outputs import OutputDirError


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--root",
        default=os.path.join(os.getenv("DETECTRON2_DATASETS", "datasets"), "avs_synth"),
        help="output folder (default: $DETECTRON2_DATASETS/avs_synth)",
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
        "or only frame 1 (AVSBench's semi-supervised protocol)",
    )
    for subset in ("s4", "ms3"):
        for split in SPLITS:
            p.add_argument(
                f"--{subset}-{split.replace('_', '-')}",
                type=int,
                default=DEFAULT_SIZES[subset][split],
                help=f"{subset.upper()} {split} clips",
            )
    args = p.parse_args(argv)
    sizes = {s: {sp: getattr(args, f"{s}_{sp}") for sp in SPLITS} for s in ("s4", "ms3")}
    subsets = [s for s in ("s4", "ms3") if any(sizes[s].values())]
    try:
        stats = generate_avs_synth(
            args.root,
            subsets,
            sizes,
            SynthConfig(seed=args.seed, media=args.media, s4_train_masks=args.s4_train_masks),
            overwrite=args.overwrite,
        )
    except (FileExistsError, OutputDirError) as e:
        raise SystemExit(f"error: {e}") from None
    print(json.dumps(stats, indent=1))
    print(f"AVS-Synth written to {args.root} (stats.json, contact_sheet_*.png inside)")


if __name__ == "__main__":
    main()

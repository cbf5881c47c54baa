#!/usr/bin/env python
"""Prepare pretrained weights for AuTR (all loading is local: nothing is downloaded).

  # torchvision ResNet-50 (resnet50-19c8e357.pth / resnet50-0676ba61.pth) -> Detectron2 .pkl
  python tools/convert_pretrained.py resnet50 resnet50-19c8e357.pth pretrained/R-50-torchvision.pkl
  # check that a PVT-v2 or VGGish state dict loads into the config's model (reports key mismatches)
  python tools/convert_pretrained.py pvt pvt_v2_b5.pth --name pvt_v2_b5
  python tools/convert_pretrained.py vggish vggish-10086976.pth

The ResNet .pkl is what MODEL.WEIGHTS takes (configs/avsbench/*/autr_R50.yaml, which also sets
RESNETS.STRIDE_IN_1X1 False as torchvision's ResNet needs); PVT-v2 and VGGish files are given as
MODEL.PVT.WEIGHTS and MODEL.AUDIO.WEIGHTS and loaded by the model itself.
"""

import argparse
import os
import pickle
import re
import sys

import torch


def torchvision_resnet_to_d2(state):
    """Rename torchvision ResNet keys to Detectron2's; drops the classifier (fc.*)."""
    out = {}
    for k, v in state.items():
        if k.startswith("fc."):
            continue
        nk = k
        if not nk.startswith("layer"):
            nk = "stem." + nk
        for i in range(4):
            nk = nk.replace(f"layer{i + 1}", f"res{i + 2}")
        nk = re.sub(r"bn(\d)", r"conv\1.norm", nk)
        nk = nk.replace("downsample.0", "shortcut").replace("downsample.1", "shortcut.norm")
        out[nk] = v.detach().cpu().numpy()
    return out


def load_state(path):
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: file not found")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise SystemExit(f"{path}: not a state dict")
    return state


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="kind", required=True)
    r = sub.add_parser("resnet50", help="torchvision ResNet-50 -> Detectron2 pickle")
    r.add_argument("src")
    r.add_argument("dst")
    r.add_argument("--overwrite", action="store_true")
    v = sub.add_parser("pvt", help="check a PVT-v2 state dict against the timm model")
    v.add_argument("src")
    v.add_argument("--name", default="pvt_v2_b5")
    g = sub.add_parser("vggish", help="check a VGGish state dict")
    g.add_argument("src")
    args = p.parse_args(argv)

    if args.kind == "resnet50":
        if os.path.exists(args.dst) and not args.overwrite:
            raise SystemExit(f"{args.dst} exists; pass --overwrite to replace it")
        model = torchvision_resnet_to_d2(load_state(args.src))
        os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
        with open(args.dst, "wb") as f:
            pickle.dump(
                {"model": model, "__author__": "torchvision", "matching_heuristics": True}, f
            )
        print(f"wrote {len(model)} tensors to {args.dst}")
        return 0
    if args.kind == "pvt":
        from autr_d2.modeling.backbone import D2PVTv2, load_pvt_weights

        missing, unexpected = load_pvt_weights(D2PVTv2(args.name), args.src)
    else:
        from autr_d2.modeling.audio_encoder import VGGish, load_vggish_weights

        missing, unexpected = load_vggish_weights(VGGish(), args.src)
    print(
        f"{args.src}: {len(missing)} missing keys {missing[:10]}, "
        f"{len(unexpected)} unexpected keys {unexpected[:10]}"
    )
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())

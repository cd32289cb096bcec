#!/usr/bin/env python3
"""Writes a large labelled folder of PNGs for the sharding benchmarks (never commit it):
Fashion-MNIST's 70,000 images (Debian's dataset-fashion-mnist), each written again and
again with its own seeded random shift of up to 3 pixels until there are --count, into
one sub-folder per class, as `CLASS/NNNNNNN.png` (28x28 grey).

Usage: .venv/bin/python scripts/make_folder.py --count 200000 --out /tmp/fm200k
Needs numpy and Pillow (scripts/python-env.sh).
"""
import argparse
import gzip
import os

import numpy as np
from PIL import Image

SOURCE = "/usr/share/datasets/fashion-mnist"
CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
           "sneaker", "bag", "ankle-boot"]


def idx(name, header):
    with gzip.open(os.path.join(SOURCE, name), "rb") as f:
        return np.frombuffer(f.read()[header:], dtype=np.uint8)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=200_000)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=72)
    a = p.parse_args()
    images = np.concatenate([idx("train-images-idx3-ubyte.gz", 16),
                             idx("t10k-images-idx3-ubyte.gz", 16)]).reshape(-1, 28, 28)
    labels = np.concatenate([idx("train-labels-idx1-ubyte.gz", 8),
                             idx("t10k-labels-idx1-ubyte.gz", 8)])
    rng = np.random.default_rng(a.seed)
    for c in CLASSES:
        os.makedirs(os.path.join(a.out, c), exist_ok=True)
    for i in range(a.count):
        j = i % len(images)
        dy, dx = rng.integers(-3, 4, size=2)
        im = np.roll(images[j], (dy, dx), axis=(0, 1))
        Image.fromarray(im).save(os.path.join(a.out, CLASSES[labels[j]], f"{i:07d}.png"))
    print(f"{a.count} images in {a.out}")


if __name__ == "__main__":
    main()

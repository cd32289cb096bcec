#!/usr/bin/env python3
"""Writes image folders whose number of groups is known, as flat unlabelled folders of
PNGs (the class only in the file name, `c3-00042.png`), for measuring how many clusters
the pipeline proposes without labels (`scripts/experiments/k_experiments.sh`):

  fm3      Fashion-MNIST trouser, sneaker, bag (3 visually distinct classes)
  fm5      T-shirt/top, trouser, dress, bag, ankle boot (one class per kind of item)
  fm10     all 10 Fashion-MNIST classes
  digits   scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes)
  tinted3  T-shirt/top, trouser, pullover, each class multiplied by its own colour (RGB)

With --held-out, three more selections, chosen after the criterion was built on the
ones above, from the next --per-class images of each class (none shared with them):

  hold4    T-shirt/top, trouser, sneaker, bag
  hold5    trouser, pullover, sandal, bag, ankle boot
  hold6    T-shirt/top, trouser, pullover, sneaker, bag, ankle boot

With --fresh SEED, --count folders drawn at random by that seed, for judging a criterion
on folders nobody chose: each takes 3 to 7 classes and, per class, 200 to 1,000 images
from the third --per-class images of each class (none shared with the sets above), so
the groups are of unequal sizes. They are named `r{SEED}-{i}-{classes}c`.

--per-class images per class from the Fashion-MNIST train split (the first ones of each
class in file order); the digits are all used. Needs numpy, Pillow and scikit-learn
(scripts/python-env.sh).
"""
import argparse
import gzip
import os

import numpy as np
from PIL import Image

SOURCE = "/usr/share/datasets/fashion-mnist"
FOLDERS = {
    "fm3": [1, 7, 8],
    "fm5": [0, 1, 3, 8, 9],
    "fm10": list(range(10)),
    "tinted3": [0, 1, 2],
}
HELD_OUT = {
    "hold4": [0, 1, 7, 8],
    "hold5": [1, 2, 5, 8, 9],
    "hold6": [0, 1, 2, 7, 8, 9],
}
TINTS = [(1.0, 0.2, 0.2), (0.2, 1.0, 0.2), (0.2, 0.2, 1.0)]


def idx(path, header):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read()[header:], dtype=np.uint8)


def write(out, name, images, labels, rgb=None):
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=False)
    for i, (img, label) in enumerate(zip(images, labels)):
        if rgb is not None:
            tint = np.array(rgb[label])
            img = np.clip(np.round(img[..., None] * tint), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(os.path.join(folder, f"c{label}-{i:05d}.png"))
    print(f"{folder}: {len(labels)} images, {len(set(labels))} classes")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", default=SOURCE)
    p.add_argument("--per-class", type=int, default=1000)
    p.add_argument("--out", required=True)
    p.add_argument("--held-out", action="store_true", help="write only hold4, hold5, hold6")
    p.add_argument("--fresh", type=int, metavar="SEED", help="write only random folders")
    p.add_argument("--count", type=int, default=8, help="how many --fresh folders")
    a = p.parse_args()
    images = idx(os.path.join(a.source, "train-images-idx3-ubyte.gz"), 16).reshape(-1, 28, 28)
    labels = idx(os.path.join(a.source, "train-labels-idx1-ubyte.gz"), 8)
    if a.fresh is not None:
        rng = np.random.default_rng(a.fresh)
        n = a.per_class
        for i in range(a.count):
            classes = sorted(rng.choice(10, size=int(rng.integers(3, 8)), replace=False))
            rows = []
            for c in classes:
                size = int(rng.integers(200, n + 1))
                rows.extend(np.flatnonzero(labels == c)[2 * n : 2 * n + size])
            rows.sort()
            write(a.out, f"r{a.fresh}-{i}-{len(classes)}c", images[rows], labels[rows].tolist())
        return
    if a.held_out:
        n = a.per_class
        for name, classes in HELD_OUT.items():
            rows = sorted(i for c in classes for i in np.flatnonzero(labels == c)[n : 2 * n])
            write(a.out, name, images[rows], labels[rows].tolist())
        return
    for name, classes in FOLDERS.items():
        rows = [i for c in classes for i in np.flatnonzero(labels == c)[: a.per_class]]
        rows.sort()
        tints = {c: TINTS[j] for j, c in enumerate(classes)} if name == "tinted3" else None
        write(a.out, name, images[rows], labels[rows].tolist(), tints)
    from sklearn.datasets import load_digits

    d = load_digits()
    digits = np.round(d.images * 255 / 16).astype(np.uint8)
    write(a.out, "digits", digits, d.target.tolist())


if __name__ == "__main__":
    main()

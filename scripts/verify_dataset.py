#!/usr/bin/env python3
"""Loads a dataset artifact with safetensors.numpy and checks it against the IDX sources.

Usage: python scripts/verify_dataset.py ARTIFACT_DIR [SOURCE_DIR]
Needs numpy and safetensors (scripts/python-env.sh makes a venv with them).
"""
import gzip
import json
import os
import sys

import numpy as np
from safetensors.numpy import load_file


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(source, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(source, name)):
            return os.path.join(source, name)
    raise SystemExit(f"{source}: no {stem}[.gz]")


def main():
    art = sys.argv[1]
    source = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/datasets/fashion-mnist"
    manifest = json.load(open(os.path.join(art, "manifest.json")))
    limit = manifest["params"]["limit"]
    for split, prefix in (("train", "train"), ("test", "t10k")):
        t = load_file(os.path.join(art, f"{split}.safetensors"))
        images, labels = t["images"], t["labels"]
        src_images = read_idx(find(source, f"{prefix}-images-idx3-ubyte"))[:limit]
        src_labels = read_idx(find(source, f"{prefix}-labels-idx1-ubyte"))[:limit]
        assert images.dtype == np.uint8 and labels.dtype == np.uint8
        assert np.array_equal(images, src_images), f"{split}: images differ"
        assert np.array_equal(labels, src_labels), f"{split}: labels differ"
        counts = np.bincount(labels)
        print(f"{split}: images {images.shape} {images.dtype}, labels {labels.shape}, "
              f"per class {counts.tolist()}: identical to the source")


if __name__ == "__main__":
    main()

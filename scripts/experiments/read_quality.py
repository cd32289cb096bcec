#!/usr/bin/env python3
"""How a folder of images was read, from its dataset artifact: the share of near-blank
images (pixel standard deviation < 8) and of mostly black ones (mean < 20), per split;
with --transparent, the share of the source files' fully transparent pixels that read as
the recorded background colour (files already at the read size only: their pixels map
one to one).

Usage: .venv/bin/python scripts/experiments/read_quality.py DATASET_ARTIFACT [--transparent]
Needs numpy and safetensors (scripts/python-env.sh), and Pillow and pypng for --transparent.
"""
import argparse
import json
import os

import numpy as np
from safetensors.numpy import load_file


def full_alpha(path):
    """The file's alpha at its own bit depth: Pillow reads 16-bit PNGs as 8 bits by
    truncation, which would count alpha 1..255 of 65535 as fully transparent; those are
    read with pypng."""
    from PIL import Image
    with open(path, "rb") as f:
        head = f.read(26)
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[24] == 16:
        import png
        w, h, rows, meta = png.Reader(filename=path).asRGBA()
        return np.array([list(r) for r in rows], np.uint32).reshape(h, w, 4)[..., 3]
    return np.asarray(Image.open(path).convert("RGBA"))[..., 3]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--transparent", action="store_true")
    args = ap.parse_args()
    manifest = json.load(open(os.path.join(args.dataset, "manifest.json")))
    info = manifest["info"]
    folder = info.get("folder") or {}
    print(f"read settings: {json.dumps(folder.get('read'))}")
    files = json.load(open(os.path.join(args.dataset, "files.json")))["files"]
    for split in ("train", "test"):
        images = load_file(os.path.join(args.dataset, f"{split}.safetensors"))["images"]
        n = images.shape[0]
        if n == 0:
            continue
        flat = images.reshape(n, -1).astype(np.float32)
        std, mean = flat.std(axis=1), flat.mean(axis=1)
        blank, black = (std < 8).mean(), (mean < 20).mean()
        print(f"{split}: {n} images, near-blank (std < 8) {100 * blank:.2f} %, "
              f"mostly black (mean < 20) {100 * black:.2f} %")
        if args.transparent:
            from PIL import Image
            root = folder["roots"][split]
            bg = bytes.fromhex(folder["read"]["background"][1:])
            bg = np.frombuffer(bg, np.uint8)
            if images.ndim == 3:
                bg = bg[:1]
                images = images[..., None]
            total = same = other_size = 0
            for i, rel in enumerate(files[split]):
                alpha = full_alpha(os.path.join(root, rel))
                if alpha.shape != images.shape[1:3]:
                    other_size += 1
                    continue
                mask = alpha == 0
                total += mask.sum()
                same += (images[i][mask] == bg).all(axis=-1).sum()
            print(f"{split}: {total} fully transparent pixels, {100 * same / max(total, 1):.2f} % "
                  f"read as the background {folder['read']['background']} "
                  f"({other_size} files of another size left out)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The reference reader: Pillow reading every JPEG of a folder to a size, as a fast
Python loader would (draft mode: libjpeg-turbo's DCT scaling), upright by EXIF,
letterboxed like `--fit pad`. Prints the CPU time per image of the loop (process time,
one thread; imports and listing not counted).

Usage: .venv/bin/python scripts/pillow_read.py DIR [--size 64x64] [--full]
"""
import argparse
import glob
import os
import time

import numpy as np
from PIL import Image, ImageOps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--size", default="64x64")
    ap.add_argument("--full", action="store_true", help="no draft mode: decode at full size")
    args = ap.parse_args()
    h, w = (int(v) for v in args.size.split("x"))
    files = sorted(glob.glob(os.path.join(args.dir, "*.jpg")))
    start = time.process_time()
    for f in files:
        im = Image.open(f)
        if not args.full:
            im.draft("RGB", (w, h))
        im = ImageOps.exif_transpose(im.convert("RGB"))
        im = ImageOps.pad(im, (w, h), Image.BILINEAR, color=(255, 255, 255))
        np.asarray(im)
    cpu = time.process_time() - start
    print(f"pillow {'full' if args.full else 'draft'}: {len(files)} images, "
          f"{1000 * cpu / len(files):.2f} ms CPU per image")


if __name__ == "__main__":
    main()

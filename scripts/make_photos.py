#!/usr/bin/env python3
"""Writes N synthetic 12-megapixel JPEG "photos" (4000x3000, quality 90, about 2.6 MB
each, like a phone's): smooth fields at several scales plus sensor noise, so the entropy
coder has as much to do as on a real photo. Every fourth one is stored sideways with an
EXIF orientation tag (6: rotate 90 degrees clockwise to view), as phones do. Seeded; the
repository stores no photos.

Usage: .venv/bin/python scripts/make_photos.py OUT_DIR [--count 100] [--seed 72]
Needs numpy and Pillow (scripts/python-env.sh).
"""
import argparse
import os

import numpy as np
from PIL import Image

W, H = 4000, 3000


def field(rng, noise):
    out = np.zeros((H, W, 3), np.float32)
    amp = 90.0
    for s in (6, 12, 24, 48, 96, 192, 384, 768):
        small = rng.normal(0, 1, (s * 3 // 4 + 2, s + 2, 3)).astype(np.float32)
        small = ((small - small.min()) / (np.ptp(small) + 1e-6) * 255).astype(np.uint8)
        up = np.asarray(Image.fromarray(small).resize((W, H), Image.BICUBIC), np.float32)
        out += (up - 128) * (amp / 128)
        amp *= 0.6
    # Sensor noise: a shared pool, shifted per photo (drawing 36 M normals each time is
    # most of the cost).
    dy, dx = rng.integers(0, 64, 2)
    out += 128 + np.roll(noise, (dy, dx), axis=(0, 1))
    return np.clip(out, 0, 255).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--seed", type=int, default=72)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    noise = rng.normal(0, 6, (H, W, 3)).astype(np.float32)
    for i in range(args.count):
        path = os.path.join(args.out, f"photo-{i:04d}.jpg")
        if os.path.exists(path):
            continue
        im = Image.fromarray(field(rng, noise))
        exif = Image.Exif()
        if i % 4 == 3:
            im = im.transpose(Image.Transpose.ROTATE_90)  # stored sideways
            exif[0x0112] = 6
        else:
            exif[0x0112] = 1
        im.save(path, quality=90, exif=exif)
    print(f"{args.count} photos of {W}x{H} in {args.out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Peers on the bench JPEGs, one core: Python `pdqhash` (Meta's C++ PDQ) and `imagehash.phash`, each with
Pillow's full decode as their users run them, and Pillow's DCT-scaled `draft` decode alone.

Usage: python benches/peers/image_peers.py target/bench-images  ->  one JSON object of images/s.
       python benches/peers/image_peers.py --flat fixtures/images/queries  ->  the same on one folder of
       mixed formats (JPEG, PNG, WebP, GIF), read from memory, as `seal eval image` times its queries.
"""
import json
import sys
import time
from pathlib import Path

import imagehash
import numpy as np
import pdqhash
from PIL import Image


def rate(files, fn, min_seconds=2.0):
    n, start = 0, time.perf_counter()
    while True:
        for f in files:
            fn(f)
            n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return n / elapsed


def pdq(path):
    with Image.open(path) as img:
        pdqhash.compute(np.asarray(img.convert("RGB")))


def pdq_dihedral(path):
    with Image.open(path) as img:
        pdqhash.compute_dihedral(np.asarray(img.convert("RGB")))


def phash(path):
    with Image.open(path) as img:
        imagehash.phash(img)


def draft(path):
    with Image.open(path) as img:
        img.draft("L", (512, 512))  # DCT scaling to the smallest scale >= 512 px, as we decode
        img.load()


def flat(folder):
    """Peers on every file of one folder, decoded from bytes in memory (no file IO in the timing)."""
    import io

    blobs = [p.read_bytes() for p in sorted(Path(folder).iterdir()) if p.is_file()]
    opened = lambda b: Image.open(io.BytesIO(b))  # noqa: E731
    out = {"files": len(blobs)}
    out["pdqhash_dihedral_images_per_s"] = rate(blobs, lambda b: pdqhash.compute_dihedral(np.asarray(opened(b).convert("RGB"))))
    out["pdqhash_images_per_s"] = rate(blobs, lambda b: pdqhash.compute(np.asarray(opened(b).convert("RGB"))))

    def draft_bytes(b):
        with opened(b) as img:
            img.draft("L", (512, 512))
            img.load()

    out["pillow_draft_decode_images_per_s"] = rate(blobs, draft_bytes)
    print(json.dumps(out, indent=1))


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--flat":
        flat(sys.argv[2])
        return
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench-images")
    out = {}
    for size in ("0.3mp", "2mp", "12mp"):
        files = sorted((root / size).glob("*.jpg"))
        if not files:
            continue
        out[size] = {
            "pdqhash_images_per_s": rate(files, pdq),
            "pdqhash_dihedral_images_per_s": rate(files, pdq_dihedral),
            "imagehash_phash_images_per_s": rate(files, phash),
            "pillow_draft_decode_images_per_s": rate(files, draft),
        }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

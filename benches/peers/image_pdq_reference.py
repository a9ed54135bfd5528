#!/usr/bin/env python3
"""Hashes every fixture image with the PyPI `pdqhash` package (Meta's C++ reference via Cython) and
writes fixtures/images/pdq_reference.json, which tests/it/image.rs compares our PDQ against.

Usage: python benches/peers/image_pdq_reference.py [fixtures/images]
Hex form: the 256-bit number whose bit k is the reference's Hash256 bit k (w[k/16] >> k%16), most
significant digit first, as ThreatExchange writes PDQ hashes.
"""
import json
import sys
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image


def reference_hex(path):
    with Image.open(path) as img:
        img.seek(0)
        rgb = np.asarray(img.convert("RGB"))
    vector, quality = pdqhash.compute(rgb)
    # pdqhash returns the bits most significant first (bit 255 .. bit 0).
    value = int("".join(str(int(b)) for b in vector), 2)
    return f"{value:064x}", int(quality)


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "fixtures/images")
    out = {}
    for sub in ("originals", "queries"):
        for path in sorted((root / sub).iterdir()):
            if path.name.startswith("."):
                continue
            h, q = reference_hex(path)
            out[f"{sub}/{path.name}"] = {"hash": h, "quality": q}
    (root / "pdq_reference.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"{len(out)} images hashed with pdqhash {pdqhash.__version__}")


if __name__ == "__main__":
    main()

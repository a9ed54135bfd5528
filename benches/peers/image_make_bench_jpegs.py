#!/usr/bin/env python3
"""Writes the benchmark JPEGs (not committed): 0.3 MP, 2 MP and 12 MP versions of real photos from the
fixture sources (lomiri-wallpapers-16.04, CC-BY-4.0 / CC0), quality 90, into target/bench-images/<size>/."""
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "fixtures" / "images"))
import build  # noqa: E402  (the fixture builder knows where the sources are and fetches them)

SIZES = {"0.3mp": 0.3e6, "2mp": 2e6, "12mp": 12e6}


def main():
    src = build.lomiri_dir()
    out = ROOT / "target" / "bench-images"
    for name, pixels in SIZES.items():
        (out / name).mkdir(parents=True, exist_ok=True)
        for f in build.LOMIRI[:6]:
            img = Image.open(src / f).convert("RGB")
            w, h = img.size
            scale = (pixels / (w * h)) ** 0.5
            size = (round(w * scale), round(h * scale))
            # 12 MP is larger than some sources: upscaling keeps the size class honest for the decoder.
            img.resize(size, Image.LANCZOS).save(out / name / f"{Path(f).stem}.jpg", quality=90)
    print(f"bench JPEGs in {out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes a held-out image corpus (not committed) into target/heldout-images/: originals the fixtures
never register, with the fixtures' transforms and ten more crops each, for checking a threshold chosen
on fixtures/images against photos it was not chosen on.

Originals (16): five lomiri-wallpapers-16.04 photos the fixtures do not use (Bridge, Dragonfly, free,
greentock, analogpattern; CC-BY-SA, hence not committed anywhere), the middle strip of each of the nine
lomiri photos the fixtures cut (the fixtures register only the outer strips), and scikit-image's
motorcycle_left and ihc. Each gets the fixture builder's queries (resize, two crops, JPEG, watermark,
caption, logo, grayscale, two rotations, brightness/contrast, flip, quarter turn) plus crops 2..11: 192
crops and 368 queries in all. Run:

    target/peers-venv/bin/python benches/peers/image_heldout.py [seed]
    seal eval image --originals target/heldout-images/originals --queries target/heldout-images/queries \
        --truth target/heldout-images/truth.json
"""
import json
import random
import shutil
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "fixtures" / "images"))
import build  # noqa: E402  (the fixture builder knows where the sources are and fetches them)

UNUSED_LOMIRI = ["Bridge_by_Sander_Klootwijk.jpg", "Dragonfly_by_Bolly.jpg", "free_by_Peter_Nerlich.jpg",
                 "greentock_by_Peter_Nerlich.jpg", "analogpattern_by_Peter_Nerlich.jpg"]
SKIMAGE = ["motorcycle_left.png", "ihc.png"]
EXTRA_CROPS = range(2, 12)


def photos():
    lom, sk = build.lomiri_dir(), build.skimage_dir()
    out = [(f"h_{Path(f).stem}.jpg", Image.open(lom / f).convert("RGB")) for f in UNUSED_LOMIRI]
    for f in build.LOMIRI:
        img = Image.open(lom / f).convert("RGB")
        w, h = img.size
        middle = img.crop((w // 3, 0, 2 * w // 3, h)) if w >= h else img.crop((0, h // 3, w, 2 * h // 3))
        out.append((f"m_{Path(f).stem}.jpg", middle))
    out += [(f"s_{Path(f).stem}.jpg", Image.open(sk / f).convert("RGB")) for f in SKIMAGE]
    return out


def main():
    rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
    root = ROOT / "target" / "heldout-images"
    originals, queries = root / "originals", root / "queries"
    for d in (originals, queries):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    truth = {}
    all_photos = photos()
    for name, img in all_photos:
        img = build.fit(img, build.LONG_SIDE)
        build.save(img, originals / name, quality=88)
        build.make_queries(name, img, rng, queries, truth)
        for i in EXTRA_CROPS:
            crop, note = build.crop(img, rng)
            qname = f"{Path(name).stem}__crop_{i}.jpg"
            build.save(build.fit(crop, build.QUERY_LONG_SIDE), queries / qname, "JPEG", 82)
            truth[qname] = {"original": name, "transform": "crop", "note": note}
    (root / "truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    print(f"{len(all_photos)} originals, {len(truth)} queries in {root}")


if __name__ == "__main__":
    sys.exit(main())

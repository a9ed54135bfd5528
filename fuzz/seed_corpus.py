#!/usr/bin/env python3
"""Builds fuzz/corpus/decode_hash/: small real images from the fixtures plus hand-made edge cases.

Why: libFuzzer mutates its way far faster from valid files than from nothing, and the edge cases
(CMYK and progressive JPEG, 16-bit PNG, animated GIF, decompression bombs, truncated files) are the
inputs issue 15 requires to give a typed error or a result, never a panic. Deterministic: run it
again and the same bytes come out. Needs Pillow (see README.md). Total stays well under 300 KB.

    python3 fuzz/seed_corpus.py        # from the repository root (or anywhere)
"""

import io
import shutil
import struct
import zlib
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "fixtures" / "images" / "queries"
OUT = Path(__file__).resolve().parent / "corpus" / "decode_hash"
PER_FORMAT = 12
MAX_COPY = 20 * 1024  # copy fixture files up to this size as they are
COPY_BUDGET = 48 * 1024  # bytes of copied files per format; the rest are small re-encodings
SMALL_SIDE = 72  # longest side of re-encoded fixtures


def write(name: str, data: bytes) -> None:
    (OUT / name).write_bytes(data)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def small(path: Path) -> Image.Image:
    with Image.open(path) as image:
        image = image.convert("RGB")
        image.thumbnail((SMALL_SIDE, SMALL_SIDE))
        return image


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_raw(width: int, height: int, bit_depth: int, color_type: int, idat: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def sample_image(size=(160, 120)) -> Image.Image:
    """A structured image (so PDQ quality passes and the matcher registers it)."""
    image = Image.new("RGB", size, (90, 110, 130))
    draw = ImageDraw.Draw(image)
    for k in range(14):
        x, y = (k * 37) % size[0], (k * 23) % size[1]
        r = 6 + (k % 5) * 6
        draw.ellipse((x - r, y - r, x + r, y + r), fill=((k * 70) % 256, (k * 130) % 256, (k * 190) % 256))
    draw.rectangle((10, 10, 60, 30), outline=(255, 255, 255), width=3)
    return image


def fixtures() -> None:
    by_ext: dict[str, list[Path]] = {}
    for path in sorted(QUERIES.iterdir(), key=lambda p: (p.stat().st_size, p.name)):
        by_ext.setdefault(path.suffix.lower().lstrip("."), []).append(path)
    for ext in ("jpg", "png", "webp", "gif"):
        files = by_ext.get(ext, [])
        copied, used = 0, 0
        for path in files:
            size = path.stat().st_size
            if copied == PER_FORMAT or size > MAX_COPY or used + size > COPY_BUDGET:
                break
            shutil.copyfile(path, OUT / f"fx_{path.name}")
            copied, used = copied + 1, used + size
        # Too few small files of this format: re-encode the smallest fixtures of any format, downscaled.
        pool = [p for p in sorted(QUERIES.iterdir()) if p.suffix.lower() in (".jpg", ".png", ".webp", ".gif")]
        pool = [p for p in pool if not (OUT / f"fx_{p.name}").exists()][:: max(1, len(pool) // 40)]
        for i, path in enumerate(pool[: PER_FORMAT - copied]):
            image = small(path)
            stem = f"re_{path.stem}"
            if ext == "jpg":
                write(f"{stem}.jpg", encode(image, "JPEG", quality=40 + 5 * i))
            elif ext == "png":
                mode = ("L", "RGB", "RGBA", "P")[i % 4]
                image = image.convert(mode) if mode != "P" else image.quantize(16)
                write(f"{stem}_{mode}.png", encode(image, "PNG", optimize=True))
            elif ext == "webp":
                lossless = i % 2 == 1
                write(f"{stem}{'_ll' if lossless else ''}.webp", encode(image, "WEBP", quality=30, lossless=lossless))
            else:
                write(f"{stem}.gif", encode(image.quantize(32), "GIF"))


def edge_cases() -> None:
    base = sample_image()
    # JPEG: CMYK (Adobe, inverted ink), progressive, grayscale, 4:2:0 vs 4:4:4, restart markers.
    write("edge_cmyk.jpg", encode(base.convert("CMYK"), "JPEG", quality=60))
    write("edge_progressive.jpg", encode(base, "JPEG", quality=60, progressive=True))
    write("edge_progressive_large.jpg", encode(base.resize((1040, 780)), "JPEG", quality=5, progressive=True))
    write("edge_gray.jpg", encode(base.convert("L"), "JPEG", quality=60))
    write("edge_444.jpg", encode(base, "JPEG", quality=60, subsampling=0))
    write("edge_restart.jpg", encode(base, "JPEG", quality=60, restart_marker_blocks=4))
    # A JPEG large enough that DCT scaling (1/2 at the default 512 side, down to 1/8 at small sides) runs.
    write("edge_large_dct_scale.jpg", encode(base.convert("L").resize((1400, 1050)), "JPEG", quality=3))
    # Truncated JPEG: cut in half (no EOI), and cut in half with an EOI pasted on (passes the tail check).
    whole = encode(base, "JPEG", quality=60)
    write("edge_truncated.jpg", whole[: len(whole) // 2])
    write("edge_truncated_eoi.jpg", whole[: len(whole) // 2] + b"\xff\xd9")
    # JPEG bomb: a frame header claiming 65500x65500, then nothing worth decoding.
    bomb = bytearray(whole)
    sof = bomb.find(b"\xff\xc0")
    struct.pack_into(">HH", bomb, sof + 5, 65500, 65500)
    write("edge_bomb.jpg", bytes(bomb))

    # PNG: 16-bit grey (Pillow), 16-bit RGB and RGBA (hand-written), palette with transparency, interlaced.
    write("edge_16bit_gray.png", encode(base.convert("L").point(lambda v: v * 257).convert("I;16"), "PNG"))
    w, h = 64, 48
    rows = b"".join(b"\x00" + b"".join(struct.pack(">HHH", x * 1024, y * 1300, (x ^ y) * 700) for x in range(w)) for y in range(h))
    write("edge_16bit_rgb.png", png_raw(w, h, 16, 2, zlib.compress(rows, 9)))
    rows = b"".join(b"\x00" + b"".join(struct.pack(">HHHH", x * 1024, y * 1300, 9000, 65535 - x * 512) for x in range(w)) for y in range(h))
    write("edge_16bit_rgba.png", png_raw(w, h, 16, 6, zlib.compress(rows, 9)))
    write("edge_interlaced.png", png_interlaced(base))
    write("edge_palette_trns.png", encode(base.quantize(8), "PNG", transparency=0))
    # PNG bomb: IHDR claims 100000x100000 (10 G pixels) with a tiny stream of zeros; and one within
    # the side limit but over the pixel limit (19000x19000), and one under both that inflates to 16 MB.
    zeros = zlib.compress(b"\x00" * 4096, 9)
    write("edge_bomb_100000.png", png_raw(100_000, 100_000, 8, 0, zeros))
    write("edge_bomb_19000.png", png_raw(19_000, 19_000, 8, 0, zeros))
    write("edge_bomb_4000.png", png_raw(4000, 4000, 8, 0, zlib.compress(b"\x00" * (4001 * 4000), 9)))
    png = encode(base, "PNG")
    write("edge_truncated.png", png[: len(png) // 2])

    # GIF: animated (3 frames, different sizes and disposal), and a logical screen of 65535x65535.
    frames = [base.quantize(16), base.rotate(90, expand=True).resize((160, 120)).quantize(16), base.convert("L").convert("P")]
    write("edge_animated.gif", encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=[50, 80, 120], loop=0, disposal=2))
    gif = bytearray(encode(base.quantize(16), "GIF"))
    struct.pack_into("<HH", gif, 6, 65535, 65535)
    write("edge_bomb_screen.gif", bytes(gif))
    gif = encode(base.quantize(16), "GIF")
    write("edge_truncated.gif", gif[: len(gif) // 2])

    # WebP: lossless, lossy with alpha, animated, and truncated.
    write("edge_lossless.webp", encode(base, "WEBP", lossless=True))
    rgba = base.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(base.size))
    write("edge_alpha.webp", encode(rgba, "WEBP", quality=40))
    write("edge_animated.webp", encode(frames[0].convert("RGB"), "WEBP", save_all=True, append_images=[f.convert("RGB") for f in frames[1:]], duration=60, quality=30))
    webp = encode(base, "WEBP", quality=40)
    write("edge_truncated.webp", webp[: len(webp) // 2])

    # Too small, and a snapshot-looking input for `ImageMatcher::from_bytes`.
    write("edge_tiny.png", encode(base.resize((4, 4)), "PNG"))
    write("edge_snapshot_magic.bin", b"SEALIMG\x00" + b"\x01\x00\x00\x00" + b"\x00" * 40)


def png_interlaced(image: Image.Image) -> bytes:
    """Pillow writes no Adam7 PNGs; a raw one, grey 8-bit, 40x30, each pass unfiltered."""
    grey = image.convert("L").resize((40, 30))
    px = grey.load()
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        xs, ys = list(range(x0, 40, dx)), list(range(y0, 30, dy))
        if xs and ys:
            raw += b"".join(b"\x00" + bytes(px[x, y] for x in xs) for y in ys)
    ihdr = struct.pack(">IIBBBBB", 40, 30, 8, 0, 0, 0, 1)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    fixtures()
    edge_cases()
    files = sorted(OUT.iterdir())
    total = sum(f.stat().st_size for f in files)
    print(f"{len(files)} files, {total} bytes in {OUT}")
    assert total < 300 * 1024, "seed corpus must stay under 300 KB"


if __name__ == "__main__":
    main()

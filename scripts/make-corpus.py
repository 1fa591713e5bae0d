#!/usr/bin/env python3
"""The bad-input corpus of issue 8, written to tests/corpus/ (committed).

Every file is synthetic (gradients and noise: no face, no photograph), so the repo holds no
portraits. The cases that need a face (EXIF rotations, a face cut by the edge, a 40-px face, a
very dark photo, two faces, exactly 5 MB and 5 MB + 1) are made from ../shared/testdata at test
time by crates/photoreceipt/tests/hostile_input.rs, and the no-face landscape is
../shared/testdata/no-face/rocket.jpg.

Deterministic: the same bytes on every run (fixed seeds, no timestamps).
Usage: scripts/make-corpus.py [OUT_DIR]   (default tests/corpus)
Runs in the bench venv (bench/out/venv: Pillow + numpy, bench/requirements.txt), made if missing.
"""
import io
import os
import struct
import subprocess
import sys
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "bench", "out", "venv")


def ensure_pillow():
    try:
        import numpy  # noqa: F401
        import PIL  # noqa: F401
    except ImportError:
        py = os.path.join(VENV, "bin", "python")
        if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
            raise
        if not os.path.exists(py):
            subprocess.check_call([sys.executable, "-m", "venv", VENV])
        req = os.path.join(ROOT, "bench", "requirements.txt")
        pkgs = [l.strip() for l in open(req) if l.strip().startswith(("pillow", "numpy"))]
        subprocess.check_call([py, "-m", "pip", "install", "--quiet", *pkgs])
        os.execv(py, [py, *sys.argv])


ensure_pillow()

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def scene(w=480, h=600, seed=1):
    """A smooth colour gradient with mild noise: decodes fine, holds no face."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rng = np.random.default_rng(seed)
    r = 60 + 150 * x / w
    g = 90 + 100 * y / h
    b = 200 - 120 * (x + y) / (w + h)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 4, (h, w, 3))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def jpeg(img, **kw):
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, **kw)
    return out.getvalue()


def pil_bytes(img, fmt, **kw):
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png_raw(w, h, depth, ctype, idat):
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def grey_png(side):
    """A flat grey 8-bit PNG of side×side, compressed row by row (a few tens of KB)."""
    z = zlib.compressobj(9)
    row = b"\x00" + b"\x80" * side
    parts = [z.compress(row) for _ in range(side)]
    parts.append(z.flush())
    return png_raw(side, side, 8, 0, b"".join(parts))


def grey_rgba16_png(side):
    """A flat grey 16-bit RGBA PNG of side×side: 8 bytes a pixel, the costliest layout to decode."""
    z = zlib.compressobj(9)
    row = b"\x00" + b"\x80\x00" * 4 * side
    parts = [z.compress(row) for _ in range(side)]
    parts.append(z.flush())
    return png_raw(side, side, 16, 6, b"".join(parts))


def png16(img):
    """16-bit RGB PNG (Pillow cannot write one): each 8-bit sample v becomes v·257."""
    a = np.asarray(img, dtype=np.uint16) * 257
    h, w, _ = a.shape
    rows = b"".join(b"\x00" + a[y].astype(">u2").tobytes() for y in range(h))
    return png_raw(w, h, 16, 2, zlib.compress(rows, 9))


def bomb_png():
    """Header says 50000×50000 RGB (7.5 GB of pixels); the data is 1 MB of zeros, ~1 KB packed."""
    return png_raw(50000, 50000, 8, 2, zlib.compress(b"\x00" * (1 << 20), 9))


def bomb_jpeg(img):
    """A real small JPEG whose SOF0 is patched to claim 65000×65000."""
    b = bytearray(jpeg(img))
    i = b.find(b"\xff\xc0")
    b[i + 5 : i + 9] = struct.pack(">HH", 65000, 65000)
    return bytes(b)


def heic_head():
    """The start of a HEIC file: an ISO-BMFF `ftyp` box of brand heic, then a `meta` box stub."""
    ftyp = b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    body = struct.pack(">I", 8 + len(ftyp) - 4) + ftyp
    meta = struct.pack(">I", 12) + b"meta" + b"\x00" * 4
    return body + meta + b"\x00" * 200


def cases():
    img = scene()
    full = jpeg(img)
    yield "truncated.jpg", full[: len(full) * 6 // 10]
    yield "progressive.jpg", jpeg(img, progressive=True)
    yield "cmyk.jpg", jpeg(img.convert("CMYK"))
    yield "png16.png", png16(scene(240, 300, seed=2))
    small = scene(240, 300, seed=3)
    rgba = small.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(small.size))
    yield "alpha.png", pil_bytes(rgba, "PNG")
    yield "palette.png", pil_bytes(small.convert("P", palette=Image.ADAPTIVE, colors=64), "PNG")
    yield "bomb-50000.png", bomb_png()
    yield "bomb-65000.jpg", bomb_jpeg(scene(64, 64))
    yield "side-5999.png", grey_png(5999)
    yield "side-6000.png", grey_png(6000)
    yield "rgba16-5999.png", grey_rgba16_png(5999)
    yield "gif-named.jpg", pil_bytes(scene(64, 64).convert("P"), "GIF")
    yield "webp-named.jpg", pil_bytes(scene(64, 64), "WEBP", quality=80)
    yield "heic-named.jpg", heic_head()
    yield "empty.jpg", b""
    yield "jpeg-soi-only.jpg", b"\xff\xd8\xff"
    yield "invalid-base64.txt", b"/9j/4AAQ*not~base64%%%\n"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in cases():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"{name:22} {len(data):>9} bytes")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Benchmark inputs, made from ../shared/testdata/portraits/obama.jpg into bench/out/ (git-ignored).

  12mp.jpg        3000x4000 baseline JPEG, ~4 MB (fine sensor-like noise, so it weighs what a phone
                  photo does; a smooth upscale would compress to a fraction of that)
  12mp-prog.jpg   the same pixels, progressive
  12mp-rot.jpg    the same, stored 4000x3000 with EXIF orientation 6, as phones store portraits
  1mp.jpg         896x1120 baseline
  1mp-prog.jpg    the same, progressive

Deterministic (fixed noise seed). Usage: make-inputs.py [OUT_DIR]
"""
import io
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "..", "shared", "testdata", "portraits", "obama.jpg")
TARGET_12MP = 4.0e6


def noisy(img: Image.Image, size, sigma: float, seed: int) -> Image.Image:
    big = np.asarray(img.resize(size, Image.LANCZOS), dtype=np.float32)
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, sigma, big.shape[:2] + (1,)).astype(np.float32)
    chroma = rng.normal(0.0, sigma / 3, big.shape).astype(np.float32)
    return Image.fromarray(np.clip(big + noise + chroma, 0, 255).astype(np.uint8))


def encode(img: Image.Image, quality: int, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, subsampling=2, **kw)
    return buf.getvalue()


def quality_near(img: Image.Image, target: float) -> int:
    """The quality whose baseline file is closest to `target` bytes (and under 4.6 MB)."""
    best = None
    for q in range(80, 97):
        n = len(encode(img, q))
        if n > 4.6e6:
            break
        if best is None or abs(n - target) < abs(best[1] - target):
            best = (q, n)
    return best[0] if best else 80


def write(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
    print(f"{path}: {len(data) / 1e6:.2f} MB")


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "out")
    os.makedirs(out, exist_ok=True)
    src = Image.open(SRC).convert("RGB")

    big = noisy(src, (3000, 4000), sigma=5.0, seed=12)
    q = quality_near(big, TARGET_12MP)
    write(os.path.join(out, "12mp.jpg"), encode(big, q))
    write(os.path.join(out, "12mp-prog.jpg"), encode(big, q, progressive=True))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    stored = big.transpose(Image.Transpose.ROTATE_90)
    write(os.path.join(out, "12mp-rot.jpg"), encode(stored, q, exif=exif.tobytes()))

    small = noisy(src, (896, 1120), sigma=3.0, seed=1)
    write(os.path.join(out, "1mp.jpg"), encode(small, 90))
    write(os.path.join(out, "1mp-prog.jpg"), encode(small, 90, progressive=True))


if __name__ == "__main__":
    main()

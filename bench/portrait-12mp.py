#!/usr/bin/env python3
"""Makes a 12 MP portrait (3000×4000, about 4 MB) for the API benchmark from obama.jpg, with a
little sensor noise so that it weighs what a real phone photo does. Usage: portrait-12mp.py OUT"""
import os
import sys

from PIL import Image, ImageChops

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "..", "shared", "testdata", "portraits", "obama.jpg")

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/portrait-12mp.jpg"
im = Image.open(SRC).convert("RGB").resize((3000, 4000), Image.LANCZOS)
noise = Image.merge("RGB", [Image.effect_noise((3000, 4000), 6) for _ in range(3)])
ImageChops.add(im, noise, 1.0, -128).save(out, quality=94)
print(f"{out}: 3000x4000, {os.path.getsize(out)} bytes")

#!/usr/bin/env python3
"""The same job as `Engine::make`, done the way the ID-photo tool users pick today does it:
HivisionIDPhotos' order of steps, on onnxruntime + OpenCV + Pillow, with the SAME ONNX models the
engine uses (models/). The comparison for the README's benchmark (bench/engine.sh runs both).

HivisionIDPhotos' steps (../shared/domain/anchors.md), as in its IDCreator:
  1. decode the upload (cv2.imdecode, full size);
  2. shrink so the long side is at most 2000 px (INTER_AREA);
  3. matting on the whole shrunk image (here MediaPipe selfie segmentation at 256², the engine's
     model; Hivision's default MODNet runs at 512²), the mask resized back to the image and
     merged as its alpha channel;
  4. face detection, exactly one face (here BlazeFace short + full range, the engine's models;
     Hivision's default is MTCNN);
  5. roll alignment when the eyes tilt more than 2°;
  6. crop: crop area = face-box area / 0.2, face centre 45 % down, the gap above the head set from
     the alpha's top row, resized to the spec's px;
  7. colour: a plain alpha blend per background colour (no decontamination);
  8. KB: Pillow JPEG at quality 95, 90, … until the file fits, zero-padded up to the target;
     DPI set as metadata; plus the transparent PNG.
No face mesh, no matting refinement, no checks: Hivision does none of them.

Usage: hivision_style.py [--reps N] [--json OUT] INPUT.jpg…
"""
import argparse
import io
import json
import math
import multiprocessing as mp
import os
import resource
import statistics
import time

import cv2
import numpy as np
import onnxruntime as ort
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.environ.get("PHOTORECEIPT_MODELS_DIR", os.path.join(HERE, "..", "models"))

# The engine's bench spec, size-1-inch (一寸): 295×413 px, 300 dpi, white/blue/red, ≤ 60 KB.
SIZE = (295, 413)
DPI = 300
COLOURS = {"white": (255, 255, 255), "blue": (67, 142, 219), "red": (215, 69, 50)}
TARGET_KB = 60
MAX_SIDE = 2000
HEAD_MEASURE_RATIO = 0.2
HEAD_HEIGHT_RATIO = 0.45
TOP_DISTANCE = (0.12, 0.10)


def session(name: str) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(os.path.join(MODELS, name), opts, providers=["CPUExecutionProvider"])


def anchors(size: int, strides, per_layer: int) -> np.ndarray:
    out, i = [], 0
    while i < len(strides):
        stride = strides[i]
        same = sum(1 for s in strides[i:] if s == stride)
        cells = math.ceil(size / stride)
        for y in range(cells):
            for x in range(cells):
                out += [((x + 0.5) / cells, (y + 0.5) / cells)] * (same * per_layer)
        i += same
    return np.array(out, dtype=np.float32)


class Detector:
    def __init__(self, name: str, size: int, strides, per_layer: int, min_score: float):
        self.sess = session(name)
        self.input = self.sess.get_inputs()[0].name
        self.size, self.min_score = size, min_score
        self.anchors = anchors(size, strides, per_layer)

    def __call__(self, bgr: np.ndarray):
        h, w = bgr.shape[:2]
        scale = self.size / max(w, h)
        rw, rh = max(1, round(w * scale)), max(1, round(h * scale))
        square = np.zeros((self.size, self.size, 3), np.uint8)
        ox, oy = (self.size - rw) // 2, (self.size - rh) // 2
        small = cv2.resize(bgr, (rw, rh), interpolation=cv2.INTER_AREA)
        square[oy:oy + rh, ox:ox + rw] = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        x = square[None].astype(np.float32) / 127.5 - 1.0
        outs = self.sess.run(None, {self.input: x})
        n = len(self.anchors)
        boxes = next(o for o in outs if o.size == n * 16).reshape(n, 16)
        scores = next(o for o in outs if o.size == n).reshape(n)
        scores = 1.0 / (1.0 + np.exp(-np.clip(scores, -80, 80)))
        faces = []
        for i in np.nonzero(scores >= self.min_score)[0]:
            r, a = boxes[i] / self.size, self.anchors[i]
            pts = (r[4:].reshape(6, 2) + a) * self.size
            cx, cy = (r[0] + a[0]) * self.size, (r[1] + a[1]) * self.size
            bw, bh = r[2] * self.size, r[3] * self.size
            to_img = lambda px, py: ((px - ox) / scale, (py - oy) / scale)
            x0, y0 = to_img(cx - bw / 2, cy - bh / 2)
            x1, y1 = to_img(cx + bw / 2, cy + bh / 2)
            kp = [to_img(px, py) for px, py in pts]
            faces.append((float(scores[i]), (x0, y0, x1 - x0, y1 - y0), kp))
        return faces


def merge(faces):
    """Non-maximum suppression: overlapping boxes are one face (the best one kept)."""
    faces = sorted(faces, key=lambda f: -f[0])
    out = []
    for f in faces:
        x, y, w, h = f[1]
        if all(iou((x, y, w, h), g[1]) <= 0.3 for g in out):
            out.append(f)
    return out


def iou(a, b):
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


class Hivision:
    def __init__(self):
        self.short = Detector("face_detection_short_range.onnx", 128, [8, 16, 16, 16], 2, 0.5)
        self.full = Detector("face_detection_full_range.onnx", 192, [4], 1, 0.6)
        self.seg = session("selfie_segmentation.onnx")
        self.seg_input = self.seg.get_inputs()[0].name

    def matting(self, bgr: np.ndarray) -> np.ndarray:
        h, w = bgr.shape[:2]
        x = cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (256, 256), interpolation=cv2.INTER_AREA)
        mask = self.seg.run(None, {self.seg_input: x[None].astype(np.float32) / 255.0})[0]
        mask = cv2.resize(mask.reshape(256, 256), (w, h), interpolation=cv2.INTER_LINEAR)
        alpha = (np.clip(mask, 0, 1) * 255).astype(np.uint8)
        return cv2.merge((*cv2.split(bgr), alpha))

    def make(self, data: bytes):
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        h, w = bgr.shape[:2]
        if max(h, w) > MAX_SIDE:
            k = MAX_SIDE / max(h, w)
            bgr = cv2.resize(bgr, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA)
        bgra = self.matting(bgr)
        faces = merge(self.short(bgr) + self.full(bgr))
        if len(faces) != 1:
            raise ValueError(f"{len(faces)} faces")
        _, box, kp = faces[0]
        bgra = self.align(bgra, kp)
        photo = self.crop(bgra, box)
        jpegs = [self.to_kb(self.blend(photo, c)) for c in COLOURS.values()]
        png = cv2.imencode(".png", photo)[1].tobytes()
        return jpegs, png

    def align(self, bgra: np.ndarray, kp) -> np.ndarray:
        (rx, ry), (lx, ly) = kp[0], kp[1]
        roll = math.degrees(math.atan2(ly - ry, lx - rx))
        if abs(roll) <= 2.0:
            return bgra
        h, w = bgra.shape[:2]
        m = cv2.getRotationMatrix2D(((rx + lx) / 2, (ry + ly) / 2), roll, 1.0)
        return cv2.warpAffine(bgra, m, (w, h), flags=cv2.INTER_LINEAR)

    def crop(self, bgra: np.ndarray, box) -> np.ndarray:
        x, y, w, h = box
        sw, sh = SIZE
        k = math.sqrt(w * h / HEAD_MEASURE_RATIO / (sw * sh))
        cw, ch = sw * k, sh * k
        cx, cy = x + w / 2, y + h / 2
        x1, y1 = cx - cw / 2, cy - ch * HEAD_HEIGHT_RATIO
        # The head top from the alpha: move so the gap above it is 10-12 % of the height.
        rows = np.nonzero(bgra[:, int(max(0, x)):int(x + w), 3].max(axis=1) > 127)[0]
        if rows.size:
            gap = (rows[0] - y1) / ch
            lo, hi = TOP_DISTANCE[1], TOP_DISTANCE[0]
            if gap < lo or gap > hi:
                y1 = rows[0] - ch * (lo + hi) / 2
        H, W = bgra.shape[:2]
        y1 = min(y1, H - ch)  # slide down to touch the bottom, as Hivision does
        pad = int(max(0, -x1, -y1, x1 + cw - W, y1 + ch - H)) + 1
        padded = cv2.copyMakeBorder(bgra, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        x0, y0 = int(round(x1)) + pad, int(round(y1)) + pad
        cut = padded[y0:y0 + int(round(ch)), x0:x0 + int(round(cw))]
        return cv2.resize(cut, SIZE, interpolation=cv2.INTER_AREA)

    @staticmethod
    def blend(bgra: np.ndarray, rgb) -> np.ndarray:
        a = bgra[:, :, 3:4].astype(np.float32) / 255.0
        bg = np.array(rgb[::-1], np.float32)
        out = bgra[:, :, :3].astype(np.float32) * a + bg * (1.0 - a)
        return out.astype(np.uint8)

    @staticmethod
    def to_kb(bgr: np.ndarray) -> bytes:
        img = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        quality = 95
        while True:
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=quality, dpi=(DPI, DPI))
            if buf.tell() <= TARGET_KB * 1024 or quality <= 5:
                break
            quality -= 5
        data = buf.getvalue()
        return data + b"\x00" * max(0, TARGET_KB * 1024 - len(data))


def timed(maker: Hivision, data: bytes, reps: int):
    maker.make(data)  # warm-up
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        maker.make(data)
        times.append((time.perf_counter() - t) * 1e3)
    return times


def worker(args):
    path, reps = args
    cv2.setNumThreads(1)
    data = open(path, "rb").read()
    maker = Hivision()
    maker.make(data)
    t = time.perf_counter()
    for _ in range(reps):
        maker.make(data)
    return time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--json")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
    cv2.setNumThreads(1)
    t = time.perf_counter()
    maker = Hivision()
    print(f"models loaded in {(time.perf_counter() - t) * 1e3:.0f} ms")
    print("| input | workers | p50 ms | p90 ms | photos/s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    rows = {}
    ctx = mp.get_context("spawn")
    for path in a.inputs:
        name = os.path.splitext(os.path.basename(path))[0]
        times = sorted(timed(maker, open(path, "rb").read(), a.reps))
        p50, p90 = statistics.median(times), times[int(round((len(times) - 1) * 0.9))]
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"| {name} | 1 | {p50:.1f} | {p90:.1f} | {1e3 / p50:.1f} | {rss:.0f} |")
        with ctx.Pool(2) as pool:
            t = time.perf_counter()
            res = pool.map(worker, [(path, a.reps)] * 2)
            wall = time.perf_counter() - t
        busy = max(r[0] for r in res)
        pps = 2 * a.reps / busy
        print(f"| {name} | 2 processes | | | {pps:.1f} | {max(r[1] for r in res):.0f} each |")
        rows[name] = {"p50_ms": p50, "p90_ms": p90, "photos_per_s_2": pps, "wall_s_2": wall}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
